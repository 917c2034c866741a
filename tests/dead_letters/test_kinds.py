"""Each kind of dead letter against moto: listed with its count and reason, redriven by its
own replay, deleted only after success, kept when the replay fails, untouched by a dry run."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from messaging import Envelope
from tools import dead_letters
from tools.contract import load_fixture, names, on_failure_record, sns_event, sns_notification
from tools.dead_letters import DeadLetterError, of_service

ENV = "dev"
SERVICE = "order_confirmation"  # on-failure, delivery and one queue-delivered topic
QUEUES = {q.kind: q for q in of_service(SERVICE, ENV)}


@pytest.fixture
def sqs(fake_aws: None) -> Any:
    client = boto3.client("sqs")
    for queue in QUEUES.values():
        client.create_queue(QueueName=queue.name)
        if queue.source:
            client.create_queue(QueueName=queue.source)
    return client


def _url(sqs: Any, name: str) -> str:
    return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])


def _depth(sqs: Any, name: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=_url(sqs, name),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def _envelope() -> Envelope:
    return Envelope(type="order.placed", data=load_fixture("order.placed"))


def _put_on_failure(sqs: Any) -> Envelope:
    envelope = _envelope()
    error = {"errorType": "LookupError", "errorMessage": "no such template"}
    record = on_failure_record(
        sns_event(envelope), error, service=SERVICE, attempts=3, request_id="r-1", environment=ENV
    )
    sqs.send_message(QueueUrl=_url(sqs, QUEUES["on-failure"].name), MessageBody=json.dumps(record))
    return envelope


def _put_delivery(sqs: Any, *, raw: bool = False) -> Envelope:
    """What SNS redrives after failing to deliver: the notification, and its error."""
    envelope = _envelope()
    notification = sns_notification(envelope, topic_arn=names.topic_arn("orders", ENV))
    error = {
        "ErrorCode": {"DataType": "String", "StringValue": "403"},
        "ErrorMessage": {"DataType": "String", "StringValue": "KMS key access denied"},
    }
    attributes = {
        name: {"DataType": value["Type"], "StringValue": value["Value"]}
        for name, value in notification["MessageAttributes"].items()
    }
    sqs.send_message(
        QueueUrl=_url(sqs, QUEUES["delivery"].name),
        MessageBody=notification["Message"] if raw else json.dumps(notification),
        MessageAttributes=error | (attributes if raw else {}),
    )
    return envelope


def _put_queued(sqs: Any) -> str:
    body = json.dumps(sns_notification(_envelope(), topic_arn=names.topic_arn("orders", ENV)))
    sqs.send_message(
        QueueUrl=_url(sqs, QUEUES["queue"].name),
        MessageBody=body,
        MessageAttributes={"trace": {"DataType": "String", "StringValue": "t-1"}},
    )
    return body


class Invoker:
    """A function that fails while ``failing`` is set, recording each event it was given."""

    def __init__(self, failing: bool = False) -> None:
        self.failing = failing
        self.events: list[Any] = []

    def __call__(self, event: Any) -> dict[str, Any] | None:
        self.events.append(event)
        if self.failing:
            return {"errorType": "TemplateError", "errorMessage": "still broken"}
        return None


def test_a_service_has_one_queue_per_kind_it_uses() -> None:
    assert [q.kind for q in of_service("orders_api", ENV)] == ["on-failure"]
    assert [q.kind for q in of_service("order_status", ENV)] == ["on-failure", "delivery"]
    assert QUEUES["queue"].name == names.delivery_queue_dlq_name(SERVICE, "orders", ENV)
    assert QUEUES["queue"].source == names.delivery_queue_name(SERVICE, "orders", ENV)
    with pytest.raises(DeadLetterError, match="unknown kind 'poison'; valid: on-failure"):
        dead_letters.selected([SERVICE], ENV, "poison")


def test_list_counts_every_kind_with_each_letters_reason(sqs: Any) -> None:
    _put_on_failure(sqs)
    _put_delivery(sqs)
    _put_delivery(sqs)
    _put_queued(sqs)
    lines = dead_letters.listing(sqs, list(QUEUES.values()))
    text = "\n".join(lines)
    assert f"{SERVICE} on-failure {QUEUES['on-failure'].name}: 1 dead letter(s)" in lines
    assert f"{SERVICE} delivery {QUEUES['delivery'].name}: 2 dead letter(s)" in lines
    assert f"{SERVICE} queue {QUEUES['queue'].name}: 1 dead letter(s)" in lines
    assert "RetriesExhausted after 3 attempt(s): LookupError: no such template" in text
    assert text.count("SNS could not deliver it: 403: KMS key access denied") == 2
    assert "moved aside after its last receive (1 receive(s) so far)" in text
    # listing leaves every letter in place, visible
    assert [_depth(sqs, q.name) for q in QUEUES.values()] == [1, 2, 1]


@pytest.mark.parametrize("raw", [False, True], ids=["notification", "raw message"])
def test_a_delivery_letter_is_invoked_as_the_sns_event_and_deleted_once_handled(
    sqs: Any, raw: bool
) -> None:
    envelope = _put_delivery(sqs, raw=raw)
    invoke = Invoker()
    outcome = dead_letters.redrive(sqs, [QUEUES["delivery"]], invoke, dead_letters.move_by_hand)
    [event] = invoke.events
    [record] = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert Envelope.from_json(record["Sns"]["Message"]).id == envelope.id
    attributes = record["Sns"]["MessageAttributes"]
    assert attributes["event_type"] == {"Type": "String", "Value": "order.placed"}
    assert "ErrorCode" not in attributes  # SNS's own, not the event's
    assert (outcome.handled, outcome.failed) == (1, 0)
    assert _depth(sqs, QUEUES["delivery"].name) == 0


@pytest.mark.parametrize("kind", ["on-failure", "delivery"])
def test_a_letter_that_fails_again_stays_with_the_reason(sqs: Any, kind: str) -> None:
    (_put_on_failure if kind == "on-failure" else _put_delivery)(sqs)
    outcome = dead_letters.redrive(
        sqs, [QUEUES[kind]], Invoker(failing=True), dead_letters.move_by_hand
    )
    assert (outcome.handled, outcome.failed) == (0, 1)
    assert any("still failing, kept" in line and "TemplateError" in line for line in outcome.lines)
    # kept, and visible again at once for the next try
    messages = sqs.receive_message(QueueUrl=_url(sqs, QUEUES[kind].name))["Messages"]
    assert len(messages) == 1


def test_an_on_failure_letter_replays_its_request_payload(sqs: Any) -> None:
    envelope = _put_on_failure(sqs)
    invoke = Invoker()
    dead_letters.redrive(sqs, [QUEUES["on-failure"]], invoke, dead_letters.move_by_hand)
    [event] = invoke.events
    assert Envelope.from_json(event["Records"][0]["Sns"]["Message"]).id == envelope.id
    assert _depth(sqs, QUEUES["on-failure"].name) == 0


def test_a_queue_letter_moves_back_to_its_queue_with_body_and_attributes(sqs: Any) -> None:
    body = _put_queued(sqs)
    invoke = Invoker()
    outcome = dead_letters.redrive(sqs, [QUEUES["queue"]], invoke, dead_letters.move_by_hand)
    assert (outcome.handled, outcome.failed) == (1, 0)
    assert invoke.events == []  # the event source mapping delivers it, not the redrive
    assert _depth(sqs, QUEUES["queue"].name) == 0
    [moved] = sqs.receive_message(
        QueueUrl=_url(sqs, QUEUES["queue"].source), MessageAttributeNames=["All"]
    )["Messages"]
    assert moved["Body"] == body
    assert moved["MessageAttributes"]["trace"] == {"DataType": "String", "StringValue": "t-1"}


def test_a_queue_letter_whose_send_fails_stays(sqs: Any) -> None:
    _put_queued(sqs)
    dlq_url = _url(sqs, QUEUES["queue"].name)
    source_url = _url(sqs, QUEUES["queue"].source)
    sqs.delete_queue(QueueUrl=source_url)  # the send back fails
    outcome = dead_letters.move_by_hand(sqs, dlq_url, source_url, "q", dry_run=False)
    assert (outcome.handled, outcome.failed) == (0, 1)
    assert any("could not move, kept" in line for line in outcome.lines)
    assert len(sqs.receive_message(QueueUrl=dlq_url)["Messages"]) == 1


def test_a_dry_run_touches_no_letter_of_any_kind(sqs: Any) -> None:
    _put_on_failure(sqs)
    _put_delivery(sqs)
    _put_queued(sqs)
    invoke = Invoker()
    outcome = dead_letters.redrive(
        sqs, list(QUEUES.values()), invoke, dead_letters.move_by_hand, dry_run=True
    )
    assert invoke.events == []
    assert (outcome.handled, outcome.failed) == (0, 0)
    assert sum(line.startswith(("would redrive", "would move")) for line in outcome.lines) == 3
    assert [_depth(sqs, q.name) for q in QUEUES.values()] == [1, 1, 1]
    assert _depth(sqs, QUEUES["queue"].source) == 0
    # and each is visible again at once
    assert len(sqs.receive_message(QueueUrl=_url(sqs, QUEUES["delivery"].name))["Messages"]) == 1


def test_a_missing_queue_is_an_error_naming_it(sqs: Any) -> None:
    sqs.delete_queue(QueueUrl=_url(sqs, QUEUES["queue"].source))
    with pytest.raises(DeadLetterError, match=f"queue {QUEUES['queue'].source} .* does not exist"):
        dead_letters.redrive(sqs, [QUEUES["queue"]], Invoker(), dead_letters.move_by_hand)


def test_a_letter_that_cannot_be_read_is_kept_and_the_rest_redriven(sqs: Any) -> None:
    sqs.send_message(QueueUrl=_url(sqs, QUEUES["on-failure"].name), MessageBody="not json")
    _put_on_failure(sqs)
    invoke = Invoker()
    outcome = dead_letters.redrive(sqs, [QUEUES["on-failure"]], invoke, dead_letters.move_by_hand)
    assert (outcome.handled, outcome.failed, len(invoke.events)) == (1, 1, 1)
    assert any("cannot read it as a letter of kind on-failure" in line for line in outcome.lines)
    [kept] = sqs.receive_message(QueueUrl=_url(sqs, QUEUES["on-failure"].name))["Messages"]
    assert kept["Body"] == "not json"
