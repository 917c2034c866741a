"""What one dead letter says: why it failed, and the event that replays it."""

from __future__ import annotations

import json
from typing import Any

from tools.contract import sns_notification_record

from .queues import DELIVERY, ON_FAILURE, QUEUE

# Message attributes SNS adds to what it redrives to a subscription's dead-letter queue.
SNS_DLQ_ATTRIBUTES = ("ErrorCode", "ErrorMessage", "RequestID")


def describe(record: dict[str, Any]) -> str:
    """An on-failure record in one line: condition, attempts, error type and message."""
    context = record.get("requestContext", {})
    error = record.get("responsePayload") or {}
    return (
        f"{context.get('condition', '?')} after {context.get('approximateInvokeCount', '?')} "
        f"attempt(s): {error.get('errorType')}: {error.get('errorMessage')}"
    )


def _attribute(message: dict[str, Any], name: str) -> str | None:
    value = (message.get("MessageAttributes") or {}).get(name) or {}
    return value.get("StringValue")


def reason(kind: str, message: dict[str, Any]) -> str:
    """Why the letter is there, as far as the message records it."""
    if kind == ON_FAILURE:
        try:
            return describe(json.loads(message["Body"]))
        except ValueError:
            return "not an on-failure record (the body is not JSON)"
    if kind == DELIVERY:
        code, text = _attribute(message, "ErrorCode"), _attribute(message, "ErrorMessage")
        if code or text:
            return f"SNS could not deliver it: {code or '?'}: {text or '?'}"
        return "SNS could not deliver it (no error recorded)"
    if kind == QUEUE:
        receives = (message.get("Attributes") or {}).get("ApproximateReceiveCount", "?")
        return f"moved aside after its last receive ({receives} receive(s) so far)"
    raise ValueError(f"unknown kind {kind!r}")


def on_failure_event(message: dict[str, Any]) -> Any:
    """The event Lambda had invoked the function with (the record's ``requestPayload``)."""
    return json.loads(message["Body"]).get("requestPayload")


def delivery_event(message: dict[str, Any]) -> dict[str, Any]:
    """A Lambda SNS event of the notification SNS could not deliver.

    The body is the notification JSON, or, from a raw-delivery subscription, the message
    itself with its attributes as the SQS message's (less the ones SNS adds).
    """
    try:
        body = json.loads(message["Body"])
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
        notification = body
    else:
        notification = {
            "Type": "Notification",
            "MessageId": message["MessageId"],
            "TopicArn": "",
            "Message": message["Body"],
            "MessageAttributes": {
                name: {"Type": value.get("DataType", "String"), "Value": value.get("StringValue")}
                for name, value in (message.get("MessageAttributes") or {}).items()
                if name not in SNS_DLQ_ATTRIBUTES
            },
        }
    return {"Records": [sns_notification_record(notification)]}


EVENT_OF = {ON_FAILURE: on_failure_event, DELIVERY: delivery_event}
