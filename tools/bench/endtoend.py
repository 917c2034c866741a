"""Figure 7: end to end through the local system (``tools.local``, what ``make local`` runs).

The system is started in this process as ``make demo`` starts it (free ports, its own
state directory, quiet), with its worker per service running from the built zip. An
HTTP ``POST /orders`` goes to its front door; the request is done when the last of the
consumer invocations of that order has finished (``order_confirmation``, ``inventory``
and ``order_status`` on ``order.placed``, ``order_status`` on ``inventory.*``), read
from the system's invocation records. The latency figure is the two-hop chain's: the
request to the last of the directly delivered consumers (``order_status`` after
``inventory``). A queue-delivered consumer waits for its batch by declaration (its
manifest's batching window), so its latency is reported on its own row. Throughput is
the steady state: every function's workers are started up to its concurrency first
(each a cold start, logged and counted in the notes) and one unmeasured burst runs,
then each round is a burst of orders from four client threads, timed until every
consumer invocation of every order has finished.

With ``functions_endpoint_url`` (a round-trip proxy in front of the system's moto on
``moto_port``) every AWS call of the functions, the front door's included, is that much
further away, as in Lambda; the system's own SNS delivery and event source mappings,
AWS's side in Lambda, talk to moto directly.

Skipped, with the reason in the table, when the local system is not in this checkout
or does not come up.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

from tools import declarations, topology
from tools.contract import REGION, load_fixture
from tools.progress import Progress

from .report import Group, at_least, ratio_row, row
from .stats import Figure, Samples

# The consumer invocations one order causes: (service, event types it handles there).
_HOPS = (
    ("order_confirmation", ("order.placed",)),
    ("inventory", ("order.placed",)),
    ("order_status", ("order.placed",)),
    ("order_status", ("inventory.reserved", "inventory.rejected")),
)


def _queued_hops() -> set[int]:
    """The hops whose subscription is queue-delivered (batched), from the manifests."""
    queued = {
        (s.service, event_type)
        for s in topology.subscriptions(declarations.services())
        if s.delivery != topology.DIRECT
        for event_type in s.event_types
    }
    return {
        hop
        for hop, (service, event_types) in enumerate(_HOPS)
        if any((service, event_type) in queued for event_type in event_types)
    }


def _post(url: str, body: Any) -> str:
    request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        if answer.status != 202:
            raise RuntimeError(f"POST /orders answered {answer.status}")
        return str(json.loads(answer.read())["order_id"])


class _Orders:
    """When each order's last consumer invocation ended, read from the records as they come.

    The records are read once each, and the reader sleeps on the recorder until a new one
    arrives, so measuring takes no CPU from the system it measures.
    """

    def __init__(self, system: Any) -> None:
        self.system = system
        self.seen = 0
        self.done: dict[str, dict[int, float]] = {}  # order id -> hop index -> first ok end

    def _read(self) -> None:
        invocations = self.system.invocations
        count = len(invocations)
        for record in invocations[self.seen : count]:
            # a queue batch carries several orders: every one of them is done with it
            order_ids = record.get("order_ids") or [record.get("order_id")]
            for order_id in filter(None, order_ids):
                self._hops_done(record, order_id)
        self.seen = count

    def _hops_done(self, record: dict[str, Any], order_id: str) -> None:
        for hop, (service, event_types) in enumerate(_HOPS):
            if record.get("service") != service or record.get("event_type") not in event_types:
                continue
            if record.get("ok"):
                self.done.setdefault(order_id, {}).setdefault(hop, float(record["end"]))
            elif record.get("attempt") == record.get("attempts"):
                raise RuntimeError(f"{service} failed on order {order_id}: {record}")

    def wait(
        self, order_ids: list[str], timeout_s: float, among: set[int] | None = None
    ) -> dict[str, float]:
        """When each order's last hop (of ``among``, default all) ended, once all have."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._read()
            hops = [self.done.get(order_id, {}) for order_id in order_ids]
            if all(len(found) == len(_HOPS) for found in hops):
                return {
                    o: max(end for hop, end in found.items() if among is None or hop in among)
                    for o, found in zip(order_ids, hops, strict=True)
                }
            left = deadline - time.monotonic()
            if left <= 0:
                missing = sum(1 for found in hops if len(found) < len(_HOPS))
                raise RuntimeError(f"{missing} order(s) not done after {timeout_s:.0f} s")
            self.system.recorder.wait(self.seen, min(left, 0.5))


CONCURRENCY = (1, 4)  # workers per function: one at a time, then scaled out
LATENCY_TARGET_MS = 50.0  # the two-hop chain's p50 on an idle machine
SCALE_OUT_TARGET = 3.0  # the throughput of the most workers per function over one worker's


def end_to_end(
    *,
    requests: int,
    burst: int,
    timeout_s: float = 120.0,
    moto_port: int = 0,
    functions_endpoint_url: str | None = None,
) -> Group:
    group = Group("endtoend", "7. End to end through the local system")
    if importlib.util.find_spec("tools.local") is None:
        group.skipped = "local system not available (tools/local is not in this checkout)"
        return group
    try:
        local = importlib.import_module("tools.local.system")
    except Exception as error:
        group.skipped = f"local system not available: {type(error).__name__}: {error}"
        return group
    for name in ("AWS_ENDPOINT_URL", "SERVICE_NAME", "PUBLISHES", "_X_AMZN_TRACE_ID"):
        os.environ.pop(name, None)  # the bench's own moto is gone; the system sets its own
    throughput: dict[int, Samples] = {}
    for concurrency in CONCURRENCY:
        with tempfile.TemporaryDirectory(prefix="bench-local-") as state_dir:
            options = local.Options(
                http_port=0, moto_port=moto_port, state_dir=Path(state_dir), quiet=True,
                color=False, concurrency=concurrency, functions_endpoint_url=functions_endpoint_url,
            )  # fmt: skip
            system = local.System(options)
            system_up = False
            try:
                system.start()
                system_up = True
                with Progress(functools.partial(_progress, system, concurrency)):
                    throughput[concurrency] = _measure(
                        group, system, concurrency, requests, burst, timeout_s
                    )
            except Exception as error:
                what = (
                    "the run through the local system failed"
                    if system_up
                    else "local system not available"
                )
                group.skipped = f"{what}: {type(error).__name__}: {error}"
                return group
            finally:
                system.stop()
    low, high = CONCURRENCY
    per_round = zip(
        throughput[high].pooled("events/s"), throughput[low].pooled("events/s"), strict=True
    )
    group.rows.append(
        ratio_row(
            f"sustained consumer events per second, {high} / {low} workers per function",
            Figure.of([scaled / single for scaled, single in per_round]),
            at_least(SCALE_OUT_TARGET),
        )
    )
    return group


def _scale_out(system: Any) -> int:
    """Every function's workers started up to its concurrency: how many cold starts that took.

    Lambda's steady state under load has its environments warm; a burst timed while
    workers start (a process and a handler import each, on the same cores) measures
    the cold starts instead.
    """
    started = 0
    for pool in system.workers.values():
        while len(pool.workers) < pool.concurrency:
            pool.warm()
            started += 1
    return started


def _progress(system: Any, concurrency: int) -> str:
    counts = system.recorder.counts
    return (
        f"end to end, {concurrency} worker(s) per function: orders published "
        f"{counts[('http', True)]:,}, consumer events handled {counts[('sns', True)]:,}, "
        f"failed {counts[('sns', False)]:,}, dead-lettered {counts[('dlq', False)]:,}"
    )


def _measure(
    group: Group, system: Any, concurrency: int, requests: int, burst: int, timeout_s: float
) -> Samples:
    label = f"{concurrency} worker{'s' if concurrency > 1 else ''} per function"
    base = f"http://127.0.0.1:{system.front_door.port}"
    body = load_fixture("post-orders.body")
    # Enough stock that every order is reserved, as in the headline (the seed has 100).
    stock = boto3.client("dynamodb", endpoint_url=system.endpoint_url, region_name=REGION)
    for item in body["items"]:
        stock.put_item(
            TableName=system.provisioned.tables["stock"],
            Item={"sku": {"S": item["sku"]}, "available": {"N": str(10**12)}},
        )
    orders = _Orders(system)
    orders.wait([_post(f"{base}/orders", body)], timeout_s)  # warm-up
    queued = _queued_hops()
    chain = set(range(len(_HOPS))) - queued
    samples = Samples()
    rounds = 3 if requests >= 3 else 1
    for index in range(requests):
        started = time.time()
        order_id = _post(f"{base}/orders", body)
        # every hop done before the next request, so no batch overlaps the next chain
        orders.wait([order_id], timeout_s)
        for name, among in (("chain", chain), ("queued", queued)):
            if among:
                end = orders.wait([order_id], timeout_s, among)[order_id]
                samples.add(name, index % rounds, (end - started) * 1000)
    for q in (50, 99):
        group.rows.append(
            row(
                f"{label}: HTTP request to last consumer of the two-hop chain done p{q}",
                samples.stat("chain", q),
                "ms",
                target=LATENCY_TARGET_MS if q == 50 else None,
            )
        )
    group.distributions[f"request to last consumer of the chain ({label})"] = samples.pooled(
        "chain"
    )
    if queued:
        consumers = ", ".join(sorted({_HOPS[hop][0] for hop in queued}))
        group.rows.append(
            row(
                f"{label}: HTTP request to queue-delivered consumer ({consumers}) done p50",
                samples.stat("queued", 50),
                "ms",
            )
        )
    cold_starts = _scale_out(system)
    bursts = Samples()
    size = max(1, burst // rounds)

    def timed_burst() -> float:
        started = time.time()
        with ThreadPoolExecutor(max_workers=4) as pool:
            order_ids = list(pool.map(lambda _: _post(f"{base}/orders", body), range(size)))
        ends = orders.wait(order_ids, timeout_s)
        return max(ends.values()) - started

    timed_burst()  # warm-up: every worker's first invocations, moto's first items
    for index in range(rounds):
        elapsed = timed_burst()
        bursts.add("events/s", index, size * len(_HOPS) / elapsed)
        bursts.add("orders/s", index, size / elapsed)
    group.rows.append(
        row(f"{label}: sustained consumer events per second", bursts.stat("events/s", 50), "ev/s")
    )
    group.rows.append(
        row(f"{label}: sustained orders per second", bursts.stat("orders/s", 50), "orders/s")
    )
    started_workers = ", ".join(
        f"{name}: {len(pool.workers)}" for name, pool in sorted(system.workers.items())
    )
    group.notes.append(
        f"{label} (workers by the end: {started_workers}; {cold_starts} cold start(s) to "
        f"scale out before the bursts, outside the timing); "
        f"{requests} sequential requests for p50/p99 in {rounds} rounds; throughput from "
        f"{rounds} bursts of {size} orders sent by 4 client threads after one unmeasured, "
        f"{len(_HOPS)} consumer events each; a queue-delivered consumer's latency includes "
        f"the batching window its manifest declares"
    )
    return bursts
