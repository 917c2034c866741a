"""The outbox sweep against moto: orders owe their event through the sparse ``owed``
index, and the republish schedule queries it (oldest first, bounded), never scans."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest

import messaging
from tools import declarations
from tools.contract import Provisioned


@pytest.fixture
def store(load_handler: Callable[[str], ModuleType]) -> ModuleType:
    load_handler("orders_api")
    from orders_api import store

    return store


@pytest.fixture
def reads(store: ModuleType) -> Iterator[list[dict[str, Any]]]:
    """Each DynamoDB call the service's client makes: operation, parameters, items read."""
    seen: list[dict[str, Any]] = []

    def record(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        seen.append({"operation": model.name, "scanned": parsed.get("ScannedCount", 0)})

    def params(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen.append({"operation": model.name, "params": params})

    events = messaging.aws_client("dynamodb").meta.events
    events.register("provide-client-params.dynamodb", params)
    events.register("after-call.dynamodb", record)
    yield seen
    events.unregister("provide-client-params.dynamodb", params)
    events.unregister("after-call.dynamodb", record)


def _place(store: ModuleType, placed_at: str) -> str:
    order_id = str(uuid.uuid4())
    order = {"order_id": order_id, "status": "placed", "placed_at": placed_at}
    store.put_order(order, json.dumps({"id": order_id}), None)
    return order_id


def _deliver(store: ModuleType, system: Provisioned, order_id: str) -> None:
    """What order_status does when order.placed reaches it (its own tests cover it)."""
    boto3.client("dynamodb").update_item(
        TableName=system.tables["orders"],
        Key={"order_id": {"S": order_id}},
        UpdateExpression="REMOVE " + ", ".join(store.OUTBOX_ATTRIBUTES),
    )


def _indexed(system: Provisioned) -> list[str]:
    client = boto3.client("dynamodb")
    items = client.scan(TableName=system.tables["orders"], IndexName="owed")["Items"]
    return sorted(item["order_id"]["S"] for item in items)


def test_the_index_holds_an_order_only_while_its_event_is_owed(
    store: ModuleType, system: Provisioned
) -> None:
    # given
    order_id = _place(store, "2026-01-01T00:00:00Z")
    assert _indexed(system) == [order_id]
    # when: delivery is acknowledged
    _deliver(store, system, order_id)
    # then
    assert _indexed(system) == []
    stored = boto3.client("dynamodb").get_item(
        TableName=system.tables["orders"], Key={"order_id": {"S": order_id}}
    )["Item"]
    assert not set(store.OUTBOX_ATTRIBUTES) & set(stored)


def test_the_sweep_queries_the_index_oldest_first_and_never_scans(
    store: ModuleType, system: Provisioned, reads: list[dict[str, Any]]
) -> None:
    # given: orders owed at different times, one delivered, one within the grace period
    old = [_place(store, f"2026-01-01T00:00:0{n}Z") for n in (3, 1, 2)]
    _deliver(store, system, _place(store, "2026-01-01T00:00:00Z"))
    _place(store, "2026-01-01T00:05:00Z")
    reads.clear()
    # when
    owed = store.pending_orders("2026-01-01T00:01:00Z")
    # then
    assert [o["order_id"] for o in owed] == [old[1], old[2], old[0]]
    assert all(json.loads(o["pending_event"]) == {"id": o["order_id"]} for o in owed)
    operations = {r["operation"] for r in reads}
    assert operations == {"Query"}
    queried = [r["params"] for r in reads if "params" in r]
    assert {q["IndexName"] for q in queried} == {store.OWED_INDEX}
    assert sorted(q["ExpressionAttributeValues"][":shard"]["S"] for q in queried) == [
        str(shard) for shard in range(store.OWED_SHARDS)
    ]


def test_the_sweep_reads_the_owed_orders_not_the_delivered_ones(
    store: ModuleType, system: Provisioned, reads: list[dict[str, Any]]
) -> None:
    # given: many delivered orders and three owed
    for _ in range(60):
        _deliver(store, system, _place(store, "2026-01-01T00:00:00Z"))
    owed = sorted(_place(store, "2026-01-01T00:00:01Z") for _ in range(3))
    reads.clear()
    # when
    found = store.pending_orders("2026-01-01T00:01:00Z")
    # then: the items read are the owed ones
    assert sorted(o["order_id"] for o in found) == owed
    assert sum(r.get("scanned", 0) for r in reads) == len(owed)


def test_the_sweep_is_bounded_and_pages_through_a_shard(
    store: ModuleType, reads: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: more owed orders than one page or one sweep takes
    monkeypatch.setattr(store, "PAGE_SIZE", 2)
    monkeypatch.setattr(store, "OWED_SHARDS", 1)
    placed = [_place(store, f"2026-01-01T00:00:{n:02d}Z") for n in range(7)]
    reads.clear()
    # when
    found = store.pending_orders("2026-01-01T00:01:00Z", limit=5)
    # then: the five oldest, read in pages of at most two
    assert [o["order_id"] for o in found] == placed[:5]
    limits = [r["params"]["Limit"] for r in reads if "params" in r]
    assert limits == [2, 2, 1]


def test_the_store_uses_the_index_shared_resources_declare(store: ModuleType) -> None:
    index = declarations.resources()["tables"]["orders"]["indexes"][store.OWED_INDEX]
    assert (index["hash_key"], index["range_key"]) == (store.OWED_SHARD, store.OWED_AT)
    assert index["projected"] == [store.PENDING_EVENT]
    assert set(store.OUTBOX_ATTRIBUTES) == {store.PENDING_EVENT, store.OWED_SHARD, store.OWED_AT}
