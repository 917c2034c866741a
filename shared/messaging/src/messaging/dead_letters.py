"""Dead-letter records in the shape Lambda's on-failure destinations use.

Lambda writes this shape to a function's on-failure queue when retries are exhausted;
the router writes the same shape itself for poison messages (condition
``PoisonMessage``), so one tool lists and redrives both.
"""

from __future__ import annotations

import json
import traceback
from datetime import UTC, datetime
from typing import Any

from . import aws
from .config import settings
from .errors import ConfigurationError

__all__ = ["POISON_CONDITION", "dead_letter_record", "send_dead_letter"]

POISON_CONDITION = "PoisonMessage"


def dead_letter_record(
    request_payload: Any,
    error: BaseException,
    *,
    condition: str,
    attempts: int,
    function_arn: str,
    request_id: str,
) -> dict[str, Any]:
    """The on-failure destination record for ``request_payload`` that failed with ``error``."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": request_payload,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "stackTrace": traceback.format_exception(error)[-5:],
        },
    }


def send_dead_letter(
    request_payload: Any, error: BaseException, *, context: Any = None, attempts: int = 1
) -> str:
    """Put a poison message on this function's dead-letter queue; returns the SQS message id.

    Raises if the queue is not configured or the send fails, so the invocation fails
    and Lambda's own retries and on-failure destination still keep the event.
    """
    current = settings()
    if not current.dead_letter_queue_url:
        raise ConfigurationError("DEAD_LETTER_QUEUE_URL is not set")
    record = dead_letter_record(
        request_payload,
        error,
        condition=POISON_CONDITION,
        attempts=attempts,
        function_arn=str(getattr(context, "invoked_function_arn", "") or current.service),
        request_id=str(getattr(context, "aws_request_id", "") or ""),
    )
    response = aws.client("sqs").send_message(
        QueueUrl=current.dead_letter_queue_url,
        MessageBody=json.dumps(record, default=str),
        MessageAttributes={
            "service": {"DataType": "String", "StringValue": current.service},
            "error_type": {"DataType": "String", "StringValue": type(error).__name__},
            "condition": {"DataType": "String", "StringValue": POISON_CONDITION},
        },
    )
    return str(response["MessageId"])
