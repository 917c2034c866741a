"""Dead letters: list them and redrive them, in AWS (boto3) or on the local system.

A service has up to three kinds of dead-letter queue (names: ``tools/contract/names.py``):

``on-failure`` (``<env>-<function>-on-failure``)
    Lambda's on-failure record after the last retry of an asynchronous invocation (or
    the router's, for a poison message): the original ``requestPayload`` with the error.
    Replayed by invoking the function synchronously with that payload.
``delivery`` (``<env>-<function>-delivery-dlq``, one per subscribing service)
    What SNS could not deliver to a subscription (the function, or a delivery queue), as
    the notification SNS would have delivered, with SNS's ``ErrorCode``/``ErrorMessage``
    attributes where it adds them. Replayed as what it was meant to be: an SNS event,
    invoked synchronously, the same path as the on-failure kind. The function's
    idempotency (keyed on the envelope id, which SNS never changes) makes a letter that
    was delivered after all harmless, and the router decodes an SNS event whichever
    delivery the subscription has. For a queue-delivered topic this skips its queue, but
    the redrive invokes one letter at a time, below any mapping's maximum concurrency (at
    least 2), so what the queue protects is not overrun; and a letter that still fails
    stays here, with its reason, instead of cycling through the queue's receives again.
``queue`` (``<env>-<function>-<topic>-queue-dlq``, one per queue-delivered topic)
    What the delivery queue moved aside after ``max_receive_count`` receives, unchanged.
    Moved back to that queue, so the event source mapping delivers it again with its
    batching and concurrency cap: in AWS by SQS's ``StartMessageMoveTask`` (progress from
    ``ListMessageMoveTasks``); locally, where moto has no move task, by receiving each
    letter, sending it to the queue with the same body and attributes, and deleting it
    only once the send succeeded.

Nothing is deleted before its replay succeeded; a letter that fails again stays.

    python -m tools.dead_letters list --env dev [SERVICE] [--kind KIND]
    python -m tools.dead_letters redrive SERVICE --env dev [--kind KIND] [--dry-run]
    python -m tools.dead_letters policy SERVICE --env dev   # the IAM policy redrive needs
"""

from __future__ import annotations

from .letters import describe
from .queues import KINDS, DeadLetterError, DeadLetterQueue, of_service, receive_all, selected
from .replay import (
    Outcome,
    aws_invoker,
    listing,
    move_by_hand,
    redrive,
    redrive_queue,
    start_move_task,
)

__all__ = [
    "KINDS",
    "DeadLetterError",
    "DeadLetterQueue",
    "Outcome",
    "aws_invoker",
    "describe",
    "listing",
    "move_by_hand",
    "of_service",
    "receive_all",
    "redrive",
    "redrive_queue",
    "selected",
    "start_move_task",
]


def main(argv: list[str] | None = None) -> int:
    from .cli import main as run

    return run(argv)
