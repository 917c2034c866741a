"""SQS batches whose bodies are SNS notifications: partial batch failures, poison, bulk handlers."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from messaging import Envelope, MalformedMessageError, Router
from tools.contract import Provisioned, load_fixture, sns_event, sqs_event


@pytest.fixture
def consumer_env(lambda_env: Any) -> dict[str, str]:
    return dict(lambda_env("order_confirmation"))


def _order(order_id: str) -> Envelope:
    data = dict(load_fixture("order.placed")) | {"order_id": order_id}
    return Envelope(type="order.placed", version=2, data=data)


def _dead_letters(system: Provisioned) -> list[dict[str, Any]]:
    messages = (
        boto3.client("sqs")
        .receive_message(
            QueueUrl=system.dead_letter_queues["order_confirmation"], MaxNumberOfMessages=10
        )
        .get("Messages", [])
    )
    return [json.loads(m["Body"]) for m in messages]


def _ids(event: dict[str, Any], *positions: int) -> list[dict[str, str]]:
    return [{"itemIdentifier": event["Records"][p]["messageId"]} for p in positions]


@pytest.mark.parametrize("raw", [False, True], ids=["notification", "raw"])
def test_every_record_of_a_batch_is_decoded_and_dispatched(
    consumer_env: dict[str, str], raw: bool
) -> None:
    # given
    router = Router()
    seen: list[Envelope] = []
    router.on("order.placed")(seen.append)
    orders = [_order(f"o-{n}") for n in range(3)]
    # when
    result = router.handle(sqs_event(orders, raw=raw), None)
    # then
    assert result == {"batchItemFailures": []}
    assert [e.id for e in seen] == [o.id for o in orders]
    assert [e.data for e in seen] == [o.data for o in orders]


def test_only_the_records_whose_handler_failed_are_reported(consumer_env: dict[str, str]) -> None:
    # given: the second of three orders makes the handler fail
    router = Router()
    seen: list[str] = []

    @router.on("order.placed")
    def confirm(event: Envelope) -> None:
        if event.data["order_id"] == "o-1":
            raise TimeoutError("SES is slow")
        seen.append(event.data["order_id"])

    event = sqs_event([_order(f"o-{n}") for n in range(3)])
    # when
    result = router.handle(event, None)
    # then
    assert result == {"batchItemFailures": _ids(event, 1)}
    assert seen == ["o-0", "o-2"]


def test_a_failed_record_runs_again_on_redelivery_and_a_handled_one_does_not(
    consumer_env: dict[str, str],
) -> None:
    # given: idempotency is on (the function has an idempotency table)
    assert consumer_env["TABLE_IDEMPOTENCY"]
    router = Router()
    calls: list[str] = []
    failing = {"o-1"}

    @router.on("order.placed")
    def confirm(event: Envelope) -> None:
        calls.append(event.data["order_id"])
        if event.data["order_id"] in failing:
            raise TimeoutError("SES is slow")

    orders = [_order("o-0"), _order("o-1")]
    assert router.handle(sqs_event(orders), None)["batchItemFailures"]
    # when: SQS delivers both again (a duplicate of o-0, the retry of o-1)
    failing.clear()
    result = router.handle(sqs_event(orders), None)
    # then
    assert result == {"batchItemFailures": []}
    assert calls == ["o-0", "o-1", "o-1"]


def test_a_poison_record_goes_to_the_dead_letter_queue_at_once_with_its_reason(
    system: Provisioned, consumer_env: dict[str, str]
) -> None:
    # given: a batch holding a schema violation and a body that is not JSON
    router = Router()
    seen: list[Envelope] = []
    router.on("order.placed")(seen.append)
    bad = Envelope(type="order.placed", version=2, data={"order_id": "o-1"})
    event = sqs_event([_order("o-0"), bad, _order("o-2")])
    event["Records"].append({**event["Records"][0], "messageId": "m-garbled", "body": "{oops"})
    # when
    result = router.handle(event, None)
    # then: not reported as failed (no retry burnt), both in the dead-letter queue with reasons
    assert result == {"batchItemFailures": []}
    assert [e.data["order_id"] for e in seen] == ["o-0", "o-2"]
    letters = _dead_letters(system)
    by_error = {letter["responsePayload"]["errorType"]: letter for letter in letters}
    assert set(by_error) == {"SchemaViolationError", "MalformedMessageError"}
    schema = by_error["SchemaViolationError"]
    assert schema["requestContext"]["condition"] == "PoisonMessage"
    assert schema["requestPayload"] == {"Records": [event["Records"][1]]}
    assert "$.customer_email: is required" in schema["responsePayload"]["errorMessage"]
    assert by_error["MalformedMessageError"]["requestPayload"]["Records"][0]["body"] == "{oops"


def test_a_poison_record_without_a_dead_letter_queue_stays_on_the_queue(
    consumer_env: dict[str, str],
) -> None:
    # given: a router that may not dead-letter, so SQS's redrive policy must keep the record
    router = Router(dead_letter_poison=False)
    router.on("order.placed")(lambda event: None)
    event = sqs_event([_order("o-0"), Envelope(type="order.placed", version=2, data={})])
    # when / then
    assert router.handle(event, None) == {"batchItemFailures": _ids(event, 1)}


def test_a_record_without_a_message_id_fails_the_whole_batch(
    consumer_env: dict[str, str],
) -> None:
    router = Router()
    router.on("order.placed")(lambda event: None)
    event = sqs_event([_order("o-0")])
    del event["Records"][0]["messageId"]
    with pytest.raises(MalformedMessageError, match=r"Records\[0\]\.messageId"):
        router.handle(event, None)


def test_a_batch_handler_makes_one_call_and_reports_failures_per_record(
    consumer_env: dict[str, str],
) -> None:
    # given
    router = Router()
    calls: list[list[str]] = []

    @router.batch("order.placed")
    def confirm_all(events: list[Envelope]) -> list[str]:
        calls.append([e.data["order_id"] for e in events])
        return [e.id for e in events if e.data["order_id"] == "o-2"]

    event = sqs_event([_order(f"o-{n}") for n in range(4)])
    # when
    result = router.handle(event, None)
    # then
    assert calls == [["o-0", "o-1", "o-2", "o-3"]]
    assert result == {"batchItemFailures": _ids(event, 2)}


def test_a_batch_handler_sees_only_what_was_not_handled_yet(
    consumer_env: dict[str, str],
) -> None:
    # given: o-1 failed in a first batch
    router = Router()
    calls: list[list[str]] = []
    failing = {"o-1"}

    @router.batch("order.placed")
    def confirm_all(events: list[Envelope]) -> list[str]:
        calls.append([e.data["order_id"] for e in events])
        return [e.id for e in events if e.data["order_id"] in failing]

    orders = [_order("o-0"), _order("o-1")]
    router.handle(sqs_event(orders), None)
    failing.clear()
    # when: both come back
    result = router.handle(sqs_event(orders), None)
    # then: only the failed one is handed to the bulk call again
    assert result == {"batchItemFailures": []}
    assert calls == [["o-0", "o-1"], ["o-1"]]


def test_a_batch_handler_that_raises_fails_every_record_it_was_given(
    consumer_env: dict[str, str],
) -> None:
    router = Router()

    @router.batch("order.placed")
    def confirm_all(events: list[Envelope]) -> None:
        raise ConnectionError("partner API down")

    event = sqs_event([_order("o-0"), _order("o-1")])
    assert router.handle(event, None) == {"batchItemFailures": _ids(event, 0, 1)}


def test_a_batch_handler_also_serves_direct_delivery(consumer_env: dict[str, str]) -> None:
    # given
    router = Router()

    @router.batch("order.placed")
    def confirm_all(events: list[Envelope]) -> list[str]:
        return [e.id for e in events]

    # when / then: SNS delivers one record; a reported failure raises, so Lambda retries
    with pytest.raises(Exception, match="reported event .* as failed"):
        router.handle(sns_event(_order("o-0")), None)
