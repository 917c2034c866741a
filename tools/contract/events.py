"""The AWS event shapes handlers receive, built once for tests, samples and the local system.

Each follows the documented shape field for field (``tests/events/sns-lambda-event.json``
is a real SNS event to compare with), so a handler tested with these sees what it will
see in Lambda.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from messaging import Envelope
from messaging.catalog import load_catalog
from messaging.dead_letters import dead_letter_record
from messaging.publisher import message_attributes

from . import names
from .names import LOCAL_ENVIRONMENT

__all__ = [
    "http_event",
    "on_failure_record",
    "scheduled_event",
    "sns_event",
    "sns_notification",
    "sns_notification_record",
    "sns_record",
    "sqs_event",
    "sqs_record",
]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _record(topic_arn: str, subscription_id: str, sns: dict[str, Any]) -> dict[str, Any]:
    return {
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic_arn}:{subscription_id}",
        "EventSource": "aws:sns",
        "Sns": sns | {"TopicArn": topic_arn},
    }


def sns_record(
    envelope: Envelope,
    *,
    topic_arn: str | None = None,
    message: str | None = None,
    attributes: Mapping[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """One ``Records[]`` entry exactly as SNS hands ``envelope`` to Lambda."""
    spec = load_catalog().events.get(envelope.type)
    topic_arn = topic_arn or names.topic_arn(spec.topic if spec else "unknown", "test")
    if attributes is None:
        attributes = message_attributes(envelope, spec) if spec else {}
    message_id = str(uuid.uuid4())
    return _record(
        topic_arn,
        str(uuid.uuid4()),
        {
            "SignatureVersion": "1",
            "Timestamp": _now_iso(),
            "Signature": base64.b64encode(b"not-a-real-signature").decode(),
            "SigningCertUrl": f"https://sns.{names.REGION}.amazonaws.com/SimpleNotificationService-0000.pem",
            "MessageId": message_id,
            "Message": envelope.to_json() if message is None else message,
            "MessageAttributes": {
                name: {"Type": value["DataType"], "Value": value["StringValue"]}
                for name, value in attributes.items()
            },
            "Type": "Notification",
            "UnsubscribeUrl": (
                f"https://sns.{names.REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                f"{topic_arn}:{message_id}"
            ),
            "Subject": None,
        },
    )


def sns_event(envelopes: Envelope | Iterable[Envelope]) -> dict[str, Any]:
    """A Lambda SNS event carrying ``envelopes`` (SNS sends one record per invocation)."""
    items = [envelopes] if isinstance(envelopes, Envelope) else list(envelopes)
    return {"Records": [sns_record(envelope) for envelope in items]}


def sns_notification(envelope: Envelope, *, topic_arn: str | None = None) -> dict[str, Any]:
    """The notification JSON SNS writes to a subscribed queue (raw message delivery off)."""
    sns = sns_record(envelope, topic_arn=topic_arn)["Sns"]
    return {
        "Type": "Notification",
        "MessageId": sns["MessageId"],
        "TopicArn": sns["TopicArn"],
        "Message": sns["Message"],
        "Timestamp": sns["Timestamp"],
        "SignatureVersion": sns["SignatureVersion"],
        "Signature": sns["Signature"],
        "SigningCertURL": sns["SigningCertUrl"],
        "UnsubscribeURL": sns["UnsubscribeUrl"],
        "MessageAttributes": sns["MessageAttributes"],
    }


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """One ``Records[]`` entry of a Lambda SQS event, from an SQS ``ReceiveMessage`` message."""
    attributes = dict(message.get("Attributes") or {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": attributes.get("SenderId", names.ACCOUNT_ID),
            "ApproximateFirstReceiveTimestamp": attributes.get(
                "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
            ),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": names.REGION,
    }


def sqs_event(
    envelopes: Envelope | Iterable[Envelope], *, raw: bool = False, queue_arn: str | None = None
) -> dict[str, Any]:
    """A Lambda SQS event whose bodies are what SNS wrote to the queue for ``envelopes``."""
    items = [envelopes] if isinstance(envelopes, Envelope) else list(envelopes)
    queue_arn = queue_arn or f"arn:aws:sqs:{names.REGION}:{names.ACCOUNT_ID}:test-queue"
    records = []
    for envelope in items:
        if raw:
            spec = load_catalog().events.get(envelope.type)
            attributes = message_attributes(envelope, spec) if spec else {}
            body = envelope.to_json()
        else:
            attributes, body = {}, json.dumps(sns_notification(envelope))
        message = {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": str(uuid.uuid4()),
            "Body": body,
            "MessageAttributes": attributes,
        }
        records.append(sqs_record(message, queue_arn))
    return {"Records": records}


def sns_notification_record(notification: dict[str, Any]) -> dict[str, Any]:
    """An SNS notification as SNS delivers it to SQS, in the shape SNS hands to Lambda."""
    topic_arn = notification["TopicArn"]
    attributes = notification.get("MessageAttributes") or {}
    return _record(
        topic_arn,
        str(uuid.uuid5(uuid.NAMESPACE_URL, topic_arn)),
        {
            "SignatureVersion": notification.get("SignatureVersion", "1"),
            "Timestamp": notification.get("Timestamp"),
            "Signature": notification.get("Signature", ""),
            "SigningCertUrl": notification.get("SigningCertURL", ""),
            "MessageId": notification["MessageId"],
            "Message": notification["Message"],
            "MessageAttributes": {
                name: {"Type": value.get("Type", "String"), "Value": value.get("Value")}
                for name, value in attributes.items()
            },
            "Type": notification.get("Type", "Notification"),
            "UnsubscribeUrl": notification.get("UnsubscribeURL", ""),
            "Subject": notification.get("Subject"),
        },
    )


def _joined(pairs: Iterable[tuple[str, str]], *, lower: bool) -> dict[str, str]:
    """API Gateway joins repeated headers and query parameters with commas."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower() if lower else name
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    route_key: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: str = "",
    request_id: str | None = None,
    jwt_claims: Mapping[str, str] | None = None,
    jwt_scopes: list[str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event for ``method path``.

    ``body`` as bytes is the raw request (base64-encoded unless UTF-8); a string is
    sent as is; anything else as JSON, with ``content-type: application/json``.
    ``jwt_claims`` are what a JWT authorizer verified (``requestContext.authorizer.jwt``).
    """
    now = datetime.now(UTC)
    pairs = list((headers or {}).items())
    if not isinstance(body, bytes):
        pairs.insert(0, ("content-type", "application/json"))
    lowered = _joined(pairs, lower=True)
    cookies = [c.strip() for c in lowered.pop("cookie", "").split(";") if c.strip()]
    encoded = False
    if isinstance(body, bytes):
        try:
            text: str | None = body.decode("utf-8") if body else None
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
    else:
        text = body if isinstance(body, str) or body is None else json.dumps(body)
    route_key = route_key or f"{method} {path}"
    domain = lowered.get("host", "localhost")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": names.ACCOUNT_ID,
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if jwt_claims is not None:
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": dict(jwt_claims), "scopes": jwt_scopes or None}
        }
    # API Gateway leaves out what the request does not have.
    if cookies:
        event["cookies"] = cookies
    query_parameters = _joined(parse_qsl(query, keep_blank_values=True), lower=False)
    if query_parameters:
        event["queryStringParameters"] = query_parameters
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if text is not None:
        event["body"] = text
    return event


def scheduled_event(service: str, environment: str = LOCAL_ENVIRONMENT) -> dict[str, Any]:
    """The event an EventBridge schedule rule sends to ``service``'s function."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": names.ACCOUNT_ID,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": names.REGION,
        "resources": [names.schedule_rule_arn(service, environment)],
        "detail": {},
    }


class _ReportedError(Exception):
    """An error raised elsewhere (a worker process), known by its type name and message."""


def on_failure_record(
    event: Any,
    error: Mapping[str, Any],
    *,
    service: str,
    attempts: int,
    request_id: str,
    environment: str = LOCAL_ENVIRONMENT,
    condition: str = "RetriesExhausted",
) -> dict[str, Any]:
    """The record Lambda sends to the on-failure destination after the last retry.

    ``error`` is the function's error as Lambda reports it (errorType, errorMessage,
    stackTrace).
    """
    record = dead_letter_record(
        event,
        _ReportedError(error["errorMessage"]),
        condition=condition,
        attempts=attempts,
        function_arn=f"{names.function_arn(service, environment)}:$LATEST",
        request_id=request_id,
    )
    record["responsePayload"] = {
        "errorMessage": error["errorMessage"],
        "errorType": error["errorType"],
        "stackTrace": list(error.get("stackTrace", [])),
    }
    return record
