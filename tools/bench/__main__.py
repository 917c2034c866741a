"""``python -m tools.bench [--mode full|quick|tiny] [--rtt-ms 0,10]``: every figure, as a table.

``--only coldstart --backends off --pairs 100`` measures the cold start of the ``off``
variants alone in 100 paired rounds (a few minutes), enough to decide its goal.

Writes ``<out>/results.json`` and ``<out>/latency.png`` (``bench/`` by default, not
committed). The AWS endpoint is a moto server started on a free 127.0.0.1 port and
always stopped; for each round trip above 0 ms a loopback proxy in front of it
(``rtt_proxy``) delays every AWS call by that much, and the groups that depend on
round trips are measured again through it, in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
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
    e2e_load_s: float  # each throughput window of the end-to-end group
    queue_rounds: int  # rounds of...
    queue_events: int  # ...this many events published at each batch size


MODES = {
    "full": Mode(7, 200, 200, 300, 20, 200, 12, 250, 25, 60, 10.0, 3, 500),
    "quick": Mode(3, 40, 50, 60, 10, 100, 4, 250, 5, 15, 4.0, 2, 200),
    "tiny": Mode(2, 3, 3, 3, 2, 5, 2, 10, 1, 2, 1.0, 1, 10),
}
GROUPS = (
    "headline", "floor", "publish", "router", "batching", "coldstart", "endtoend", "sweep",
    "queue",
)  # fmt: skip
AWS_GROUPS = ("headline", "floor", "publish", "router", "batching")  # against moto
PER_ROUND_TRIP = ("headline", "floor", "publish", "batching", "endtoend")  # for each --rtt-ms
DEFAULT_RTT_MS = "0,10"
PUBLISHERS = ("headline", "floor", "publish", "batching")  # groups that time an SNS publish
FAN_OUT_NOTES = {
    "after-answer": "fan-out after the answer, as SNS does: moto queues each message's "
    "deliveries to its subscriptions and makes them on a thread of its own while it has no "
    "request to answer, and all of them before queues are replaced (off the clock)",
    "in-request": "fan-out inside the request, as moto does: each message's deliveries to "
    "its subscriptions are on the publisher's clock",
}


def round_trips(text: str) -> list[float]:
    """``"0,10"`` -> ``[0.0, 10.0]``: distinct, in the order given; an error names a bad one."""
    found: list[float] = []
    for part in (p.strip() for p in text.split(",")):
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of milliseconds: {part!r}") from None
        if not 0 <= value <= 10_000:
            raise argparse.ArgumentTypeError(f"round trip {part} ms is outside 0..10000")
        if value not in found:
            found.append(value)
    return found


def _backends(text: str) -> list[str]:
    from .coldstart import backend_list

    try:
        return backend_list(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


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
    parser.add_argument(
        "--rtt-ms",
        type=round_trips,
        default=round_trips(DEFAULT_RTT_MS),
        help="comma-separated round trips added to every AWS call, each measured in this run "
        f"({', '.join(PER_ROUND_TRIP)}; default {DEFAULT_RTT_MS}; 0 = moto directly)",
    )
    parser.add_argument(
        "--fan-out",
        choices=sorted(FAN_OUT_NOTES),
        default="after-answer",
        help="when moto's SNS delivers to subscriptions: after Publish has answered, as AWS "
        "does (default), or inside the request, as moto does",
    )
    parser.add_argument(
        "--backends",
        type=_backends,
        default=None,
        help="coldstart: comma-separated tracing backends to measure (off, xray, otel, "
        "otel-protobuf; default all)",
    )
    parser.add_argument(
        "--pairs",
        type=_positive,
        default=None,
        help="coldstart: paired rounds (default the mode's: 25 full, 5 quick, 1 tiny)",
    )
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
        "rtt_ms": args.rtt_ms,
        "fan_out": args.fan_out,
    }
    began = time.perf_counter()
    groups: list[Group] = []

    def run(name: str, make: Callable[[], Group | tuple[Group, ...]], proxy: Any = None) -> None:
        if name not in only:
            return
        label = name if proxy is None else f"{name} at {proxy.rtt_ms:g} ms"
        print(f"bench: {label}...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        requests_before = proxy.requests if proxy is not None else 0
        made = make()
        for group in made if isinstance(made, tuple) else (made,):
            group.seconds = time.perf_counter() - started
            if name in PUBLISHERS:
                group.notes.append(FAN_OUT_NOTES[args.fan_out])
            if proxy is not None:
                group.rtt_ms = proxy.rtt_ms
                group.id += f"@{proxy.rtt_ms:g}ms"
                group.title += f", every AWS call {proxy.rtt_ms:g} ms further away"
                group.notes.append(
                    f"{proxy.requests - requests_before:,} AWS requests passed the loopback "
                    f"proxy, each delayed by a {proxy.rtt_ms:g} ms round trip"
                )
            groups.append(group)
        print(f"bench: {label} done in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    if set(AWS_GROUPS) & set(only):
        from . import harness

        after_answer = args.fan_out == "after-answer"
        with (
            moto_server(fan_out_after_answer=after_answer) as moto,
            contextlib.ExitStack() as proxies,
            harness.metric_lines_to_devnull(),
        ):
            from messaging.aws import reset_clients

            from . import latency, overhead
            from .rtt_proxy import RoundTripProxy

            at: dict[float, Any] = {
                rtt: proxies.enter_context(RoundTripProxy(moto, rtt_ms=rtt)) if rtt else None
                for rtt in args.rtt_ms
            }
            use_endpoint(moto)
            sut = harness.start(moto, fan_out_after_answer=after_answer)
            makers: dict[str, Callable[[], Group]] = {
                "headline": lambda: latency.headline(
                    sut, rounds=mode.rounds, iterations=mode.headline,
                    third_party_ms=args.third_party_ms,
                ),
                "floor": lambda: latency.floor(
                    sut, rounds=mode.rounds, iterations=mode.floor, xray=not args.no_xray
                ),
                "publish": lambda: overhead.publish_overhead(
                    sut, rounds=mode.rounds, iterations=mode.publish
                ),
                "router": lambda: overhead.router_overhead(
                    sut, rounds=mode.rounds, iterations=mode.router, per_sample=mode.router_batch
                ),
                "batching": lambda: overhead.batching(
                    sut, chunks=mode.batch_chunks, chunk=mode.batch_chunk
                ),
            }  # fmt: skip
            for name in AWS_GROUPS:
                for index, proxy in enumerate(at.values()):
                    if index and name not in PER_ROUND_TRIP:
                        continue  # measured once, at the first round trip given
                    # Every client made from here on talks to this endpoint; the package's
                    # cached ones are dropped so they do too.
                    use_endpoint(moto if proxy is None else proxy.url)
                    reset_clients()
                    run(name, makers[name], proxy)
    if "coldstart" in only:
        from . import coldstart

        pairs = args.pairs or mode.cold_rounds
        run("coldstart", lambda: coldstart.cold_start(rounds=pairs, backends=args.backends))
    if "endtoend" in only:
        from tools.local.processes import free_port

        from . import endtoend
        from .rtt_proxy import RoundTripProxy

        def end_to_end(proxy: Any, moto_port: int) -> Group:
            return endtoend.end_to_end(
                requests=mode.e2e_requests, load_s=mode.e2e_load_s, moto_port=moto_port,
                functions_endpoint_url=proxy.url if proxy else None,
            )  # fmt: skip

        for rtt in args.rtt_ms:
            # The proxy must exist before the system's workers start: moto's port is
            # chosen here, and the workers are pointed at the proxy in front of it.
            moto_port = free_port(0, "moto server", "--rtt-ms") if rtt else 0
            with (
                RoundTripProxy(f"http://127.0.0.1:{moto_port}", rtt_ms=rtt)
                if rtt
                else contextlib.nullcontext()
            ) as proxy:
                run("endtoend", functools.partial(end_to_end, proxy, moto_port), proxy)
    if "sweep" in only:
        from . import sweep

        run("sweep", lambda: sweep.sweep(args.mode))
    if "queue" in only:
        from . import queue_throughput

        run(
            "queue",
            lambda: queue_throughput.queue_throughput(
                events=mode.queue_events, rounds=mode.queue_rounds
            ),
        )

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
