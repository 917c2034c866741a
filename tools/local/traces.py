"""The local system's trace collector: OTLP over HTTP on 127.0.0.1, spans to a JSON-lines file.

The workers run with ``MESSAGING_TRACING=otel`` and export to it exactly as a function
exports to the ADOT layer's collector in Lambda (``POST /v1/traces``, gzip or not), in
either OTLP/HTTP encoding, told apart by ``Content-Type`` as the specification asks:
``application/json`` (the package's default) or ``application/x-protobuf``. JSON is
held to the specification's rules (hex ids, integer enums, lowerCamelCase keys) and
refused with 400 naming the rule it breaks. Each span becomes one line of
``<state>/traces.jsonl``::

    {"trace_id": "…", "span_id": "…", "parent_span_id": "…" | null, "name": "publish orders",
     "kind": "PRODUCER", "service": "orders_api", "start_ns": …, "end_ns": …,
     "attributes": {...}, "links": [{"trace_id": "…", "span_id": "…"}], "status": "UNSET"}

``conversation_trace`` finds the trace of one conversation (correlation id) and checks
its links; ``trace_tree`` renders it for ``make demo``.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import zlib
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = [
    "TraceCollector",
    "conversation_trace",
    "decode",
    "decode_json",
    "read_spans",
    "trace_tree",
]

_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in any_value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: _value(item.value) for item in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, kind) if kind else None


def decode(body: bytes) -> list[dict[str, Any]]:
    """The spans of one OTLP ``ExportTraceServiceRequest`` (protobuf), as plain dicts."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    {
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex() or None,
                        "name": span.name,
                        "kind": _KINDS.get(span.kind, str(span.kind)),
                        "service": resource.get("service.name"),
                        "start_ns": span.start_time_unix_nano,
                        "end_ns": span.end_time_unix_nano,
                        "attributes": {a.key: _value(a.value) for a in span.attributes},
                        "links": [
                            {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex()}
                            for link in span.links
                        ],
                        "status": _STATUS.get(span.status.code, str(span.status.code)),
                    }
                )
    return spans


class BadExport(ValueError):
    """A JSON export that breaks a rule of the OTLP JSON encoding."""


def _hex_id(holder: dict[str, Any], key: str, size: int, *, required: bool = True) -> str | None:
    raw = holder.get(key)
    if raw in (None, "") and not required:
        return None
    if not isinstance(raw, str) or len(raw) != size * 2:
        raise BadExport(
            f"{key} must be {size * 2} hex digits (OTLP JSON: hex, not base64), got {raw!r}"
        )
    try:
        bytes.fromhex(raw)
    except ValueError:
        raise BadExport(f"{key} must be hex (OTLP JSON: hex, not base64), got {raw!r}") from None
    return raw.lower()  # hex is case-insensitive in OTLP JSON


def _enum(holder: dict[str, Any], key: str) -> int:
    value = holder.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadExport(f"{key} must be an integer (OTLP JSON enums), got {value!r}")
    return value


def _json_value(any_value: dict[str, Any]) -> Any:
    if "arrayValue" in any_value:
        return [_json_value(item) for item in any_value["arrayValue"].get("values", [])]
    if "kvlistValue" in any_value:
        return _json_attributes(any_value["kvlistValue"].get("values", []))
    if "intValue" in any_value:
        return int(any_value["intValue"])  # int64: a decimal string, a number accepted
    if "bytesValue" in any_value:
        return base64.b64decode(any_value["bytesValue"]).hex()
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in any_value:
            return any_value[key]
    wrong = [key for key in any_value if "_" in key]
    if wrong:
        raise BadExport(f"AnyValue keys are lowerCamelCase in OTLP JSON, got {wrong}")
    return None


def _json_attributes(attributes: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: _json_value(item.get("value", {})) for item in attributes}


def _snake_case_keys(holder: dict[str, Any], where: str) -> None:
    wrong = sorted(key for key in holder if "_" in key)
    if wrong:
        raise BadExport(f"{where} keys are lowerCamelCase in OTLP JSON, got {wrong}")


def decode_json(body: bytes) -> list[dict[str, Any]]:
    """The spans of one JSON-encoded ``ExportTraceServiceRequest``, as plain dicts."""
    try:
        request = json.loads(body)
    except ValueError as error:
        raise BadExport(f"not JSON: {error}") from None
    if not isinstance(request, dict):
        raise BadExport("an ExportTraceServiceRequest is a JSON object")
    _snake_case_keys(request, "ExportTraceServiceRequest")
    spans = []
    for resource_spans in request.get("resourceSpans", []):
        _snake_case_keys(resource_spans, "ResourceSpans")
        resource = _json_attributes(resource_spans.get("resource", {}).get("attributes", []))
        for scope_spans in resource_spans.get("scopeSpans", []):
            _snake_case_keys(scope_spans, "ScopeSpans")
            for span in scope_spans.get("spans", []):
                _snake_case_keys(span, "Span")
                kind = _enum(span, "kind")
                status = _enum(span.get("status", {}), "code")
                spans.append(
                    {
                        "trace_id": _hex_id(span, "traceId", 16),
                        "span_id": _hex_id(span, "spanId", 8),
                        "parent_span_id": _hex_id(span, "parentSpanId", 8, required=False),
                        "name": span.get("name", ""),
                        "kind": _KINDS.get(kind, str(kind)),
                        "service": resource.get("service.name"),
                        "start_ns": int(span.get("startTimeUnixNano", 0)),
                        "end_ns": int(span.get("endTimeUnixNano", 0)),
                        "attributes": _json_attributes(span.get("attributes", [])),
                        "links": [
                            {
                                "trace_id": _hex_id(link, "traceId", 16),
                                "span_id": _hex_id(link, "spanId", 8),
                            }
                            for link in span.get("links", [])
                        ],
                        "status": _STATUS.get(status, str(status)),
                    }
                )
    return spans


_ENCODINGS = {"application/json": decode_json, "application/x-protobuf": decode}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/traces":
            self._answer(404, b"only POST /v1/traces (OTLP/HTTP traces) is served here")
            return
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in _ENCODINGS:
            self._answer(
                415,
                b"send OTLP/HTTP as Content-Type application/json or application/x-protobuf",
            )
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            spans = _ENCODINGS[content_type](body)
        except Exception as error:  # a bad request must not stop the collector
            self._answer(400, f"not an OTLP trace export: {error}".encode())
            return
        self.server.write(spans)
        if content_type == "application/json":  # the response in the request's encoding
            self._answer(200, b"{}", content_type)
            return
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        answer = ExportTraceServiceResponse().SerializeToString()
        self._answer(200, answer, content_type)

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per export would drown the console


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, path: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.path = path
        self.lock = threading.Lock()

    def write(self, spans: Iterable[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(span, sort_keys=True) + "\n" for span in spans)
        with self.lock, self.path.open("a", encoding="utf-8") as out:
            out.write(lines)


class TraceCollector:
    """OTLP/HTTP on 127.0.0.1 (a free port), appending every span it receives to ``path``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")
        self.path = path
        self._server = _Server(path)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="trace-collector", daemon=True
        )

    @property
    def endpoint(self) -> str:
        """The value of ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` for the exporters."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"

    def start(self) -> TraceCollector:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> TraceCollector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def read_spans(path: Path) -> list[dict[str, Any]]:
    """Every span written to ``path`` so far."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def trace_tree(spans: list[dict[str, Any]], trace_id: str) -> list[str]:
    """The spans of ``trace_id`` as tree lines, each under its parent, links named."""
    mine = sorted((s for s in spans if s["trace_id"] == trace_id), key=lambda s: s["start_ns"])
    by_id = {s["span_id"]: s for s in mine}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in mine:
        parent = span["parent_span_id"] if span["parent_span_id"] in by_id else None
        children.setdefault(parent, []).append(span)
    lines = [f"trace {trace_id}"]

    def walk(parent: str | None, indent: str) -> None:
        siblings = children.get(parent, [])
        for index, span in enumerate(siblings):
            last = index == len(siblings) - 1
            linked = [
                f"{by_id[link['span_id']]['service']}'s {link['span_id'][:8]}"
                if link["span_id"] in by_id
                else link["span_id"][:8]
                for link in span["links"]
            ]
            link_text = f"  linked to {', '.join(linked)}" if linked else ""
            duration = (span["end_ns"] - span["start_ns"]) / 1e6
            lines.append(
                f"{indent}{'└─' if last else '├─'} {span['service']:<18} {span['kind']:<8} "
                f"{span['name']}  span {span['span_id'][:8]}  {duration:.1f} ms{link_text}"
            )
            walk(span["span_id"], indent + ("   " if last else "│  "))

    walk(None, "")
    return lines


def conversation_trace(
    spans: list[dict[str, Any]], correlation_id: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The messaging spans of ``correlation_id``, and what is wrong with them (nothing when
    they form one trace in which every CONSUMER span links to a PRODUCER span of it)."""
    mine = [
        s
        for s in spans
        if s["attributes"].get("messaging.message.conversation_id") == correlation_id
    ]
    problems = []
    trace_ids = sorted({s["trace_id"] for s in mine})
    if len(trace_ids) != 1:
        problems.append(f"{len(trace_ids)} trace ids for one conversation: {', '.join(trace_ids)}")
    producers = {s["span_id"]: s for s in mine if s["kind"] == "PRODUCER"}
    for span in mine:
        if span["kind"] != "CONSUMER":
            continue
        linked = [link for link in span["links"] if link["span_id"] in producers]
        if not linked:
            problems.append(f"{span['service']}'s {span['name']} links to no producer span")
        elif producers[linked[0]["span_id"]]["attributes"].get("messaging.message.id") != span[
            "attributes"
        ].get("messaging.message.id"):
            problems.append(f"{span['service']}'s {span['name']} links to another event's send")
    return mine, problems
