"""The fault-injection suite at CI size: every event handled exactly once or dead-lettered,
subscribed directly and fed through the consumer's queue."""

from __future__ import annotations

from pathlib import Path

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
