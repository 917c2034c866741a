"""Reserves stock for orders with physical goods, all lines or none, and says which.

The reservation is one DynamoDB transaction keyed by the event id
(``ClientRequestToken``), so a retried event does not reserve twice even before the
idempotency layer sees it; the outcome is published as ``inventory.reserved`` or
``inventory.rejected`` (the second hop of the chain).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from messaging import (
    ConfigurationError,
    Envelope,
    Router,
    aws_client,
    get_logger,
    new_event,
    publish,
)

log = get_logger()
router = Router()

STOCK_TABLE = os.environ.get("TABLE_STOCK", "")
if not STOCK_TABLE:
    raise ConfigurationError("TABLE_STOCK is not set")


def wanted_quantities(order: dict[str, Any]) -> dict[str, int]:
    """Units wanted per SKU, summed over the order's lines."""
    wanted: Counter[str] = Counter()
    for item in order["items"]:
        wanted[item["sku"]] += item["quantity"]
    return dict(sorted(wanted.items()))


def reserve_stock(quantities: dict[str, int], token: str) -> tuple[str, list[str]] | None:
    """Take ``quantities`` from stock atomically; ``(reason, skus)`` when it cannot."""
    client = aws_client("dynamodb")
    writes = [
        {
            "Update": {
                "TableName": STOCK_TABLE,
                "Key": {"sku": {"S": sku}},
                "UpdateExpression": "SET available = available - :wanted",
                "ConditionExpression": "attribute_exists(sku) AND available >= :wanted",
                "ExpressionAttributeValues": {":wanted": {"N": str(quantity)}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        for sku, quantity in quantities.items()
    ]
    try:
        client.transact_write_items(TransactItems=writes, ClientRequestToken=token[:36])
    except client.exceptions.TransactionCanceledException as error:
        reasons = error.response.get("CancellationReasons", [])
        unknown: list[str] = []
        short: list[str] = []
        for sku, reason in zip(quantities, reasons, strict=False):
            if reason.get("Code") != "ConditionalCheckFailed":
                continue
            (short if reason.get("Item") else unknown).append(sku)
        if not unknown and not short:
            raise  # a conflict or throttle, not a verdict on stock: let Lambda retry
        return ("unknown_sku", unknown) if unknown else ("out_of_stock", short)
    return None


@router.on("order.placed")
def reserve(event: Envelope) -> None:
    order_id = event.data["order_id"]
    quantities = wanted_quantities(event.data)
    refusal = reserve_stock(quantities, token=event.id)
    if refusal is None:
        lines = [{"sku": sku, "quantity": quantity} for sku, quantity in quantities.items()]
        publish(new_event("inventory.reserved", {"order_id": order_id, "lines": lines}))
        log.info("stock reserved", extra={"order_id": order_id})
    else:
        reason, skus = refusal
        publish(
            new_event("inventory.rejected", {"order_id": order_id, "reason": reason, "skus": skus})
        )
        log.info("stock refused", extra={"order_id": order_id, "reason": reason})


handle = router.handle
