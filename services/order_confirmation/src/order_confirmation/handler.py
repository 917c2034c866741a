"""Emails the customer a confirmation for every ``order.placed`` (SES)."""

from __future__ import annotations

import os
from typing import Any

from messaging import ConfigurationError, Envelope, Router, aws_client, get_logger

log = get_logger()
router = Router()

SENDER = os.environ.get("EMAIL_SENDER_ORDERS", "")
if not SENDER:
    raise ConfigurationError("EMAIL_SENDER_ORDERS is not set: the confirmation needs a sender")


def _money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency}"


def confirmation_text(order: dict[str, Any]) -> str:
    lines = [f"Thank you for your order {order['order_id']}.", ""]
    lines += [f"  {item['quantity']} x {item['sku']}" for item in order["items"]]
    lines += ["", f"Items: {order['item_count']}"]
    lines += [f"Total: {_money(order['total_cents'], order['currency'])}"]
    return "\n".join(lines)


@router.on("order.placed")
def confirm(event: Envelope) -> None:
    order = event.data
    response = aws_client("ses").send_email(
        Source=SENDER,
        Destination={"ToAddresses": [order["customer_email"]]},
        Message={
            "Subject": {"Data": f"Order {order['order_id']} confirmed", "Charset": "UTF-8"},
            "Body": {"Text": {"Data": confirmation_text(order), "Charset": "UTF-8"}},
        },
    )
    log.info("confirmation sent", extra={"ses_message_id": response["MessageId"]})


handle = router.handle
