"""Tracing behind one small surface, with a backend per environment (``MESSAGING_TRACING``).

* ``xray`` (the default): X-Ray subsegments around publish and handle when active
  tracing runs in Lambda, through the X-Ray SDK (in maintenance since February 2026).
* ``otel``: OpenTelemetry spans (``otel_tracing.py``): a PRODUCER span per publish whose
  context the event carries, a CONSUMER span per handled event linked to it (also
  per event of a batch handler's bulk call).
* ``off``: nothing, and nothing imported.

Publish and handle call ``publishing`` and ``handling`` once each; every backend's
SDK is imported at the first span, never at import time. Whatever the backend, the
event carries a W3C ``traceparent`` (envelope field and message attribute):
``outgoing_traceparent()`` derives it from the X-Ray header when there is one,
otherwise continues the trace of the event being handled, otherwise starts one.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from .config import settings

if TYPE_CHECKING:
    from .envelope import Envelope

__all__ = [
    "continue_trace",
    "correlation_scope",
    "current_correlation_id",
    "handling",
    "handling_batch",
    "outgoing_traceparent",
    "publishing",
    "reset_tracing",
    "span",
    "tracing_active",
    "xray_traceparent",
]

_incoming: ContextVar[str | None] = ContextVar("messaging_incoming_traceparent", default=None)
_recorder: Any = None


def _xray_header() -> str | None:
    return os.environ.get("_X_AMZN_TRACE_ID")  # the runtime sets it anew per invocation


def tracing_active() -> bool:
    """X-Ray is on: the ``xray`` backend inside Lambda with active tracing."""
    if _xray_header() is None:
        return False
    current = settings()
    return current.tracing == "xray" and bool(current.function_name)


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


def _otel() -> Any:
    from . import otel_tracing  # the OpenTelemetry API and SDK load here, at the first span

    return otel_tracing


@contextmanager
def span(name: str, **annotations: str) -> Iterator[None]:
    """Run the block inside a span ``name`` with ``annotations`` (or do nothing).

    An X-Ray subsegment with ``xray`` in Lambda, an internal span with ``otel``.
    """
    backend = settings().tracing
    if backend == "otel":
        with _otel().internal_span(name, annotations):
            yield
        return
    recorder: Any = _xray() if tracing_active() else None
    if not recorder:
        yield
        return
    with recorder.in_subsegment(name) as subsegment:
        if subsegment is not None:
            for key, value in annotations.items():
                subsegment.put_annotation(key, value)
        yield


def _topic_of(event_type: str) -> str:
    from .catalog import load_catalog  # loaded already by whoever publishes or handles

    return load_catalog().spec(event_type).topic


@contextmanager
def publishing(events: Sequence[Envelope]) -> Iterator[list[Envelope]]:
    """Trace sending ``events``: yields them as they must go out.

    With ``otel`` that is one PRODUCER span for the call, whose context replaces each
    event's ``traceparent`` (so the consumer links to this very send); otherwise the
    events unchanged, inside an X-Ray ``publish`` subsegment where X-Ray is active.
    """
    events = list(events)
    if settings().tracing == "otel" and events:
        topics = sorted({_topic_of(event.type) for event in events})
        with _otel().producer_span(events, topics, _xray_header()) as traceparent:
            yield [dataclasses.replace(event, traceparent=traceparent) for event in events]
        return
    if len(events) == 1:
        name, annotations = "publish", {"event_type": events[0].type, "event_id": events[0].id}
    else:
        name, annotations = "publish_many", {"count": str(len(events))}
    with span(name, **annotations):
        yield events


@contextmanager
def handling(envelope: Envelope) -> Iterator[None]:
    """Trace handling ``envelope``; events published inside join its trace.

    With ``otel``, a CONSUMER span linked to the producer's context (the envelope's
    ``traceparent``), parented on the function's X-Ray header when there is one.
    """
    with continue_trace(envelope.traceparent):
        if settings().tracing == "otel":
            topic = _topic_of(envelope.type)
            with _otel().consumer_span(envelope, topic, _xray_header()):
                yield
            return
        with span("handle", event_type=envelope.type, event_id=envelope.id):
            yield


def _ignore(_: Iterable[str]) -> None:
    pass


@contextmanager
def handling_batch(envelopes: Sequence[Envelope]) -> Iterator[Callable[[Iterable[str]], None]]:
    """Trace one bulk call handling ``envelopes`` (of one type); yields a function to
    call with the ids of those that failed.

    A ``handle_batch`` span around the call; with ``otel`` also a CONSUMER span per
    envelope, each linked to its producer's context as ``handling`` links one, its
    status ERROR when the envelope failed.
    """
    annotations = {"event_type": envelopes[0].type, "size": str(len(envelopes))}
    if settings().tracing == "otel":
        topic = _topic_of(envelopes[0].type)
        # opened before handle_batch, so that span is none of theirs' parent
        with (
            _otel().consumer_spans(envelopes, topic, _xray_header()) as failed,
            span("handle_batch", **annotations),
        ):
            yield failed
        return
    with span("handle_batch", **annotations):
        yield _ignore


def reset_tracing() -> None:
    """Forget the otel backend's tracer, as a new container would (tests, tools)."""
    loaded = sys.modules.get(f"{__package__}.otel_tracing")
    if loaded is not None:
        loaded.reset()


def xray_traceparent(header: str) -> str | None:
    """The W3C ``traceparent`` of an X-Ray trace header (``Root=1-…;Parent=…;Sampled=1``)."""
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
    """The ``traceparent`` for an event created now (``otel`` replaces it at publish)."""
    header = _xray_header()
    if header:
        derived = xray_traceparent(header)
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
