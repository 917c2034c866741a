"""The records of a Lambda SQS event whose bodies are SNS notifications, as SNS records.

A topic feeds a queue in one of two shapes: the notification JSON SNS wraps around the
message (``Type``, ``MessageId``, ``TopicArn``, ``Message``, ``MessageAttributes``), or,
with raw message delivery, the bare message, its attributes moved to the SQS
message's own ``messageAttributes``. Both become the SNS record Lambda would have
handed over directly, so the router decodes, validates and deduplicates them with the
same code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import MalformedMessageError

__all__ = ["SQS_EVENT_SOURCE", "as_sns_record", "is_queue_event", "message_id"]

SQS_EVENT_SOURCE = "aws:sqs"


def is_queue_event(event: Any) -> bool:
    """Whether ``event`` is a Lambda SQS event (an event source mapping's batch)."""
    if not isinstance(event, Mapping):
        return False
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and isinstance(records[0], Mapping)
        and records[0].get("eventSource") == SQS_EVENT_SOURCE
    )


def message_id(record: Any, index: int) -> str:
    """The SQS ``messageId`` that ``batchItemFailures`` names the record by."""
    identifier = record.get("messageId") if isinstance(record, Mapping) else None
    if not isinstance(identifier, str) or not identifier:
        raise MalformedMessageError(f"Records[{index}].messageId is missing or not a string")
    return identifier


def _notification(body: str) -> Mapping[str, Any] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if isinstance(parsed, Mapping) and parsed.get("Type") == "Notification":
        return parsed
    return None


def as_sns_record(record: Mapping[str, Any], index: int) -> dict[str, Any]:
    """The SNS record inside one SQS record; ``MalformedMessageError`` names what is wrong."""
    where = f"Records[{index}]"
    if record.get("eventSource") != SQS_EVENT_SOURCE:
        raise MalformedMessageError(
            f"{where}.eventSource must be 'aws:sqs', got {record.get('eventSource')!r}"
        )
    body = record.get("body")
    if not isinstance(body, str):
        raise MalformedMessageError(f"{where}.body is missing or not a string")
    notification = _notification(body)
    if notification is not None:
        message = notification.get("Message")
        if not isinstance(message, str):
            raise MalformedMessageError(f"{where}.body.Message is missing or not a string")
        attributes = notification.get("MessageAttributes") or {}
        if not isinstance(attributes, Mapping):
            raise MalformedMessageError(f"{where}.body.MessageAttributes must be an object")
        sns_attributes = {
            name: {"Type": value.get("Type", "String"), "Value": value.get("Value")}
            for name, value in attributes.items()
            if isinstance(value, Mapping)
        }
        return _sns_record(record, message, sns_attributes, notification)
    # Raw message delivery: the body is the message itself.
    raw_attributes = record.get("messageAttributes") or {}
    if not isinstance(raw_attributes, Mapping):
        raise MalformedMessageError(f"{where}.messageAttributes must be an object")
    sns_attributes = {
        name: {"Type": value.get("dataType", "String"), "Value": value.get("stringValue")}
        for name, value in raw_attributes.items()
        if isinstance(value, Mapping)
    }
    return _sns_record(record, body, sns_attributes, {})


def _sns_record(
    record: Mapping[str, Any],
    message: str,
    attributes: dict[str, dict[str, Any]],
    notification: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "EventSource": "aws:sns",
        "EventSubscriptionArn": record.get("eventSourceARN", ""),
        "Sns": {
            "Type": "Notification",
            "MessageId": notification.get("MessageId", record.get("messageId")),
            "TopicArn": notification.get("TopicArn", ""),
            "Message": message,
            "MessageAttributes": attributes,
        },
    }
