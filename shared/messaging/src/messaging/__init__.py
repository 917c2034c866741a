"""Events over SNS for Python Lambdas: publish, consume, validate, trace.

>>> from messaging import Router, new_event, publish
>>> publish(new_event("order.placed", order))        # doctest: +SKIP
>>> router = Router()
>>> @router.on("order.placed")
... def confirm(event): ...

Everything not listed in ``__all__`` is private. Importing the package is cheap:
boto3 and the tracing SDKs are imported when first used, and so is each part of the
package (PEP 562): a function that only publishes never loads the router, one that
only consumes never loads the publisher. Settings come from the function's
environment, or from ``configure(...)`` (tools, tests): see ``config``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The errors are what every caller's ``except`` names, and cost next to nothing.
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

if TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers and editors
    from .aws import client as aws_client
    from .config import Settings, configure, settings
    from .consumer import Router
    from .envelope import Envelope
    from .logs import get_logger, invocation, log_context
    from .publisher import new_event, publish, publish_many

# Public name -> (module, attribute): imported on first access, then kept in globals().
_LAZY = {
    "Envelope": ("envelope", "Envelope"),
    "Router": ("consumer", "Router"),
    "Settings": ("config", "Settings"),
    "aws_client": ("aws", "client"),
    "configure": ("config", "configure"),
    "get_logger": ("logs", "get_logger"),
    "invocation": ("logs", "invocation"),
    "log_context": ("logs", "log_context"),
    "new_event": ("publisher", "new_event"),
    "publish": ("publisher", "publish"),
    "publish_many": ("publisher", "publish_many"),
    "settings": ("config", "settings"),
}

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
    "invocation",
    "log_context",
    "new_event",
    "publish",
    "publish_many",
    "reset",
    "settings",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    # The import statement's own path (importlib.import_module is not): -X importtime
    # then names the module rather than charging it to the first code that asked.
    __import__(f"{__name__}.{module}")
    value = getattr(globals()[module], attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def reset() -> None:
    """Forget cached settings, clients and tracer, as a new container would (tests, tools)."""
    from .aws import reset_clients
    from .config import reset_settings
    from .logs import _reset_cold_start
    from .tracing import reset_tracing

    reset_settings()
    reset_clients()
    reset_tracing()
    _reset_cold_start()
