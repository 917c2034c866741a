"""Every error the package raises, in one hierarchy so callers can catch by intent.

``PoisonMessageError`` and its subclasses mark a message that can never succeed:
retrying it only burns attempts, so the consumer router sends it straight to the
dead-letter queue (when one is configured) instead of raising it to Lambda.
"""

from __future__ import annotations


class MessagingError(Exception):
    """Base class of every error raised by ``messaging``."""


class ConfigurationError(MessagingError):
    """A required environment variable is missing or invalid (raised at first use)."""


class PoisonMessageError(MessagingError):
    """A message that cannot be handled however often it is retried."""


class MalformedMessageError(PoisonMessageError, ValueError):
    """The SNS record or its envelope is not in the expected shape (names the field)."""


class UnknownEventTypeError(PoisonMessageError, LookupError):
    """The event type is not in the catalog, or this service has no handler for it."""


class UnknownEventVersionError(PoisonMessageError, LookupError):
    """The catalog has no schema for this event type at this version."""


class SchemaViolationError(PoisonMessageError, ValueError):
    """The event's data does not match its schema; ``problems`` lists each violation."""

    def __init__(self, event_type: str, version: int, problems: list[str]) -> None:
        self.event_type = event_type
        self.version = version
        self.problems = problems
        super().__init__(f"{event_type} v{version} violates its schema: " + "; ".join(problems))


class PublishNotAllowedError(MessagingError):
    """The service's manifest does not declare the event type it tried to publish."""


class EventTooLargeError(MessagingError, ValueError):
    """The event exceeds the SNS limit and no claim-check bucket is configured."""


class PublishError(MessagingError):
    """SNS refused some events after retries; ``failures`` maps event id to the reason.

    Nothing is dropped silently: the events that did go out are in ``published``.
    """

    def __init__(self, failures: dict[str, str], published: dict[str, str]) -> None:
        self.failures = failures
        self.published = published
        detail = "; ".join(f"{event_id}: {reason}" for event_id, reason in failures.items())
        super().__init__(f"{len(failures)} event(s) not published: {detail}")
