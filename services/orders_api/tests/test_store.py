"""The order store against moto: which DynamoDB call each write makes, what a cancelled
transaction means, and values read back as boto3's own deserializer gives them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

import messaging
from tools.contract import Provisioned, http_event, load_fixture

Published = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def handler(load_handler: Callable[[str], ModuleType]) -> ModuleType:
    return load_handler("orders_api")


@pytest.fixture
def store(handler: ModuleType) -> ModuleType:
    from orders_api import store

    return store


@pytest.fixture
def calls(handler: ModuleType) -> Iterator[list[str]]:
    """The DynamoDB operations the service's client sends, in order."""
    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    events = messaging.aws_client("dynamodb").meta.events
    events.register("before-call.dynamodb", record)
    yield seen
    events.unregister("before-call.dynamodb", record)


def _fail(operation: str, code: str, reasons: list[str] | None = None) -> dict[str, Any]:
    parsed: dict[str, Any] = {"Error": {"Code": code, "Message": f"injected {code}"}}
    if reasons is not None:
        parsed["CancellationReasons"] = [{"Code": reason} for reason in reasons]
    return {"operation": operation, "parsed": parsed}


@pytest.fixture
def inject(handler: ModuleType) -> Iterator[Callable[[list[dict[str, Any]]], None]]:
    """Answer the next calls of an operation with DynamoDB error responses, in order;
    the real (moto) call once they are used up."""
    queue: list[dict[str, Any]] = []

    def answer(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if queue and queue[0]["operation"] == model.name:
            parsed = queue.pop(0)["parsed"]
            return AWSResponse("https://dynamodb.invalid", 400, {}, None), parsed
        return None

    events = messaging.aws_client("dynamodb").meta.events
    events.register("before-call.dynamodb", answer)
    yield queue.extend
    events.unregister("before-call.dynamodb", answer)


def _post(handler: ModuleType, headers: dict[str, str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = handler.handle(
        http_event("POST", "/orders", body=load_fixture("post-orders.body"), headers=headers)
    )
    result["json"] = json.loads(result["body"])
    return result


def _order(store: ModuleType) -> dict[str, Any]:
    return {
        "order_id": str(uuid.uuid4()),
        "status": "placed",
        "total_cents": 100,
        "placed_at": "2026-01-01T00:00:00Z",
    }


def test_without_a_key_the_order_is_one_conditional_put_item(
    handler: ModuleType, calls: list[str]
) -> None:
    assert _post(handler)["statusCode"] == 202
    assert calls == ["PutItem"]


def test_with_a_key_one_transaction_stores_the_order_and_claims_the_key(
    handler: ModuleType, store: ModuleType, calls: list[str]
) -> None:
    response = _post(handler, {"Idempotency-Key": "checkout-1001"})
    assert response["statusCode"] == 202
    assert calls[-1] == "TransactWriteItems"
    assert "TransactWriteItems" not in calls[:-1]
    assert "PutItem" not in calls
    assert store.order_for_key("checkout-1001")["order_id"] == response["json"]["order_id"]


def test_a_claimed_key_is_key_already_used_and_stores_nothing(store: ModuleType) -> None:
    first, second = _order(store), _order(store)
    store.put_order(first, "{}", "checkout-1002")
    with pytest.raises(store.KeyAlreadyUsedError):
        store.put_order(second, "{}", "checkout-1002")
    assert store.get_order(second["order_id"]) is None
    assert store.order_for_key("checkout-1002")["order_id"] == first["order_id"]


def test_a_taken_order_id_with_a_key_is_not_key_already_used(store: ModuleType) -> None:
    order = _order(store)
    store.put_order(order, "{}", None)
    with pytest.raises(store.StoreUnavailableError, match="ConditionalCheckFailed"):
        store.put_order(order, "{}", "checkout-1003")
    assert store.order_for_key("checkout-1003") is None


def test_a_taken_order_id_without_a_key_overwrites_nothing(store: ModuleType) -> None:
    order = _order(store)
    store.put_order(order, "{}", None)
    with pytest.raises(store.StoreUnavailableError, match="taken"):
        store.put_order({**order, "status": "other"}, "{}", None)
    assert store.get_order(order["order_id"])["status"] == "placed"


def test_a_transaction_conflict_is_retried_and_the_order_stored(
    handler: ModuleType,
    store: ModuleType,
    calls: list[str],  # before inject: it sees the injected answers too
    inject: Callable[[list[dict[str, Any]]], None],
    published: Published,
) -> None:
    inject(
        [
            _fail(
                "TransactWriteItems",
                "TransactionCanceledException",
                ["None", "TransactionConflict"],
            ),
            _fail(
                "TransactWriteItems", "TransactionCanceledException", ["ThrottlingError", "None"]
            ),
        ]
    )
    response = _post(handler, {"Idempotency-Key": "checkout-1004"})
    assert response["statusCode"] == 202
    assert calls.count("TransactWriteItems") == 3
    assert store.get_order(response["json"]["order_id"]) is not None
    assert len(published("orders")) == 1


def test_lasting_throttling_answers_503_with_retry_after_and_stores_nothing(
    handler: ModuleType,
    store: ModuleType,
    system: Provisioned,
    inject: Callable[[list[dict[str, Any]]], None],
    published: Published,
) -> None:
    cancelled = ["ThrottlingError", "None"]
    inject(
        [_fail("TransactWriteItems", "TransactionCanceledException", cancelled)] * store.ATTEMPTS
    )
    response = _post(handler, {"Idempotency-Key": "checkout-1005"})
    assert response["statusCode"] == 503
    assert response["headers"]["retry-after"] == "1"
    assert "retry" in response["json"]["error"]
    assert store.order_for_key("checkout-1005") is None
    assert published("orders") == []
    # the client's retry, once the table has capacity again, places the order
    assert _post(handler, {"Idempotency-Key": "checkout-1005"})["statusCode"] == 202


def test_a_throttled_put_item_answers_503(
    handler: ModuleType, inject: Callable[[list[dict[str, Any]]], None], published: Published
) -> None:
    inject([_fail("PutItem", "ProvisionedThroughputExceededException")])
    response = _post(handler)
    assert response["statusCode"] == 503
    assert response["headers"]["retry-after"] == "1"
    assert published("orders") == []


def test_values_read_back_as_boto3_decodes_them_number_sets_included(
    store: ModuleType, system: Provisioned
) -> None:
    order_id = str(uuid.uuid4())
    messaging.aws_client("dynamodb").put_item(
        TableName=system.tables["orders"],
        Item={
            "order_id": {"S": order_id},
            "sizes": {"NS": ["1", "2.5"]},
            "tags": {"SS": ["a"]},
            "lines": {"L": [{"M": {"n": {"N": "3"}, "gift": {"BOOL": True}, "x": {"NULL": True}}}]},
        },
    )
    assert store.get_order(order_id) == {
        "order_id": order_id,
        "sizes": {Decimal("1"), Decimal("2.5")},
        "tags": {"a"},
        "lines": [{"n": Decimal(3), "gift": True, "x": None}],
    }


@pytest.mark.parametrize("value", [1.5, float("nan"), float("inf")])
def test_floats_never_reach_dynamodb(store: ModuleType, value: float) -> None:
    with pytest.raises(TypeError):
        store.put_order({**_order(store), "x": value}, "{}", None)
