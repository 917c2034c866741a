"""The otel backend: PRODUCER and CONSUMER spans exported over OTLP/HTTP, linked across SNS.

Spans travel the real path: OTLP/HTTP to the local system's collector
(tools/local/traces.py) on a loopback port, in each encoding the package can send: JSON
(the default, messaging/otlp_json.py) and protobuf (the OpenTelemetry project's exporter).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import messaging
from messaging import Router, new_event, otel_tracing, publish, publish_many
from messaging.config import OTLP_PROTOCOLS
from tools.contract import load_fixture, sns_event, sqs_event
from tools.local.traces import TraceCollector, read_spans


def _context(traceparent: str) -> dict[str, str]:
    _, trace_id, span_id, _ = traceparent.split("-")
    return {"trace_id": trace_id, "span_id": span_id}


def _ids(span: dict[str, Any]) -> dict[str, str]:
    return {"trace_id": span["trace_id"], "span_id": span["span_id"]}


XRAY_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture(params=OTLP_PROTOCOLS)
def spans(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    orders_api_env: dict[str, str],
) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The otel backend exporting to a collector on loopback; call it to read the spans."""
    with TraceCollector(tmp_path / "traces.jsonl") as collector:
        # In the environment, as Lambda gives it: tests that switch service keep it.
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", request.param)
        messaging.reset()
        messaging.configure(messaging.settings(), tracing="otel")
        yield lambda: read_spans(collector.path)


def _handle(envelope: messaging.Envelope, service: str = "order_confirmation") -> list[str]:
    seen: list[str] = []
    router = Router(dead_letter_poison=False)
    router.on(envelope.type, idempotent=False)(lambda e: seen.append(e.id))
    messaging.configure(messaging.settings(), service_name=service)
    router.handle(sns_event(envelope), None)
    return seen


def test_publish_makes_a_producer_span_whose_context_the_event_carries(
    spans: Callable[[], list[dict[str, Any]]],
    order: dict[str, Any],
    published: Callable[[str], list[dict[str, Any]]],
    system: Any,
) -> None:
    # when
    event = new_event("order.placed", order)
    publish(event)
    # then
    [producer] = spans()
    [sent] = published("orders")
    assert producer["kind"] == "PRODUCER"
    assert producer["name"] == "publish orders"
    assert producer["parent_span_id"] is None  # no X-Ray header, no open span: a new trace
    assert producer["attributes"] == {
        "messaging.system": "aws.sns",
        "messaging.operation.type": "send",
        "messaging.operation.name": "publish",
        "messaging.destination.name": "orders",
        "messaging.message.id": event.id,
        "messaging.message.conversation_id": event.correlation_id,
        "event.type": "order.placed",
    }
    assert producer["service"] == "orders_api"
    assert _context(sent["traceparent"]) == _ids(producer)


def test_the_message_attribute_carries_the_producer_context_too(
    spans: Callable[[], list[dict[str, Any]]], order: dict[str, Any], system: Any
) -> None:
    from tools.contract import drain

    publish(new_event("order.placed", order))
    [producer] = spans()
    [notification] = drain(system.observer_queues["orders"])
    attribute = notification["MessageAttributes"]["traceparent"]["Value"]
    assert _context(attribute) == _ids(producer)


def test_handle_makes_a_consumer_span_linked_to_its_producer(
    spans: Callable[[], list[dict[str, Any]]],
    order: dict[str, Any],
    published: Callable[[str], list[dict[str, Any]]],
) -> None:
    # given: an event as SNS delivers it
    publish(new_event("order.placed", order))
    delivered = messaging.Envelope.from_json(json.dumps(published("orders")[0]))
    # when
    assert _handle(delivered) == [delivered.id]
    # then
    producer, consumer = spans()
    assert consumer["kind"] == "CONSUMER"
    assert consumer["name"] == "process orders"
    assert consumer["service"] == "order_confirmation"
    assert consumer["links"] == [{"trace_id": producer["trace_id"], "span_id": producer["span_id"]}]
    assert (consumer["trace_id"], consumer["parent_span_id"]) == (
        producer["trace_id"],
        producer["span_id"],
    )
    assert consumer["attributes"]["messaging.operation.type"] == "process"
    assert consumer["attributes"]["messaging.system"] == "aws.sns"
    assert consumer["attributes"]["messaging.destination.name"] == "orders"
    assert consumer["attributes"]["messaging.message.id"] == delivered.id


def test_the_functions_xray_header_becomes_the_consumers_parent(
    spans: Callable[[], list[dict[str, Any]]],
    order: dict[str, Any],
    published: Callable[[str], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publish(new_event("order.placed", order))
    delivered = messaging.Envelope.from_json(json.dumps(published("orders")[0]))
    # when: Lambda's own trace header is set for this invocation
    monkeypatch.setenv("_X_AMZN_TRACE_ID", XRAY_HEADER)
    _handle(delivered)
    # then: parented on the function's X-Ray segment, still linked to the producer
    producer, consumer = spans()
    assert consumer["trace_id"] == "5759e988bd862e3fe1be46a994272793"
    assert consumer["parent_span_id"] == "53995c3f42cd8ad8"
    assert consumer["links"] == [{"trace_id": producer["trace_id"], "span_id": producer["span_id"]}]


def test_an_unsampled_xray_trace_exports_no_span_yet_carries_its_trace_on(
    spans: Callable[[], list[dict[str, Any]]],
    order: dict[str, Any],
    published: Callable[[str], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: Lambda did not sample this invocation
    monkeypatch.setenv("_X_AMZN_TRACE_ID", XRAY_HEADER.replace("Sampled=1", "Sampled=0"))
    # when
    publish(new_event("order.placed", order))
    # then: nothing recorded, as the SDK's parent-based sampler decides; the event still
    # carries the function's trace, unsampled, with a span id of its own
    assert spans() == []
    [sent] = published("orders")
    version, trace_id, span_id, flags = sent["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", "5759e988bd862e3fe1be46a994272793", "00")
    assert span_id != "53995c3f42cd8ad8"


def test_a_handler_that_raises_ends_its_consumer_span_with_status_error(
    spans: Callable[[], list[dict[str, Any]]],
    order: dict[str, Any],
    published: Callable[[str], list[dict[str, Any]]],
) -> None:
    publish(new_event("order.placed", order))
    delivered = messaging.Envelope.from_json(json.dumps(published("orders")[0]))
    router = Router(dead_letter_poison=False)

    @router.on("order.placed", idempotent=False)
    def fail(event: messaging.Envelope) -> None:
        raise RuntimeError("the mail server said no")

    messaging.configure(messaging.settings(), service_name="order_confirmation")
    with pytest.raises(RuntimeError, match="the mail server said no"):
        router.handle(sns_event(delivered), None)
    producer, consumer = spans()
    assert (producer["status"], consumer["status"]) == ("UNSET", "ERROR")
    assert consumer["links"] == [_ids(producer)]


def test_an_event_published_while_handling_continues_the_trace(
    spans: Callable[[], list[dict[str, Any]]],
    order: dict[str, Any],
    published: Callable[[str], list[dict[str, Any]]],
    lambda_env: Callable[[str], dict[str, str]],
) -> None:
    publish(new_event("order.placed", order))
    delivered = messaging.Envelope.from_json(json.dumps(published("orders")[0]))
    router = Router(dead_letter_poison=False)
    reservation = dict(load_fixture("inventory.reserved"))
    router.on("order.placed", idempotent=False)(
        lambda e: publish(new_event("inventory.reserved", reservation))
    )
    lambda_env("inventory")
    messaging.configure(messaging.settings(), tracing="otel")
    router.handle(sns_event(delivered), None)
    first, consumer, second = sorted(spans(), key=lambda s: s["start_ns"])
    assert [first["kind"], consumer["kind"], second["kind"]] == ["PRODUCER", "CONSUMER", "PRODUCER"]
    assert second["parent_span_id"] == consumer["span_id"]
    assert len({first["trace_id"], second["trace_id"], consumer["trace_id"]}) == 1
    [follow_up] = published("inventory")
    assert _context(follow_up["traceparent"]) == _ids(second)


def test_a_batch_is_one_producer_span_carried_by_every_event(
    spans: Callable[[], list[dict[str, Any]]],
    order: dict[str, Any],
    published: Callable[[str], list[dict[str, Any]]],
) -> None:
    publish_many(new_event("order.placed", {**order, "order_id": f"o-{n}"}) for n in range(3))
    [producer] = spans()
    assert producer["kind"] == "PRODUCER"
    assert producer["attributes"]["messaging.batch.message_count"] == 3
    carried = [_context(event["traceparent"]) for event in published("orders")]
    assert carried == [_ids(producer)] * 3


def test_an_unreachable_collector_never_fails_the_publish(
    orders_api_env: dict[str, str],
    order: dict[str, Any],
    published: Callable[[str], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    unused_port: int,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"http://127.0.0.1:{unused_port}")
    messaging.reset()
    messaging.configure(messaging.settings(), tracing="otel", trace_export_timeout_s=0.2)
    event = new_event("order.placed", order)
    publish(event)
    assert [e["id"] for e in published("orders")] == [event.id]


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_attribute_values_are_the_semantic_conventions() -> None:
    from opentelemetry.semconv._incubating.attributes import messaging_attributes as conventions

    assert conventions.MessagingSystemValues.AWS_SNS.value == otel_tracing.SYSTEM
    assert conventions.MessagingOperationTypeValues.SEND.value == otel_tracing.SEND
    assert conventions.MessagingOperationTypeValues.PROCESS.value == otel_tracing.PROCESS
    names = {
        conventions.MESSAGING_SYSTEM,
        conventions.MESSAGING_OPERATION_TYPE,
        conventions.MESSAGING_OPERATION_NAME,
        conventions.MESSAGING_DESTINATION_NAME,
        conventions.MESSAGING_MESSAGE_ID,
        conventions.MESSAGING_MESSAGE_CONVERSATION_ID,
        conventions.MESSAGING_BATCH_MESSAGE_COUNT,
    }
    source = Path(otel_tracing.__file__).read_text("utf-8")
    used = {word.strip('"') for word in source.split() if word.startswith('"messaging.')}
    used = {word.rstrip('":,') for word in used}
    assert used <= names, used - names


_IMPORTS = """
import json, sys
from moto import mock_aws
import messaging
from messaging import Router, new_event, publish
from tools.contract import load_fixture, sns_event, sqs_event

with mock_aws():
    import boto3
    arn = boto3.client("sns").create_topic(Name="local-orders")["TopicArn"]
    messaging.configure(topic_arns={"TOPIC_ARN_ORDERS": arn})
    event = new_event("order.placed", dict(load_fixture("order.placed")))
    publish(event)
    router = Router(dead_letter_poison=False)
    router.on("order.placed", idempotent=False)(lambda e: None)
    router.handle(sns_event(event), None)
heavy = ("opentelemetry", "aws_xray_sdk", "google.protobuf")  # moto brings requests
loaded = {m.split(".")[0] for m in sys.modules if m.startswith(heavy)}
loaded |= {"opentelemetry.sdk"} & set(sys.modules)  # moto does not bring it
print(json.dumps(sorted(loaded)))
"""


@pytest.mark.parametrize(
    ("backend", "protocol", "expected"),
    [
        ("off", "", []),
        ("xray", "", ["aws_xray_sdk"]),
        # OTLP JSON over http.client by the package's own tracer: no protobuf, no SDK
        ("otel", "", ["opentelemetry"]),
        ("otel", "http/protobuf", ["google", "opentelemetry", "opentelemetry.sdk"]),
    ],
)
def test_each_backend_imports_only_its_own_sdk_and_off_imports_none(
    backend: str, protocol: str, expected: list[str], unused_port: int
) -> None:
    # A fresh interpreter as Lambda runs it, with a sampled X-Ray header: publish and
    # handle, then list what got imported.
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "SERVICE_NAME": "orders_api",
        "PUBLISHES": "order.placed",
        "AWS_LAMBDA_FUNCTION_NAME": "local-orders-api",
        "_X_AMZN_TRACE_ID": XRAY_HEADER,
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{unused_port}",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{unused_port}/v1/traces",
        "MESSAGING_TRACE_EXPORT_TIMEOUT_S": "0.2",
        "MESSAGING_TRACING": backend,
    }
    if protocol:
        env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = protocol
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected


def test_a_batch_handler_makes_a_consumer_span_per_envelope_each_in_its_producers_trace(
    spans: Callable[[], list[dict[str, Any]]],
    order: dict[str, Any],
    published: Callable[[str], list[dict[str, Any]]],
) -> None:
    # given: three events published one by one (three traces), queued for one batch
    for n in range(3):
        publish(new_event("order.placed", {**order, "order_id": f"o-{n}"}))
    delivered = [messaging.Envelope.from_json(json.dumps(sent)) for sent in published("orders")]
    router = Router(dead_letter_poison=False)
    calls: list[list[str]] = []

    @router.batch("order.placed", idempotent=False)
    def confirm_all(events: list[messaging.Envelope]) -> list[str]:
        calls.append([e.id for e in events])
        return [delivered[1].id]

    messaging.configure(messaging.settings(), service_name="order_confirmation")
    # when
    result = router.handle(sqs_event(delivered), None)
    # then: one bulk call, one record failed...
    assert calls == [[e.id for e in delivered]]
    assert len(result["batchItemFailures"]) == 1
    found = spans()
    producers = {
        s["attributes"]["messaging.message.id"]: s for s in found if s["kind"] == "PRODUCER"
    }
    consumers = [s for s in found if s["kind"] == "CONSUMER"]
    [bulk] = [s for s in found if s["name"] == "handle_batch"]
    # ...and each envelope's CONSUMER span is in its producer's trace, linked to it
    assert sorted(s["attributes"]["messaging.message.id"] for s in consumers) == sorted(producers)
    for consumer in consumers:
        producer = producers[consumer["attributes"]["messaging.message.id"]]
        assert consumer["name"] == "process orders"
        assert consumer["links"] == [_ids(producer)]
        assert (consumer["trace_id"], consumer["parent_span_id"]) == (
            producer["trace_id"],
            producer["span_id"],
        )
        assert consumer["attributes"] | {"messaging.message.id": "x"} == {
            "messaging.system": "aws.sns",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": "orders",
            "messaging.message.id": "x",
            "messaging.message.conversation_id": producer["attributes"][
                "messaging.message.conversation_id"
            ],
            "messaging.batch.message_count": 3,
            "event.type": "order.placed",
            "event.version": delivered[0].version,
        }
        failed = consumer["attributes"]["messaging.message.id"] == delivered[1].id
        assert consumer["status"] == ("ERROR" if failed else "UNSET")
        # the bulk call's span is no consumer's parent, and lies within every one of them
        assert consumer["start_ns"] <= bulk["start_ns"] <= bulk["end_ns"] <= consumer["end_ns"]
    assert bulk["kind"] == "INTERNAL"
    assert bulk["attributes"] == {"event_type": "order.placed", "size": "3"}
