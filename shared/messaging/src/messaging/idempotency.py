"""Handle each event once per service, although SNS delivers at least once and Lambda retries.

One DynamoDB item per (service, event id) — the publisher-assigned id, never the SNS
``MessageId``, which changes when a message is republished. Conditional writes move it
through two states:

* ``IN_PROGRESS`` while a handler runs, until the function's remaining time runs out,
  so an attempt that crashed (timeout, out of memory) can be taken over by a retry;
* ``COMPLETED`` with the handler's result, kept for ``IDEMPOTENCY_TTL_S`` (set by
  Terraform to the maximum event age plus the dead-letter redrive window) so that a
  late duplicate or a redrive is still recognised.

A duplicate that arrives while the first attempt runs raises ``EventInProgressError``
(retryable: Lambda tries again later); the same id with a different payload raises
``PayloadMismatchError`` (poison: straight to the dead-letter queue).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from . import aws, metrics
from .config import settings
from .envelope import Envelope
from .errors import MessagingError, PoisonMessageError
from .logs import get_logger

__all__ = [
    "COMPLETED",
    "DEFAULT_TTL_S",
    "IN_PROGRESS",
    "EventInProgressError",
    "PayloadMismatchError",
    "claim",
    "complete",
    "payload_digest",
    "release",
    "run_once",
]

IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
# Lambda's maximum event age (6 h) plus SQS's maximum retention (14 days).
DEFAULT_TTL_S = 6 * 3600 + 14 * 86400
_DEFAULT_TIMEOUT_S = 900
_MAX_RESULT_BYTES = 64_000


class EventInProgressError(MessagingError):
    """Another attempt is handling this event right now; retry later rather than run twice."""


class PayloadMismatchError(PoisonMessageError):
    """An event id was seen before with a different payload: a publisher bug, never skipped."""


def payload_digest(envelope: Envelope) -> str:
    """A digest of what makes two deliveries the same event: type, version and data."""
    canonical = json.dumps(
        [envelope.type, envelope.version, envelope.data], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _ttl_s() -> int:
    return settings().idempotency_ttl_s or DEFAULT_TTL_S


def _remaining_s(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        return max(float(remaining()) / 1000, 1.0)
    return settings().function_timeout_s or _DEFAULT_TIMEOUT_S


def run_once(
    table: str,
    service: str,
    envelope: Envelope,
    handler: Callable[[Envelope], Any],
    context: Any = None,
) -> Any:
    """Run ``handler(envelope)`` unless ``service`` already handled this event id."""
    claimed, previous = claim(table, service, envelope, context)
    if not claimed:
        return previous
    try:
        result = handler(envelope)
    except BaseException:
        # Release the claim so Lambda's retry runs the handler again.
        release(table, service, envelope)
        raise
    complete(table, service, envelope, result)
    return result


def _key(service: str, envelope: Envelope) -> dict[str, dict[str, str]]:
    return {"id": {"S": f"{service}#{envelope.id}"}}


def claim(table: str, service: str, envelope: Envelope, context: Any = None) -> tuple[bool, Any]:
    """Mark the event in progress: ``(True, None)``, or ``(False, result)`` if already handled.

    Raises ``EventInProgressError`` while another attempt holds it and
    ``PayloadMismatchError`` when the id was handled with a different payload.
    """
    client = aws.client("dynamodb")
    key = _key(service, envelope)
    digest = payload_digest(envelope)
    now = time.time()
    try:
        client.put_item(
            TableName=table,
            Item={
                **key,
                "status": {"S": IN_PROGRESS},
                "payload_sha256": {"S": digest},
                "event_type": {"S": envelope.type},
                "in_progress_until": {"N": str(int(now + _remaining_s(context)) + 1)},
                "expires_at": {"N": str(int(now) + _ttl_s())},
            },
            ConditionExpression=(
                "attribute_not_exists(id) OR (#status = :in_progress AND in_progress_until < :now)"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":in_progress": {"S": IN_PROGRESS},
                ":now": {"N": str(int(now))},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except client.exceptions.ConditionalCheckFailedException as error:
        existing = error.response.get("Item") or client.get_item(
            TableName=table, Key=key, ConsistentRead=True
        ).get("Item", {})
        return False, _already_seen(existing, digest, envelope, service)
    return True, None


def release(table: str, service: str, envelope: Envelope) -> None:
    """Give up a claim, so that a retry runs the handler again."""
    aws.client("dynamodb").delete_item(TableName=table, Key=_key(service, envelope))


def complete(table: str, service: str, envelope: Envelope, result: Any) -> None:
    """Record the event as handled, with the handler's result (truncated past 64 KB)."""
    encoded = json.dumps(result, default=str)
    if len(encoded) > _MAX_RESULT_BYTES:
        encoded = json.dumps({"truncated": True, "bytes": len(encoded)})
    aws.client("dynamodb").update_item(
        TableName=table,
        Key=_key(service, envelope),
        UpdateExpression="SET #status = :completed, #result = :result REMOVE in_progress_until",
        ExpressionAttributeNames={"#status": "status", "#result": "result"},
        ExpressionAttributeValues={":completed": {"S": COMPLETED}, ":result": {"S": encoded}},
    )


def _already_seen(existing: dict[str, Any], digest: str, envelope: Envelope, service: str) -> Any:
    if not existing:  # the record expired between the write and the read: let Lambda retry
        raise EventInProgressError(f"{service} lost the race for event {envelope.id}; retry")
    if existing.get("payload_sha256", {}).get("S") != digest:
        raise PayloadMismatchError(
            f"event {envelope.id} ({envelope.type}) was handled before with a different payload"
        )
    if existing.get("status", {}).get("S") == COMPLETED:
        get_logger("messaging").info("duplicate delivery skipped: event already handled")
        metrics.count("DuplicateSkipped", envelope.type)
        return json.loads(existing.get("result", {}).get("S", "null"))
    raise EventInProgressError(
        f"event {envelope.id} is being handled by another attempt of {service}; retry later"
    )
