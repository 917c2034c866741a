"""Metrics as CloudWatch Embedded Metric Format (EMF) lines on stdout: no client, no import.

Lambda sends stdout to CloudWatch Logs, which turns each EMF object into metrics. Inside
``logs.invocation`` (the router's and the HTTP handler's invocation scope) the package
counts per event type and writes, when the invocation ends, one line per event type:

    {"_aws": {"Timestamp": ..., "CloudWatchMetrics": [{"Namespace": "EventMessaging",
     "Dimensions": [["Service", "EventType"]], "Metrics": [{"Name": "Handled", ...}]}]},
     "Service": "order_status", "EventType": "order.placed", "Handled": 1,
     "HandleDuration": [12.5]}

Outside an invocation (tools, scripts) nothing is recorded. The namespace lives in the
event catalog (``metrics.namespace``), which the Terraform dashboards read too.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = [
    "COUNTS",
    "DURATION",
    "UNKNOWN_TYPE",
    "collecting",
    "count",
    "counting_published",
    "duration",
    "emf_lines",
    "handled",
]

# Every count the package records, and the one duration: the dashboards list the same names.
COUNTS = ("Published", "Handled", "Rejected", "Failed", "DuplicateSkipped")
DURATION = "HandleDuration"
# An event whose type could not be read (a malformed record) is counted under this type.
UNKNOWN_TYPE = "unknown"
# EMF allows at most 100 values in one metric's array.
_MAX_VALUES = 100

_counts: dict[str, dict[str, float]] | None = None
_durations: dict[str, list[float]] = {}


def count(name: str, event_type: str, value: float = 1) -> None:
    """Add ``value`` to the ``name`` count of ``event_type`` for this invocation."""
    if _counts is not None:
        per_type = _counts.setdefault(event_type, {})
        per_type[name] = per_type.get(name, 0) + value


def duration(event_type: str, milliseconds: float) -> None:
    """Record one handling time of ``event_type`` for this invocation."""
    if _counts is not None:
        _counts.setdefault(event_type, {})
        _durations.setdefault(event_type, []).append(round(milliseconds, 3))


def handled(event_type: str, milliseconds: float, outcome: str | None) -> None:
    """One event through a handler: its duration, and ``outcome`` (``Handled``/``Failed``)."""
    if _counts is not None:
        duration(event_type, milliseconds)
        if outcome is not None:
            count(outcome, event_type)


@contextmanager
def counting_published(items: Sequence[Any], published: Mapping[str, str]) -> Iterator[None]:
    """Count, when the block ends however it ends, the ``items`` (``.event``) in ``published``."""
    try:
        yield
    finally:
        if _counts is not None:
            for item in items:
                if item.event.id in published:
                    count("Published", item.event.type)


@contextmanager
def collecting(service: str) -> Iterator[None]:
    """Record inside the block; write the EMF lines when it ends, even on an exception."""
    global _counts, _durations
    outer_counts, outer_durations = _counts, _durations
    _counts, _durations = {}, {}
    try:
        yield
    finally:
        recorded, durations = _counts, _durations
        _counts, _durations = outer_counts, outer_durations
        lines = emf_lines(service, recorded, durations)
        if lines:
            sys.stdout.write("".join(line + "\n" for line in lines))
            sys.stdout.flush()


def emf_lines(
    service: str,
    counts: dict[str, dict[str, float]],
    durations: dict[str, list[float]],
    *,
    timestamp_ms: int | None = None,
) -> list[str]:
    """One EMF object per event type, as JSON lines."""
    from .catalog import load_catalog  # already loaded by whatever recorded the metrics

    namespace = load_catalog().metrics_namespace
    timestamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    lines = []
    for event_type in sorted(counts):
        handled = durations.get(event_type, [])
        # The counts ride with the first chunk of durations; further chunks carry only those.
        chunks = [handled[i : i + _MAX_VALUES] for i in range(0, len(handled), _MAX_VALUES)]
        for index, chunk in enumerate(chunks or [[]]):
            values: dict[str, Any] = dict(counts[event_type]) if index == 0 else {}
            metrics = [{"Name": name, "Unit": "Count"} for name in values]
            if chunk:
                values[DURATION] = chunk
                metrics.append({"Name": DURATION, "Unit": "Milliseconds"})
            document = {
                "_aws": {
                    "Timestamp": timestamp,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": namespace,
                            "Dimensions": [["Service", "EventType"]],
                            "Metrics": metrics,
                        }
                    ],
                },
                "Service": service,
                "EventType": event_type,
                **values,
            }
            if metrics:
                lines.append(json.dumps(document, separators=(",", ":")))
    return lines
