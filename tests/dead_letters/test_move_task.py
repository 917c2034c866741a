"""The AWS path of a delivery queue's dead letters: SQS's own move task.

moto (5.2.5, the newest) has no StartMessageMoveTask or ListMessageMoveTasks, so the
requests are checked against botocore's service model with its Stubber: each call's
parameters are validated against the real API shape and must equal what is expected.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tools import dead_letters
from tools.contract import FAKE_CREDENTIALS, names
from tools.dead_letters import DeadLetterError, of_service

ENV = "dev"
[QUEUE] = [q for q in of_service("order_confirmation", ENV) if q.kind == "queue"]
assert QUEUE.source is not None
PREFIX = f"https://sqs.{names.REGION}.amazonaws.com/{names.ACCOUNT_ID}"
DLQ_URL, SOURCE_URL = f"{PREFIX}/{QUEUE.name}", f"{PREFIX}/{QUEUE.source}"
DLQ_ARN = f"arn:aws:sqs:{names.REGION}:{names.ACCOUNT_ID}:{QUEUE.name}"
SOURCE_ARN = f"arn:aws:sqs:{names.REGION}:{names.ACCOUNT_ID}:{QUEUE.source}"


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "sqs",
        region_name=names.REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _expect_queues(stubber: Stubber, depth: int, running: bool = False) -> None:
    stubber.add_response("get_queue_url", {"QueueUrl": DLQ_URL}, {"QueueName": QUEUE.name})
    stubber.add_response("get_queue_url", {"QueueUrl": SOURCE_URL}, {"QueueName": QUEUE.source})
    stubber.add_response(
        "get_queue_attributes",
        {"Attributes": {"ApproximateNumberOfMessages": str(depth)}},
        {"QueueUrl": DLQ_URL, "AttributeNames": ["ApproximateNumberOfMessages"]},
    )
    for url, arn in ((DLQ_URL, DLQ_ARN), (SOURCE_URL, SOURCE_ARN)):
        stubber.add_response(
            "get_queue_attributes",
            {"Attributes": {"QueueArn": arn}},
            {"QueueUrl": url, "AttributeNames": ["QueueArn"]},
        )
    policy = json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5})
    stubber.add_response(
        "get_queue_attributes",
        {"Attributes": {"RedrivePolicy": policy}},
        {"QueueUrl": SOURCE_URL, "AttributeNames": ["RedrivePolicy"]},
    )
    earlier = {"Status": "RUNNING" if running else "COMPLETED", "SourceArn": DLQ_ARN}
    stubber.add_response(
        "list_message_move_tasks",
        {"Results": [earlier | {"ApproximateNumberOfMessagesMoved": 2}]},
        {"SourceArn": DLQ_ARN, "MaxResults": 10},
    )


def _redrive(client: Any, *, dry_run: bool = False) -> dead_letters.Outcome:
    def no_invoke(event: Any) -> None:
        raise AssertionError("a queue's dead letters are moved, never invoked")

    return dead_letters.redrive(
        client, [QUEUE], no_invoke, dead_letters.start_move_task, dry_run=dry_run
    )


def test_redrive_starts_a_move_task_back_to_the_source_and_reports_its_progress(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    _expect_queues(stubber, depth=3)
    stubber.add_response(
        "start_message_move_task",
        {"TaskHandle": "task-1"},
        {"SourceArn": DLQ_ARN, "DestinationArn": SOURCE_ARN},
    )
    stubber.add_response(
        "list_message_move_tasks",
        {
            "Results": [
                {
                    "Status": "RUNNING",
                    "SourceArn": DLQ_ARN,
                    "ApproximateNumberOfMessagesMoved": 1,
                    "ApproximateNumberOfMessagesToMove": 3,
                }
            ]
        },
        {"SourceArn": DLQ_ARN, "MaxResults": 1},
    )
    outcome = _redrive(client)
    assert (outcome.moving, outcome.failed) == (3, 0)
    assert f"move task task-1 to {SOURCE_ARN}: RUNNING, 1 of 3 moved" in outcome.lines[-1]


def test_a_dry_run_starts_no_task(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _expect_queues(stubber, depth=3)  # nothing after the check: a start would fail the stub
    outcome = _redrive(client, dry_run=True)
    assert outcome.lines == [f"{QUEUE.label}: would move 3 message(s) back to {SOURCE_ARN}"]


def test_a_running_task_is_reported_not_started_twice(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _expect_queues(stubber, depth=3, running=True)
    outcome = _redrive(client)
    assert "a move task is already running: RUNNING, 2 of ? moved" in outcome.lines[-1]


def test_an_empty_queue_starts_nothing(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("get_queue_url", {"QueueUrl": DLQ_URL}, {"QueueName": QUEUE.name})
    stubber.add_response("get_queue_url", {"QueueUrl": SOURCE_URL}, {"QueueName": QUEUE.source})
    stubber.add_response(
        "get_queue_attributes",
        {"Attributes": {"ApproximateNumberOfMessages": "0"}},
        {"QueueUrl": DLQ_URL, "AttributeNames": ["ApproximateNumberOfMessages"]},
    )
    assert _redrive(client).lines == [f"{QUEUE.label}: nothing to move"]


@pytest.fixture
def aws(fake_aws: None) -> Any:
    return boto3.client("sqs")


def test_the_command_moves_only_out_of_the_source_queues_dead_letter_queue(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the two queues, but the source not redriving to the DLQ (SQS would refuse)
    dlq = aws.create_queue(QueueName=QUEUE.name)["QueueUrl"]
    aws.create_queue(QueueName=QUEUE.source)
    aws.send_message(QueueUrl=dlq, MessageBody="{}")
    # when
    argv = ["redrive", "order_confirmation", "--env", ENV, "--kind", "queue"]
    code = dead_letters.main(argv)
    # then the AWS path refused before any move, naming both queues
    assert code == 2
    assert f"does not redrive to {DLQ_ARN}" in capsys.readouterr().err
    assert len(aws.receive_message(QueueUrl=dlq)["Messages"]) == 1


def test_a_queue_that_is_not_a_dead_letter_queue_is_refused(aws: Any) -> None:
    aws.create_queue(QueueName=QUEUE.name)
    aws.create_queue(QueueName=QUEUE.source)
    aws.send_message(QueueUrl=aws.get_queue_url(QueueName=QUEUE.name)["QueueUrl"], MessageBody="x")
    with pytest.raises(DeadLetterError, match="will not move 1 message"):
        _redrive(aws)
