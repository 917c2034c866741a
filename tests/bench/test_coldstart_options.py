"""Group 5's options: the tracing backends and the number of paired rounds to measure."""

from __future__ import annotations

import pytest

from tools.bench import __main__ as bench
from tools.bench.coldstart import PROTOBUF, backend_list, cold_start


def test_backends_are_read_in_order_once_each_and_a_bad_one_is_named() -> None:
    assert backend_list("off") == ["off"]
    assert backend_list("otel-protobuf,off,off") == [PROTOBUF, "off"]
    with pytest.raises(ValueError, match="unknown tracing backend 'of'"):
        backend_list("of")


def test_the_command_line_refuses_a_bad_backend_or_pair_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases = {
        ("--backends", "xray,bogus"): "unknown tracing backend 'bogus'",
        ("--pairs", "0"): "not a positive whole number: '0'",
    }
    for argv, message in cases.items():
        with pytest.raises(SystemExit):
            bench.main(["--only", "coldstart", *argv])
        assert message in capsys.readouterr().err


def test_off_alone_measures_only_off_variants_for_the_rounds_asked() -> None:
    start, _ = cold_start(rounds=2, services=["order_status"], backends=["off"])
    ratios = [row.name for row in start.rows if row.name.endswith("/ bare, CPU")]
    assert ratios == ["order_status [off] / bare, CPU"]
    [verdict] = [row.text for row in start.rows if row.name.endswith("CPU: verdict")]
    assert verdict is not None
    assert "(n=2 pairs)" in verdict
    assert len(start.raw["pair_ratios"]["order_status [off] cpu_ms"]) == 2
    # The first event's own work is reported beside the span, so none can hide outside it.
    [first] = [row for row in start.rows if row.name.endswith("then its first event, CPU")]
    assert first.figure is not None
    assert first.figure.rounds == 2
    assert first.figure.median > 0
