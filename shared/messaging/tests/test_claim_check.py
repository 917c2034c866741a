from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

import messaging
from messaging import (
    Envelope,
    EventTooLargeError,
    MalformedMessageError,
    Router,
    new_event,
    publish,
)
from messaging.catalog import load_catalog
from messaging.publisher import SNS_MAX_MESSAGE_BYTES, message_attributes, wire_size
from tools.contract import Provisioned, drain, sns_record

Published = Callable[[str], list[dict[str, Any]]]


def _room(event_type: str = "test.blob") -> int:
    probe = new_event(event_type, {"payload": ""})
    overhead = wire_size(
        probe.to_json(), message_attributes(probe, load_catalog().spec(event_type))
    )
    return SNS_MAX_MESSAGE_BYTES - overhead


def _deliver(notification: dict[str, Any]) -> list[Envelope]:
    """Hand what the topic carried to a consumer, as SNS hands it to Lambda."""
    received: list[Envelope] = []
    router = Router(dead_letter_poison=False)

    @router.on("test.blob")
    def keep(event: Envelope) -> None:
        received.append(event)

    envelope = Envelope.from_dict(notification)
    router.handle({"Records": [sns_record(envelope, message=json.dumps(notification))]}, None)
    return received


@pytest.mark.parametrize(
    ("extra", "checked_in"),
    [(0, False), (1, True), (1_048_576, True)],
    ids=["at-the-limit", "one-byte-over", "one-megabyte-over"],
)
def test_events_at_over_and_far_over_the_limit_arrive_intact(
    blob_catalog: Any, published: Published, extra: int, checked_in: bool
) -> None:
    # given
    payload = "x" * (_room() + extra)
    event = new_event("test.blob", {"payload": payload})
    # when
    publish(event)
    # then
    [notification] = published("orders")
    assert ("claim_check" in notification) is checked_in
    [received] = _deliver(notification)
    assert received.id == event.id
    assert received.data == {"payload": payload}
    assert received.claim_check is None


def test_filter_attributes_survive_the_claim_check(
    orders_api_env: dict[str, str],
    order: dict[str, Any],
    system: Provisioned,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: a threshold low enough that an ordinary order is checked in
    messaging.configure(large_event_threshold_bytes=500)
    # when
    publish(new_event("order.placed", order))
    # then: the data moved to S3, the routing attributes stayed on the message
    [notification] = drain(system.observer_queues["orders"])
    assert json.loads(notification["Message"])["data"] == {}
    assert notification["MessageAttributes"]["fulfilment"]["Value"] == "physical"
    assert notification["MessageAttributes"]["event_type"]["Value"] == "order.placed"


def test_without_a_bucket_an_oversized_event_is_refused_with_its_size(blob_catalog: Any) -> None:
    messaging.configure(messaging.settings(), large_event_bucket=None)
    event = new_event("test.blob", {"payload": "x" * (_room() + 1)})
    with pytest.raises(EventTooLargeError, match=f"{SNS_MAX_MESSAGE_BYTES + 1} bytes"):
        publish(event)


def test_altered_claim_checked_data_is_refused(
    blob_catalog: Any, published: Published, system: Provisioned
) -> None:
    publish(new_event("test.blob", {"payload": "y" * (_room() + 10)}))
    [notification] = published("orders")
    pointer = notification["claim_check"]
    boto3.client("s3").put_object(
        Bucket=pointer["bucket"], Key=pointer["key"], Body=b'{"payload":"z"}'
    )
    with pytest.raises(MalformedMessageError, match="does not match its sha256"):
        _deliver(notification)
