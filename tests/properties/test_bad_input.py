"""Bad input never crashes or vanishes: every malformed input ends in a documented error.

Consumers: a ``PoisonMessageError`` (non-retryable), which the router sends straight to
the dead-letter queue. HTTP: a JSON 4xx naming the problem, never a 5xx or a crash.
"""

from __future__ import annotations

import base64
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


ORDER = json.dumps(load_fixture("post-orders.body"))
LIMIT = 64 * 1024
# Number forms JSON texts carry that Python reads but an order (or DynamoDB) cannot take.
NUMBER_FORMS = (
    st.sampled_from(["NaN", "Infinity", "-Infinity", "-0", "-0.0", "1e999", "-1e999", "1E-400"])
    | st.integers(39, 6000).map(lambda digits: "9" * digits)
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
    | st.decimals(allow_nan=False, allow_infinity=False).map(str)
)
NUMBER_SLOTS = ['"quantity": 2', '"unit_price_cents": 1250', '"currency": "EUR"']


def _post_raw(orders_api: ModuleType, body: str, encoded: bool = False) -> dict[str, Any]:
    event = http_event("POST", "/orders", body="")
    event["body"], event["isBase64Encoded"] = body, encoded
    response: dict[str, Any] = orders_api.handle(event)
    return response


def _assert_taken_or_4xx_and_still_serving(
    response: dict[str, Any], orders_api: ModuleType
) -> None:
    if response["statusCode"] != 202:
        _assert_json_4xx(response)
    assert _post_raw(orders_api, ORDER)["statusCode"] == 202


@FUZZ
@given(slot=st.sampled_from(NUMBER_SLOTS), number=NUMBER_FORMS)
def test_number_forms_get_202_or_a_400_naming_the_field(
    orders_api: ModuleType, slot: str, number: str
) -> None:
    assert slot in ORDER
    name = slot.split(":")[0].strip('"')
    response = _post_raw(orders_api, ORDER.replace(slot, f'"{name}": {number}', 1))
    if response["statusCode"] != 202:
        _assert_json_4xx(response)
        assert name in response["body"], response["body"][:300]
    _assert_taken_or_4xx_and_still_serving(response, orders_api)


@FUZZ
@given(
    field=st.sampled_from(['"ada@example.com"', '"BOOK-42"', '"EUR"', '"physical"']),
    at=st.integers(0, 5),
    unit=st.integers(0xD800, 0xDFFF),
)
def test_unpaired_surrogates_get_a_400_naming_the_field(
    orders_api: ModuleType, field: str, at: int, unit: int
) -> None:
    assert field in ORDER
    text = field[1:-1]
    spoilt = f'"{text[:at]}\\u{unit:04x}{text[at:]}"'
    response = _post_raw(orders_api, ORDER.replace(field, spoilt, 1))
    _assert_json_4xx(response)
    assert "unpaired surrogate" in response["body"]
    _assert_taken_or_4xx_and_still_serving(response, orders_api)


@FUZZ
@given(
    depth=st.integers(1, 40_000),
    opener=st.sampled_from(["[", '{"a":', '{"items":[']),
    width=st.integers(0, 40_000),
)
def test_deep_and_wide_structures_get_a_json_4xx(
    orders_api: ModuleType, depth: int, opener: str, width: int
) -> None:
    closer = {"[": "]", '{"a":': "}", '{"items":[': "]}"}[opener]
    deep = opener * depth + "0" + closer * depth
    wide = '{"items": [' + ",".join(["{}"] * width) + "]}"
    for body in (deep, wide):
        response = _post_raw(orders_api, body)
        _assert_json_4xx(response)
        assert response["statusCode"] == (413 if len(body.encode()) > LIMIT else 400)
        _assert_taken_or_4xx_and_still_serving(response, orders_api)


@FUZZ
@given(
    raw=st.binary(max_size=300)
    | st.sampled_from(["utf-16", "utf-16-be", "utf-32", "utf-8-sig", "latin-1"]).map(
        lambda codec: ORDER.replace("EUR", "EUR\u00e9").encode(codec)
    )
    | st.integers(0, 50).map(lambda at: ORDER.encode()[:at] + b"\xc3\x28" + ORDER.encode()[at:]),
    base64_encoded=st.booleans(),
)
def test_any_bytes_get_a_202_or_a_json_4xx(
    orders_api: ModuleType, raw: bytes, base64_encoded: bool
) -> None:
    # API Gateway base64-encodes bodies that are not UTF-8 text; a decoded one is text.
    body = base64.b64encode(raw).decode() if base64_encoded else raw.decode("latin-1")
    _assert_taken_or_4xx_and_still_serving(_post_raw(orders_api, body, base64_encoded), orders_api)


@FUZZ
@given(size=st.integers(LIMIT - 100, 4 * LIMIT), base64_encoded=st.booleans())
def test_bodies_around_the_size_limit_get_413_above_it(
    orders_api: ModuleType, size: int, base64_encoded: bool
) -> None:
    raw = (ORDER[:-1] + ', "pad": "' + "x" * size)[: size - 2] + '"}'
    body = base64.b64encode(raw.encode()).decode() if base64_encoded else raw
    response = _post_raw(orders_api, body, base64_encoded)
    _assert_json_4xx(response)
    assert response["statusCode"] == (413 if len(raw) > LIMIT else 400)
    _assert_taken_or_4xx_and_still_serving(response, orders_api)


def test_huge_and_empty_bodies_get_json_4xx(orders_api: ModuleType) -> None:
    for body in ["", " ", "x" * 2_000_000, json.dumps({"items": [{}] * 10_000})]:
        _assert_json_4xx(orders_api.handle(http_event("POST", "/orders", body=body)))


@FUZZ
@given(event=JSON)
def test_events_that_are_not_http_requests_get_json_4xx(orders_api: ModuleType, event: Any) -> None:
    if isinstance(event, dict) and event.get("source") == "aws.events":
        return
    _assert_json_4xx(orders_api.handle(event))
