"""Figure 9: events per second of a queue-delivered consumer at batch sizes 1 and 10.

The local system runs ``order_confirmation`` alone, fed through its SQS queue by the
event source mapping (``tools/local/event_source_mapping.py``) at its manifest's
maximum concurrency and batching window. Each round publishes a burst of ``order.placed``
events from this process (``publish_many``, as orders_api does) and is timed from the
first publish until the last of them was in a batch that succeeded, read from the
system's invocation records. Both batch sizes run in one system, switched between
rounds as ``UpdateEventSourceMapping`` would; every round's emails are counted
afterwards, one per event, so a figure never counts events that were not handled.

Skipped, with the reason in the table, when the local system does not come up.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import messaging
from messaging import new_event, publish_many
from tools.contract import lambda_environment, load_fixture
from tools.progress import Progress

from .report import Group, ratio_row, row
from .stats import Figure, Samples

CONSUMER = "order_confirmation"
PUBLISHER = "orders_api"
BATCH_SIZES = (1, 10)


def queue_throughput(*, events: int, rounds: int, timeout_s: float = 300.0) -> Group:
    group = Group("queue", "9. Queue-delivered consumer, events per second by batch size")
    try:
        local = importlib.import_module("tools.local.system")
    except Exception as error:
        group.skipped = f"local system not available: {type(error).__name__}: {error}"
        return group
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as state_dir:
        options = local.Options(
            http_port=0, moto_port=0, state_dir=Path(state_dir), services=[CONSUMER],
            quiet=True, color=False,
        )  # fmt: skip
        system = local.System(options)
        try:
            system.start()
            samples = _measure(system, events, rounds, timeout_s)
        except Exception as error:
            group.skipped = (
                f"the run through the local system failed: {type(error).__name__}: {error}"
            )
            return group
        finally:
            system.stop()
            os.environ.clear()
            os.environ.update(saved)
            messaging.reset()
    [mapped] = [q.settings for q in system.mappings.queues if q.service == CONSUMER]
    for size in BATCH_SIZES:
        group.rows.append(
            row(f"batch size {size}: events per second", samples.stat(f"batch {size}", 50), "ev/s")
        )
    for size in BATCH_SIZES:
        group.rows.append(
            row(
                f"batch size {size}: handler time per event, p50",
                samples.stat(f"handler batch {size}", 50),
                "ms",
            )
        )
    low, high = BATCH_SIZES
    per_round = zip(samples.pooled(f"batch {high}"), samples.pooled(f"batch {low}"), strict=True)
    group.rows.append(
        ratio_row(
            f"batch size {high} / {low}, events per second",
            Figure.of([batched / single for batched, single in per_round]),
        )
    )
    group.notes.append(
        f"{rounds} round(s) of {events} events per batch size, published in one burst each; "
        f"maximum concurrency {mapped.maximum_concurrency}, batching window "
        f"{mapped.maximum_batching_window_s} s (the manifest's), {options.concurrency} workers "
        f"at most; from the first publish to the last event's batch done; handler time "
        f"per event = the worker's invocation time over the batch's size"
    )
    return group


def _measure(system: Any, events: int, rounds: int, timeout_s: float) -> Samples:
    messaging.reset()
    messaging.configure(
        lambda_environment(PUBLISHER, environment="local", topic_arns=system.provisioned.topic_arns)
    )
    template = load_fixture("order.placed")
    samples = Samples()
    run = uuid.uuid4().hex[:8]
    sent: list[str] = []
    with Progress(lambda: _progress(system, len(sent))):
        # warm-up, not timed: each poller's worker started and its clients made
        warm = [f"{run}-warm-{n}" for n in range(4)]
        seen = len(system.invocations)
        publish_many(new_event("order.placed", {**template, "order_id": o}) for o in warm)
        sent.extend(warm)
        _wait(system, set(warm), seen, timeout_s)
        for index in range(rounds):
            for size in BATCH_SIZES:
                system.mappings.update(CONSUMER, batch_size=size)
                order_ids = [f"{run}-{size}-{index}-{n:05d}" for n in range(events)]
                seen = len(system.invocations)
                started = time.time()
                publish_many(
                    new_event("order.placed", {**template, "order_id": order_id})
                    for order_id in order_ids
                )
                sent.extend(order_ids)
                ended, per_event_ms = _wait(system, set(order_ids), seen, timeout_s)
                samples.add(f"batch {size}", index, events / (ended - started))
                for value in per_event_ms:
                    samples.add(f"handler batch {size}", index, value)
    _check_once(system, sent)
    return samples


def _wait(
    system: Any, order_ids: set[str], seen: int, timeout_s: float
) -> tuple[float, list[float]]:
    """When the last of ``order_ids`` was in a batch that succeeded (records from ``seen``
    on), and the handler's time per event of each batch that carried them."""
    deadline = time.monotonic() + timeout_s
    last = 0.0
    per_event_ms: list[float] = []
    left = set(order_ids)
    while left:
        invocations = system.invocations
        count = len(invocations)
        for record in invocations[seen:count]:
            if record.get("source") != "sqs":
                continue
            if not record.get("ok"):
                raise RuntimeError(f"{CONSUMER} failed a batch: {record.get('error_message')}")
            done = left.intersection(record.get("order_ids", ()))
            if done:
                left -= done
                last = max(last, float(record["end"]))
                per_event_ms.append(float(record["duration_ms"]) / record["batch_size"])
        seen = count
        remaining = deadline - time.monotonic()
        if left and remaining <= 0:
            raise RuntimeError(f"{len(left)} event(s) not handled after {timeout_s:.0f} s")
        if left:
            system.recorder.wait(seen, min(remaining, 0.5))
    return last, per_event_ms


def _check_once(system: Any, order_ids: list[str]) -> None:
    """One confirmation email per event published, or the figures are not of handled events."""
    from tools.local.client import sent_emails

    subjects = [str(m.get("subject", "")) for m in sent_emails(system.endpoint_url, timeout_s=60)]
    expected = sorted(f"Order {order_id} confirmed" for order_id in order_ids)
    if sorted(s for s in subjects if s in set(expected)) != expected:
        raise RuntimeError("the consumer did not send exactly one email per event published")


def _progress(system: Any, published: int) -> str:
    counts = system.recorder.counts
    return (
        f"queue throughput: events published {published:,}, batches ok "
        f"{counts[('sqs', True)]:,}, failed {counts[('sqs', False)]:,}"
    )
