"""Events over SNS for Python Lambdas: publish, consume, validate, trace.

>>> from messaging import Router, new_event, publish
>>> publish(new_event("order.placed", order))        # doctest: +SKIP
>>> router = Router()
>>> @router.on("order.placed")
... def confirm(event): ...

Everything not listed in ``__all__`` is private. Importing the package is cheap:
boto3 and the X-Ray SDK are imported when first used.
"""

from __future__ import annotations

from .aws import client as aws_client
from .aws import reset_clients
from .config import settings
from .consumer import Router
from .envelope import Envelope
from .errors import (
    ConfigurationError,
    EventTooLargeError,
    MalformedMessageError,
    MessagingError,
    PoisonMessageError,
    PublishError,
    PublishNotAllowedError,
    SchemaViolationError,
    UnknownEventTypeError,
    UnknownEventVersionError,
)
from .logs import get_logger, log_context
from .publisher import new_event, publish, publish_many

__all__ = [
    "ConfigurationError",
    "Envelope",
    "EventTooLargeError",
    "MalformedMessageError",
    "MessagingError",
    "PoisonMessageError",
    "PublishError",
    "PublishNotAllowedError",
    "Router",
    "SchemaViolationError",
    "UnknownEventTypeError",
    "UnknownEventVersionError",
    "aws_client",
    "get_logger",
    "log_context",
    "new_event",
    "publish",
    "publish_many",
    "reset",
]


def reset() -> None:
    """Forget cached settings and clients, as a new container would (tests, tools)."""
    settings.cache_clear()
    reset_clients()
