"""The OTLP/HTTP JSON exporter against the specification's rules and the collector.

The rules are those of opentelemetry-proto's docs/specification.md, "JSON Protobuf
Encoding": hex ``traceId``/``spanId``, integer enums, lowerCamelCase keys, 64-bit
integers as decimal strings. Its content is checked against the OpenTelemetry project's
own protobuf encoder of the same spans, read through protobuf's JSON parser.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from messaging.config import ConfigurationError, Settings
from messaging.otlp_json import JsonSpanExporter, SpanExportResult, encode_spans
from tools.local.traces import TraceCollector, read_spans


@pytest.fixture
def finished() -> list[ReadableSpan]:
    """A producer span with every kind of attribute value, and a linked consumer child."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "orders_api"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("messaging", "1.0")
    attributes = {"text": "a", "count": 2**40, "ratio": 0.5, "flag": True, "list": ["x", "y"]}
    with tracer.start_as_current_span("publish orders", kind=SpanKind.PRODUCER) as producer:
        producer.set_attributes(attributes)
        producer.add_event("sent", {"n": 1})
        link = Link(producer.get_span_context(), {"why": "sent it"})
        with tracer.start_as_current_span("process orders", kind=SpanKind.CONSUMER, links=[link]):
            pass
        producer.set_status(Status(StatusCode.ERROR, "boom"))
    return list(memory.get_finished_spans())


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_the_encoding_follows_the_specifications_json_rules(
    finished: list[ReadableSpan],
) -> None:
    # when
    request = encode_spans(finished)
    # then
    [resource_spans] = request["resourceSpans"]
    [scope_spans] = resource_spans["scopeSpans"]
    consumer, producer = scope_spans["spans"]
    assert scope_spans["scope"] == {"name": "messaging", "version": "1.0"}
    assert producer["traceId"] == f"{finished[1].context.trace_id:032x}"  # hex, not base64
    assert producer["spanId"] == f"{finished[1].context.span_id:016x}"
    assert consumer["parentSpanId"] == producer["spanId"]
    assert consumer["links"][0]["spanId"] == producer["spanId"]
    assert (producer["kind"], consumer["kind"]) == (4, 5)  # SPAN_KIND_PRODUCER, _CONSUMER
    assert producer["status"] == {"code": 2, "message": "boom"}  # STATUS_CODE_ERROR
    assert isinstance(producer["startTimeUnixNano"], str)  # fixed64: a decimal string
    values = {a["key"]: a["value"] for a in producer["attributes"]}
    assert values["count"] == {"intValue": str(2**40)}
    assert values["flag"] == {"boolValue": True}
    assert values["ratio"] == {"doubleValue": 0.5}
    assert values["list"] == {
        "arrayValue": {"values": [{"stringValue": "x"}, {"stringValue": "y"}]}
    }
    keys = set(_keys(request))
    assert not {key for key in keys if "_" in key}, "keys must be lowerCamelCase"


def test_the_content_is_what_the_protobuf_exporter_sends(finished: list[ReadableSpan]) -> None:
    from google.protobuf import json_format
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as official
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    # given: the same request, its ids turned into proto3 JSON's base64 for the parser
    request = encode_spans(finished)

    def to_base64(value: Any) -> None:
        if isinstance(value, dict):
            for key in ("traceId", "spanId", "parentSpanId"):
                if key in value:
                    value[key] = base64.b64encode(bytes.fromhex(value[key])).decode()
            for item in value.values():
                to_base64(item)
        elif isinstance(value, list):
            for item in value:
                to_base64(item)

    to_base64(request)
    # when: parsed strictly (an unknown field name fails)
    ours = json_format.Parse(json.dumps(request), ExportTraceServiceRequest())
    # then
    theirs = official(finished)
    for resource in theirs.resource_spans:
        for scope in resource.scope_spans:
            scope.ClearField("schema_url")
    assert ours == theirs


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[TraceCollector]:
    with TraceCollector(tmp_path / "traces.jsonl") as running:
        yield running


def test_the_local_collector_stores_what_the_exporter_sends(
    finished: list[ReadableSpan], collector: TraceCollector
) -> None:
    result = JsonSpanExporter(collector.endpoint, timeout_s=2).export(finished)
    assert result is SpanExportResult.SUCCESS
    consumer, producer = read_spans(collector.path)
    assert (producer["kind"], consumer["kind"]) == ("PRODUCER", "CONSUMER")
    assert consumer["links"] == [{"trace_id": producer["trace_id"], "span_id": producer["span_id"]}]
    assert producer["attributes"]["count"] == 2**40
    assert producer["status"] == "ERROR"
    assert producer["service"] == "orders_api"


def _post(collector: TraceCollector, request: dict[str, Any]) -> tuple[int, str]:
    target = urlsplit(collector.endpoint)
    connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=5)
    try:
        connection.request(
            "POST", target.path, json.dumps(request), {"Content-Type": "application/json"}
        )
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("breach", "message"),
    [
        (lambda s: s.update(traceId=base64.b64encode(bytes.fromhex(s["traceId"])).decode()), "hex"),
        (lambda s: s.update(kind="SPAN_KIND_PRODUCER"), "kind must be an integer"),
        (lambda s: s.update(span_id=s.pop("spanId")), "lowerCamelCase"),
    ],
    ids=["base64 id", "enum name", "snake_case key"],
)
def test_the_local_collector_refuses_json_that_breaks_a_rule(
    finished: list[ReadableSpan], collector: TraceCollector, breach: Any, message: str
) -> None:
    request = encode_spans(finished)
    breach(request["resourceSpans"][0]["scopeSpans"][0]["spans"][1])
    status, body = _post(collector, request)
    assert status == 400
    assert message in body
    assert read_spans(collector.path) == []  # nothing half-stored


def test_a_refused_or_unreachable_export_fails_quietly(
    finished: list[ReadableSpan], collector: TraceCollector
) -> None:
    wrong_path = collector.endpoint.replace("/v1/traces", "/v1/logs")
    assert JsonSpanExporter(wrong_path, timeout_s=2).export(finished) is SpanExportResult.FAILURE
    collector.stop()
    assert (
        JsonSpanExporter(collector.endpoint, timeout_s=0.2).export(finished)
        is SpanExportResult.FAILURE
    )


def test_the_endpoint_and_protocol_are_read_as_the_otlp_exporter_specification_says() -> None:
    assert Settings.from_environ({}).otlp_traces_endpoint == "http://localhost:4318/v1/traces"
    assert Settings.from_environ({}).otlp_protocol == "http/json"
    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9/"}
    assert Settings.from_environ(base).otlp_traces_endpoint == "http://127.0.0.1:9/v1/traces"
    given = base | {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://h:1/x"}
    assert Settings.from_environ(given).otlp_traces_endpoint == "http://h:1/x"
    protocol = {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
    protocol |= {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}
    assert Settings.from_environ(protocol).otlp_protocol == "http/protobuf"
    with pytest.raises(ConfigurationError, match="must be one of http/json, http/protobuf.*'grpc'"):
        Settings.from_environ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    with pytest.raises(ValueError, match="not an http:// or https:// URL"):
        JsonSpanExporter("localhost:4318", timeout_s=1)
