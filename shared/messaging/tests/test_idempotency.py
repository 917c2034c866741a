from __future__ import annotations

import copy
import json
import time
from typing import Any

import boto3
import pytest

from messaging import Envelope, Router
from messaging.idempotency import COMPLETED, IN_PROGRESS, EventInProgressError, payload_digest
from tools.contract import Provisioned, load_fixture, sns_event


@pytest.fixture
def env(lambda_env: Any) -> dict[str, str]:
    return dict(lambda_env("order_confirmation"))


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def router(calls: list[str]) -> Router:
    router = Router()

    @router.on("order.placed")
    def handle(event: Envelope) -> dict[str, str]:
        calls.append(event.id)
        return {"sent_to": event.data["customer_email"]}

    return router


def _placed(**changes: Any) -> Envelope:
    return Envelope(
        type="order.placed", version=2, data={**load_fixture("order.placed"), **changes}
    )


def _claim(system: Provisioned, envelope: Envelope, *, until: int) -> None:
    """An attempt of order_confirmation holding the event until ``until`` (epoch seconds)."""
    boto3.resource("dynamodb").Table(system.tables["idempotency"]).put_item(
        Item={
            "id": f"order_confirmation#{envelope.id}",
            "status": IN_PROGRESS,
            "payload_sha256": payload_digest(envelope),
            "in_progress_until": until,
            "expires_at": int(time.time()) + 3600,
        }
    )


def _record(system: Provisioned, envelope: Envelope) -> dict[str, Any]:
    table = boto3.resource("dynamodb").Table(system.tables["idempotency"])
    return table.get_item(Key={"id": f"order_confirmation#{envelope.id}"}).get("Item", {})


def test_a_duplicate_delivery_runs_the_handler_once(
    env: dict[str, str], router: Router, calls: list[str], system: Provisioned
) -> None:
    # given
    event = sns_event(_placed())
    # when: SNS delivers the same event twice (new SNS MessageId, same envelope id)
    router.handle(event, None)
    redelivered = copy.deepcopy(event)
    redelivered["Records"][0]["Sns"]["MessageId"] = "another-sns-message-id"
    router.handle(redelivered, None)
    # then
    assert len(calls) == 1


def test_completed_handling_records_the_result_and_an_expiry(
    env: dict[str, str], router: Router, system: Provisioned
) -> None:
    envelope = _placed()
    router.handle(sns_event(envelope), None)
    record = _record(system, envelope)
    assert record["status"] == COMPLETED
    assert json.loads(record["result"]) == {"sent_to": "ada@example.com"}
    expected_ttl = int(env["IDEMPOTENCY_TTL_S"])
    assert abs(int(record["expires_at"]) - (time.time() + expected_ttl)) < 60
    assert expected_ttl >= 3600 + 14 * 86400  # max event age plus the redrive window


def test_a_duplicate_while_the_first_attempt_runs_is_retried_later_not_run(
    env: dict[str, str], router: Router, calls: list[str], system: Provisioned
) -> None:
    envelope = _placed()
    _claim(system, envelope, until=int(time.time()) + 30)
    with pytest.raises(EventInProgressError):
        router.handle(sns_event(envelope), None)
    assert calls == []


def test_an_attempt_that_crashed_is_taken_over_after_its_timeout(
    env: dict[str, str], router: Router, calls: list[str], system: Provisioned
) -> None:
    envelope = _placed()
    _claim(system, envelope, until=int(time.time()) - 1)
    router.handle(sns_event(envelope), None)
    assert calls == [envelope.id]
    assert _record(system, envelope)["status"] == COMPLETED


def test_a_failed_handling_releases_the_event_for_the_retry(
    env: dict[str, str], system: Provisioned
) -> None:
    attempts: list[int] = []
    router = Router()

    @router.on("order.placed")
    def flaky(event: Envelope) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("SES hiccup")

    event = sns_event(_placed())
    with pytest.raises(ConnectionError):
        router.handle(event, None)
    router.handle(event, None)
    assert len(attempts) == 2


def test_same_id_with_a_different_payload_is_dead_lettered_not_skipped(
    env: dict[str, str], router: Router, calls: list[str], system: Provisioned
) -> None:
    first = _placed()
    router.handle(sns_event(first), None)
    tampered = Envelope(
        type=first.type, id=first.id, data={**first.data, "total_cents": 1}, version=2
    )
    result = router.handle(sns_event(tampered), None)
    assert calls == [first.id]
    assert "different payload" in result["rejected"][0]
    messages = boto3.client("sqs").receive_message(
        QueueUrl=system.dead_letter_queues["order_confirmation"]
    )["Messages"]
    letter = json.loads(messages[0]["Body"])
    assert letter["responsePayload"]["errorType"] == "PayloadMismatchError"


def test_a_handler_can_opt_out(env: dict[str, str], system: Provisioned) -> None:
    runs: list[str] = []
    router = Router()

    @router.on("order.placed", idempotent=False)
    def every_time(event: Envelope) -> None:
        runs.append(event.id)

    event = sns_event(_placed())
    router.handle(event, None)
    router.handle(event, None)
    assert len(runs) == 2
