"""Redriving dead letters: by synchronous invoke, or by moving them back to their queue.

Every path deletes a letter only after its replay succeeded; one that fails stays, visible
again at once, with the reason in the outcome's lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from . import letters
from .queues import (
    QUEUE,
    DeadLetterError,
    DeadLetterQueue,
    queue_arn,
    receive_all,
    release,
    url_of,
)

# event -> None when handled, else the error ({"errorType", "errorMessage"})
Invoke = Callable[[Any], dict[str, Any] | None]
# (sqs, dead-letter queue URL, source queue URL, dry_run) -> outcome
Move = Callable[..., "Outcome"]

# Long enough for an invocation of the longest function timeout: nobody else sees the
# letter while it is replayed.
REPLAY_VISIBILITY_S = 900


@dataclass
class Outcome:
    handled: int = 0
    failed: int = 0
    moving: int = 0  # handed to an SQS move task, which finishes on its own
    lines: list[str] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        self.handled += other.handled
        self.failed += other.failed
        self.moving += other.moving
        self.lines += other.lines


# message -> None once replayed, else why it was not
Replay = Callable[[dict[str, Any]], str | None]


def _each_letter(
    sqs: Any, url: str, kind: str, replay: Replay, *, verbs: tuple[str, str, str], dry_run: bool
) -> Outcome:
    """Replay every letter in ``url``; delete each only once ``replay`` succeeded, else
    make it visible again at once. ``verbs``: would-do, done, kept (for the lines)."""
    would, done, kept = verbs
    outcome = Outcome()
    for message in receive_all(sqs, url, visibility=REPLAY_VISIBILITY_S):
        if dry_run:
            why = letters.reason(kind, message)
            outcome.lines.append(f"would {would} {message['MessageId']}: {why}")
            release(sqs, url, message)
            continue
        problem = replay(message)
        if problem is None:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            outcome.handled += 1
            outcome.lines.append(f"{done} and deleted {message['MessageId']}")
        else:
            outcome.failed += 1
            outcome.lines.append(f"{kept}, kept {message['MessageId']}: {problem}")
            release(sqs, url, message)
    return outcome


def redrive_queue(
    sqs: Any, url: str, label: str, invoke: Invoke, *, kind: str, dry_run: bool = False
) -> Outcome:
    """Replay every letter in ``url`` through ``invoke``; delete each one handled."""
    event_of = letters.EVENT_OF[kind]

    def replay(message: dict[str, Any]) -> str | None:
        try:
            event = event_of(message)
        except (ValueError, KeyError, TypeError, AttributeError) as unreadable:
            return f"cannot read it as a letter of kind {kind} ({unreadable!r}): inspect it by hand"
        failure = invoke(event)
        if failure is None:
            return None
        return f"{failure.get('errorType')}: {failure.get('errorMessage')}"

    verbs = ("redrive", "redriven", "still failing")
    outcome = _each_letter(sqs, url, kind, replay, verbs=verbs, dry_run=dry_run)
    outcome.lines.append(f"{label}: {outcome.handled} redriven, {outcome.failed} still failing")
    return outcome


def move_by_hand(sqs: Any, url: str, source_url: str, label: str, *, dry_run: bool) -> Outcome:
    """What ``StartMessageMoveTask`` does, for an SQS without it (moto): each letter is
    sent to ``source_url`` with its body and attributes, then deleted from ``url``."""

    def send_back(message: dict[str, Any]) -> str | None:
        try:
            sqs.send_message(
                QueueUrl=source_url,
                MessageBody=message["Body"],
                MessageAttributes=message.get("MessageAttributes") or {},
            )
        except ClientError as error:
            return str(error)
        return None

    verbs = ("move back", "moved back", "could not move")
    outcome = _each_letter(sqs, url, QUEUE, send_back, verbs=verbs, dry_run=dry_run)
    outcome.lines.append(f"{label}: {outcome.handled} moved back, {outcome.failed} kept")
    return outcome


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _progress(task: dict[str, Any]) -> str:
    return (
        f"{task['Status']}, {task.get('ApproximateNumberOfMessagesMoved', 0)} of "
        f"{task.get('ApproximateNumberOfMessagesToMove', '?')} moved"
        + (f": {task['FailureReason']}" if task.get("FailureReason") else "")
    )


def start_move_task(sqs: Any, url: str, source_url: str, label: str, *, dry_run: bool) -> Outcome:
    """SQS's own redrive: ``StartMessageMoveTask`` from the dead-letter queue to its source
    queue (SQS deletes each message only once it is in the source), then its progress from
    ``ListMessageMoveTasks``. A task already running is reported, not started twice."""
    outcome = Outcome()
    count = _depth(sqs, url)
    if count == 0:
        outcome.lines.append(f"{label}: nothing to move")
        return outcome
    dlq_arn, source_arn = queue_arn(sqs, url), queue_arn(sqs, source_url)
    policy = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])
    # no Attributes at all when the queue has no redrive policy
    redrive_policy = policy.get("Attributes", {}).get("RedrivePolicy", "{}")
    target = json.loads(redrive_policy).get("deadLetterTargetArn")
    if target != dlq_arn:
        # SQS moves messages only out of a queue that is some queue's dead-letter queue.
        raise DeadLetterError(
            f"{label}: {source_arn} does not redrive to {dlq_arn} (its redrive policy names "
            f"{target!r}); will not move {count} message(s)"
        )
    tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10).get("Results", [])
    running = [task for task in tasks if task["Status"] == "RUNNING"]
    if running:
        outcome.moving = count
        outcome.lines.append(f"{label}: a move task is already running: {_progress(running[0])}")
        return outcome
    if dry_run:
        outcome.lines.append(f"{label}: would move {count} message(s) back to {source_arn}")
        return outcome
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=source_arn)["TaskHandle"]
    outcome.moving = count
    latest = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1).get("Results", [])
    state = _progress(latest[0]) if latest else "started"
    if latest and latest[0]["Status"] == "FAILED":
        outcome.failed, outcome.moving = count, 0
    outcome.lines.append(
        f"{label}: move task {handle} to {source_arn}: {state} (run redrive again for its progress)"
    )
    return outcome


def redrive(
    sqs: Any,
    queues: list[DeadLetterQueue],
    invoke: Invoke,
    move: Move,
    *,
    dry_run: bool = False,
) -> Outcome:
    """Every letter of ``queues`` (one service's), each kind by its own replay."""
    outcome = Outcome()
    for queue in queues:
        url = url_of(sqs, queue.name, f"{queue.kind} dead letters of {queue.service}")
        if queue.source is None:
            outcome.add(
                redrive_queue(sqs, url, queue.label, invoke, kind=queue.kind, dry_run=dry_run)
            )
        else:
            source_url = url_of(sqs, queue.source, f"delivery queue of {queue.service}")
            outcome.add(move(sqs, url, source_url, queue.label, dry_run=dry_run))
    return outcome


def listing(sqs: Any, queues: list[DeadLetterQueue]) -> list[str]:
    """Per queue: its kind and count, then one line per letter with its reason."""
    lines = []
    for queue in queues:
        url = url_of(sqs, queue.name, f"{queue.kind} dead letters of {queue.service}")
        messages = receive_all(sqs, url, visibility=30)
        for message in messages:
            release(sqs, url, message)
        lines.append(f"{queue.label}: {len(messages)} dead letter(s)")
        lines += [f"  {m['MessageId']} {letters.reason(queue.kind, m)}" for m in messages]
    return lines


def aws_invoker(lambda_client: Any, function_name: str) -> Invoke:
    """Invoke the deployed function synchronously; a function error keeps the letter."""

    def invoke(payload: Any) -> dict[str, Any] | None:
        response = lambda_client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(payload).encode(),
        )
        body = response["Payload"].read()
        if response.get("FunctionError"):
            try:
                error: dict[str, Any] = json.loads(body)
            except ValueError:
                error = {"errorType": response["FunctionError"], "errorMessage": body.decode()}
            return error
        return None

    return invoke
