"""Bad input never crashes or vanishes: every malformed input ends in a documented error.

Consumers: a ``PoisonMessageError`` (non-retryable), which the router sends straight to
the dead-letter queue. HTTP: a JSON 4xx naming the problem, never a 5xx or a crash.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging import Envelope, PoisonMessageError, Router
from messaging.consumer import decode_record, sns_records
from tools.contract import http_event, load_fixture, sns_event

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
VALID = sns_event(Envelope(type="order.placed", version=2, data=load_fixture("order.placed")))
ENVELOPE_FIELDS = [
    "id",
    "type",
    "version",
    "source",
    "time",
    "correlation_id",
    "traceparent",
    "data",
]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def _mutated_envelope(field: str, value: Any, drop: bool) -> dict[str, Any]:
    event = copy.deepcopy(VALID)
    body = json.loads(event["Records"][0]["Sns"]["Message"])
    if drop:
        body.pop(field, None)
    else:
        body[field] = value
    event["Records"][0]["Sns"]["Message"] = json.dumps(body)
    return event


@pytest.fixture
def router_env(lambda_env: Callable[[str], dict[str, str]]) -> None:
    lambda_env("order_confirmation")


@FUZZ
@given(event=JSON)
def test_the_sns_parser_accepts_or_names_the_problem(event: Any) -> None:
    try:
        records = sns_records(event)
    except PoisonMessageError as error:
        assert str(error)
    else:
        assert all(isinstance(r["Sns"]["Message"], str) for r in records)


@FUZZ
@given(body=st.text(max_size=200) | JSON.map(json.dumps))
def test_the_envelope_decoder_accepts_or_names_the_problem(body: str) -> None:
    try:
        Envelope.from_json(body)
    except PoisonMessageError as error:
        assert str(error)


@FUZZ
@given(field=st.sampled_from(ENVELOPE_FIELDS), value=JSON, drop=st.booleans())
def test_the_router_handles_or_rejects_every_mutated_envelope(
    router_env: None, field: str, value: Any, drop: bool
) -> None:
    seen: list[Envelope] = []
    router = Router(dead_letter_poison=False)

    @router.on("order.placed", idempotent=False)
    def keep(event: Envelope) -> None:
        seen.append(event)

    event = _mutated_envelope(field, value, drop)
    try:
        router.handle(event, None)
    except PoisonMessageError as error:
        assert str(error)
        assert seen == []
    else:
        [handled] = seen
        assert handled == decode_record(event["Records"][0])


@FUZZ
@given(data=st.dictionaries(st.sampled_from(sorted(load_fixture("order.placed"))), JSON))
def test_wrong_types_in_event_data_are_schema_violations_naming_fields(
    router_env: None, data: dict[str, Any]
) -> None:
    router = Router(dead_letter_poison=False)
    router.on("order.placed", idempotent=False)(lambda event: None)
    payload = {**load_fixture("order.placed"), **data}
    try:
        router.handle(sns_event(Envelope(type="order.placed", version=2, data=payload)), None)
    except PoisonMessageError as error:
        assert "$." in str(error)


@FUZZ
@given(event_type=st.text(max_size=30), version=st.integers())
def test_unknown_types_and_versions_are_poison(
    router_env: None, event_type: str, version: int
) -> None:
    router = Router(dead_letter_poison=False)
    router.on("order.placed", idempotent=False)(lambda event: None)
    envelope = Envelope(type=event_type or "x", version=version, data=load_fixture("order.placed"))
    if (envelope.type, version) == ("order.placed", 2):
        return
    with pytest.raises(PoisonMessageError):
        router.handle(sns_event(envelope), None)


@pytest.fixture
def orders_api(load_handler: Callable[[str], ModuleType]) -> ModuleType:
    return load_handler("orders_api")


def _assert_json_4xx(response: dict[str, Any]) -> None:
    assert 400 <= response["statusCode"] < 500, response
    assert response["headers"]["content-type"] == "application/json"
    assert json.loads(response["body"])["error"]


@FUZZ
@given(body=st.text(max_size=300) | JSON.map(json.dumps))
def test_any_post_body_gets_a_202_or_a_json_4xx(orders_api: ModuleType, body: str) -> None:
    response = orders_api.handle(http_event("POST", "/orders", body=body))
    if response["statusCode"] != 202:
        _assert_json_4xx(response)


@FUZZ
@given(
    item=st.dictionaries(st.sampled_from(["sku", "quantity", "unit_price_cents", "x"]), JSON),
    email=JSON,
    currency=JSON,
)
def test_wrong_field_types_get_400_naming_each_field(
    orders_api: ModuleType, item: dict[str, Any], email: Any, currency: Any
) -> None:
    body = {"customer_email": email, "items": [item], "currency": currency}
    response = orders_api.handle(http_event("POST", "/orders", body=body))
    _assert_json_4xx(response)
    problems = json.loads(response["body"])["problems"]
    assert all(problem["field"] for problem in problems)


def test_huge_and_empty_bodies_get_json_4xx(orders_api: ModuleType) -> None:
    for body in ["", " ", "x" * 2_000_000, json.dumps({"items": [{}] * 10_000})]:
        _assert_json_4xx(orders_api.handle(http_event("POST", "/orders", body=body)))


@FUZZ
@given(event=JSON)
def test_events_that_are_not_http_requests_get_json_4xx(orders_api: ModuleType, event: Any) -> None:
    if isinstance(event, dict) and event.get("source") == "aws.events":
        return
    _assert_json_4xx(orders_api.handle(event))
