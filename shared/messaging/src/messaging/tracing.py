"""Tracing behind one small surface, so replacing X-Ray with OpenTelemetry touches only here.

* ``span(name)`` wraps work in an X-Ray subsegment when tracing is active in Lambda,
  and is a no-op otherwise (tests, the local system), with no SDK import.
* ``outgoing_traceparent()`` gives the W3C ``traceparent`` a published event carries:
  derived from the X-Ray trace header when there is one, otherwise continuing the
  trace of the event being handled, otherwise a fresh trace. The X-Ray SDK is in
  maintenance (support ends February 2027); the W3C header keeps the trace
  portable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .config import settings

__all__ = [
    "continue_trace",
    "correlation_scope",
    "current_correlation_id",
    "outgoing_traceparent",
    "span",
    "tracing_active",
]

_incoming: ContextVar[str | None] = ContextVar("messaging_incoming_traceparent", default=None)
_recorder: Any = None


def tracing_active() -> bool:
    """X-Ray is on: inside Lambda with active tracing, unless MESSAGING_TRACING=off."""
    if "_X_AMZN_TRACE_ID" not in os.environ:  # the runtime sets it per invocation
        return False
    current = settings()
    return current.tracing and bool(current.function_name)


def _xray() -> Any:
    global _recorder
    if _recorder is None:
        try:
            from aws_xray_sdk.core import patch, xray_recorder
        except ImportError:
            _recorder = False
        else:
            patch(["botocore"])
            _recorder = xray_recorder
    return _recorder


@contextmanager
def span(name: str, **annotations: str) -> Iterator[None]:
    """Run the block inside an X-Ray subsegment ``name`` with ``annotations`` (or do nothing)."""
    recorder: Any = _xray() if tracing_active() else None
    if not recorder:
        yield
        return
    with recorder.in_subsegment(name) as subsegment:
        if subsegment is not None:
            for key, value in annotations.items():
                subsegment.put_annotation(key, value)
        yield


def _from_xray_header(header: str) -> str | None:
    fields = dict(part.split("=", 1) for part in header.split(";") if "=" in part)
    root = fields.get("Root", "")
    pieces = root.split("-")
    if len(pieces) != 3 or pieces[0] != "1":
        return None
    trace_id = (pieces[1] + pieces[2]).lower()
    parent = fields.get("Parent") or secrets.token_hex(8)
    sampled = "01" if fields.get("Sampled") == "1" else "00"
    if len(trace_id) != 32 or len(parent) != 16:
        return None
    return f"00-{trace_id}-{parent}-{sampled}"


def _valid_traceparent(value: str | None) -> bool:
    if not value:
        return False
    parts = value.split("-")
    return (
        len(parts) == 4
        and len(parts[1]) == 32
        and len(parts[2]) == 16
        and all(c in "0123456789abcdef" for c in parts[1] + parts[2])
    )


def outgoing_traceparent() -> str:
    """The ``traceparent`` for an event published now."""
    header = os.environ.get("_X_AMZN_TRACE_ID")
    if header:
        derived = _from_xray_header(header)
        if derived:
            return derived
    incoming = _incoming.get()
    if incoming and _valid_traceparent(incoming):
        _, trace_id, _, flags = incoming.split("-")
        return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"
    ids = secrets.token_hex(24)  # one read of the system's randomness for both ids
    return f"00-{ids[:32]}-{ids[32:]}-01"


@contextmanager
def continue_trace(traceparent: str | None) -> Iterator[None]:
    """Events published inside the block join the trace of ``traceparent``."""
    token = _incoming.set(traceparent if _valid_traceparent(traceparent) else None)
    try:
        yield
    finally:
        _incoming.reset(token)


_correlation: ContextVar[str | None] = ContextVar("messaging_correlation_id", default=None)


def current_correlation_id() -> str | None:
    """The correlation id of the event being handled, inherited by events published now."""
    return _correlation.get()


@contextmanager
def correlation_scope(correlation_id: str | None) -> Iterator[None]:
    """Events published inside the block carry ``correlation_id``."""
    token = _correlation.set(correlation_id or None)
    try:
        yield
    finally:
        _correlation.reset(token)
