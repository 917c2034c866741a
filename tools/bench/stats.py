"""Percentiles, per-round summaries and the interleaved runner every group uses.

A figure is the median over rounds of a per-round statistic, with the min and max
over rounds as its spread; a ratio is computed inside each round (both sides measured
in that round, interleaved call by call) and then summarised the same way, so machine
noise that hits one round hits both sides of its ratio.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Figure:
    """The median over rounds of a per-round value, with its spread (min, max over rounds)."""

    median: float
    low: float
    high: float
    rounds: int

    @classmethod
    def of(cls, per_round: Sequence[float]) -> Figure:
        values = [v for v in per_round if not math.isnan(v)]
        if not values:
            return cls(math.nan, math.nan, math.nan, 0)
        return cls(statistics.median(values), min(values), max(values), len(values))

    def as_dict(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "low": self.low,
            "high": self.high,
            "rounds": self.rounds,
        }


@dataclass
class Samples:
    """Latencies in milliseconds per variant and per round."""

    rounds: dict[str, list[list[float]]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error(self, variant: str, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.errors.setdefault(variant, []).append(text[:300])

    def error_notes(self) -> list[str]:
        return [
            f"{variant}: {len(found)} call(s) failed and are not in the figures (first: {found[0]})"
            for variant, found in self.errors.items()
        ]

    def add(self, variant: str, round_index: int, value_ms: float) -> None:
        per_round = self.rounds.setdefault(variant, [])
        while len(per_round) <= round_index:
            per_round.append([])
        per_round[round_index].append(value_ms)

    def stat(self, variant: str, q: float) -> Figure:
        return Figure.of([percentile(r, q) for r in self.rounds[variant] if r])

    def ratio(self, numerator: str, denominator: str, q: float) -> Figure:
        """Per-round ``p_q(numerator) / p_q(denominator)``, summarised over rounds."""
        pairs = zip(self.rounds[numerator], self.rounds[denominator], strict=True)
        return Figure.of([percentile(a, q) / percentile(b, q) for a, b in pairs if a and b])

    def pooled(self, variant: str) -> list[float]:
        return [value for r in self.rounds[variant] for value in r]

    def count(self, variant: str) -> int:
        return len(self.pooled(variant))


def interleave(
    variants: Mapping[str, Callable[[], Any]],
    *,
    rounds: int,
    iterations: int,
    warmup: int = 2,
    between_rounds: Callable[[], Any] | None = None,
    reset_every: int = 0,
    timer: Mapping[str, Callable[[], float]] | None = None,
    samples: Samples | None = None,
) -> Samples:
    """Run every variant ``iterations`` times per round, alternating call by call.

    The order of the variants rotates each round so none always runs first. A variant
    listed in ``timer`` reports its own duration in ms (work done in another process);
    the others are timed here with ``perf_counter``. ``between_rounds`` also runs every
    ``reset_every`` iterations when that is set, followed by one untimed call of each
    variant.
    """
    out = samples if samples is not None else Samples()
    names = list(variants)
    custom = dict(timer or {})

    def untimed(times: int) -> None:
        for _ in range(times):
            for name in names:
                try:
                    variants[name]()
                except Exception as error:
                    out.error(name, error)

    def reset() -> None:
        # The first calls after a reset pay for the emulator's new table and queues:
        # an artifact of the reset, so they are made untimed.
        if between_rounds is not None:
            between_rounds()
            untimed(1)

    untimed(warmup)
    for round_index in range(rounds):
        reset()
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for iteration in range(iterations):
            if reset_every and iteration and iteration % reset_every == 0:
                reset()
            for name in order:
                started = time.perf_counter()
                try:
                    variants[name]()
                except Exception as error:  # a failed call is reported, never timed
                    out.error(name, error)
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                out.add(name, round_index, custom[name]() if name in custom else elapsed)
    return out


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval of the median of ``values``.

    The order statistics ``x(k)`` and ``x(n-k+1)`` with ``k`` from the binomial
    distribution of how many values fall below the median (normal approximation):
    nothing is assumed of the values' shape, which for cold starts on a shared machine
    is skewed by whatever else ran. With too few values it is their whole range.
    """
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return math.nan, math.nan
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    n = len(ordered)
    k = math.floor((n - z * math.sqrt(n)) / 2)  # 0-based index of the lower bound
    if k < 0:
        return ordered[0], ordered[-1]
    return ordered[k], ordered[n - 1 - k]


@dataclass(frozen=True)
class PairedRound:
    """The runs of one round, in order, and which run is each variant run's partner."""

    runs: list[str]
    pairs: list[tuple[int, int]]  # (index of a variant run, index of its partner's run)


def paired_schedule(variants: Sequence[str], partner: Mapping[str, str], shift: int) -> PairedRound:
    """One round of runs where every variant sits next to a run of its ``partner``.

    The variants (rotated by ``shift``) go two by two around one partner run,
    ``[a, bare, b]``: ``a`` ran just before its partner, ``b`` just after; as the
    rotation moves each variant by one place per round, which side it is on alternates.
    A variant whose neighbour has another partner gets a partner run of its own, on the
    side that alternates with ``shift``.
    """
    start = shift % len(variants)
    order = list(variants[start:]) + list(variants[:start])
    runs: list[str] = []
    pairs: list[tuple[int, int]] = []
    index = 0
    while index < len(order):
        first = order[index]
        second = order[index + 1] if index + 1 < len(order) else None
        at = len(runs)
        if second is not None and partner[second] == partner[first]:
            runs += [first, partner[first], second]
            pairs += [(at, at + 1), (at + 2, at + 1)]
            index += 2
        elif shift % 2:
            runs += [partner[first], first]
            pairs.append((at + 1, at))
            index += 1
        else:
            runs += [first, partner[first]]
            pairs.append((at, at + 1))
            index += 1
    return PairedRound(runs, pairs)
