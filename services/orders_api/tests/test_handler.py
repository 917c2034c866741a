from __future__ import annotations

import json
import time
from base64 import b64encode
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest

import messaging
from tools.contract import Provisioned, http_event, load_fixture

Published = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def handler(load_handler: Callable[[str], ModuleType]) -> ModuleType:
    return load_handler("orders_api")


def _post(handler: ModuleType, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = handler.handle(
        http_event("POST", "/orders", body=body, headers=headers)
    )
    result["json"] = json.loads(result["body"])
    return result


def _stored(system: Provisioned, order_id: str) -> dict[str, Any] | None:
    table = boto3.resource("dynamodb").Table(system.tables["orders"])
    return table.get_item(Key={"order_id": order_id}).get("Item")


def test_post_stores_publishes_and_answers_202(
    handler: ModuleType, system: Provisioned, published: Published
) -> None:
    # when
    response = _post(handler, load_fixture("post-orders.body"))
    # then
    assert response["statusCode"] == 202
    order_id = response["json"]["order_id"]
    assert response["headers"]["location"] == f"/orders/{order_id}"
    stored = _stored(system, order_id)
    assert stored is not None
    assert stored["total_cents"] == 3399
    [event] = published("orders")
    # the event stays owed on the row until its delivery is acknowledged (order_status)
    assert json.loads(stored["pending_event"]) == event
    expected = {**load_fixture("order.placed"), "order_id": order_id}
    assert (event["type"], event["source"], event["data"]) == (
        "order.placed",
        "orders_api",
        expected,
    )


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ("{not json", 400, "not valid JSON"),
        ("", 400, "body is empty"),
        ("[]", 400, "must be object"),
    ],
)
def test_unreadable_bodies_get_400_naming_the_problem(
    handler: ModuleType, published: Published, body: str, status: int, needle: str
) -> None:
    response = _post(handler, body)
    assert response["statusCode"] == status
    assert needle in json.dumps(response["json"])
    assert published("orders") == []


def test_invalid_order_gets_400_listing_each_offending_field(
    handler: ModuleType, published: Published
) -> None:
    body = load_fixture("post-orders.body")
    body["items"][1]["quantity"] = 0
    body["items"][0]["sku"] = "BOOK-42\n"  # a trailing newline does not pass a `$` anchor
    body["customer_email"] = "nope"
    body["coupon"] = "FREE"
    del body["currency"]
    response = _post(handler, body)
    assert response["statusCode"] == 400
    fields = {problem["field"] for problem in response["json"]["problems"]}
    assert fields == {"items[0].sku", "items[1].quantity", "customer_email", "coupon", "currency"}
    assert published("orders") == []


def test_get_returns_the_stored_order_or_404(handler: ModuleType) -> None:
    order_id = _post(handler, load_fixture("post-orders.body"))["json"]["order_id"]
    found = handler.handle(http_event("GET", f"/orders/{order_id}"))
    assert found["statusCode"] == 200
    assert json.loads(found["body"])["status"] == "placed"
    missing = handler.handle(http_event("GET", "/orders/does-not-exist"))
    assert missing["statusCode"] == 404
    assert "does-not-exist" in json.loads(missing["body"])["error"]


def test_unknown_routes_and_methods_answer_json_404_and_405(handler: ModuleType) -> None:
    unknown = handler.handle(http_event("GET", "/customers"))
    assert unknown["statusCode"] == 404
    assert unknown["headers"]["content-type"] == "application/json"
    wrong = handler.handle(http_event("DELETE", "/orders"))
    assert wrong["statusCode"] == 405
    assert wrong["headers"]["allow"] == "POST"


def test_same_idempotency_key_gives_the_same_order_and_one_event(
    handler: ModuleType, published: Published
) -> None:
    headers = {"Idempotency-Key": "checkout-0001"}
    first = _post(handler, load_fixture("post-orders.body"), headers)
    second = _post(handler, load_fixture("post-orders.body"), headers)
    assert first["json"]["order_id"] == second["json"]["order_id"]
    assert len(published("orders")) == 1


def test_publish_failure_after_store_loses_nothing_and_duplicates_nothing(
    handler: ModuleType,
    system: Provisioned,
    published: Published,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: SNS is unreachable for the first attempt
    monkeypatch.setenv("TOPIC_ARN_ORDERS", system.topic_arns["orders"] + "-gone")
    messaging.reset()
    headers = {"Idempotency-Key": "checkout-0002"}
    # when: the order is accepted, its event kept on the row
    first = _post(handler, load_fixture("post-orders.body"), headers)
    order_id = first["json"]["order_id"]
    assert first["statusCode"] == 202
    assert "pending_event" in (_stored(system, order_id) or {})
    assert published("orders") == []
    # and SNS comes back: within the grace period the schedule leaves the order alone...
    monkeypatch.setenv("TOPIC_ARN_ORDERS", system.topic_arns["orders"])
    messaging.reset()
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event"}
    assert handler.handle(scheduled) == {"republished": []}
    # ...after it, the schedule publishes the owed event; the client's retry gets the order
    monkeypatch.setenv("REPUBLISH_GRACE_S", "0")
    time.sleep(1)  # placed_at has one-second resolution
    assert handler.handle(scheduled) == {"republished": [order_id]}
    retry = _post(handler, load_fixture("post-orders.body"), headers)
    # then: exactly one event, with the id stored at the first attempt
    assert retry["json"]["order_id"] == order_id
    [event] = published("orders")
    assert event["data"]["order_id"] == order_id
    # the order owes its event until delivery is acknowledged (order_status), not the sweep
    assert "pending_event" in (_stored(system, order_id) or {})


def test_malformed_idempotency_key_is_refused(handler: ModuleType) -> None:
    response = _post(handler, load_fixture("post-orders.body"), {"Idempotency-Key": "short"})
    assert response["statusCode"] == 400
    assert "Idempotency-Key" in response["json"]["error"]


def test_get_answers_status_lines_and_totals_never_the_customer(handler: ModuleType) -> None:
    body = load_fixture("post-orders.body")
    order_id = _post(handler, body)["json"]["order_id"]
    found = handler.handle(http_event("GET", f"/orders/{order_id}"))
    answer = json.loads(found["body"])
    assert set(answer) == {
        "order_id",
        "status",
        "items",
        "total_cents",
        "currency",
        "fulfilment",
        "placed_at",
    }
    assert answer["items"] == body["items"]
    assert answer["total_cents"] == 3399
    assert body["customer_email"] not in found["body"]


BIG = 64 * 1024
# A complete order whose e-mail holds an unpaired surrogate: Python reads it, DynamoDB
# cannot encode it.
# Named on the list itself, ahead of the items' own problems.
TOO_MANY_ITEMS = '"field":"items","message":"must contain less than or equal to 100 items"'
SURROGATE_EMAIL = json.dumps(load_fixture("post-orders.body")).replace(
    '"ada@example.com"', '"ada\\ud800@example.com"'
)


@pytest.mark.parametrize(
    ("body", "base64", "status", "needle"),
    [
        ('{"items": [{"quantity": 1.5}]}', False, 400, "items[0].quantity"),
        ('{"items": [{"quantity": NaN}]}', False, 400, "NaN, which is not a JSON number"),
        ('{"items": [{"quantity": -Infinity}]}', False, 400, "items[0].quantity"),
        ('{"items": [{"quantity": 1e999}]}', False, 400, "items[0].quantity"),
        ('{"currency": 1' + "0" * 60 + "}", False, 400, "more than 38 digits"),
        ('{"items": [{"quantity": ' + "1" * 5000 + "}]}", False, 400, "more than 38 digits"),
        (SURROGATE_EMAIL, False, 400, "unpaired surrogate"),
        ('{"a":' * 20 + "1" + "}" * 20, False, 400, "nested deeper than 16"),
        ("[" * 50_000 + "]" * 50_000, False, 413, "the limit is 65,536 bytes"),
        ("[" * 30_000 + "]" * 30_000, False, 400, "nested deeper"),
        ("[" + "0," * 30_000 + "0]", False, 400, "must be object"),
        ('{"items": [' + "{}," * 10_000 + "{}]}", False, 400, TOO_MANY_ITEMS),
        ("x" * (BIG + 1), False, 413, "the limit is 65,536 bytes"),
        ("eyJ", True, 400, "not valid base64"),
        (b'{"a": "\xff"}', True, 400, "not valid UTF-8"),
        ('{"a": 1}'.encode("utf-16"), True, 400, "UTF-16"),
        ('{"a": 1}'.encode("utf-32"), True, 400, "UTF-32"),
        (b"x" * (BIG + 1), True, 413, "the limit is 65,536 bytes"),
    ],
)
def test_bodies_it_cannot_take_get_4xx_naming_the_problem(
    handler: ModuleType,
    published: Published,
    body: str | bytes,
    base64: bool,
    status: int,
    needle: str,
) -> None:
    event = http_event("POST", "/orders", body="")
    if base64:
        raw = body if isinstance(body, bytes) else body.encode()
        event["body"] = body if isinstance(body, str) else b64encode(raw).decode()
        event["isBase64Encoded"] = True
    else:
        event["body"] = body
    response = handler.handle(event)
    assert response["statusCode"] == status, response["body"][:300]
    assert needle in response["body"]
    assert published("orders") == []
    # and the service keeps serving
    assert _post(handler, load_fixture("post-orders.body"))["statusCode"] == 202


def test_a_base64_utf8_body_with_a_byte_order_mark_is_taken(handler: ModuleType) -> None:
    event = http_event("POST", "/orders", body="")
    raw = b"\xef\xbb\xbf" + json.dumps(load_fixture("post-orders.body")).encode()
    event["body"], event["isBase64Encoded"] = b64encode(raw).decode(), True
    assert handler.handle(event)["statusCode"] == 202


CUSTOMER = load_fixture("post-orders.body")["customer_email"]


def _receipt(handler: ModuleType, order_id: str, claims: dict[str, str] | None) -> dict[str, Any]:
    result: dict[str, Any] = handler.handle(
        http_event(
            "GET",
            f"/orders/{order_id}/receipt",
            route_key="GET /orders/{order_id}/receipt",
            path_parameters={"order_id": order_id},
            jwt_claims=claims,
        )
    )
    result["json"] = json.loads(result["body"])
    return result


def test_the_receipt_gives_the_customer_their_order_with_the_email(handler: ModuleType) -> None:
    # given an order, and the claims API Gateway passes for its customer's token (strings)
    body = load_fixture("post-orders.body")
    order_id = _post(handler, body)["json"]["order_id"]
    claims = {"sub": "c-1", "email": CUSTOMER.upper(), "email_verified": "true", "exp": "1"}
    # when
    found = _receipt(handler, order_id, claims)
    # then
    assert found["statusCode"] == 200
    assert found["json"]["customer_email"] == CUSTOMER
    assert found["json"]["order_id"] == order_id
    assert found["json"]["total_cents"] == 3399


@pytest.mark.parametrize(
    ("claims", "status", "message"),
    [
        (None, 401, "needs a bearer token"),
        ({"sub": "c-2", "email": "someone.else@example.com", "email_verified": "true"}, 403,
         "another e-mail address"),
        ({"sub": "c-1", "email": CUSTOMER, "email_verified": "false"}, 403, "no verified email"),
        ({"sub": "c-1", "email": CUSTOMER}, 403, "no verified email"),
        ({"sub": "c-1"}, 403, "no verified email"),
    ],
)  # fmt: skip
def test_the_receipt_is_refused_to_anyone_but_the_verified_customer(
    handler: ModuleType, claims: dict[str, str] | None, status: int, message: str
) -> None:
    order_id = _post(handler, load_fixture("post-orders.body"))["json"]["order_id"]
    refused = _receipt(handler, order_id, claims)
    assert refused["statusCode"] == status
    assert message in refused["json"]["error"]
    assert CUSTOMER not in refused["body"]


def test_the_receipt_of_an_unknown_order_is_404(handler: ModuleType) -> None:
    claims = {"sub": "c-1", "email": CUSTOMER, "email_verified": "true"}
    assert _receipt(handler, "does-not-exist", claims)["statusCode"] == 404
