"""Events over SNS for Python Lambdas: publish, consume, validate, trace.

>>> from messaging import Router, new_event, publish
>>> publish(new_event("order.placed", order))        # doctest: +SKIP
>>> router = Router()
>>> @router.on("order.placed")
... def confirm(event): ...

Everything not listed in ``__all__`` is private. Importing the package is cheap:
boto3 and the tracing SDKs are imported when first used. Settings come from the
function's environment, or from ``configure(...)`` (tools, tests): see ``config``.
"""

from __future__ import annotations

from .aws import client as aws_client
from .aws import reset_clients
from .config import Settings, configure, reset_settings, settings
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
from .tracing import reset_tracing

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
    "Settings",
    "UnknownEventTypeError",
    "UnknownEventVersionError",
    "aws_client",
    "configure",
    "get_logger",
    "log_context",
    "new_event",
    "publish",
    "publish_many",
    "reset",
    "settings",
]


def reset() -> None:
    """Forget cached settings, clients and tracer, as a new container would (tests, tools)."""
    reset_settings()
    reset_clients()
    reset_tracing()
