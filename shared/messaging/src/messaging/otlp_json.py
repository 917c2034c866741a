"""OTLP/HTTP with the JSON encoding, sent with the standard library: the ``otel`` exporter.

The OTLP exporter of the OpenTelemetry project encodes with protobuf and sends with
``requests``: about 60 ms of a cold start, and 1.3 MiB zipped. The OTLP specification
("JSON Protobuf Encoding", opentelemetry-proto ``docs/specification.md``) lets a client
send the same ``ExportTraceServiceRequest`` as JSON instead, and both receivers the
package exports to accept it: the collector of the ADOT Lambda layer (the collector's
``otlp`` receiver on localhost:4318) and X-Ray's OTLP endpoint (CloudWatch's "OTLP
Endpoints" page: payload format binary or json; it needs SigV4, which the collector
adds). ``http.client`` is loaded by botocore already, so this costs nothing to import.

The encoding follows the specification's deviations from the proto3 JSON mapping:
``traceId``/``spanId`` as hex (not base64), enums as integers, lowerCamelCase keys,
64-bit integers as decimal strings.
"""

from __future__ import annotations

import base64
import enum
import http.client
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

__all__ = ["CONTENT_TYPE", "JsonSpanExporter", "SpanExportResult", "encode_spans"]

CONTENT_TYPE = "application/json"
_log = logging.getLogger(__name__)


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):  # before int: bool is an int to Python
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # int64: a decimal string in proto3 JSON
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode("ascii")}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [_any_value(item) for item in value]}}
    return {"stringValue": str(value)}


def _attributes(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": key, "value": _any_value(value)} for key, value in (attributes or {}).items()]


def _trace_id(value: int) -> str:
    return f"{value:032x}"


def _span_id(value: int) -> str:
    return f"{value:016x}"


def _flags(parent: Any) -> int:
    """``SpanFlags`` as the project's protobuf encoder sets them: whether the parent (or
    the linked span) is remote is known, and whether it is."""
    known, remote = 0x100, 0x200  # SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK, _IS_REMOTE_MASK
    return known | remote if parent is not None and parent.is_remote else known


def _span(span: Any) -> dict[str, Any]:
    context = span.get_span_context()
    encoded: dict[str, Any] = {
        "traceId": _trace_id(context.trace_id),
        "spanId": _span_id(context.span_id),
        "name": span.name,
        "kind": span.kind.value + 1,  # the API counts from INTERNAL=0, OTLP from UNSPECIFIED=0
        "startTimeUnixNano": str(span.start_time),
        "endTimeUnixNano": str(span.end_time),
        "attributes": _attributes(span.attributes),
        "droppedAttributesCount": span.dropped_attributes,
        "events": [
            {
                "timeUnixNano": str(event.timestamp),
                "name": event.name,
                "attributes": _attributes(event.attributes),
            }
            for event in span.events
        ],
        "links": [
            {
                "traceId": _trace_id(link.context.trace_id),
                "spanId": _span_id(link.context.span_id),
                "attributes": _attributes(link.attributes),
                "flags": _flags(link.context),
            }
            for link in span.links
        ],
        "status": {"code": span.status.status_code.value},
        "flags": _flags(span.parent),
    }
    if span.parent is not None:
        encoded["parentSpanId"] = _span_id(span.parent.span_id)
    if context.trace_state:
        encoded["traceState"] = context.trace_state.to_header()
    if span.status.description:
        encoded["status"]["message"] = span.status.description
    return encoded


def encode_spans(spans: Sequence[Any]) -> dict[str, Any]:
    """The ``ExportTraceServiceRequest`` of ``spans`` (the package's ``RecordedSpan`` or
    the SDK's ``ReadableSpan``), as JSON data: spans grouped by resource, then by
    instrumentation scope, as OTLP nests them."""
    by_resource: dict[int, tuple[Any, dict[tuple[str, str], tuple[Any, list[Any]]]]] = {}
    for span in spans:
        _, scopes = by_resource.setdefault(id(span.resource), (span.resource, {}))
        scope = span.instrumentation_scope
        key = (scope.name, scope.version or "") if scope else ("", "")
        scopes.setdefault(key, (scope, []))[1].append(span)
    resource_spans = []
    for resource, scopes in by_resource.values():
        scope_spans = []
        for (name, version), (_, members) in scopes.items():
            scope_spans.append(
                {
                    "scope": {"name": name, "version": version},
                    "spans": [_span(member) for member in members],
                }
            )
        resource_spans.append(
            {
                "resource": {"attributes": _attributes(resource.attributes if resource else {})},
                "scopeSpans": scope_spans,
            }
        )
    return {"resourceSpans": resource_spans}


class SpanExportResult(enum.Enum):
    """What an export came to, as the SDK's enum of the same name says it."""

    SUCCESS = 0
    FAILURE = 1


class JsonSpanExporter:
    """A span exporter over OTLP/HTTP JSON: one POST per export, no retries, bounded by
    ``timeout_s`` (a collector on loopback answers at once or not at all). It has the
    SDK's ``SpanExporter`` methods, so an SDK ``SpanProcessor`` can drive it too, but
    needs no SDK: it exports the package's own spans (``otel_spans.py``) and the SDK's."""

    def __init__(self, endpoint: str, timeout_s: float) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OTLP traces endpoint {endpoint!r} is not an http:// or https:// URL")
        self._endpoint = endpoint
        self._parts = parts
        self._timeout_s = timeout_s
        self._stopped = False

    def _connection(self) -> http.client.HTTPConnection:
        kind = (
            http.client.HTTPSConnection
            if self._parts.scheme == "https"
            else http.client.HTTPConnection
        )
        return kind(self._parts.hostname or "", self._parts.port, timeout=self._timeout_s)

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        if self._stopped or not spans:
            return SpanExportResult.SUCCESS if not self._stopped else SpanExportResult.FAILURE
        body = json.dumps(encode_spans(spans), separators=(",", ":")).encode("utf-8")
        path = self._parts.path or "/"
        if self._parts.query:
            path += "?" + self._parts.query
        connection = self._connection()
        try:
            connection.request("POST", path, body=body, headers={"Content-Type": CONTENT_TYPE})
            response = connection.getresponse()
            answer = response.read()
        except OSError as error:  # refused, timed out, reset: tracing never fails handling
            _log.warning(
                "OTLP export of %d spans to %s failed: %s", len(spans), self._endpoint, error
            )
            return SpanExportResult.FAILURE
        finally:
            connection.close()
        if not 200 <= response.status < 300:
            _log.warning(
                "OTLP export of %d spans to %s answered %d: %s",
                len(spans),
                self._endpoint,
                response.status,
                answer[:300].decode("utf-8", "replace"),
            )
            return SpanExportResult.FAILURE
        self._warn_partial(answer)
        return SpanExportResult.SUCCESS

    def _warn_partial(self, answer: bytes) -> None:
        try:
            partial = json.loads(answer or b"{}").get("partialSuccess") or {}
        except (ValueError, AttributeError):
            return  # a success is a success, whatever its body
        if partial.get("rejectedSpans") or partial.get("errorMessage"):
            _log.warning(
                "OTLP receiver at %s rejected %s spans: %s",
                self._endpoint,
                partial.get("rejectedSpans", 0),
                partial.get("errorMessage", ""),
            )

    def shutdown(self) -> None:
        self._stopped = True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # nothing is buffered here
