"""Cost of local SNS delivery as events pile up: ``python -m tools.bench.delivery``.

The local system runs ``order_confirmation`` throttled (concurrency 0), so every event
published to its topic is delivered and waits in its asynchronous queue, and none is
handled. Events go out in ``PublishBatch`` calls of 10; each call is timed from the
request until moto answers, which is after it has POSTed every notification to the
system's receiver and the receiver has queued it: publish and delivery together. The
figures compare the first ``WINDOW`` events published (0-500 queued) with the last (the
pile nearly full): the median wall time per event, and the CPU time per event of the
moto server and of this process (the receiver, the queue and the publishing client),
read from ``/proc``, which a busy machine disturbs far less than wall time.

    python -m tools.bench.delivery [--events 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import messaging
from messaging import new_event, publish_many
from tools.contract import lambda_environment, load_fixture, use_endpoint
from tools.local.system import Options, System
from tools.progress import Progress

CONSUMER = "order_confirmation"
PUBLISHER = "orders_api"
BATCH = 10
WINDOW = 500  # events at each end of the pile compared
TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int | str) -> float:
    """User + system CPU seconds of process ``pid`` (``self``: this one), all threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S


def measure(events: int) -> dict[str, float]:
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as state_dir:
        options = Options(
            http_port=0, moto_port=0, state_dir=Path(state_dir), services=[CONSUMER],
            quiet=True, color=False, concurrency=0,
        )  # fmt: skip
        system = System(options)
        try:
            system.start()
            assert system.provisioned
            use_endpoint(system.endpoint_url)
            messaging.reset()
            messaging.configure(
                lambda_environment(
                    PUBLISHER, environment="local", topic_arns=system.provisioned.topic_arns
                )
            )
            queue = system.invokers[CONSUMER]
            assert system.moto
            moto_pid = system.moto.pid
            per_event: list[tuple[int, float]] = []  # (queued before the call, ms per event)
            cpu: list[tuple[float, float]] = [(cpu_s(moto_pid), cpu_s("self"))]  # per batch
            began: list[tuple[int, float]] = []

            def before(params: dict[str, Any], **_: Any) -> None:
                began.append((queue.depth, time.perf_counter()))

            def after(**_: Any) -> None:
                queued, at = began.pop()
                per_event.append((queued, (time.perf_counter() - at) * 1000 / BATCH))
                cpu.append((cpu_s(moto_pid), cpu_s("self")))

            events_hooks = messaging.aws_client("sns").meta.events
            events_hooks.register("before-call.sns.PublishBatch", before, unique_id="pile-in")
            events_hooks.register("after-call.sns.PublishBatch", after, unique_id="pile-out")
            template = load_fixture("order.placed")
            with Progress(lambda: f"published {len(per_event) * BATCH:,}/{events:,}"):
                for start in range(0, events, BATCH):
                    publish_many(
                        [
                            new_event(
                                "order.placed",
                                {**template, "order_id": f"pile-{n:06d}", "fulfilment": "digital"},
                            )
                            for n in range(start, start + BATCH)
                        ]
                    )
            if queue.depth != events:
                raise RuntimeError(f"{queue.depth} of {events} events were delivered")
            low = [ms for queued, ms in per_event if queued < WINDOW]
            high = [ms for queued, ms in per_event if queued >= events - WINDOW]
            batches = WINDOW // BATCH

            def cpu_ms(first: int, which: int) -> float:
                spent = cpu[first + batches][which] - cpu[first][which]
                return round(spent * 1000 / WINDOW, 3)

            last = len(cpu) - 1 - batches
            return {
                "events": events,
                "wall_ms_per_event_first": round(statistics.median(low), 3),
                "wall_ms_per_event_last": round(statistics.median(high), 3),
                "moto_cpu_ms_per_event_first": cpu_ms(0, 0),
                "moto_cpu_ms_per_event_last": cpu_ms(last, 0),
                "local_cpu_ms_per_event_first": cpu_ms(0, 1),
                "local_cpu_ms_per_event_last": cpu_ms(last, 1),
            }
        finally:
            system.stop()
            messaging.reset()
            os.environ.clear()
            os.environ.update(saved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args(argv)
    if args.events < 2 * WINDOW or args.events % BATCH:
        parser.error(f"--events must be a multiple of {BATCH}, at least {2 * WINDOW}")
    result = measure(args.events)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
