"""How injected faults strike an SQS batch: a failure is its record's own, a crash the batch's."""

from __future__ import annotations

from typing import Any

import pytest

from messaging import Envelope
from tools.contract import load_fixture, sqs_event
from tools.local.worker import Faults, is_queue_batch, queued_fault_key


def _batch(count: int, *, raw: bool = False) -> dict[str, Any]:
    data = dict(load_fixture("order.placed"))
    envelopes = [
        Envelope(
            type="order.placed", version=2, data={**data, "order_id": f"{data['order_id']}-{n}"}
        )
        for n in range(count)
    ]
    return sqs_event(envelopes, raw=raw)


def _event_id(record: dict[str, Any]) -> str:
    event_id = queued_fault_key(record["body"])
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


def test_a_seed_picks_the_same_events_every_run_though_envelope_ids_are_fresh() -> None:
    # given: the same orders published twice, each time under fresh envelope ids
    first, second = _batch(2), _batch(2)
    assert [r["messageId"] for r in first["Records"]] != [r["messageId"] for r in second["Records"]]
    # then: each record's fault key is its order's, so a seeded rig strikes the same events
    keys = [[queued_fault_key(r["body"]) for r in e["Records"]] for e in (first, second)]
    assert keys[0] == keys[1]
    assert len(set(keys[0])) == 2


def test_an_event_is_copied_once_at_most_as_its_copy_has_the_same_key() -> None:
    faults = Faults(duplicate=1.0)
    key = queued_fault_key(_batch(1)["Records"][0]["body"])
    assert [faults.duplicated(key) for _ in range(3)] == [True, False, False]
