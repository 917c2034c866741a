"""Which dead-letter queues a service has, by kind, named as Terraform names them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from tools import declarations, topology
from tools.contract import names

ON_FAILURE = "on-failure"  # Lambda's on-failure records (and the router's poison records)
DELIVERY = "delivery"  # what SNS could not deliver to the subscription's endpoint
QUEUE = "queue"  # what a delivery queue moved aside after its last receive
KINDS = (ON_FAILURE, DELIVERY, QUEUE)


class DeadLetterError(RuntimeError):
    """A service, kind or queue that is not there, or a redrive that cannot start."""


@dataclass(frozen=True)
class DeadLetterQueue:
    kind: str
    service: str
    name: str
    # queue kind only: the delivery queue the letters came from and go back to
    source: str | None = None

    @property
    def label(self) -> str:
        return f"{self.service} {self.kind} {self.name}"


def of_service(
    service: str, environment: str, every: dict[str, declarations.Service] | None = None
) -> list[DeadLetterQueue]:
    """Every dead-letter queue ``service`` has in ``environment``, on-failure first."""
    every = declarations.services() if every is None else every
    if service not in every:
        raise DeadLetterError(f"unknown service {service!r}; valid: {', '.join(every)}")
    on_failure = names.on_failure_queue_name(service, environment)
    found = [DeadLetterQueue(ON_FAILURE, service, on_failure)]
    subscriptions = [s for s in topology.subscriptions(every) if s.service == service]
    if subscriptions:  # one delivery DLQ for all of the service's subscriptions
        delivery = names.delivery_dlq_name(service, environment)
        found.append(DeadLetterQueue(DELIVERY, service, delivery))
    for subscription in subscriptions:
        if subscription.delivery == topology.QUEUE:
            found.append(
                DeadLetterQueue(
                    QUEUE,
                    service,
                    names.delivery_queue_dlq_name(service, subscription.topic, environment),
                    source=names.delivery_queue_name(service, subscription.topic, environment),
                )
            )
    return found


def selected(
    services: list[str], environment: str, kind: str | None = None
) -> list[DeadLetterQueue]:
    """The queues of ``services`` (of one ``kind`` when given)."""
    if kind is not None and kind not in KINDS:
        raise DeadLetterError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    every = declarations.services()
    queues = [q for service in services for q in of_service(service, environment, every)]
    return [q for q in queues if kind is None or q.kind == kind]


def url_of(sqs: Any, name: str, what: str) -> str:
    """The queue's URL; a missing queue is a ``DeadLetterError`` naming it."""
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as error:
        if error.response["Error"]["Code"] in {
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
        }:
            raise DeadLetterError(
                f"queue {name} ({what}) does not exist here: is the environment deployed "
                "(or the local system running with queue delivery)?"
            ) from None
        raise


def receive_all(sqs: Any, url: str, visibility: int) -> list[dict[str, Any]]:
    """Every message now in the queue, each hidden for ``visibility`` seconds."""
    seen: dict[str, dict[str, Any]] = {}
    while True:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return list(seen.values())
        for message in fresh:
            seen[message["MessageId"]] = message


def release(sqs: Any, url: str, message: dict[str, Any]) -> None:
    """Make a received message visible again at once: it stays in its queue."""
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )


def queue_arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])
