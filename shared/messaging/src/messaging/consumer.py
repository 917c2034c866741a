"""Turning a Lambda SNS event into validated envelopes and dispatching them by type.

Three kinds of failure, three behaviours:

* a malformed record, an unknown event type or version, or a schema violation is a
  ``PoisonMessageError``: retrying cannot fix it, so when the function has a
  dead-letter queue (``DEAD_LETTER_QUEUE_URL``) the record goes straight there with
  its reason and the invocation succeeds; without one, the error is raised;
* a handler's own exception propagates, so Lambda retries the event and finally
  sends it to the on-failure destination (a handler may raise a
  ``PoisonMessageError`` itself to skip the retries);
* a record whose event this service already handled is skipped, and one being handled
  right now by another attempt raises ``EventInProgressError`` so Lambda retries it
  later (see ``idempotency``; on by default wherever ``TABLE_IDEMPOTENCY`` is set,
  ``@router.on(..., idempotent=False)`` opts a handler out).

An SQS event (a queue between the topic and the function, read by an event source
mapping) is handled record by record with the same decoding, validation and
idempotency; instead of raising, the router returns ``{"batchItemFailures": [...]}``
naming exactly the records that failed, so SQS redelivers only those. A poison record
still goes to the dead-letter queue at once and counts as done. ``@router.batch``
handlers take all of a batch's envelopes of one type and make one bulk call.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, TypeVar

from . import metrics, tracing
from .catalog import load_catalog
from .config import settings
from .envelope import Envelope
from .errors import (
    MalformedMessageError,
    PoisonMessageError,
    SchemaViolationError,
    UnknownEventTypeError,
    UnknownEventVersionError,
)
from .idempotency import claim, complete, release, run_once
from .logs import get_logger, invocation, log_context
from .manifest import accepted_versions
from .queue_records import as_sns_record, is_queue_event, message_id

__all__ = ["Router", "decode_record", "sns_records", "to_accepted_version"]

EventHandler = Callable[[Envelope], Any]
H = TypeVar("H", bound=EventHandler)
# A batch handler takes envelopes of one type and returns the ids of those that failed
# (``None`` or an empty collection: all succeeded); raising fails them all.
BatchHandler = Callable[[list[Envelope]], Iterable[str] | None]
B = TypeVar("B", bound=BatchHandler)

_log = get_logger("messaging")


def sns_records(event: Any) -> list[dict[str, Any]]:
    """The ``Records`` of a Lambda SNS event, each checked for the fields SNS always sends."""
    if not isinstance(event, Mapping):
        raise MalformedMessageError(
            f"the Lambda event must be a JSON object, got {type(event).__name__}"
        )
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        raise MalformedMessageError("the Lambda event has no 'Records' list of SNS records")
    for index, record in enumerate(records):
        where = f"Records[{index}]"
        if not isinstance(record, Mapping):
            raise MalformedMessageError(f"{where} must be an object")
        if record.get("EventSource") != "aws:sns":
            raise MalformedMessageError(
                f"{where}.EventSource must be 'aws:sns', got {record.get('EventSource')!r}"
            )
        sns = record.get("Sns")
        if not isinstance(sns, Mapping):
            raise MalformedMessageError(f"{where}.Sns is missing or not an object")
        if not isinstance(sns.get("Message"), str):
            raise MalformedMessageError(f"{where}.Sns.Message is missing or not a string")
        attributes = sns.get("MessageAttributes", {})
        if not isinstance(attributes, Mapping):
            raise MalformedMessageError(f"{where}.Sns.MessageAttributes must be an object")
    return [dict(record) for record in records]


def _attribute(record: Mapping[str, Any], name: str) -> str | None:
    attribute = record["Sns"].get("MessageAttributes", {}).get(name)
    if isinstance(attribute, Mapping) and isinstance(attribute.get("Value"), str):
        return str(attribute["Value"])
    return None


def _metric_type(record: Mapping[str, Any]) -> str:
    """The type a record's metrics count under before it is decoded: a catalog type or unknown."""
    declared = _attribute(record, "event_type") if isinstance(record.get("Sns"), Mapping) else None
    return declared if declared in load_catalog().events else metrics.UNKNOWN_TYPE


def decode_record(record: Mapping[str, Any]) -> Envelope:
    """The envelope in one SNS record, checked against the catalog and its schema."""
    envelope = Envelope.from_json(record["Sns"]["Message"])
    if envelope.claim_check is not None:
        from . import claim_check  # only large events need it

        envelope = claim_check.resolve(envelope)
    declared_type = _attribute(record, "event_type")
    if declared_type is not None and declared_type != envelope.type:
        raise MalformedMessageError(
            f"message attribute event_type={declared_type!r} disagrees with the envelope's "
            f"type {envelope.type!r}"
        )
    catalog = load_catalog()
    problems = catalog.validator(envelope.type, envelope.version)(envelope.data)
    if problems:
        raise SchemaViolationError(envelope.type, envelope.version, problems)
    return envelope


def to_accepted_version(envelope: Envelope, service: str) -> Envelope:
    """``envelope`` at a version ``service`` accepts, converted step by step and re-validated."""
    catalog = load_catalog()
    spec = catalog.spec(envelope.type)
    accepted = accepted_versions(service, envelope.type, spec.version)
    if envelope.version in accepted:
        return envelope
    from .versions import conversion_path, load_converters  # only older or newer versions

    converters = load_converters(catalog.directory)
    steps = conversion_path(converters, envelope.type, envelope.version, accepted)
    if steps is None:
        raise UnknownEventVersionError(
            f"service {service!r} accepts {envelope.type} version(s) "
            f"{', '.join(map(str, accepted))} and no converters lead there from "
            f"version {envelope.version}"
        )
    data = envelope.data
    for version, following in steps:
        step = converters.step(envelope.type, version, following)
        assert step is not None  # conversion_path found it
        data = step(data)
    target = steps[-1][1]
    problems = catalog.validator(envelope.type, target)(data)
    if problems:
        raise SchemaViolationError(envelope.type, target, problems)
    return dataclasses.replace(envelope, version=target, data=data)


def _check_route(event_type: str) -> None:
    spec = load_catalog().spec(event_type)  # a typo fails at import, not at 3 a.m.
    service = settings().service_name
    if service and spec.version not in accepted_versions(service, event_type, spec.version):
        # Every current event of this type will be converted: the conversion code is part
        # of this function's cold start, not of its first request.
        from . import versions  # noqa: F401


# NamedTuples, not frozen dataclasses: a module's classes are made at every cold start,
# and a NamedTuple is several times cheaper to define (docs/performance.md, group 5).
class _Route(NamedTuple):
    handler: Callable[..., Any]
    idempotent: bool
    batch: bool = False


class _Queued(NamedTuple):
    """One record of an SQS batch, decoded: its SQS id, the original record, the event."""

    message_id: str
    record: Mapping[str, Any]
    envelope: Envelope


class Router:
    """Dispatches the events of a Lambda SNS invocation to handlers by event type.

    >>> router = Router()
    >>> @router.on("order.placed")
    ... def confirm(event: Envelope) -> None:
    ...     send_confirmation(event.data["customer_email"], event.data["order_id"])
    >>> handle = router.handle  # the function's Lambda handler
    """

    def __init__(self, *, dead_letter_poison: bool | None = None) -> None:
        self._routes: dict[str, _Route] = {}
        self._dead_letter_poison = dead_letter_poison

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(self._routes)

    def on(self, event_type: str, *, idempotent: bool = True) -> Callable[[H], H]:
        """Register the decorated function as the handler of ``event_type``.

        ``idempotent=False`` opts the handler out of once-per-event-id handling.
        """
        _check_route(event_type)
        if event_type in self._routes:
            raise ValueError(f"a handler for {event_type!r} is already registered")

        def register(handler: H) -> H:
            self._routes[event_type] = _Route(handler, idempotent)
            return handler

        return register

    def batch(self, event_type: str, *, idempotent: bool = True) -> Callable[[B], B]:
        """Register the decorated function as the batch handler of ``event_type``.

        It receives every envelope of that type in an SQS batch (one record at a time
        for direct delivery) and returns the ids of the envelopes that failed; those
        records alone are retried. Envelopes already handled are left out.

        >>> @router.batch("order.placed")
        ... def confirm_all(events: list[Envelope]) -> list[str]:
        ...     return bulk_send([e.data for e in events]).failed_event_ids
        """
        _check_route(event_type)
        if event_type in self._routes:
            raise ValueError(f"a handler for {event_type!r} is already registered")

        def register(handler: B) -> B:
            self._routes[event_type] = _Route(handler, idempotent, batch=True)
            return handler

        return register

    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        """The Lambda entry point: handle every record, or raise so Lambda retries.

        For an SQS event, returns ``{"batchItemFailures": [{"itemIdentifier": ...}]}``.
        """
        with invocation(context):
            if is_queue_event(event):
                return self._handle_queue(event["Records"], context)
            return self._handle_records(event, context)

    def _handle_records(self, event: Any, context: Any) -> dict[str, Any]:
        try:
            records = sns_records(event)
        except PoisonMessageError as error:
            self._reject(event, error, context, metrics.UNKNOWN_TYPE)
            return {"handled": [], "rejected": [str(error)]}
        handled: list[str] = []
        rejected: list[str] = []
        for record in records:
            event_type = _metric_type(record)
            try:
                envelope, route = self._decode(record)
                self._dispatch(route, envelope, context)
            except PoisonMessageError as error:
                self._reject({"Records": [record]}, error, context, event_type)
                rejected.append(str(error))
                continue
            handled.append(envelope.id)
        return {"handled": handled, "rejected": rejected}

    __call__ = handle

    def _decode(self, record: Mapping[str, Any]) -> tuple[Envelope, _Route]:
        envelope = decode_record(record)
        route = self._routes.get(envelope.type)
        if route is None:
            raise UnknownEventTypeError(
                f"service {settings().service!r} has no handler for {envelope.type!r} "
                f"(it handles {', '.join(sorted(self._routes)) or 'nothing'})"
            )
        return to_accepted_version(envelope, settings().service), route

    def _handle_queue(self, records: list[Any], context: Any) -> dict[str, Any]:
        failed: list[str] = []
        batches: dict[str, list[_Queued]] = {}
        for index, record in enumerate(records):
            try:
                identifier = message_id(record, index)
            except PoisonMessageError as error:
                # Without an id the record cannot be named as failed: fail the whole batch.
                raise MalformedMessageError(str(error)) from None
            event_type = metrics.UNKNOWN_TYPE
            try:
                sns_record = as_sns_record(record, index)
                event_type = _metric_type(sns_record)
                envelope, route = self._decode(sns_record)
                if route.batch:
                    batches.setdefault(envelope.type, []).append(
                        _Queued(identifier, record, envelope)
                    )
                    continue
                self._dispatch(route, envelope, context)
            except PoisonMessageError as error:
                if not self._rejected_from_queue(record, error, context, event_type):
                    failed.append(identifier)
            except Exception:  # logged by _dispatch; SQS redelivers the record
                failed.append(identifier)
        for event_type, queued in batches.items():
            failed.extend(self._dispatch_batch(self._routes[event_type], queued, context))
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    def _rejected_from_queue(
        self, record: Mapping[str, Any], error: PoisonMessageError, context: Any, event_type: str
    ) -> bool:
        """Dead-letter a poison record; False when that failed, so SQS keeps the record."""
        try:
            self._reject({"Records": [record]}, error, context, event_type)
        except Exception:
            _log.exception("poison record kept on the queue", extra={"error": str(error)})
            return False
        return True

    def _dispatch_batch(self, route: _Route, queued: list[_Queued], context: Any) -> list[str]:
        """Run a batch handler over ``queued``; the SQS ids of the records that failed."""
        current = settings()
        table = current.idempotency_table if route.idempotent else None
        claimed: list[_Queued] = []
        failed: list[str] = []
        for item in queued:
            try:
                if table is None or claim(table, current.service, item.envelope, context)[0]:
                    claimed.append(item)
            except PoisonMessageError as error:
                if not self._rejected_from_queue(item.record, error, context, item.envelope.type):
                    failed.append(item.message_id)
            except Exception:
                _log.exception("event not claimed", extra={"event_id": item.envelope.id})
                failed.append(item.message_id)
        if not claimed:
            return failed
        event_type = claimed[0].envelope.type
        started = time.perf_counter()
        envelopes = [item.envelope for item in claimed]
        with tracing.handling_batch(envelopes) as failed_spans:
            try:
                reported = route.handler(envelopes)
                bad = {str(event_id) for event_id in reported or ()}
            except Exception:
                _log.exception("batch handler failed", extra={"event_type": event_type})
                bad = {item.envelope.id for item in claimed}
            failed_spans(bad)
        handled = 0
        per_event_ms = (time.perf_counter() - started) * 1000 / len(claimed)
        for item in claimed:
            outcome = "Failed" if item.envelope.id in bad else "Handled"
            metrics.handled(event_type, per_event_ms, outcome)
            if item.envelope.id in bad:
                failed.append(item.message_id)
                if table is not None:
                    release(table, current.service, item.envelope)
                continue
            handled += 1
            if table is not None:
                complete(table, current.service, item.envelope, None)
        _log.info(
            "batch handled",
            extra={
                "event_type": event_type,
                "handled": handled,
                "failed": len(failed),
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return failed

    def _dispatch(self, route: _Route, envelope: Envelope, context: Any) -> None:
        fields = {
            "event_id": envelope.id,
            "event_type": envelope.type,
            "correlation_id": envelope.correlation_id,
        }
        started = time.perf_counter()
        with (
            log_context(**fields),
            tracing.correlation_scope(envelope.correlation_id),
            tracing.handling(envelope),
        ):
            outcome: str | None = "Failed"
            try:
                self._run(route, envelope, context)
                outcome = "Handled"
            except PoisonMessageError:
                outcome = None  # counted as Rejected where it is dead-lettered
                raise
            except Exception:
                _log.exception(
                    "handler failed",
                    extra={"duration_ms": round((time.perf_counter() - started) * 1000, 2)},
                )
                raise
            finally:
                metrics.handled(envelope.type, (time.perf_counter() - started) * 1000, outcome)
            _log.info(
                "event handled",
                extra={"duration_ms": round((time.perf_counter() - started) * 1000, 2)},
            )

    def _run(self, route: _Route, envelope: Envelope, context: Any) -> Any:
        handler = route.handler
        if route.batch:
            handler = _one_of_batch(route.handler)
        current = settings()
        if route.idempotent and current.idempotency_table:
            return run_once(current.idempotency_table, current.service, envelope, handler, context)
        return handler(envelope)

    def _reject(
        self, payload: Any, error: PoisonMessageError, context: Any, event_type: str
    ) -> None:
        metrics.count("Rejected", event_type)
        send = self._dead_letter_poison
        if send is None:
            send = settings().dead_letter_queue_url is not None
        if not send:
            raise error
        from .dead_letters import send_dead_letter  # only poison needs it

        message_id = send_dead_letter(payload, error, context=context)
        _log.error(
            "poison message sent to the dead-letter queue",
            extra={
                "error_type": type(error).__name__,
                "error": str(error),
                "dead_letter_message_id": message_id,
                "payload_preview": json.dumps(payload, default=str)[:500],
            },
        )


def _one_of_batch(handler: Callable[..., Any]) -> EventHandler:
    """A batch handler run on one envelope (direct delivery), raising if it reports failure."""

    def run(envelope: Envelope) -> None:
        if envelope.id in {str(event_id) for event_id in handler([envelope]) or ()}:
            raise BatchItemError(f"the batch handler reported event {envelope.id} as failed")

    return run


class BatchItemError(Exception):
    """A batch handler reported this event as failed (direct delivery retries it)."""
