"""The fault-injection suite at CI size: every event handled exactly once or dead-lettered,
subscribed directly and fed through the consumer's queue."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from tools import reliability

# Heavier faults than the default run, so every path is taken in a CI-sized run. Through
# the queue denser still: each kind must strike among 50 events, and a fault is drawn
# per event id, a fresh uuid each run.
EVENTS = {"direct": 150, "queue": 50}
FAULTS = {
    "direct": {"transient": 0.20, "permanent": 0.05, "duplicate": 0.10, "throttle": 0.5,
               "crash": 0.05, "stall": 0.03},
    "queue": {"transient": 0.20, "permanent": 0.10, "duplicate": 0.15, "throttle": 0.5,
              "crash": 0.10, "stall": 0.10},
}  # fmt: skip


def _run(delivery: str, tmp_path: Path) -> reliability.Report:
    return reliability.run(
        EVENTS[delivery],
        **FAULTS[delivery],
        delivery=delivery,
        seed="ci-fixed-seed",
        timeout_s=300,
        state_dir=tmp_path / "state",
        # Twice the defaults, as the suite may share the machine with other work: a healthy
        # first invocation on a fresh worker must not reach its timeout (it would send
        # twice), nor outlast a duplicate's retries (which would dead-letter an event the
        # first one handles).
        consumer_timeout_s=2 * reliability.CONSUMER_TIMEOUT_S,
        backoff_s=2.0,
    )


def _assert_every_event_handled_once_or_dead_lettered(report: reliability.Report) -> None:
    figures = report.figures
    assert not report.unbalanced, report.unbalanced
    assert figures["handled_exactly_once"] + figures["dead_lettered"] == report.events
    assert figures["handled_twice_or_more"] == 0
    assert figures["handled_and_dead_lettered"] == 0
    assert figures["unaccounted"] == 0
    assert report.balanced


@pytest.mark.slow
def test_every_event_is_accounted_for_under_injected_faults(tmp_path: Path) -> None:
    # given: the consumer subscribed directly
    report = _run("direct", tmp_path)
    figures = report.figures
    # then: the faults happened...
    assert figures["dead_lettered"] > 0
    assert figures["duplicate_deliveries_injected"] > 0
    assert figures["failed_invocations"] > figures["dead_lettered"]
    assert figures["publish_batch_calls_throttled"] > 0
    assert figures["events_republished_by_producer"] > 0
    assert figures["workers_killed_mid_invocation"] > 0
    assert figures["handlers_timed_out"] > 0
    # ...and every event is either handled exactly once or in the dead-letter queue
    _assert_every_event_handled_once_or_dead_lettered(report)


@pytest.mark.slow
def test_every_queue_fed_event_is_accounted_for_under_injected_faults(tmp_path: Path) -> None:
    # given: the consumer fed through its queue in batches
    report = _run("queue", tmp_path)
    figures = report.figures
    # then: records failed on their own, batches crashed and stalled, copies arrived...
    assert figures["dead_lettered"] > 0
    assert figures["records_failed"] > figures["dead_lettered"]
    assert figures["records_received"] > report.events + figures["duplicate_deliveries_injected"]
    assert figures["duplicate_deliveries_injected"] > 0
    assert figures["workers_killed_mid_invocation"] > 0
    assert figures["handlers_timed_out"] > 0
    assert figures["publish_batch_calls_throttled"] > 0
    # ...and every event is handled exactly once or in the queue's dead-letter queue
    _assert_every_event_handled_once_or_dead_lettered(report)


def test_the_table_shows_each_delivery_kind_in_its_own_column() -> None:
    direct = reliability.Report(2, {}, "direct")
    queue = reliability.Report(2, {}, "queue")
    direct.figures = {"handled_exactly_once": 2, "dead_lettered": 0, "handled_twice_or_more": 0,
                      "unaccounted": 0, "handled_and_dead_lettered": 0}  # fmt: skip
    queue.figures = {**direct.figures, "handled_exactly_once": 1, "records_failed": 3}
    lines = reliability.table([direct, queue]).splitlines()
    rows = {line[:30].strip(): line[30:].split() for line in lines}
    assert lines[0].split() == ["delivery", "direct", "queue"]
    assert rows["handled exactly once"] == ["2", "1"]
    assert rows["records failed"] == ["-", "3"]
    assert lines[-1].split() == ["BALANCED", "NOT", "BALANCED"]


class _Request:
    url = "http://127.0.0.1/"

    def __init__(self, *orders: str) -> None:
        entries = "&".join(
            f"PublishBatchRequestEntries.member.{n}.Message="
            + quote_plus(json.dumps({"data": {"order_id": order}}))
            for n, order in enumerate(orders, 1)
        )
        self.body = f"Action=PublishBatch&{entries}".encode()


def _throttled(calls: list[_Request]) -> list[bool]:
    gate = reliability.Throttle(0.5, "fixed")
    return [gate(call) is not None for call in calls]


def test_a_seed_throttles_the_same_calls_whatever_order_the_publishers_send_them() -> None:
    calls = [_Request(f"s-{n:05d}", f"s-{n + 1:05d}") for n in range(0, 40, 2)]
    forward = _throttled(calls)
    backward = _throttled(calls[::-1])[::-1]
    assert forward == backward
    assert 0 < sum(forward) < len(calls)  # a rate of 0.5 throttles some, not all


def test_a_call_sent_again_draws_again() -> None:
    # botocore's retry of a throttled call must be able to get through
    gate = reliability.Throttle(0.5, "fixed")
    call = _Request("s-00001")
    answers = [gate(call) is not None for _ in range(20)]
    assert True in answers
    assert False in answers
    assert gate.calls == 20
    assert gate.throttled == sum(answers)
