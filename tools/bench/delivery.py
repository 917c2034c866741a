"""Cost of local SNS delivery as events pile up: ``python -m tools.bench.delivery``.

The local system runs ``order_confirmation`` throttled (concurrency 0), so every event
published to its topic is delivered and waits in its asynchronous queue, and none is
handled. Events go out in ``PublishBatch`` calls of 10; each call is timed from the
request until moto answers, which is after it has POSTed every notification to the
system's receiver and the receiver has queued it: publish and delivery together. The
figure is the time per event while 0-100 events are queued against the time when
``--events`` minus 100 to ``--events`` are.

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
WINDOW = 100  # events at each end of the pile compared


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
            per_event: list[tuple[int, float]] = []  # (queued before the call, ms per event)
            began: list[tuple[int, float]] = []

            def before(params: dict[str, Any], **_: Any) -> None:
                began.append((queue.depth, time.perf_counter()))

            def after(**_: Any) -> None:
                queued, at = began.pop()
                per_event.append((queued, (time.perf_counter() - at) * 1000 / BATCH))

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
            return {
                "events": events,
                "ms_per_event_first": round(statistics.median(low), 3),
                "ms_per_event_last": round(statistics.median(high), 3),
                "last_over_first": round(statistics.median(high) / statistics.median(low), 3),
                **{
                    f"ms_per_event_at_{bucket}": round(
                        statistics.median(
                            ms for q, ms in per_event if bucket <= q < bucket + WINDOW
                        ),
                        3,
                    )
                    for bucket in range(0, events, max(WINDOW, events // 10))
                },
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
