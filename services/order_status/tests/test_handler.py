from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import boto3
import pytest

from messaging import Envelope
from tools.contract import Provisioned, load_fixture, sns_event

ORDER_ID = load_fixture("order.placed")["order_id"]


@pytest.fixture
def handler(load_handler: Callable[[str], ModuleType], system: Provisioned) -> ModuleType:
    boto3.resource("dynamodb").Table(system.tables["orders"]).put_item(
        Item={"order_id": ORDER_ID, "status": "placed"}
    )
    return load_handler("order_status")


def _order(system: Provisioned, order_id: str = ORDER_ID) -> dict[str, str]:
    table = boto3.resource("dynamodb").Table(system.tables["orders"])
    return dict(table.get_item(Key={"order_id": order_id})["Item"])


def test_reserved_stock_marks_the_order_reserved(handler: ModuleType, system: Provisioned) -> None:
    event = Envelope(type="inventory.reserved", data=load_fixture("inventory.reserved"))
    handler.handle(sns_event(event), None)
    order = _order(system)
    assert order["status"] == "reserved"
    assert order["status_detail"] == "2 x BOOK-42, 1 x MUG-7"


def test_rejection_marks_the_order_rejected_with_the_reason(
    handler: ModuleType, system: Provisioned
) -> None:
    event = Envelope(type="inventory.rejected", data=load_fixture("inventory.rejected"))
    handler.handle(sns_event(event), None)
    order = _order(system)
    assert order["status"] == "rejected"
    assert order["status_detail"] == "out_of_stock: MUG-7"


def test_unknown_order_raises_so_lambda_retries(handler: ModuleType) -> None:
    data = {**load_fixture("inventory.reserved"), "order_id": "no-such-order"}
    with pytest.raises(handler.OrderNotFoundError, match="no-such-order"):
        handler.handle(sns_event(Envelope(type="inventory.reserved", data=data)), None)


def test_delivered_order_placed_clears_the_owed_event(
    handler: ModuleType, system: Provisioned
) -> None:
    # given: an order still carrying the event it owes the topic
    table = boto3.resource("dynamodb").Table(system.tables["orders"])
    table.update_item(
        Key={"order_id": ORDER_ID},
        UpdateExpression="SET pending_event = :event, owed_shard = :shard, owed_at = :at",
        ExpressionAttributeValues={":event": "{}", ":shard": "0", ":at": "2026-01-01T00:00:00Z"},
    )
    placed = Envelope(type="order.placed", version=2, data=load_fixture("order.placed"))
    # when
    handler.handle(sns_event(placed), None)
    # then
    order = _order(system)
    assert not {"pending_event", "owed_shard", "owed_at"} & set(order)
    assert order["status"] == "placed"
