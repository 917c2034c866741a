"""Orders in DynamoDB, with the event each order still owes the topic (outbox on the row).

An order is written together with its ``order.placed`` envelope in ``pending_event``
and the keys of the sparse ``owed`` index (``owed_shard``, ``owed_at``). Delivery removes
all three (``order_status`` acknowledges the event), which keeps the request path at one
write and one publish and the index holding only what is owed. An order whose publish
failed therefore still carries its event, and the scheduled ``republish_pending`` (or a
client retrying with the same ``Idempotency-Key``) sends it with the same event id,
which idempotent consumers handle once. The sweep queries the index, oldest first, so
it reads what is owed, never the orders already delivered.

This service creates order items and changes none: once stored, each attribute has one
writer (shared/resources.json ``created_by``/``updated_by``; IAM enforces it), and the
outbox attributes are ``order_status``'s, which removes them on delivery, republished
events included.
"""

from __future__ import annotations

import os
import random
import time
import zlib
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from messaging import ConfigurationError, aws_client

_IDEMPOTENCY_PREFIX = "idempotency-key#"

# The sparse index of shared/resources.json (tests/contracts checks they agree).
OWED_INDEX = "owed"
OWED_SHARD = "owed_shard"
OWED_AT = "owed_at"
PENDING_EVENT = "pending_event"
OUTBOX_ATTRIBUTES = (PENDING_EVENT, OWED_SHARD, OWED_AT)
# Every order enters the index when placed; one partition key value takes about 1,000
# writes a second, so owed orders are spread over a few. Growing it is safe (the sweep
# reads every shard below it); shrinking it would strand the orders of the shards cut.
OWED_SHARDS = 4


def _table() -> str:
    name = os.environ.get("TABLE_ORDERS")
    if not name:
        raise ConfigurationError("TABLE_ORDERS is not set")
    return name


_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def _item(record: dict[str, Any]) -> dict[str, Any]:
    return {key: _SERIALIZER.serialize(value) for key, value in record.items() if value is not None}


def _record(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}


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


class StoreUnavailableError(Exception):
    """The write did not happen for a reason a later attempt may not meet (throttling,
    a conflicting transaction); the client may retry the request."""


# Cancellation reasons another attempt can clear; anything else is not retried.
_TRANSIENT = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)
_THROTTLED = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
ATTEMPTS = 3


def _backoff(attempt: int) -> None:
    # Full jitter, capped well inside the function's timeout.
    time.sleep(random.uniform(0, 0.05 * 2**attempt))


def _put_new(client: Any, item: dict[str, Any]) -> None:
    try:
        client.put_item(
            TableName=_table(), Item=item, ConditionExpression="attribute_not_exists(order_id)"
        )
    except client.exceptions.ConditionalCheckFailedException:
        # A fresh uuid4 that exists already: a new request gets a new id.
        raise StoreUnavailableError("the new order's id is taken") from None
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _THROTTLED:
            raise StoreUnavailableError("the orders table is throttling writes") from error
        raise


def _claim_and_put(client: Any, item: dict[str, Any], claim: dict[str, Any], key: str) -> None:
    writes = [
        {
            "Put": {
                "TableName": _table(),
                "Item": it,
                "ConditionExpression": "attribute_not_exists(order_id)",
            }
        }
        for it in (item, claim)
    ]
    for attempt in range(ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=writes)
            return
        except client.exceptions.TransactionCanceledException as error:
            codes = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
            if len(codes) == 2 and codes[1] == "ConditionalCheckFailed":
                raise KeyAlreadyUsedError(key) from error
            if not codes or any(code not in _TRANSIENT | {"None"} for code in codes):
                raise StoreUnavailableError(
                    f"the order's transaction was cancelled: {codes}"
                ) from error
            if attempt + 1 == ATTEMPTS:
                raise StoreUnavailableError(
                    f"the order's transaction was cancelled {ATTEMPTS} times: {codes}"
                ) from error
            _backoff(attempt)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _THROTTLED:
                raise StoreUnavailableError("the orders table is throttling writes") from error
            raise


def owed_shard(order_id: str) -> str:
    return str(zlib.crc32(order_id.encode()) % OWED_SHARDS)


def owed_attributes(order: dict[str, Any], pending_event: str) -> dict[str, str]:
    """The outbox attributes: the event, and the index keys that list it as owed."""
    return {
        PENDING_EVENT: pending_event,
        OWED_SHARD: owed_shard(order["order_id"]),
        OWED_AT: order["placed_at"],
    }


def put_order(order: dict[str, Any], pending_event: str, idempotency_key: str | None) -> None:
    """Store a new order with its unpublished event.

    Without a key this is one conditional ``PutItem`` (a transaction costs twice the
    write units); with a key, a transaction that also claims the key.
    ``KeyAlreadyUsedError`` only when the key's claim exists; ``StoreUnavailableError``
    when the write may succeed on a later attempt.
    """
    client = aws_client("dynamodb")
    item = _item({**order, **owed_attributes(order, pending_event)})
    if not idempotency_key:
        _put_new(client, item)
        return
    claim = _item(
        {"order_id": _IDEMPOTENCY_PREFIX + idempotency_key, "points_to": order["order_id"]}
    )
    _claim_and_put(client, item, claim, idempotency_key)


PAGE_SIZE = 100


def _owed_in_shard(client: Any, shard: str, before: str, limit: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": OWED_INDEX,
        "KeyConditionExpression": "#shard = :shard AND #at < :cutoff",
        "ExpressionAttributeNames": {"#shard": OWED_SHARD, "#at": OWED_AT},
        "ExpressionAttributeValues": {":shard": {"S": shard}, ":cutoff": {"S": before}},
        "ScanIndexForward": True,
    }
    while len(found) < limit:
        kwargs["Limit"] = min(PAGE_SIZE, limit - len(found))
        response = client.query(**kwargs)
        found.extend(_record(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return found


def pending_orders(placed_before: str, limit: int = 100) -> list[dict[str, Any]]:
    """Up to ``limit`` orders owing their event since before ``placed_before`` (ISO time),
    oldest first: a query of every shard of the sparse ``owed`` index, never a scan."""
    client = aws_client("dynamodb")
    found = [
        order
        for shard in range(OWED_SHARDS)
        for order in _owed_in_shard(client, str(shard), placed_before, limit)
    ]
    found.sort(key=lambda order: (order[OWED_AT], order["order_id"]))
    return found[:limit]
