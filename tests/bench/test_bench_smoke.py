"""`make bench` run tiny: the output has every figure, in the documented shape (never a timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GROUPS = [
    "headline",
    "floor",
    "publish",
    "router",
    "batching",
    "coldstart",
    "artifacts",
    "endtoend",
]


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
            assert {"name", "unit", "median", "target_max", "met", "text"} <= set(row), row
            if row["text"] is None:
                assert isinstance(row["median"], float), row
                assert row["low"] <= row["median"] <= row["high"], row
            if row["target_max"] is not None:
                assert isinstance(row["met"], bool), row

    by_id = {group["id"]: group for group in results["groups"]}
    names = {group: [row["name"] for row in by_id[group]["rows"]] for group in by_id}
    assert "inline / event-driven p50" in names["headline"]
    assert "inline / event-driven p99" in names["headline"]
    assert "handler / floor p50 (no tracing)" in names["floor"]
    assert "handler with X-Ray / floor p50" in names["floor"]
    assert any("X-Ray:" in note for note in by_id["floor"]["notes"])
    assert "messaging.publish / raw p50" in names["publish"]
    assert "router (excluded) / raw json.loads" in names["router"]
    assert "publish_many: API calls" in names["batching"]
    assert any(name.endswith(" / bare") for name in names["coldstart"])
    assert len(by_id["artifacts"]["rows"]) == len(list((ROOT / "services").glob("*/service.json")))
    if by_id["endtoend"]["status"] == "skipped":
        assert "local system" in by_id["endtoend"]["skipped_reason"]
    else:
        for workers in ("1 worker per function", "4 workers per function"):
            assert f"{workers}: HTTP request to last consumer done p99" in names["endtoend"]
            assert f"{workers}: sustained consumer events per second" in names["endtoend"]
        assert (
            "sustained consumer events per second, 4 / 1 workers per function" in names["endtoend"]
        )

    assert (tmp_path / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| figure | median | spread | target |" in result.stdout
