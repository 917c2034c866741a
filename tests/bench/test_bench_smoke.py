"""`make bench` run tiny: the output has every figure, in the documented shape (never a timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools.bench.endtoend import PROCESSES

ROOT = Path(__file__).resolve().parents[2]
GROUPS = [
    "headline",
    "headline@10ms",
    "floor",
    "floor@10ms",
    "publish",
    "publish@10ms",
    "router",
    "batching",
    "batching@10ms",
    "coldstart",
    "artifacts",
    "endtoend",
    "endtoend@10ms",
    "sweep",
    "queue",
]
# The figures: each printed with its goal, met or not, at 0 and at 10 ms.
GOALS = {
    "headline": {"inline / event-driven p50": ">= 10", "inline / event-driven p99": ">= 8"},
    "floor": {"handler / floor p50 (no tracing)": "<= 1.05"},
    "publish": {"messaging.publish / raw p50": "<= 1.05"},
    "batching": {"single / publish_many time per event": ">= 5"},
}


@pytest.mark.slow
def test_tiny_bench_writes_the_table_json_and_chart(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.bench", "--mode", "tiny", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    results = json.loads((tmp_path / "results.json").read_text())
    assert results["meta"]["mode"] == "tiny"
    assert {"machine", "load_before", "load_after", "seconds"} <= set(results["meta"])
    assert [group["id"] for group in results["groups"]] == GROUPS
    for group in results["groups"]:
        assert group["status"] in {"ok", "skipped"}, group
        if group["status"] == "skipped":
            assert group["skipped_reason"], group
            continue
        assert group["rows"], group
        for row in group["rows"]:
            assert {
                "name",
                "unit",
                "median",
                "goal",
                "target_max",
                "target_min",
                "met",
                "text",
            } <= set(row), row
            if row["text"] is None:
                assert isinstance(row["median"], float), row
                assert row["low"] <= row["median"] <= row["high"], row
            if row["goal"] is not None:
                assert isinstance(row["met"], bool), row
                bound = row["target_min"] if row["goal"].startswith(">=") else row["target_max"]
                assert row["met"] == (
                    row["median"] >= bound
                    if row["goal"].startswith(">=")
                    else row["median"] <= bound
                ), row

    by_id = {group["id"]: group for group in results["groups"]}
    names = {group: [row["name"] for row in by_id[group]["rows"]] for group in by_id}
    assert "inline / event-driven p50" in names["headline"]
    assert "inline / event-driven p99" in names["headline"]
    # The headline compares the calls production makes with all the consumers' work inline.
    calls = {row["name"]: row["text"] for row in by_id["headline"]["rows"] if row["text"]}
    assert calls["event-driven: AWS calls per request"] == "2: DynamoDB PutItem, SNS Publish"
    assert calls["inline: AWS calls per request"] == (
        "4: DynamoDB PutItem, SES SendEmail, DynamoDB TransactWriteItems, DynamoDB UpdateItem"
    )
    # Metric lines are written to /dev/null like the log lines, never over the table.
    assert '{"_aws"' not in result.stdout
    assert "handler / floor p50 (no tracing)" in names["floor"]
    assert "handler with X-Ray / floor p50" in names["floor"]
    assert any("X-Ray:" in note for note in by_id["floor"]["notes"])
    assert "messaging.publish / raw p50" in names["publish"]
    assert "router (excluded) / raw json.loads" in names["router"]
    assert "publish_many: API calls" in names["batching"]
    assert any(name.endswith(" / bare") for name in names["coldstart"])
    assert len(by_id["artifacts"]["rows"]) == len(list((ROOT / "services").glob("*/service.json")))
    # The local system is part of this checkout: its run must complete, never be skipped.
    assert by_id["endtoend"]["status"] == "ok", by_id["endtoend"].get("skipped_reason")
    for workers in ("1 worker per function", "4 workers per function"):
        chain = f"{workers}: HTTP request to last consumer of the two-hop chain done p99"
        assert chain in names["endtoend"]
        assert f"{workers}: sustained consumer events per second" in names["endtoend"]
        # The ceiling the cores allow is read from every process's CPU time: each kind of
        # process did some of the work, and the share of the machine in use can be no
        # more than all of it (give or take the clock ticks /proc counts in).
        figures = {row["name"]: row["median"] for row in by_id["endtoend"]["rows"]}
        for kind in PROCESSES:
            assert figures[f"{workers}: CPU per consumer event, {kind}"] > 0, kind
        assert 0 < figures[f"{workers}: the machine's CPU in use"] <= 110
    assert "sustained consumer events per second, 4 / 1 workers per function" in names["endtoend"]
    # At 10 ms the functions' AWS calls go through the proxy: none passing it means the
    # workers still talk to moto directly and the row measures nothing new.
    assert names["endtoend@10ms"] == names["endtoend"]
    proxied = by_id["endtoend@10ms"]["notes"][-1]
    assert int(proxied.split(" AWS requests passed")[0].replace(",", "")) > 0, proxied
    assert by_id["queue"]["status"] == "ok", by_id["queue"].get("skipped_reason")
    for size in (1, 10):
        assert f"batch size {size}: events per second" in names["queue"]
    assert "batch size 10 / 1, events per second" in names["queue"]

    assert "index sweep items read, 1,000 / 100 orders" in names["sweep"]
    assert results["meta"]["rtt_ms"] == [0.0, 10.0]
    assert results["meta"]["fan_out"] == "after-answer"
    for group_id, wanted in GOALS.items():
        for at, suffix in ((0.0, ""), (10.0, "@10ms")):
            group = by_id[group_id + suffix]
            assert group["rtt_ms"] == at, group
            goals = {row["name"]: row["goal"] for row in group["rows"]}
            assert {name: goals.get(name) for name in wanted} == wanted, group_id + suffix
            verdicts = [
                line for line in result.stdout.splitlines()
                if any(f"| {name} |" in line for name in wanted)
            ]  # fmt: skip
            assert all(line.rstrip(" |").endswith(("met", "not met")) for line in verdicts)
            assert any(note.startswith("fan-out after the answer") for note in group["notes"])
        proxied = by_id[group_id + "@10ms"]["notes"][-1]
        assert "passed the loopback proxy, each delayed by a 10 ms round trip" in proxied
        assert int(proxied.split()[0].replace(",", "")) > 0, proxied

    assert (tmp_path / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| figure | median | spread | target |" in result.stdout
