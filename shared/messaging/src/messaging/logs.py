"""JSON logs, one object per line, carrying the service and the event being handled.

The consumer router binds ``event_id``, ``event_type`` and ``correlation_id`` for the
duration of each handler, so every line a handler logs can be joined across services.
``invocation(context)`` binds ``request_id`` (Lambda's ``aws_request_id``) and
``cold_start`` (true only for the container's first invocation) around a whole
invocation, and collects the invocation's metrics (``metrics``); the router does it for
its handlers, HTTP handlers call it themselves.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from . import metrics
from .config import settings

__all__ = ["JsonFormatter", "current_context", "get_logger", "invocation", "log_context"]

_context: ContextVar[dict[str, Any] | None] = ContextVar("messaging_log_context", default=None)

# Attributes every LogRecord has; anything else came from ``extra=`` and is logged.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def current_context() -> dict[str, Any]:
    """The fields bound by the innermost ``log_context``."""
    return dict(_context.get() or {})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every log line inside the block (nesting merges)."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


# The container's first invocation pays the import and client set-up; later ones do not.
_cold_start = True


@contextmanager
def invocation(context: Any = None) -> Iterator[bool]:
    """Bind ``request_id`` and ``cold_start`` to every log line of one Lambda invocation.

    Yields the cold-start flag. ``context`` is Lambda's context object (``None`` in tools
    and tests, where ``request_id`` is then left out).

    >>> def handle(event, context):
    ...     with invocation(context):
    ...         log.info("request received")  # {"cold_start": true, "request_id": "..."}
    """
    global _cold_start
    cold, _cold_start = _cold_start, False
    fields: dict[str, Any] = {"cold_start": cold}
    request_id = getattr(context, "aws_request_id", None)
    if request_id is not None:
        fields["request_id"] = request_id
    with log_context(**fields), metrics.collecting(settings().service_name):
        yield cold


def _reset_cold_start() -> None:
    global _cold_start
    _cold_start = True


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object with the bound context and ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": settings().service_name,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_context.get() or {})
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def get_logger(name: str = "app") -> logging.Logger:
    """A logger writing JSON lines to stdout at ``LOG_LEVEL`` (INFO by default).

    >>> log = get_logger()
    >>> log.info("order stored", extra={"order_id": "o-1"})  # doctest: +SKIP
    """
    logger = logging.getLogger(name)
    if not getattr(logger, "_messaging_configured", False):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        logger.handlers[:] = [handler]
        logger.setLevel(settings().log_level)
        # Lambda's runtime puts its own handler on the root logger; not propagating
        # keeps each line single and JSON.
        logger.propagate = False
        logger._messaging_configured = True  # type: ignore[attr-defined]
    return logger
