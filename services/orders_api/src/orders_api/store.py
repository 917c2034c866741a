"""Orders in DynamoDB, with the event each order still owes the topic (outbox on the row).

An order is written together with its ``order.placed`` envelope in ``pending_event``.
The attribute is removed when the event is delivered (``order_status`` acknowledges
it), which keeps the request path at one write and one publish. An order whose publish
failed therefore still carries its event, and the scheduled ``republish_pending`` (or a
client retrying with the same ``Idempotency-Key``) sends it with the same event id,
which idempotent consumers handle once.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from messaging import ConfigurationError, aws_client

_IDEMPOTENCY_PREFIX = "idempotency-key#"


def _table() -> str:
    name = os.environ.get("TABLE_ORDERS")
    if not name:
        raise ConfigurationError("TABLE_ORDERS is not set")
    return name


# A few lines instead of boto3.dynamodb.types: importing that module pulls in
# s3transfer and costs this function ~60 ms of cold start for the four types orders use.
def _serialize(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float | Decimal):
        return {"N": str(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, list):
        return {"L": [_serialize(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {str(key): _serialize(item) for key, item in value.items()}}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def _deserialize(attribute: dict[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "L":
        return [_deserialize(item) for item in value]
    if kind == "M":
        return {key: _deserialize(item) for key, item in value.items()}
    if kind == "NULL":
        return None
    return value  # S, BOOL


def _item(record: dict[str, Any]) -> dict[str, Any]:
    return {key: _serialize(value) for key, value in record.items() if value is not None}


def _record(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserialize(value) for key, value in item.items()}


def get_order(order_id: str) -> dict[str, Any] | None:
    response = aws_client("dynamodb").get_item(
        TableName=_table(), Key={"order_id": {"S": order_id}}, ConsistentRead=True
    )
    item = response.get("Item")
    return _record(item) if item else None


def order_for_key(idempotency_key: str) -> dict[str, Any] | None:
    """The order an earlier request with this ``Idempotency-Key`` created, if any."""
    claim = get_order(_IDEMPOTENCY_PREFIX + idempotency_key)
    return get_order(claim["points_to"]) if claim else None


class KeyAlreadyUsedError(Exception):
    """Another request with the same ``Idempotency-Key`` created its order first."""


def put_order(order: dict[str, Any], pending_event: str, idempotency_key: str | None) -> None:
    """Store a new order with its unpublished event; claim the idempotency key atomically."""
    writes: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": _table(),
                "Item": _item({**order, "pending_event": pending_event}),
                "ConditionExpression": "attribute_not_exists(order_id)",
            }
        }
    ]
    if idempotency_key:
        writes.append(
            {
                "Put": {
                    "TableName": _table(),
                    "Item": _item(
                        {
                            "order_id": _IDEMPOTENCY_PREFIX + idempotency_key,
                            "points_to": order["order_id"],
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(order_id)",
                }
            }
        )
    client = aws_client("dynamodb")
    try:
        client.transact_write_items(TransactItems=writes)
    except client.exceptions.TransactionCanceledException as error:
        raise KeyAlreadyUsedError(str(idempotency_key)) from error


def mark_published(order_id: str) -> None:
    aws_client("dynamodb").update_item(
        TableName=_table(),
        Key={"order_id": {"S": order_id}},
        UpdateExpression="REMOVE pending_event",
        ConditionExpression="attribute_exists(order_id)",
    )


def pending_orders(placed_before: str, limit: int = 100) -> list[dict[str, Any]]:
    """Orders placed before ``placed_before`` (ISO time) whose event nobody acknowledged."""
    client = aws_client("dynamodb")
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "FilterExpression": "attribute_exists(pending_event) AND placed_at < :cutoff",
        "ExpressionAttributeValues": {":cutoff": {"S": placed_before}},
    }
    while len(found) < limit:
        response = client.scan(**kwargs)
        found.extend(_record(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return found[:limit]
