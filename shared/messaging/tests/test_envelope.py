from __future__ import annotations

import json

import pytest

from messaging import Envelope, MalformedMessageError


def test_round_trips_through_json() -> None:
    event = Envelope(type="order.placed", data={"order_id": "o-1"}, source="orders_api")
    again = Envelope.from_json(event.to_json())
    assert again == event


def test_ids_and_times_are_assigned() -> None:
    first, second = Envelope(type="a.b", data={}), Envelope(type="a.b", data={})
    assert first.id != second.id
    assert first.time.endswith("Z")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw.pop("id"), "'id' is missing"),
        (lambda raw: raw.update(version="1"), "'version' must be int"),
        (lambda raw: raw.update(version=True), "'version' must be int"),
        (lambda raw: raw.update(data=[]), "'data' must be dict"),
        (lambda raw: raw.update(type=""), "must not be empty"),
        (lambda raw: raw.update(extra=1), "unknown field"),
        (lambda raw: raw.update(traceparent=5), "'traceparent' must be a string"),
    ],
)
def test_malformed_envelope_names_the_field(mutate: object, message: str) -> None:
    raw = Envelope(type="order.placed", data={}).to_dict()
    mutate(raw)  # type: ignore[operator]
    with pytest.raises(MalformedMessageError, match=message):
        Envelope.from_json(json.dumps(raw))


def test_non_json_is_malformed() -> None:
    with pytest.raises(MalformedMessageError, match="not valid JSON"):
        Envelope.from_json("{not json")
    with pytest.raises(MalformedMessageError, match="must be a JSON object"):
        Envelope.from_json("[1, 2]")
