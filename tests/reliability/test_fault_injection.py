"""The fault-injection suite at CI size: every event handled exactly once or dead-lettered."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import reliability


@pytest.mark.slow
def test_every_event_is_accounted_for_under_injected_faults(tmp_path: Path) -> None:
    # given: heavier faults than the default run, so every path is taken in 150 events
    report = reliability.run(
        150,
        transient=0.20,
        permanent=0.05,
        duplicate=0.10,
        throttle=0.5,
        crash=0.05,
        stall=0.03,
        seed="ci-fixed-seed",
        timeout_s=300,
        state_dir=tmp_path / "state",
    )
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
    assert figures["handled_exactly_once"] + figures["dead_lettered"] == 150
    assert figures["handled_twice_or_more"] == 0
    assert figures["handled_and_dead_lettered"] == 0
    assert figures["unaccounted"] == 0
    assert report.balanced
