"""The otel backend's own tracer: the OpenTelemetry API's ``Tracer`` and ``Span``, without the SDK.

Where no tracer provider is installed and spans go out as OTLP/HTTP JSON (the default),
this is what records them. The SDK's ``TracerProvider`` cost about 20 ms of a cold
start to import (its metrics API, semantic conventions, resource detectors, samplers:
docs/performance.md, group 5) for the little this backend uses of it, which is here:
random ids, the SDK's default sampling (follow the parent's sampled flag, sample a new
trace), attributes within the SDK's default limit of 128 (the API's
``BoundedAttributes``), links, events, a status, start and end times. The API's
``use_span`` makes a span current and records an exception that escapes it, as with
the SDK. ``otlp_json.encode_spans`` reads these spans by the names it reads the SDK's
``ReadableSpan`` by; the protobuf exporter keeps the SDK (``otel_tracing.py``).
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

__all__ = ["Event", "ExportWhenOutermostEnds", "RecordedSpan", "Resource", "Scope", "Tracer"]

LIMIT = 128  # the SDK's default limit of attributes, events and links per span


@dataclass(frozen=True)
class Resource:
    """What produced the spans (``service.name``...), as OTLP's ``resource``."""

    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class Scope:
    """The instrumentation scope: the tracer's name and version."""

    name: str
    version: str | None = None


@dataclass(frozen=True)
class Event:
    name: str
    attributes: Mapping[str, Any]
    timestamp: int


class ExportWhenOutermostEnds:
    """Buffers ended spans; exports them when no span of this process is open.

    No background thread: nothing is left to flush when Lambda freezes the sandbox.
    The SDK's ``TracerProvider`` takes it too (with ``SpanProcessor`` mixed in).
    """

    def __init__(self, exporter: Any) -> None:
        self._exporter = exporter
        self._lock = threading.Lock()
        self._open = 0
        self._ended: list[Any] = []

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        with self._lock:
            self._open += 1

    def on_end(self, span: Any) -> None:
        with self._lock:
            self._open -= 1
            self._ended.append(span)
            done = self._open <= 0
        if done:
            self.force_flush()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        with self._lock:
            batch, self._ended = self._ended, []
        if batch:
            self._exporter.export(batch)  # bounded by the exporter's timeout
        return True

    def shutdown(self) -> None:
        self.force_flush()
        self._exporter.shutdown()


class RecordedSpan(trace.Span):
    """A sampled span, recorded until it ends, then handed to the processor."""

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: Mapping[str, Any] | None,
        links: Sequence[Link] | None,
        tracer: Tracer,
        start_time: int | None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.parent = parent
        self.resource = tracer.resource
        self.instrumentation_scope = tracer.scope
        self.attributes = BoundedAttributes(LIMIT, attributes, immutable=False)
        self.links: list[Link] = list(links or ())[:LIMIT]
        self.events: list[Event] = []
        self.status = Status(StatusCode.UNSET)
        self.start_time = start_time if start_time is not None else time.time_ns()
        self.end_time: int | None = None
        self._context = context
        self._processor = tracer.processor
        self._lock = threading.Lock()

    @property
    def dropped_attributes(self) -> int:
        return self.attributes.dropped

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self.end_time is None

    def set_attribute(self, key: str, value: Any) -> None:
        if self.is_recording():
            self.attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(
        self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None
    ) -> None:
        if self.is_recording() and len(self.events) < LIMIT:
            bounded = BoundedAttributes(LIMIT, attributes, immutable=True)
            self.events.append(Event(name, bounded, timestamp or time.time_ns()))

    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        if self.is_recording() and context.is_valid and len(self.links) < LIMIT:
            self.links.append(Link(context, attributes))

    def update_name(self, name: str) -> None:
        if self.is_recording():
            self.name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # As the SDK: OK is final, UNSET changes nothing.
        if not self.is_recording() or self.status.status_code is StatusCode.OK:
            return
        new = status if isinstance(status, Status) else Status(status, description)
        if new.status_code is not StatusCode.UNSET:
            self.status = new

    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        details = {
            "exception.type": type(exception).__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        self.add_event("exception", {**details, **(attributes or {})}, timestamp)

    def end(self, end_time: int | None = None) -> None:
        with self._lock:
            if self.end_time is not None:
                return
            self.end_time = end_time if end_time is not None else time.time_ns()
        self._processor.on_end(self)


def _random_bits(bits: int) -> int:
    while True:
        found = random.getrandbits(bits)
        if found:  # zero is the invalid id
            return found


class Tracer(trace.Tracer):
    """Starts spans for one resource and scope, handing them to ``processor``."""

    def __init__(self, resource: Resource, scope: Scope, processor: Any) -> None:
        self.resource = resource
        self.scope = scope
        self.processor = processor

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        parent: SpanContext | None = trace.get_current_span(context).get_span_context()
        if parent is not None and parent.is_valid:
            trace_id, sampled, state = (
                parent.trace_id,
                parent.trace_flags.sampled,
                parent.trace_state,
            )
        else:  # a new trace, sampled
            parent, trace_id, sampled, state = None, _random_bits(128), True, None
        flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
        own = SpanContext(trace_id, _random_bits(64), False, flags, state)
        if not sampled:  # the SDK's ParentBased sampler: an unsampled parent's child is dropped
            return NonRecordingSpan(own)
        span = RecordedSpan(name, own, parent, kind, attributes, links, self, start_time)
        self.processor.on_start(span)
        return span

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current
