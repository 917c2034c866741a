from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from messaging import (
    EventTooLargeError,
    PublishError,
    PublishNotAllowedError,
    SchemaViolationError,
    aws_client,
    new_event,
    publish,
    publish_many,
)
from messaging.catalog import load_catalog
from messaging.publisher import SNS_MAX_MESSAGE_BYTES, message_attributes, wire_size

from .faults import FailEntries, count_calls

Published = Callable[[str], list[dict[str, Any]]]


def _orders(order: dict[str, Any], count: int) -> list[dict[str, Any]]:
    return [{**copy.deepcopy(order), "order_id": f"order-{n}"} for n in range(count)]


def test_publish_sends_the_envelope_with_routing_attributes(
    orders_api_env: dict[str, str], order: dict[str, Any], published: Published
) -> None:
    # given
    event = new_event("order.placed", order)
    # when
    message_id = publish(event)
    # then
    [notification] = [n for n in published("orders")]
    assert message_id
    assert notification == event.to_dict()
    assert event.source == "orders_api"
    assert event.correlation_id == event.id  # a new conversation starts with this event


def test_message_attributes_carry_type_version_and_declared_fields(
    orders_api_env: dict[str, str], order: dict[str, Any]
) -> None:
    event = new_event("order.placed", order)
    attributes = message_attributes(event, load_catalog().spec("order.placed"))
    assert attributes["event_type"] == {"DataType": "String", "StringValue": "order.placed"}
    assert attributes["event_version"] == {"DataType": "Number", "StringValue": "2"}
    assert attributes["fulfilment"] == {"DataType": "String", "StringValue": "physical"}
    assert attributes["traceparent"]["StringValue"].startswith("00-")


def test_publishing_an_undeclared_type_is_refused_before_sending(
    orders_api_env: dict[str, str], published: Published
) -> None:
    event = new_event(
        "inventory.rejected", {"order_id": "o", "reason": "out_of_stock", "skus": ["A"]}
    )
    with pytest.raises(PublishNotAllowedError, match="may not publish 'inventory.rejected'"):
        publish(event)
    assert published("inventory") == []


def test_schema_violation_is_refused_with_every_problem(
    orders_api_env: dict[str, str], order: dict[str, Any], published: Published
) -> None:
    order["items"][0]["quantity"] = 0
    del order["currency"]
    with pytest.raises(SchemaViolationError) as raised:
        publish(new_event("order.placed", order))
    assert "$.items[0].quantity: must be bigger than or equal to 1" in raised.value.problems
    assert "$.currency: is required" in raised.value.problems
    assert published("orders") == []


def test_batch_with_one_bad_event_sends_nothing(
    orders_api_env: dict[str, str], order: dict[str, Any], published: Published
) -> None:
    events = [new_event("order.placed", data) for data in _orders(order, 3)]
    events.append(new_event("order.placed", {**order, "currency": "XXX"}))
    with pytest.raises(SchemaViolationError):
        publish_many(events)
    assert published("orders") == []


def test_25_events_take_exactly_3_publish_batch_calls(
    orders_api_env: dict[str, str], order: dict[str, Any], published: Published
) -> None:
    # given
    events = [new_event("order.placed", data) for data in _orders(order, 25)]
    calls = count_calls(aws_client("sns"), "PublishBatch")
    # when
    message_ids = publish_many(events)
    # then
    assert len(calls) == 3
    assert len(set(message_ids)) == 25
    received = published("orders")
    assert sorted(n["id"] for n in received) == sorted(e.id for e in events)


def test_batches_split_on_bytes_as_well_as_count(blob_catalog: Path) -> None:
    # given: 5 events of ~100 KB, so no more than two fit the 256 KiB one call may carry
    events = [new_event("test.blob", {"payload": str(n) * 100_000}) for n in range(5)]
    calls = count_calls(aws_client("sns"), "PublishBatch")
    # when
    publish_many(events)
    # then
    assert len(calls) == 3


def test_size_limit_counts_attributes_and_multibyte_characters(
    blob_catalog: Path, published: Published
) -> None:
    # given: no claim-check bucket, and a body that fits alone but not with its attributes
    import messaging

    messaging.configure(messaging.settings(), large_event_bucket=None)
    probe = new_event("test.blob", {"payload": ""})
    spec = load_catalog().spec("test.blob")
    overhead = wire_size(probe.to_json(), message_attributes(probe, spec))
    room = SNS_MAX_MESSAGE_BYTES - overhead
    fits = new_event("test.blob", {"payload": "x" * room})
    one_over = new_event("test.blob", {"payload": "x" * (room - 1) + "\u00e9"})  # 2 bytes
    # when / then
    assert publish(fits)
    with pytest.raises(EventTooLargeError, match=f"{SNS_MAX_MESSAGE_BYTES + 1} bytes"):
        publish(one_over)


def test_entries_sns_fails_on_its_side_are_retried_until_published(
    orders_api_env: dict[str, str], order: dict[str, Any], published: Published
) -> None:
    # given: SNS fails entries 0 and 3 twice before accepting them
    events = [new_event("order.placed", data) for data in _orders(order, 5)]
    faults = FailEntries(aws_client("sns"), {"0", "3"}, times=2, sender_fault=False)
    # when
    publish_many(events)
    # then
    assert faults.calls == [["0", "1", "2", "3", "4"], ["0", "3"], ["0", "3"]]
    assert sorted(n["id"] for n in published("orders")) == sorted(e.id for e in events)


def test_entries_still_failing_after_retries_are_raised_never_dropped(
    orders_api_env: dict[str, str], order: dict[str, Any], published: Published
) -> None:
    events = [new_event("order.placed", data) for data in _orders(order, 4)]
    FailEntries(aws_client("sns"), {"1"}, times=99, sender_fault=False)
    with pytest.raises(PublishError) as raised:
        publish_many(events)
    assert list(raised.value.failures) == [events[1].id]
    assert "InternalError" in raised.value.failures[events[1].id]
    assert set(raised.value.published) == {events[0].id, events[2].id, events[3].id}
    assert len(published("orders")) == 3


def test_sender_faults_are_not_retried(
    orders_api_env: dict[str, str], order: dict[str, Any]
) -> None:
    events = [new_event("order.placed", data) for data in _orders(order, 2)]
    faults = FailEntries(aws_client("sns"), {"0"}, times=1, sender_fault=True)
    with pytest.raises(PublishError):
        publish_many(events)
    assert faults.calls == [["0", "1"]]


def test_missing_topic_arn_names_the_variable(
    orders_api_env: dict[str, str], order: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import messaging

    monkeypatch.delenv("TOPIC_ARN_ORDERS")
    messaging.reset()
    with pytest.raises(messaging.ConfigurationError, match="TOPIC_ARN_ORDERS"):
        publish(new_event("order.placed", order))


def test_client_has_bounded_timeouts_and_retries(orders_api_env: dict[str, str]) -> None:
    config = aws_client("sns").meta.config
    assert config.connect_timeout == 1.0
    assert config.read_timeout == 2.0
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert aws_client("sns") is aws_client("sns")
