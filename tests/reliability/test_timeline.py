"""Each event's timeline in a reliability run and the tail line that sums up the last ones."""

from __future__ import annotations

from typing import Any

import pytest

from tools.reliability_timeline import (
    FAILED,
    HANDLING,
    PUBLISHING,
    RESTART,
    RETRY_WAIT,
    STALLED,
    WAITING,
    tail,
    timelines,
)

T0 = 1_000_000.0  # the run's first publish, as time.time()


def _run(start: float, end: float, *, ok: bool = True, error: str = "", **more: Any) -> dict:
    record = {"source": "sns", "order_id": "o-1", "start": T0 + start, "end": T0 + end, "ok": ok}
    return record | ({"error_type": error} if error else {}) | more


def test_a_retried_event_splits_into_publishing_waiting_failing_backoff_and_handling() -> None:
    # given: published 1 s in, first run at 1.5 s and failed, retried 1 s later
    records = [_run(1.5, 1.6, ok=False, error="InjectedTransientFailure"), _run(2.6, 2.7)]
    [line] = timelines({"o-1": T0 + 1.0}, records, T0)
    spent = {name: round(value, 3) for name, value in line.spent.items() if value}
    assert spent == {PUBLISHING: 1.0, WAITING: 0.5, FAILED: 0.1, RETRY_WAIT: 1.0, HANDLING: 0.1}
    assert (line.first_invoked, line.settled) == (pytest.approx(1.5), pytest.approx(2.7))
    assert not line.dead_lettered


def test_a_stall_is_its_timeout_and_the_rest_of_the_record_the_replacement_worker() -> None:
    # given: killed after its 4 s timeout, the replacement ready 1 s later
    stalled = _run(0.0, 5.0, ok=False, error="Sandbox.Timedout", duration_ms=4000.0)
    [line] = timelines({"o-1": T0}, [stalled, _run(6.0, 6.1)], T0)
    assert line.spent[STALLED] == pytest.approx(4.0)
    assert line.spent[RESTART] == pytest.approx(1.0)
    assert line.spent[RETRY_WAIT] == pytest.approx(1.0)


def test_while_a_duplicate_fails_the_first_delivery_handling_it_is_what_counts() -> None:
    first = _run(0.0, 1.0)
    duplicate = _run(0.2, 0.3, ok=False, error="EventInProgressError", source="duplicate")
    [line] = timelines({"o-1": T0}, [first, duplicate], T0)
    assert line.spent[HANDLING] == pytest.approx(1.0)
    assert line.spent[FAILED] == 0


def test_a_batch_carries_each_of_its_orders_and_a_dead_letter_settles_one() -> None:
    batch = {"source": "sqs", "order_ids": ["o-1", "o-2"], "start": T0 + 1, "end": T0 + 2,
             "ok": True}  # fmt: skip
    letter = {"source": "dlq", "order_id": "o-2", "start": T0 + 3, "end": T0 + 3, "ok": False}
    one, two = timelines({"o-1": T0, "o-2": T0}, [batch, letter], T0)
    assert (one.settled, one.dead_lettered) == (pytest.approx(2.0), False)
    assert (two.settled, two.dead_lettered) == (pytest.approx(3.0), True)
    assert two.spent[RETRY_WAIT] == pytest.approx(1.0)


def test_the_tail_names_what_the_last_one_percent_waited_on() -> None:
    # given: 99 events handled at once, and one whose retries made it the last
    published = {f"o-{n}": T0 for n in range(100)}
    records = [_run(0.0, 0.1, order_id=f"o-{n}") for n in range(99)]
    records += [_run(0.0, 0.1, ok=False, error="X", order_id="o-99"),
                _run(8.1, 8.2, order_id="o-99")]  # fmt: skip
    line = tail(timelines(published, records, T0))
    assert line.startswith("tail: the last 1 of 100 events settled 8.2-8.2 s")
    assert "their time went to retry wait 98%" in line


def test_an_event_nothing_carried_is_left_out_of_the_tail() -> None:
    lines = timelines({"o-1": T0, "o-2": T0}, [_run(0.0, 1.0)], T0)
    assert lines[1].settled is None
    assert tail(lines).startswith("tail: the last 1 of 1 events")
