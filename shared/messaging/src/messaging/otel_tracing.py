"""The ``otel`` tracing backend: OpenTelemetry spans after the messaging conventions.

Imported by ``tracing.py`` at the first span, never before: the API costs milliseconds
of a cold start, the SDK tens of them (docs/performance.md, group 5).

* Where a tracer provider is already installed (the ADOT Lambda layer's
  ``otel-instrument`` wrapper would set one up, where a user adds it), spans go to it.
* Otherwise (in Lambda to the ADOT layer's collector, the local system, tests) this
  module builds its own: OTLP over HTTP to ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` /
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` (default ``http://localhost:4318``, a collector in the
  function), JSON-encoded and sent with the stdlib (``otlp_json.py``) by the package's
  own tracer over the API (``otel_spans.py``: the SDK is not imported), unless
  ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf`` asks for the project's protobuf
  exporter and with it the SDK; exported synchronously when the invocation's outermost
  span ends, bounded by ``MESSAGING_TRACE_EXPORT_TIMEOUT_S``. No background thread, so
  nothing is left to flush when Lambda freezes the sandbox and nothing holds the
  process at exit. The resource is built from the settings (no detectors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .config import settings
from .tracing import xray_traceparent

if TYPE_CHECKING:
    from .envelope import Envelope

__all__ = ["consumer_span", "consumer_spans", "internal_span", "producer_span", "reset"]

# OpenTelemetry semantic conventions for messaging (checked against the
# opentelemetry-semantic-conventions package by tests/test_otel_tracing.py).
SYSTEM = "aws.sns"
SEND = "send"  # messaging.operation.type of publishing (formerly "publish")
PROCESS = "process"

_propagator = TraceContextTextMapPropagator()
_tracer: tuple[Any, Any] | None = None  # (the settings it was built for, the tracer)


def _resource_attributes(current: Any) -> dict[str, str]:
    """The resource, from the settings: no detectors run and no entry points are scanned."""
    found = {
        "service.name": current.service_name or "unknown_service",
        "cloud.provider": "aws",
        "telemetry.sdk.language": "python",
    }
    if current.function_name:
        found["faas.name"] = current.function_name
    return found


def _json_tracer(current: Any) -> Any:
    """The package's own tracer (``otel_spans.py``), exporting OTLP/HTTP JSON with the stdlib."""
    from .otel_spans import ExportWhenOutermostEnds, Resource, Scope, Tracer
    from .otlp_json import JsonSpanExporter

    exporter = JsonSpanExporter(current.otlp_traces_endpoint, current.trace_export_timeout_s)
    resource = Resource(_resource_attributes(current))
    return Tracer(resource, Scope("messaging"), ExportWhenOutermostEnds(exporter))


def _protobuf_tracer(current: Any) -> Any:
    """The SDK's tracer with the OpenTelemetry project's protobuf exporter
    (``pip install messaging[otel-protobuf]``), exporting as the JSON one does."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as error:
        raise ImportError(
            f"OTLP protocol {current.otlp_protocol} needs opentelemetry-exporter-otlp-proto-http"
            " (the otel-protobuf extra of messaging); http/json needs nothing more"
        ) from error
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

    from .otel_spans import ExportWhenOutermostEnds

    class SdkExportWhenOutermostEnds(ExportWhenOutermostEnds, SpanProcessor):
        pass

    exporter = OTLPSpanExporter(
        endpoint=current.otlp_traces_endpoint, timeout=current.trace_export_timeout_s
    )
    provider = TracerProvider(resource=Resource(_resource_attributes(current)))
    provider.add_span_processor(SdkExportWhenOutermostEnds(exporter))
    return provider.get_tracer("messaging")


def _get_tracer() -> Any:
    """The tracer of the current settings (one per container; tests switch services)."""
    global _tracer
    current = settings()
    if _tracer is None or _tracer[0] is not current:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, trace.ProxyTracerProvider):  # the ADOT layer's, say
            tracer = provider.get_tracer("messaging")
        elif current.otlp_protocol == "http/json":
            tracer = _json_tracer(current)
        else:
            tracer = _protobuf_tracer(current)
        _tracer = (current, tracer)
    return _tracer[1]


def reset() -> None:
    """Forget the tracer: the next span builds it again from the settings."""
    global _tracer
    _tracer = None


def _context_of(traceparent: str | None) -> Context | None:
    if not traceparent:
        return None
    extracted = _propagator.extract({"traceparent": traceparent})
    return extracted if trace.get_current_span(extracted).get_span_context().is_valid else None


def _parent(xray_header: str | None, fallback: Context | None) -> Context | None:
    """The open span, else the function's X-Ray trace, else ``fallback``, else a new trace."""
    if trace.get_current_span().get_span_context().is_valid:
        return None  # the current context: start_as_current_span's default
    from_xray = _context_of(xray_traceparent(xray_header)) if xray_header else None
    return from_xray or fallback or Context()


def _traceparent(span: Any) -> str:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=trace.set_span_in_context(span))
    return carrier["traceparent"]


@contextmanager
def producer_span(
    events: Sequence[Envelope], topics: Sequence[str], xray_header: str | None
) -> Iterator[str]:
    """A PRODUCER span around sending ``events``; yields the ``traceparent`` they carry."""
    destination = ", ".join(topics)
    attributes: dict[str, Any] = {
        "messaging.system": SYSTEM,
        "messaging.operation.type": SEND,
        "messaging.operation.name": "publish" if len(events) == 1 else "publish_batch",
        "messaging.destination.name": destination,
    }
    if len(events) == 1:
        attributes["messaging.message.id"] = events[0].id
        attributes["messaging.message.conversation_id"] = events[0].correlation_id
        attributes["event.type"] = events[0].type
    else:
        attributes["messaging.batch.message_count"] = len(events)
    with _get_tracer().start_as_current_span(
        f"{attributes['messaging.operation.name']} {destination}",
        context=_parent(xray_header, None),
        kind=SpanKind.PRODUCER,
        attributes=attributes,
    ) as span:
        yield _traceparent(span)


def _consumer(envelope: Envelope, topic: str) -> tuple[Context | None, list[Link], dict[str, Any]]:
    """The producer's context of ``envelope``, the link to it, its CONSUMER span's attributes."""
    producer = _context_of(envelope.traceparent)
    links = []
    if producer is not None:
        links.append(Link(trace.get_current_span(producer).get_span_context()))
    attributes = {
        "messaging.system": SYSTEM,
        "messaging.operation.type": PROCESS,
        "messaging.operation.name": PROCESS,
        "messaging.destination.name": topic,
        "messaging.message.id": envelope.id,
        "messaging.message.conversation_id": envelope.correlation_id,
        "event.type": envelope.type,
        "event.version": envelope.version,
    }
    return producer, links, attributes


@contextmanager
def consumer_span(envelope: Envelope, topic: str, xray_header: str | None) -> Iterator[None]:
    """A CONSUMER span around handling ``envelope``, linked to the span that sent it."""
    producer, links, attributes = _consumer(envelope, topic)
    with _get_tracer().start_as_current_span(
        f"process {topic}",
        context=_parent(xray_header, producer),
        kind=SpanKind.CONSUMER,
        links=links,
        attributes=attributes,
    ):
        yield


@contextmanager
def consumer_spans(
    envelopes: Sequence[Envelope], topic: str, xray_header: str | None
) -> Iterator[Callable[[Iterable[str]], None]]:
    """A CONSUMER span per envelope around one bulk call, each in its producer's trace.

    The spans are not made current (no one of them is the bulk call's parent); each is
    parented as ``consumer_span`` parents, linked to the span that sent its envelope,
    and ends with the call. Yields a function taking the ids of the envelopes that
    failed, whose spans end with status ERROR.
    """
    tracer = _get_tracer()
    count = len(envelopes)
    spans = {}
    for envelope in envelopes:
        producer, links, attributes = _consumer(envelope, topic)
        spans[envelope.id] = tracer.start_span(
            f"process {topic}",
            context=_parent(xray_header, producer),
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={**attributes, "messaging.batch.message_count": count},
        )
    failed: set[str] = set()
    try:
        yield failed.update
    except BaseException:
        failed.update(spans)
        raise
    finally:
        for event_id, span in spans.items():
            if event_id in failed:
                span.set_status(Status(StatusCode.ERROR, "the batch handler failed this event"))
            span.end()


@contextmanager
def internal_span(name: str, annotations: Mapping[str, str]) -> Iterator[None]:
    """An INTERNAL span ``name`` (the claim check's upload, say) inside the current one."""
    with _get_tracer().start_as_current_span(name, attributes=dict(annotations)):
        yield
