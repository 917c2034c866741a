"""Publishing events to their SNS topics: one at a time or batched.

Every event is checked before anything leaves the process: the service must declare
the type in its manifest (``PUBLISHES``), and the data must match the catalog schema.
A batch is validated whole before its first call, so a bad event never leaves half
a batch published.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple

from . import aws, claim_check, metrics, tracing
from .catalog import EventSpec, load_catalog
from .config import settings
from .envelope import Envelope
from .errors import (
    EventTooLargeError,
    PublishError,
    PublishNotAllowedError,
    SchemaViolationError,
    UnknownEventVersionError,
)

__all__ = [
    "BATCH_MAX_BYTES",
    "BATCH_MAX_ENTRIES",
    "SNS_MAX_MESSAGE_BYTES",
    "message_attributes",
    "new_event",
    "publish",
    "publish_many",
    "wire_size",
]

SNS_MAX_MESSAGE_BYTES = 262_144
BATCH_MAX_ENTRIES = 10
BATCH_MAX_BYTES = 262_144
_RETRY_BASE_S = 0.05


def new_event(
    event_type: str, data: dict[str, Any], *, correlation_id: str | None = None
) -> Envelope:
    """An envelope for ``data`` at the catalog's current version of ``event_type``.

    The correlation id is inherited from the event being handled, if any, so a chain of
    events shares one; a new conversation starts a new one.

    >>> event = new_event("order.placed", {"order_id": "o-1", ...})  # doctest: +SKIP
    >>> publish(event)  # doctest: +SKIP
    """
    spec = load_catalog().spec(event_type)
    event_id = str(uuid.uuid4())
    return Envelope(
        id=event_id,
        type=event_type,
        version=spec.version,
        source=settings().service,
        data=data,
        correlation_id=correlation_id or tracing.current_correlation_id() or event_id,
        traceparent=tracing.outgoing_traceparent(),
    )


def message_attributes(event: Envelope, spec: EventSpec) -> dict[str, dict[str, str]]:
    """SNS message attributes: what filter policies route on, plus the trace context."""
    attributes = {
        "event_type": {"DataType": "String", "StringValue": event.type},
        "event_version": {"DataType": "Number", "StringValue": str(event.version)},
        "source": {"DataType": "String", "StringValue": event.source},
        "correlation_id": {"DataType": "String", "StringValue": event.correlation_id},
    }
    if event.traceparent:
        attributes["traceparent"] = {"DataType": "String", "StringValue": event.traceparent}
    for name in spec.attributes:
        value = event.data.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and value != "":
            attributes[name] = {"DataType": "String", "StringValue": str(value)}
    return attributes


def _utf8_length(text: str) -> int:
    # ASCII is one byte a character: counting beats encoding a copy (the usual case).
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def wire_size(message: str, attributes: dict[str, dict[str, str]]) -> int:
    """Bytes SNS counts against its limit: the body plus each attribute's name, type and value."""
    size = _utf8_length(message)
    for name, attribute in attributes.items():
        size += _utf8_length(name) + _utf8_length(attribute["DataType"])
        size += _utf8_length(attribute["StringValue"])
    return size


class _Outgoing(NamedTuple):  # not a dataclass: cheaper to define at every cold start
    event: Envelope
    topic_arn: str
    message: str
    attributes: dict[str, dict[str, str]]
    size: int


def _prepare(event: Envelope) -> _Outgoing:
    current = settings()
    if event.type not in current.publishes:
        declared = ", ".join(sorted(current.publishes)) or "nothing"
        raise PublishNotAllowedError(
            f"service {current.service!r} may not publish {event.type!r}: its manifest "
            f"(services/{current.service}/service.json) declares {declared}"
        )
    catalog = load_catalog()
    spec = catalog.spec(event.type)
    if event.version not in spec.published:
        raise UnknownEventVersionError(
            f"{event.type} version {event.version} is no longer published (the catalog "
            f"publishes {', '.join(map(str, spec.published))}); convert it or retire it"
        )
    problems = catalog.validator(event.type, event.version)(event.data)
    if problems:
        raise SchemaViolationError(event.type, event.version, problems)
    attributes = message_attributes(event, spec)
    message = event.to_json()
    size = wire_size(message, attributes)
    if size > claim_check.threshold_bytes(SNS_MAX_MESSAGE_BYTES):
        if not current.large_event_bucket:
            raise EventTooLargeError(
                f"{event.type} {event.id} is {size} bytes on the wire; SNS accepts at most "
                f"{SNS_MAX_MESSAGE_BYTES} and no claim-check bucket (BUCKET_LARGE_EVENTS) is set"
            )
        with tracing.span("claim_check", event_type=event.type, event_id=event.id):
            pointer = claim_check.check_in(event, current.large_event_bucket)
        message = pointer.to_json()
        size = wire_size(message, attributes)
    return _Outgoing(event, current.topic_arn(spec.topic), message, attributes, size)


def publish(event: Envelope) -> str:
    """Validate and publish one event; returns the SNS message id.

    Raises ``PublishNotAllowedError``, ``SchemaViolationError`` or ``EventTooLargeError``
    before sending; AWS errors (after the client's bounded retries) propagate.
    """
    with tracing.publishing([event]) as (traced,):
        outgoing = _prepare(traced)
        response = aws.client("sns").publish(
            TopicArn=outgoing.topic_arn,
            Message=outgoing.message,
            MessageAttributes=outgoing.attributes,
        )
    metrics.count("Published", event.type)
    return str(response["MessageId"])


def _batches(items: list[_Outgoing]) -> Iterable[list[_Outgoing]]:
    batch: list[_Outgoing] = []
    batch_bytes = 0
    for item in items:
        if batch and (len(batch) == BATCH_MAX_ENTRIES or batch_bytes + item.size > BATCH_MAX_BYTES):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(item)
        batch_bytes += item.size
    if batch:
        yield batch


def _send_batch(
    topic_arn: str, batch: list[_Outgoing], published: dict[str, str], failures: dict[str, str]
) -> None:
    """Send one batch; retry entries SNS failed on its side; record what never went out."""
    pending = {str(index): item for index, item in enumerate(batch)}
    attempts = settings().max_attempts
    for attempt in range(1, attempts + 1):
        response = aws.client("sns").publish_batch(
            TopicArn=topic_arn,
            PublishBatchRequestEntries=[
                {"Id": entry_id, "Message": item.message, "MessageAttributes": item.attributes}
                for entry_id, item in pending.items()
            ],
        )
        for success in response.get("Successful", []):
            item = pending.pop(success["Id"])
            published[item.event.id] = success["MessageId"]
        retry: dict[str, _Outgoing] = {}
        for failure in response.get("Failed", []):
            item = pending.pop(failure["Id"])
            reason = f"{failure.get('Code', 'Unknown')}: {failure.get('Message', '')}".strip()
            if failure.get("SenderFault") or attempt == attempts:
                failures[item.event.id] = reason
            else:
                retry[failure["Id"]] = item
        for entry_id, item in pending.items():  # neither successful nor failed: never drop it
            retry[entry_id] = item
        if not retry:
            return
        pending = retry
        if attempt < attempts:
            time.sleep(_RETRY_BASE_S * 2 ** (attempt - 1) * (1 + random.random()))
    for item in pending.values():
        failures.setdefault(item.event.id, "not acknowledged by SNS after retries")


def publish_many(events: Iterable[Envelope]) -> list[str]:
    """Validate every event, then publish them through ``PublishBatch``.

    At most 10 entries and 256 KiB per call, grouped by topic. Entries SNS fails on its
    side are retried with backoff; any event still not published raises ``PublishError``
    naming it (the others are published and listed on the error). Returns the message
    ids in the order of ``events``.

    >>> ids = publish_many(new_event("order.placed", d) for d in orders)  # doctest: +SKIP
    """
    published: dict[str, str] = {}
    failures: dict[str, str] = {}
    with tracing.publishing(list(events)) as traced:
        prepared = [_prepare(event) for event in traced]
        if len({item.event.id for item in prepared}) != len(prepared):
            raise ValueError(
                "publish_many got the same event id twice; every event needs its own id"
            )
        by_topic: dict[str, list[_Outgoing]] = {}
        for item in prepared:
            by_topic.setdefault(item.topic_arn, []).append(item)
        with metrics.counting_published(prepared, published):
            for topic_arn, items in by_topic.items():
                for batch in _batches(items):
                    try:
                        _send_batch(topic_arn, batch, published, failures)
                    except Exception as error:  # the whole call failed, even after client retries
                        for item in prepared:
                            if item.event.id not in published:
                                reason = f"{type(error).__name__}: {error}"
                                failures.setdefault(item.event.id, reason)
                        raise PublishError(failures, published) from error
    if failures:
        raise PublishError(failures, published)
    return [published[item.event.id] for item in prepared]
