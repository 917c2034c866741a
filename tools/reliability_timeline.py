"""Each event's timeline in a reliability run, and what the last ones waited on.

From when an event was published and the invocation records that carried it (an SNS
record's ``order_id``, an SQS batch's ``order_ids``), its time from publish to settled
(handled or dead-lettered: the end of the last invocation that carried it) is split
into what it was doing at each moment:

* ``waiting to run``: published, no invocation yet (a busy worker; through a queue the
  poll and the batching window too);
* ``handling``: an invocation that succeeded (through a queue, a batch may still have
  named the record failed);
* ``failed attempts``: an invocation that failed with the handler's own error;
* ``stalled to the timeout``: a handler killed at its timeout;
* ``worker killed``: an invocation whose worker died under it;
* ``restart``: after a timeout, the replacement worker's cold start;
* ``retry wait``: between attempts (the retry backoff, or the queue's visibility timeout).

Where two invocations carried the event at once (a duplicate delivery), the moment goes
to the one listed first above that was running. ``publishing`` is the time from the
run's first publish to this event's: the publisher's throttle backoff and moto's answers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PUBLISHING = "publishing"
WAITING = "waiting to run"
HANDLING = "handling"
FAILED = "failed attempts"
STALLED = "stalled to the timeout"
KILLED = "worker killed"
RESTART = "restart"
RETRY_WAIT = "retry wait"
# What a moment counts as when several things carry the event: the first running wins.
PRECEDENCE = (HANDLING, STALLED, KILLED, RESTART, FAILED)
CATEGORIES = (PUBLISHING, WAITING, *PRECEDENCE, RETRY_WAIT)


@dataclass
class Timeline:
    order_id: str
    published: float  # seconds after the run's first publish
    first_invoked: float | None = None
    settled: float | None = None
    dead_lettered: bool = False
    spent: dict[str, float] = field(default_factory=dict)  # category -> seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "published_s": round(self.published, 3),
            "first_invoked_s": _rounded(self.first_invoked),
            "settled_s": _rounded(self.settled),
            "dead_lettered": self.dead_lettered,
            "spent_s": {name: round(value, 3) for name, value in self.spent.items() if value},
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _segments(record: dict[str, Any], t0: float) -> list[tuple[float, float, str]]:
    """The stretches of one invocation record, as (start, end, category), from ``t0``."""
    start, end = float(record["start"]) - t0, float(record["end"]) - t0
    if record.get("ok"):
        return [(start, end, HANDLING)]
    kind = record.get("error_type")
    if kind == "Sandbox.Timedout":
        # duration_ms runs to the kill; the rest of the record is the replacement's start
        killed = min(end, start + float(record.get("duration_ms") or 0) / 1000)
        return [(start, killed, STALLED), (killed, end, RESTART)]
    if kind == "Runtime.ExitError":
        return [(start, end, KILLED)]
    return [(start, end, FAILED)]


def _orders_of(record: dict[str, Any]) -> list[str]:
    if record.get("order_ids"):
        return [str(order_id) for order_id in record["order_ids"]]
    return [str(record["order_id"])] if record.get("order_id") else []


def timelines(
    published: dict[str, float], invocations: Iterable[dict[str, Any]], t0: float
) -> list[Timeline]:
    """One timeline per published order (``published``: order id -> ``time.time()``)."""
    carried: dict[str, list[dict[str, Any]]] = {order_id: [] for order_id in published}
    for record in invocations:
        for order_id in _orders_of(record):
            if order_id in carried:
                carried[order_id].append(record)
    return [_timeline(order_id, published[order_id] - t0, carried[order_id], t0)
            for order_id in published]  # fmt: skip


def _timeline(
    order_id: str, published: float, records: list[dict[str, Any]], t0: float
) -> Timeline:
    timeline = Timeline(order_id, published, spent=dict.fromkeys(CATEGORIES, 0.0))
    timeline.spent[PUBLISHING] = max(0.0, published)
    if not records:
        return timeline
    timeline.dead_lettered = any(r.get("source") == "dlq" for r in records)
    runs = [r for r in records if r.get("source") != "dlq"]
    segments = [segment for record in runs for segment in _segments(record, t0)]
    timeline.settled = max(float(r["end"]) - t0 for r in records)
    timeline.first_invoked = min((s[0] for s in segments), default=None)
    first = timeline.first_invoked if timeline.first_invoked is not None else timeline.settled
    # cut [published, settled] at every boundary; each piece goes to what ran in it
    cuts = sorted({published, timeline.settled, *(t for s in segments for t in s[:2])})
    for left, right in itertools.pairwise(cuts):
        if right <= published or left >= timeline.settled:
            continue
        left, right = max(left, published), min(right, timeline.settled)
        running = {category for start, end, category in segments if start <= left and end >= right}
        if running:
            category = next(c for c in PRECEDENCE if c in running)
        else:
            category = WAITING if right <= first else RETRY_WAIT
        timeline.spent[category] += right - left
    return timeline


def tail(lines: list[Timeline], fraction: float = 0.01) -> str:
    """One line: when the last ``fraction`` of the settled events settled, and on what
    their time from the first publish went."""
    settled = sorted((t for t in lines if t.settled is not None), key=lambda t: t.settled or 0)
    if not settled:
        return "tail: no event settled"
    last = settled[-max(1, math.ceil(len(settled) * fraction)) :]
    totals = dict.fromkeys(CATEGORIES, 0.0)
    for line in last:
        for name, value in line.spent.items():
            totals[name] += value
    whole = sum(totals.values()) or 1.0
    shares = sorted(totals.items(), key=lambda item: -item[1])
    spent = ", ".join(f"{name} {100 * value / whole:.0f}%" for name, value in shares if value)
    first, final = last[0].settled or 0.0, last[-1].settled or 0.0
    published = (min(t.published for t in last), max(t.published for t in last))
    return (
        f"tail: the last {len(last)} of {len(settled)} events settled {first:.1f}-{final:.1f} s "
        f"after the first publish (published at {published[0]:.1f}-{published[1]:.1f} s); "
        f"their time went to {spent}"
    )
