"""Cold-start rounds pair every variant with a bare run beside it, on alternating sides,
and the verdict's interval of the median holds the median without assuming a shape."""

from __future__ import annotations

import math

from tools.bench.coldstart import verdict
from tools.bench.stats import median_interval, paired_schedule

VARIANTS = ["a [off]", "a [otel]", "b [off]", "b [otel]"]
PARTNER = dict.fromkeys(VARIANTS, "bare")


def test_every_variant_run_has_its_partner_run_right_beside_it() -> None:
    for shift in range(6):
        scheduled = paired_schedule(VARIANTS, PARTNER, shift)
        paired = [scheduled.runs[mine] for mine, _ in scheduled.pairs]
        assert sorted(paired) == sorted(VARIANTS)  # each variant once per round
        for mine, theirs in scheduled.pairs:
            assert abs(mine - theirs) == 1
            assert scheduled.runs[theirs] == "bare"
        # one bare run serves two variants: 4 variants, 2 bare runs
        assert scheduled.runs.count("bare") == 2


def test_a_variant_runs_before_its_partner_in_one_round_and_after_it_in_the_next() -> None:
    def side(shift: int, variant: str) -> str:
        scheduled = paired_schedule(VARIANTS, PARTNER, shift)
        [(mine, theirs)] = [p for p in scheduled.pairs if scheduled.runs[p[0]] == variant]
        return "before" if mine < theirs else "after"

    for variant in VARIANTS:
        sides = [side(shift, variant) for shift in range(4)]
        assert sides in (["before", "after"] * 2, ["after", "before"] * 2), (variant, sides)


def test_variants_with_different_partners_never_share_one() -> None:
    partner = {"a [off]": "bare 3.12", "b [off]": "bare 3.13", "c [off]": "bare 3.13"}
    scheduled = paired_schedule(list(partner), partner, 0)
    for mine, theirs in scheduled.pairs:
        assert scheduled.runs[theirs] == partner[scheduled.runs[mine]]


def test_the_interval_of_the_median_brackets_it_and_narrows_with_more_pairs() -> None:
    few = [1.0 + i / 100 for i in range(9)]
    many = [1.0 + (i % 9) / 100 for i in range(90)]
    low, high = median_interval(few)
    assert low <= 1.04 <= high
    wide = high - low
    low, high = median_interval(many)
    assert low <= 1.04 <= high
    assert high - low < wide
    assert median_interval([1.2]) == (1.2, 1.2)
    assert all(math.isnan(v) for v in median_interval([]))


def test_a_goal_inside_the_interval_is_no_verdict() -> None:
    assert verdict([1.00, 1.02, 1.04, 1.06, 1.08] * 6, 1.10).startswith("met")
    assert verdict([1.20, 1.22, 1.24, 1.26, 1.28] * 6, 1.10).startswith("not met")
    assert verdict([1.00, 1.05, 1.10, 1.15, 1.20] * 6, 1.10).startswith("undecided")
