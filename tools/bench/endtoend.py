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
(each a cold start, logged and counted in the notes), then ``CLIENTS`` clients keep
that many orders in flight (each posts its next order once its chain is done) through
one unmeasured window and the measured ones; a window's rate is the consumer events
that ended inside it. Beside it, the CPU every process of the system spent per event
(from /proc) and so the rate this machine's cores allow at all: on two cores one
worker per function can already be near it, and more workers cannot pass it.

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
import itertools
import json
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
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
        self._lock = threading.Lock()  # the closed loop's clients wait side by side

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
        """When each order's last hop of ``among`` (default all) ended, once all of them have."""
        hops_wanted = set(range(len(_HOPS))) if among is None else among
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                self._read()
                hops = [dict(self.done.get(order_id, {})) for order_id in order_ids]
                seen = self.seen
            if all(hops_wanted <= found.keys() for found in hops):
                return {
                    o: max(end for hop, end in found.items() if hop in hops_wanted)
                    for o, found in zip(order_ids, hops, strict=True)
                }
            left = deadline - time.monotonic()
            if left <= 0:
                missing = sum(1 for found in hops if not hops_wanted <= found.keys())
                raise RuntimeError(f"{missing} order(s) not done after {timeout_s:.0f} s")
            self.system.recorder.wait(seen, min(left, 0.5))

    def ended_between(self, start: float, end: float) -> int:
        """Consumer events (an order's hop) whose invocation ended in ``[start, end)``."""
        with self._lock:
            self._read()
            return sum(
                start <= ended < end for hops in self.done.values() for ended in hops.values()
            )


CONCURRENCY = (1, 4)  # workers per function: one at a time, then scaled out
LATENCY_TARGET_MS = 50.0  # the two-hop chain's p50 on an idle machine
SCALE_OUT_TARGET = 3.0  # the throughput of the most workers per function over one worker's
# Orders in flight during the throughput rounds: each client posts its next order once its
# chain is done, so the system always has work for every worker of the scaled-out run
CLIENTS = 16


def end_to_end(
    *,
    requests: int,
    load_s: float,
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
                        group, system, concurrency, requests, load_s, timeout_s
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
    group: Group, system: Any, concurrency: int, requests: int, load_s: float, timeout_s: float
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
    rates = Samples()
    windows = _steady_load(
        system, orders, lambda: _post(f"{base}/orders", body), rounds, load_s, chain, timeout_s
    )
    cores = os.cpu_count() or 1
    for index, (events_per_s, cpu_by_kind) in enumerate(windows):
        cpu_ms = sum(cpu_by_kind.values())
        for kind in PROCESSES:
            rates.add(f"cpu {kind}", index, cpu_by_kind[kind])
        rates.add("events/s", index, events_per_s)
        rates.add("cpu", index, cpu_ms)
        rates.add("ceiling", index, cores * 1000 / cpu_ms)
        rates.add("share", index, 100 * events_per_s * cpu_ms / 1000 / cores)
    group.rows.append(
        row(f"{label}: sustained consumer events per second", rates.stat("events/s", 50), "ev/s")
    )
    group.rows.append(
        row(f"{label}: CPU per consumer event, every process", rates.stat("cpu", 50), "ms")
    )
    for kind in PROCESSES:
        group.rows.append(
            row(f"{label}: CPU per consumer event, {kind}", rates.stat(f"cpu {kind}", 50), "ms")
        )
    group.rows.append(
        row(
            f"{label}: the CPU-bound ceiling, {cores} cores / CPU per event",
            rates.stat("ceiling", 50),
            "ev/s",
        )
    )
    group.rows.append(row(f"{label}: the machine's CPU in use", rates.stat("share", 50), "%"))
    started_workers = ", ".join(
        f"{name}: {len(pool.workers)}" for name, pool in sorted(system.workers.items())
    )
    group.notes.append(
        f"{label} (workers by the end: {started_workers}; {cold_starts} cold start(s) to "
        f"scale out before the load, outside the timing); "
        f"{requests} sequential requests for p50/p99 in {rounds} rounds; throughput from "
        f"{rounds} rounds of {load_s:g} s with {CLIENTS} orders in flight (a client posts its "
        f"next order when its chain is done) after one unmeasured, counting the consumer "
        f"events ({len(_HOPS)} per order) that ended inside the round; CPU from /proc for "
        f"moto, every worker and this process (front door, delivery, mappings, clients); "
        f"a queue-delivered consumer's latency includes the batching window its manifest "
        f"declares"
    )
    return rates


def _steady_load(
    system: Any,
    orders: _Orders,
    post: Callable[[], str],
    rounds: int,
    seconds: float,
    chain: set[int],
    timeout_s: float,
) -> list[tuple[float, dict[str, float]]]:
    """``CLIENTS`` closed-loop clients for ``rounds + 1`` windows of ``seconds``, the first
    unmeasured: (consumer events/s, CPU ms per event by process) in each measured window.

    A burst timed until its last event is done measures its tail (a queue-delivered
    consumer's batching window, one straggler) more than the rate; counting the events
    that end inside windows of one steady load does not. Every order posted is waited
    for, so nothing is left behind for the next run.
    """
    stop = time.monotonic() + (rounds + 1) * seconds
    posted: list[str] = []

    def client() -> None:
        while time.monotonic() < stop:
            order_id = post()
            posted.append(order_id)
            orders.wait([order_id], timeout_s, chain)

    pids = _pids(system)
    marks: list[tuple[float, dict[str, float]]] = []  # (wall time, CPU s) at each edge
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        clients = [pool.submit(client) for _ in range(CLIENTS)]
        first = time.time()
        for edge in range(1, rounds + 2):
            time.sleep(max(0.0, first + edge * seconds - time.time()))
            marks.append((time.time(), _cpu_s(pids)))
        for future in clients:
            future.result()
    orders.wait(posted, timeout_s)
    windows = []
    for (start, cpu_start), (end, cpu_end) in itertools.pairwise(marks):
        events = orders.ended_between(start, end)
        if not events:
            raise RuntimeError(f"no consumer event ended in {seconds:g} s of load")
        cpu_ms = {kind: (cpu_end[kind] - cpu_start[kind]) * 1000 / events for kind in cpu_end}
        windows.append((events / (end - start), cpu_ms))
    return windows


PROCESSES = ("moto", "workers", "system")  # where an event's CPU goes


def _pids(system: Any) -> dict[str, list[int]]:
    """The local system's processes by kind: moto, every worker, and this one (the front
    door, SNS's receiver, the invokers, the queue pollers and the bench's clients)."""
    workers = [worker.pid for pool in system.workers.values() for worker in pool.workers]
    return {"moto": [system.moto.pid], "workers": workers, "system": [os.getpid()]}


def _cpu_s(pids: dict[str, list[int]]) -> dict[str, float]:
    """User and system CPU seconds so far of each kind's processes, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for kind, numbers in pids.items():
        total = 0
        for pid in numbers:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # a worker replaced meanwhile
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        used[kind] = total / ticks
    return used
