from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest

from messaging import Envelope
from tools.contract import Provisioned, load_fixture, sns_event


@pytest.fixture
def handler(load_handler: Callable[[str], ModuleType]) -> ModuleType:
    return load_handler("inventory")


def _stock(system: Provisioned, levels: dict[str, int]) -> None:
    table = boto3.resource("dynamodb").Table(system.tables["stock"])
    for sku, available in levels.items():
        table.put_item(Item={"sku": sku, "available": available})


def _available(system: Provisioned, sku: str) -> int:
    item = boto3.resource("dynamodb").Table(system.tables["stock"]).get_item(Key={"sku": sku})
    return int(item["Item"]["available"])


def _placed() -> Envelope:
    # the current version (2); inventory accepts version 1, so the router downcasts it
    return Envelope(
        type="order.placed",
        version=2,
        data=load_fixture("order.placed"),
        source="orders_api",
        correlation_id="checkout-1",
    )


def test_reserves_every_line_and_publishes_reserved(
    handler: ModuleType, system: Provisioned, published: Callable[[str], list[dict[str, Any]]]
) -> None:
    # given
    _stock(system, {"BOOK-42": 5, "MUG-7": 1})
    # when
    handler.handle(sns_event(_placed()), None)
    # then
    assert (_available(system, "BOOK-42"), _available(system, "MUG-7")) == (3, 0)
    [event] = published("inventory")
    assert event["type"] == "inventory.reserved"
    assert event["data"] == load_fixture("inventory.reserved")


def test_short_stock_rejects_the_whole_order_and_takes_nothing(
    handler: ModuleType, system: Provisioned, published: Callable[[str], list[dict[str, Any]]]
) -> None:
    _stock(system, {"BOOK-42": 5, "MUG-7": 0})
    handler.handle(sns_event(_placed()), None)
    assert _available(system, "BOOK-42") == 5
    [event] = published("inventory")
    assert event["type"] == "inventory.rejected"
    assert event["data"] == load_fixture("inventory.rejected")


def test_unknown_sku_is_named_in_the_rejection(
    handler: ModuleType, system: Provisioned, published: Callable[[str], list[dict[str, Any]]]
) -> None:
    _stock(system, {"BOOK-42": 5})
    handler.handle(sns_event(_placed()), None)
    [event] = published("inventory")
    assert event["data"]["reason"] == "unknown_sku"
    assert event["data"]["skus"] == ["MUG-7"]


def test_follow_up_event_carries_the_order_correlation_id(
    handler: ModuleType, system: Provisioned, published: Callable[[str], list[dict[str, Any]]]
) -> None:
    _stock(system, {"BOOK-42": 5, "MUG-7": 1})
    handler.handle(sns_event(_placed()), None)
    [event] = published("inventory")
    assert event["correlation_id"] == "checkout-1"
    assert event["source"] == "inventory"
