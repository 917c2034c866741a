"""Figure 7: end to end through the local system (``tools.local``, what ``make local`` runs).

The system is started in this process as ``make demo`` starts it (free ports, its own
state directory, quiet), with its worker per service running from the built zip. An
HTTP ``POST /orders`` goes to its front door; the request is done when the last of the
three consumer invocations of that order has finished (``order_confirmation`` and
``inventory`` on ``order.placed``, ``order_status`` on ``inventory.*``), read from the
system's invocation records. Throughput: a burst of orders from four client threads,
timed until every consumer invocation of every order has finished.

Skipped, with the reason in the table, when the local system is not in this checkout
or does not come up.
"""

from __future__ import annotations

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

from tools.contract import REGION, load_fixture

from .report import Group, row
from .stats import Samples

# The consumer invocations one order causes: (service, event types it handles there).
_HOPS = (
    ("order_confirmation", ("order.placed",)),
    ("inventory", ("order.placed",)),
    ("order_status", ("order.placed",)),
    ("order_status", ("inventory.reserved", "inventory.rejected")),
)


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


def _finished(invocations: list[dict[str, Any]], order_id: str) -> float | None:
    """When the last consumer invocation of ``order_id`` ended (epoch s), once all have."""
    ends = []
    for service, event_types in _HOPS:
        found = [
            i
            for i in invocations
            if i.get("order_id") == order_id
            and i.get("service") == service
            and i.get("event_type") in event_types
        ]
        failed = [i for i in found if not i.get("ok")]
        if failed and failed[-1].get("attempt") == failed[-1].get("attempts"):
            raise RuntimeError(f"{service} failed on order {order_id}: {failed[-1]}")
        done = [i for i in found if i.get("ok")]
        if not done:
            return None
        ends.append(float(done[0]["end"]))
    return max(ends)


def _wait(system: Any, order_ids: list[str], timeout_s: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout_s
    pending = set(order_ids)
    ends: dict[str, float] = {}
    while pending:
        invocations = list(system.invocations)
        for order_id in list(pending):
            end = _finished(invocations, order_id)
            if end is not None:
                ends[order_id] = end
                pending.discard(order_id)
        if pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(pending)} order(s) not done after {timeout_s:.0f} s")
            time.sleep(0.002)
    return ends


def end_to_end(*, requests: int, burst: int, timeout_s: float = 120.0) -> Group:
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
    with tempfile.TemporaryDirectory(prefix="bench-local-") as state_dir:
        options = local.Options(
            http_port=0, moto_port=0, state_dir=Path(state_dir), quiet=True, color=False
        )
        system = local.System(options)
        system_up = False
        try:
            system.start()
            system_up = True
            return _measure(group, system, requests, burst, timeout_s)
        except Exception as error:
            what = (
                "the run through the local system failed"
                if system_up
                else ("local system not available")
            )
            group.skipped = f"{what}: {type(error).__name__}: {error}"
            return group
        finally:
            system.stop()


def _measure(group: Group, system: Any, requests: int, burst: int, timeout_s: float) -> Group:
    base = f"http://127.0.0.1:{system.front_door.port}"
    body = load_fixture("post-orders.body")
    # Enough stock that every order is reserved, as in the headline (the seed has 100).
    stock = boto3.client("dynamodb", endpoint_url=system.endpoint_url, region_name=REGION)
    for item in body["items"]:
        stock.put_item(
            TableName=system.provisioned.tables["stock"],
            Item={"sku": {"S": item["sku"]}, "available": {"N": str(10**12)}},
        )
    _wait(system, [_post(f"{base}/orders", body)], timeout_s)  # warm-up
    samples = Samples()
    rounds = 3 if requests >= 3 else 1
    for index in range(requests):
        started = time.time()
        order_id = _post(f"{base}/orders", body)
        end = _wait(system, [order_id], timeout_s)[order_id]
        samples.add("request to last consumer", index % rounds, (end - started) * 1000)
    for q in (50, 99):
        group.rows.append(
            row(
                f"HTTP request to last consumer done p{q}",
                samples.stat("request to last consumer", q),
                "ms",
            )
        )
    group.distributions = {"request to last consumer": samples.pooled("request to last consumer")}
    bursts = Samples()
    size = max(1, burst // rounds)
    for index in range(rounds):
        started = time.time()
        with ThreadPoolExecutor(max_workers=4) as pool:
            order_ids = list(pool.map(lambda _: _post(f"{base}/orders", body), range(size)))
        ends = _wait(system, order_ids, timeout_s)
        elapsed = max(ends.values()) - started
        bursts.add("events/s", index, size * len(_HOPS) / elapsed)
        bursts.add("orders/s", index, size / elapsed)
    group.rows.append(
        row("sustained consumer events per second", bursts.stat("events/s", 50), "ev/s")
    )
    group.rows.append(row("sustained orders per second", bursts.stat("orders/s", 50), "orders/s"))
    workers = ", ".join(f"{name}: 1" for name in sorted(system.workers))
    group.notes.append(
        f"consumer pool as tools.local runs it: one worker process per function ({workers}); "
        f"{requests} sequential requests for p50/p99 in {rounds} rounds; throughput from "
        f"{rounds} bursts of {size} orders sent by 4 client threads, "
        f"{len(_HOPS)} consumer events each"
    )
    return group
