from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from messaging import (
    Envelope,
    MalformedMessageError,
    Router,
    SchemaViolationError,
    UnknownEventTypeError,
    UnknownEventVersionError,
    new_event,
)
from messaging.consumer import sns_records
from tools.contract import Provisioned, load_fixture, sns_event, sns_record

AWS_SHAPED_EVENT = load_fixture("sns-lambda-event")


@pytest.fixture
def consumer_env(lambda_env: Any) -> dict[str, str]:
    return dict(lambda_env("order_confirmation"))


@pytest.fixture
def seen() -> list[Envelope]:
    return []


@pytest.fixture
def router(seen: list[Envelope]) -> Router:
    router = Router(dead_letter_poison=False)

    @router.on("order.placed")
    def record(event: Envelope) -> None:
        seen.append(event)

    return router


def _dead_letters(system: Provisioned, service: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=system.dead_letter_queues[service],
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    return [json.loads(m["Body"]) | {"_attributes": m["MessageAttributes"]} for m in messages]


def test_event_in_the_documented_aws_shape_is_dispatched(
    consumer_env: dict[str, str], router: Router, seen: list[Envelope]
) -> None:
    # when
    result = router.handle(copy.deepcopy(AWS_SHAPED_EVENT), None)
    # then
    [event] = seen
    assert event.type == "order.placed"
    assert event.id == "5f0c8f5e-2b7a-4d7e-9c41-0a8f3b2e6d11"
    assert event.data == load_fixture("order.placed")
    assert result == {"handled": [event.id], "rejected": []}


def test_events_published_by_a_handler_inherit_correlation_and_trace(
    lambda_env: Any,
) -> None:
    lambda_env("inventory")
    router = Router(dead_letter_poison=False)
    follow_ups: list[Envelope] = []

    @router.on("order.placed")
    def chain(event: Envelope) -> None:
        follow_ups.append(
            new_event(
                "inventory.rejected", {"order_id": "o", "reason": "unknown_sku", "skus": ["A"]}
            )
        )

    router.handle(copy.deepcopy(AWS_SHAPED_EVENT), None)
    [follow_up] = follow_ups
    assert follow_up.correlation_id == "c0ffee00-0000-4000-8000-000000000001"
    assert follow_up.traceparent is not None
    assert follow_up.traceparent.split("-")[1] == "5759e988bd862e3fe1be46a994272793"
    assert follow_up.source == "inventory"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("not a dict", "must be a JSON object"),
        ({}, "no 'Records' list"),
        ({"Records": []}, "no 'Records' list"),
        ({"Records": ["x"]}, r"Records\[0\] must be an object"),
        ({"Records": [{"EventSource": "aws:sqs"}]}, r"Records\[0\].EventSource must be 'aws:sns'"),
        ({"Records": [{"EventSource": "aws:sns"}]}, r"Records\[0\].Sns is missing"),
        ({"Records": [{"EventSource": "aws:sns", "Sns": {}}]}, r"Sns.Message is missing"),
    ],
)
def test_malformed_lambda_event_raises_naming_what_is_wrong(
    consumer_env: dict[str, str], router: Router, event: Any, message: str
) -> None:
    with pytest.raises(MalformedMessageError, match=message):
        router.handle(event, None)


def test_malformed_message_body_raises_naming_the_field(
    consumer_env: dict[str, str], router: Router
) -> None:
    event = copy.deepcopy(AWS_SHAPED_EVENT)
    body = json.loads(event["Records"][0]["Sns"]["Message"])
    del body["correlation_id"]
    event["Records"][0]["Sns"]["Message"] = json.dumps(body)
    with pytest.raises(MalformedMessageError, match="'correlation_id' is missing"):
        router.handle(event, None)


def test_attribute_disagreeing_with_envelope_is_malformed(
    consumer_env: dict[str, str], router: Router
) -> None:
    event = copy.deepcopy(AWS_SHAPED_EVENT)
    event["Records"][0]["Sns"]["MessageAttributes"]["event_type"]["Value"] = "inventory.reserved"
    with pytest.raises(MalformedMessageError, match="disagrees"):
        router.handle(event, None)


def test_unknown_type_unknown_version_and_schema_violation_are_distinct(
    consumer_env: dict[str, str], router: Router
) -> None:
    order = load_fixture("order.placed")
    cases = [
        (Envelope(type="order.shipped", data=order), UnknownEventTypeError, "not in the catalog"),
        (
            Envelope(type="inventory.reserved", data=load_fixture("inventory.reserved")),
            UnknownEventTypeError,
            "has no handler for 'inventory.reserved'",
        ),
        (
            Envelope(type="order.placed", version=9, data=order),
            UnknownEventVersionError,
            "version 9",
        ),
        (
            Envelope(type="order.placed", version=2, data={**order, "total_cents": -1}),
            SchemaViolationError,
            r"\$.total_cents: must be bigger than or equal to 0",
        ),
    ]
    for envelope, error, message in cases:
        record = sns_record(envelope, attributes={})
        with pytest.raises(error, match=message):
            router.handle({"Records": [record]}, None)


def test_handler_exceptions_propagate_so_lambda_retries(consumer_env: dict[str, str]) -> None:
    router = Router()

    @router.on("order.placed")
    def boom(event: Envelope) -> None:
        raise TimeoutError("the mail server is slow")

    with pytest.raises(TimeoutError):
        router.handle(copy.deepcopy(AWS_SHAPED_EVENT), None)


def test_poison_message_goes_to_the_dead_letter_queue_with_its_reason(
    system: Provisioned, consumer_env: dict[str, str], seen: list[Envelope]
) -> None:
    # given: a function with a dead-letter queue, and an event violating its schema
    router = Router()

    @router.on("order.placed")
    def record(event: Envelope) -> None:
        seen.append(event)

    bad = Envelope(type="order.placed", version=2, data={"order_id": "o-1"})
    event = sns_event(bad)
    # when
    result = router.handle(event, None)
    # then: nothing handled, the invocation succeeds (no retries burnt), the DLQ has it all
    assert seen == []
    assert len(result["rejected"]) == 1
    [letter] = _dead_letters(system, "order_confirmation")
    assert letter["requestPayload"] == event
    assert letter["requestContext"]["condition"] == "PoisonMessage"
    assert letter["responsePayload"]["errorType"] == "SchemaViolationError"
    assert "$.customer_email: is required" in letter["responsePayload"]["errorMessage"]
    assert letter["_attributes"]["service"]["StringValue"] == "order_confirmation"


def test_handler_registered_for_unknown_type_fails_at_import(consumer_env: dict[str, str]) -> None:
    with pytest.raises(UnknownEventTypeError):
        Router().on("order.plcaed")


def test_sns_records_accepts_the_documented_shape() -> None:
    [record] = sns_records(AWS_SHAPED_EVENT)
    assert set(record["Sns"]) >= {
        "SignatureVersion",
        "Timestamp",
        "Signature",
        "SigningCertUrl",
        "MessageId",
        "Message",
        "MessageAttributes",
        "Type",
        "UnsubscribeUrl",
        "TopicArn",
        "Subject",
    }
