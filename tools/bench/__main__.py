"""``python -m tools.bench [--mode full|quick|tiny]``: run every figure, print the table.

Writes ``<out>/results.json`` and ``<out>/latency.png`` (``bench/`` by default, not
committed). The AWS endpoint is a moto server started on a free 127.0.0.1 port and
always stopped.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .report import Group


@dataclass(frozen=True)
class Mode:
    rounds: int  # repeated runs each figure is the median of
    headline: int  # requests per variant per round
    floor: int
    publish: int
    router: int  # samples per round...
    router_batch: int  # ...of this many events each
    batch_chunks: int  # interleaved rounds of...
    batch_chunk: int  # ...this many events each way
    cold_rounds: int
    e2e_requests: int
    e2e_burst: int


MODES = {
    "full": Mode(7, 200, 200, 300, 20, 200, 12, 250, 15, 60, 200),
    "quick": Mode(3, 40, 50, 60, 10, 100, 4, 250, 5, 15, 60),
    "tiny": Mode(2, 3, 3, 3, 2, 5, 2, 10, 1, 2, 4),
}
GROUPS = ("headline", "floor", "publish", "router", "batching", "coldstart", "endtoend", "sweep")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="full")
    parser.add_argument("--out", type=Path, default=Path("bench"), help="results directory")
    parser.add_argument(
        "--third-party-ms",
        type=float,
        default=100.0,
        help="injected latency of the inline variant's third-party call (default 100)",
    )
    parser.add_argument(
        "--only", default=",".join(GROUPS), help=f"comma-separated groups ({', '.join(GROUPS)})"
    )
    parser.add_argument("--no-xray", action="store_true", help="skip the X-Ray worker")
    args = parser.parse_args(argv)
    only = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = sorted(set(only) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {unknown}; valid: {', '.join(GROUPS)}")
    mode = MODES[args.mode]

    from tools.contract import use_endpoint

    from . import report
    from .moto_server import moto_server

    meta: dict[str, Any] = report.machine() | {
        "mode": args.mode,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_before": report.load_average(),
        "third_party_ms": args.third_party_ms,
        "endpoint": "moto server on 127.0.0.1 (local emulator)",
    }
    began = time.perf_counter()
    groups: list[Group] = []

    def run(name: str, make: Callable[[], Group | tuple[Group, ...]]) -> None:
        if name not in only:
            return
        print(f"bench: {name}...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        made = make()
        for group in made if isinstance(made, tuple) else (made,):
            group.seconds = time.perf_counter() - started
            groups.append(group)
        print(f"bench: {name} done in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    if {"headline", "floor", "publish", "router", "batching"} & set(only):
        with moto_server() as endpoint:
            use_endpoint(endpoint)
            from . import harness, latency, overhead

            sut = harness.start(endpoint)
            run(
                "headline",
                lambda: latency.headline(
                    sut, rounds=mode.rounds, iterations=mode.headline,
                    third_party_ms=args.third_party_ms,
                ),
            )  # fmt: skip
            run(
                "floor",
                lambda: latency.floor(
                    sut, rounds=mode.rounds, iterations=mode.floor, xray=not args.no_xray
                ),
            )
            run(
                "publish",
                lambda: overhead.publish_overhead(sut, rounds=mode.rounds, iterations=mode.publish),
            )
            run(
                "router",
                lambda: overhead.router_overhead(
                    sut, rounds=mode.rounds, iterations=mode.router, per_sample=mode.router_batch
                ),
            )
            run(
                "batching",
                lambda: overhead.batching(sut, chunks=mode.batch_chunks, chunk=mode.batch_chunk),
            )
    if "coldstart" in only:
        from . import coldstart

        run("coldstart", lambda: coldstart.cold_start(rounds=mode.cold_rounds))
    if "endtoend" in only:
        from . import endtoend

        run(
            "endtoend",
            lambda: endtoend.end_to_end(requests=mode.e2e_requests, burst=mode.e2e_burst),
        )
    if "sweep" in only:
        from . import sweep

        run("sweep", lambda: sweep.sweep(args.mode))

    meta["seconds"] = time.perf_counter() - began
    meta["load_after"] = report.load_average()
    chart_path = args.out / "latency.png"
    chart_problem = report.chart(chart_path, groups)
    meta["chart"] = None if chart_problem else str(chart_path)
    if chart_problem:
        meta["chart_problem"] = chart_problem
    report.write_json(args.out / "results.json", groups, meta)
    print(report.table(groups, meta))
    print(f"\nwrote {args.out / 'results.json'}" + ("" if chart_problem else f" and {chart_path}"))
    if chart_problem:
        print(f"no chart: {chart_problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
