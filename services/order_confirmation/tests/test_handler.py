from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from types import ModuleType

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from messaging import Envelope
from tools.contract import load_fixture, sns_event


@pytest.fixture
def handler(load_handler: Callable[[str], ModuleType]) -> ModuleType:
    return load_handler("order_confirmation")


def _sent() -> list[object]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def test_sends_the_confirmation_to_the_customer(handler: ModuleType) -> None:
    # given
    order = load_fixture("order.placed")
    # when
    handler.handle(sns_event(Envelope(type="order.placed", version=2, data=order)), None)
    # then
    [message] = _sent()
    assert message.destinations["ToAddresses"] == ["ada@example.com"]  # type: ignore[attr-defined]
    assert message.source == "orders@example.com"  # type: ignore[attr-defined]
    assert f"Order {order['order_id']} confirmed" == message.subject  # type: ignore[attr-defined]
    assert "2 x BOOK-42" in message.body  # type: ignore[attr-defined]
    assert "Items: 3" in message.body  # type: ignore[attr-defined]
    assert "Total: 33.99 EUR" in message.body  # type: ignore[attr-defined]


def test_a_version_1_event_still_in_flight_is_upcast_before_the_handler_sees_it(
    handler: ModuleType,
) -> None:
    # given: an order.placed v1, as the outbox stored it before the upgrade (no item_count)
    order = {k: v for k, v in load_fixture("order.placed").items() if k != "item_count"}
    # when
    handler.handle(sns_event(Envelope(type="order.placed", version=1, data=order)), None)
    # then: the v1 -> v2 upcaster derived the count from the quantities
    [message] = _sent()
    assert "Items: 3" in message.body  # type: ignore[attr-defined]


def test_ses_refusal_propagates_so_lambda_retries(handler: ModuleType) -> None:
    # given: the sender identity is no longer verified
    boto3.client("ses").delete_identity(Identity="orders@example.com")
    # when / then
    with pytest.raises(Exception, match="not verified"):
        handler.handle(
            sns_event(Envelope(type="order.placed", version=2, data=load_fixture("order.placed")))
        )
    assert _sent() == []


def test_missing_sender_fails_loudly_at_cold_start() -> None:
    code = "import order_confirmation.handler"
    env = {"SERVICE_NAME": "order_confirmation", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "EMAIL_SENDER_ORDERS is not set" in result.stderr
