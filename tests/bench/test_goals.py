"""Goals print met or not met in the right direction; --rtt-ms names a bad value."""

from __future__ import annotations

import argparse

import pytest

from tools.bench.__main__ import round_trips
from tools.bench.report import at_least, at_most, format_row, ratio_row
from tools.bench.stats import Figure


def _verdict(goal_median: float, goal: object) -> str:
    return format_row(ratio_row("r", Figure(goal_median, goal_median, goal_median, 3), goal))[3]


def test_an_at_least_goal_is_met_from_its_value_up() -> None:
    assert _verdict(5.0, at_least(5)) == ">= 5: met"
    assert _verdict(4.99, at_least(5)) == ">= 5: not met"


def test_an_at_most_goal_and_a_bare_number_are_met_up_to_their_value() -> None:
    assert _verdict(1.05, at_most(1.05)) == "<= 1.05: met"
    assert _verdict(1.06, at_most(1.05)) == "<= 1.05: not met"
    assert _verdict(1.21, 1.2) == "<= 1.2: not met"


def test_a_figure_with_no_rounds_is_not_measured_rather_than_met() -> None:
    empty = ratio_row("r", Figure.of([]), at_least(5))
    assert format_row(empty)[3] == ">= 5: not measured"
    assert empty.as_dict()["target_min"] == 5
    assert empty.as_dict()["met"] is None


def test_round_trips_keep_their_order_once_each() -> None:
    assert round_trips("10, 0,10") == [10.0, 0.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [("10,fast", "not a number of milliseconds: 'fast'"), ("-1", "outside 0..10000")],
)
def test_a_bad_round_trip_is_named(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        round_trips(text)
