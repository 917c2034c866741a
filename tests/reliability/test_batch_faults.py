"""How injected faults strike an SQS batch: a failure is its record's own, a crash the batch's."""

from __future__ import annotations

from typing import Any

import pytest

from messaging import Envelope
from tools.contract import load_fixture, sqs_event
from tools.local.worker import Faults, _queued_event_id, is_queue_batch


def _batch(count: int, *, raw: bool = False) -> dict[str, Any]:
    data = dict(load_fixture("order.placed"))
    return sqs_event([Envelope(type="order.placed", version=2, data=data) for _ in range(count)],
                     raw=raw)  # fmt: skip


def _event_id(record: dict[str, Any]) -> str:
    event_id = _queued_event_id(record)
    assert event_id
    return event_id


def _faults_striking(kind: str, early: bool, record: dict[str, Any], **rates: float) -> Faults:
    """Faults whose draw puts ``record``'s event on ``kind``, before or after the handler."""
    for seed in range(10_000):
        faults = Faults(seed=str(seed), **rates)
        draw = faults.draw(f"handle:{_event_id(record)}")
        if kind == "permanent" and draw < faults.permanent:
            return faults
        if kind == "transient" and faults.permanent <= draw < faults.permanent + faults.transient:
            half = faults.permanent + faults.transient / 2
            if (draw < half) == early:
                return faults
        if kind == "crash" and 0 <= draw < faults.crash and (draw < faults.crash / 2) == early:
            return faults
    raise AssertionError("no seed found")


@pytest.mark.parametrize("raw", [False, True], ids=["notification", "raw"])
def test_a_permanent_failure_leaves_its_record_out_and_names_it(raw: bool) -> None:
    event = _batch(3, raw=raw)
    first = event["Records"][0]
    faults = _faults_striking("permanent", True, first, permanent=0.3)
    others = [r for r in event["Records"][1:] if faults.draw(f"handle:{_event_id(r)}") >= 0.3]
    given, failed, after = faults.before_batch(event)
    assert first["messageId"] in failed
    assert first not in given["Records"]
    assert all(record in given["Records"] for record in others)
    assert after is None
    # and it fails again on every receive
    assert faults.before_batch(event)[1] == failed


def test_a_transient_failure_after_the_handler_keeps_the_record_and_names_it_once() -> None:
    event = _batch(1)
    [record] = event["Records"]
    faults = _faults_striking("transient", False, record, transient=0.5)
    given, failed, after = faults.before_batch(event)
    assert (given["Records"], failed, after) == ([record], [record["messageId"]], None)
    assert faults.before_batch(event) == (event, [], None)  # struck once


def test_a_crash_due_after_the_handler_takes_the_whole_batch() -> None:
    event = _batch(1)
    [record] = event["Records"]
    faults = _faults_striking("crash", False, record, crash=0.5)
    given, failed, after = faults.before_batch(event)
    assert (given["Records"], failed, after) == ([record], [], "crash")


def test_a_transient_failure_before_a_lone_record_never_reaches_the_handler() -> None:
    event = _batch(1)
    [record] = event["Records"]
    faults = _faults_striking("transient", True, record, transient=0.5)
    given, failed, _ = faults.before_batch(event)
    assert given["Records"] == []
    assert failed == [record["messageId"]]


def test_only_sqs_events_are_batches() -> None:
    assert is_queue_batch(_batch(1))
    assert not is_queue_batch({"Records": [{"EventSource": "aws:sns", "Sns": {}}]})
    assert not is_queue_batch({"version": "2.0", "routeKey": "POST /orders"})
    assert not is_queue_batch([])
