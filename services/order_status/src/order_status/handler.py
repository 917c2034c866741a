"""Keeps the order record current: its owed event delivered, then the stock outcome."""

from __future__ import annotations

import os
from typing import Any

from messaging import ConfigurationError, Envelope, Router, aws_client, get_logger

log = get_logger()
router = Router()

ORDERS_TABLE = os.environ.get("TABLE_ORDERS", "")
if not ORDERS_TABLE:
    raise ConfigurationError("TABLE_ORDERS is not set")


class OrderNotFoundError(LookupError):
    """The event names an order the table does not hold (yet): retried, then dead-lettered."""


def _update_order(order_id: str, expression: str, **attributes: Any) -> None:
    """Update an order that must exist; ``OrderNotFoundError`` (retried) when it does not."""
    client = aws_client("dynamodb")
    try:
        client.update_item(
            TableName=ORDERS_TABLE,
            Key={"order_id": {"S": order_id}},
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(order_id)",
            **attributes,
        )
    except client.exceptions.ConditionalCheckFailedException:
        raise OrderNotFoundError(f"order {order_id!r} is not in {ORDERS_TABLE}") from None


def _set_status(order_id: str, status: str, detail: str) -> None:
    _update_order(
        order_id,
        "SET #status = :status, status_detail = :detail",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":status": {"S": status}, ":detail": {"S": detail}},
    )
    log.info("order status updated", extra={"order_id": order_id, "status": status})


@router.on("order.placed")
def delivered(event: Envelope) -> None:
    """The event reached its topic's subscribers: the order owes it no longer."""
    # The outbox attributes orders_api writes with the order (its store.OUTBOX_ATTRIBUTES).
    _update_order(event.data["order_id"], "REMOVE pending_event, owed_shard, owed_at")


@router.on("inventory.reserved")
def reserved(event: Envelope) -> None:
    lines = ", ".join(f"{line['quantity']} x {line['sku']}" for line in event.data["lines"])
    _set_status(event.data["order_id"], "reserved", lines)


@router.on("inventory.rejected")
def rejected(event: Envelope) -> None:
    detail = f"{event.data['reason']}: {', '.join(event.data['skus'])}"
    _set_status(event.data["order_id"], "rejected", detail)


handle = router.handle
