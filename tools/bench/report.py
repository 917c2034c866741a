"""Results: the groups' rows as a table, ``results.json`` and the latency chart."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .stats import Figure, Samples


@dataclass(frozen=True)
class Goal:
    """What a figure's median must reach: at most (``<=``) or at least (``>=``) ``value``."""

    value: float
    at_least: bool = False

    def met_by(self, median: float) -> bool:
        return median >= self.value if self.at_least else median <= self.value

    def __str__(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.value:g}"


def at_most(value: float) -> Goal:
    return Goal(value)


def at_least(value: float) -> Goal:
    return Goal(value, at_least=True)


@dataclass
class Row:
    name: str
    figure: Figure | None
    unit: str
    goal: Goal | None = None
    text: str | None = None  # a row that is a fact, not a measured figure

    @property
    def met(self) -> bool | None:
        if self.goal is None or self.figure is None or math.isnan(self.figure.median):
            return None
        return self.goal.met_by(self.figure.median)

    def as_dict(self) -> dict[str, Any]:
        goal = self.goal
        return {
            "name": self.name,
            "unit": self.unit,
            **(self.figure.as_dict() if self.figure else {"median": None}),
            "goal": str(goal) if goal else None,
            "target_max": goal.value if goal and not goal.at_least else None,
            "target_min": goal.value if goal and goal.at_least else None,
            "met": self.met,
            "text": self.text,
        }


def _goal(target: float | Goal | None) -> Goal | None:
    return at_most(target) if isinstance(target, int | float) else target


def row(name: str, figure: Figure, unit: str, target: float | Goal | None = None) -> Row:
    """A measured figure; a bare number as ``target`` means at most that."""
    return Row(name, figure, unit, _goal(target))


def ratio_row(name: str, figure: Figure, target: float | Goal | None = None) -> Row:
    return Row(name, figure, "x", _goal(target))


def fact(name: str, text: str, unit: str = "") -> Row:
    return Row(name, None, unit, text=text)


@dataclass
class Group:
    id: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    distributions: dict[str, list[float]] = field(default_factory=dict)
    samples: Samples | None = None
    seconds: float = 0.0
    rtt_ms: float = 0.0  # the round trip added to every AWS call (tools.bench.rtt_proxy)
    raw: dict[str, Any] = field(default_factory=dict)  # per-run values, when a group keeps them

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "rtt_ms": self.rtt_ms,
            "status": "skipped" if self.skipped else "ok",
            "skipped_reason": self.skipped,
            "rows": [r.as_dict() for r in self.rows],
            "notes": self.notes,
            "seconds": round(self.seconds, 2),
            **({"raw": self.raw} if self.raw else {}),
        }


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def format_row(r: Row) -> tuple[str, str, str, str]:
    if r.figure is None:
        return r.name, r.text or "", r.unit, ""
    value = _number(r.figure.median)
    spread = (
        f"{_number(r.figure.low)}-{_number(r.figure.high)} (n={r.figure.rounds})"
        if r.figure.rounds > 1
        else ""
    )
    verdict = ""
    if r.goal is not None:
        verdict = f"{r.goal}: " + {True: "met", False: "not met", None: "not measured"}[r.met]
    return r.name, f"{value} {r.unit}".strip(), spread, verdict


def table(groups: list[Group], meta: dict[str, Any]) -> str:
    """The results as a Markdown table (also what ``make bench`` prints)."""
    lines = [
        f"Machine: {meta['machine']}; load average before/after: "
        f"{meta['load_before']} / {meta['load_after']}; mode: {meta['mode']}; "
        f"took {meta['seconds']:.0f} s",
        "Figures: median over rounds, spread = min-max of the per-round value over n rounds; "
        "ratios computed within each round.",
        "",
        "| figure | median | spread | target |",
        "| --- | --- | --- | --- |",
    ]
    for group in groups:
        lines.append(f"| **{group.title}** | | | |")
        if group.skipped:
            lines.append(f"| skipped: {group.skipped} | | | |")
        for r in group.rows:
            name, value, spread, verdict = format_row(r)
            lines.append(f"| {name} | {value} | {spread} | {verdict} |")
        lines.extend(f"| _{note}_ | | | |" for note in group.notes)
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "machine": f"{os.cpu_count()} cores ({cpu}){memory}, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "cores": os.cpu_count(),
    }


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def write_json(path: Path, groups: list[Group], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"meta": meta, "groups": [g.as_dict() for g in groups]}
    path.write_text(json.dumps(sanitise(document), indent=2, allow_nan=False) + "\n")


def sanitise(document: Any) -> Any:
    """NaN and infinities become null so the JSON is strict."""
    if isinstance(document, float) and not math.isfinite(document):
        return None
    if isinstance(document, dict):
        return {key: sanitise(value) for key, value in document.items()}
    if isinstance(document, list):
        return [sanitise(value) for value in document]
    return document


def chart(path: Path, groups: list[Group]) -> str | None:
    """A PNG of the latency distributions; returns why not when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no chart"
    panels = [g for g in groups if g.distributions]
    if not panels:
        return "no latency distributions to chart"
    figure, axes = plt.subplots(len(panels), 1, figsize=(10, 3.2 * len(panels)), squeeze=False)
    for axis, group in zip(axes[:, 0], panels, strict=True):
        names = list(group.distributions)
        data = [group.distributions[n] for n in names]
        axis.boxplot(data, vert=False, whis=(1, 99), showfliers=True, flierprops={"markersize": 2})
        axis.set_yticks(range(1, len(names) + 1), names)
        axis.set_xscale("log")
        axis.set_xlabel("latency per call, ms (log scale; whiskers at p1 and p99)")
        axis.set_title(group.title, fontsize=10, loc="left")
        axis.grid(axis="x", which="both", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return None
