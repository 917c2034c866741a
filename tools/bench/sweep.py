"""The republish sweep against table size: the same 10 owed orders among 1,000 and among
100,000, swept through the sparse ``owed`` index (orders_api's ``store.pending_orders``)
and, for contrast, by the Scan the sweep used to make.

Items read is what DynamoDB bills a sweep for (``ScannedCount``, one read unit per 4 KB
read); it is the figure that says whether the sweep is flat. The time is moto's: moto
answers an index query by walking every item of the table, so its query time grows with
the table where DynamoDB reads only the index partition's matching items.
"""

from __future__ import annotations

import importlib
import os
import time
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
from botocore.config import Config

import messaging
from tools.contract import lambda_environment, provision, use_endpoint

from .harness import raw_client, silence_logs
from .moto_server import moto_server
from .report import Group, fact, ratio_row, row
from .stats import Figure, percentile

OWED = 10
# Orders in the table per mode: the small and the large figure. Writing 100,000 orders
# to moto takes minutes on two cores, so quick mode stops at 20,000 (docs/performance.md).
SIZES = {"full": (1_000, 100_000), "quick": (1_000, 20_000), "tiny": (100, 1_000)}
# Few sweeps: at 100,000 orders one sweep takes moto most of a minute.
SWEEPS = {"full": 3, "quick": 2, "tiny": 2}
_DELIVERED_AT = "2026-01-01T00:00:00Z"
_OWED_AT = "2026-01-01T00:00:30Z"
_CUTOFF = "2026-01-01T00:01:00Z"
_BATCH = 25  # BatchWriteItem's most items per call


def _fill(table: str, count: int) -> None:
    """Add ``count`` delivered orders (no outbox attributes) in batches of 25."""
    dynamodb = raw_client("dynamodb")
    for start in range(0, count, _BATCH):
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "order_id": {"S": str(uuid.uuid4())},
                        "placed_at": {"S": _DELIVERED_AT},
                        "total_cents": {"N": "3399"},
                    }
                }
            }
            for _ in range(min(_BATCH, count - start))
        ]
        pending: dict[str, Any] = {table: requests}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems", {})


def _owe(store: ModuleType, count: int) -> None:
    for _ in range(count):
        order_id = str(uuid.uuid4())
        order = {"order_id": order_id, "placed_at": _OWED_AT, "total_cents": 3399}
        store.put_order(order, f'{{"id": "{order_id}"}}', None)


def _measured(sweep: Callable[[], int], reads: list[int], sweeps: int) -> tuple[Figure, int]:
    """Median sweep time over ``sweeps`` runs, and the items one sweep read."""
    times = []
    for _ in range(sweeps):
        reads.clear()
        started = time.perf_counter()
        found = sweep()
        times.append((time.perf_counter() - started) * 1000)
        assert found == OWED, f"the sweep found {found} owed orders, not {OWED}"
    return Figure(percentile(times, 50), min(times), max(times), len(times)), sum(reads)


def sweep(mode: str) -> Group:
    group = Group(
        "sweep",
        f"Outbox sweep: {OWED} owed orders among {SIZES[mode][0]:,} and {SIZES[mode][1]:,}",
    )
    silence_logs()
    with moto_server() as endpoint:
        use_endpoint(endpoint)
        provisioned = provision("local", endpoint_url=endpoint)
        os.environ.update(lambda_environment("orders_api", topic_arns=provisioned.topic_arns))
        # moto walks the whole table for an index query: seconds at 100,000 orders, past
        # the 2 s read timeout the function keeps for DynamoDB's milliseconds.
        os.environ["MESSAGING_READ_TIMEOUT_S"] = "120"
        messaging.reset()
        store = importlib.import_module("orders_api.store")
        table = provisioned.tables["orders"]
        reads: list[int] = []

        def count(parsed: dict[str, Any], **_: Any) -> None:
            reads.append(int(parsed.get("ScannedCount", 0)))

        messaging.aws_client("dynamodb").meta.events.register("after-call.dynamodb.Query", count)
        scanner = boto3.client(
            "dynamodb", config=Config(read_timeout=120, retries={"mode": "standard"})
        )
        scanner.meta.events.register("after-call.dynamodb.Scan", count)

        def by_index() -> int:
            return len(store.pending_orders(_CUTOFF))

        def by_scan() -> int:
            # The sweep before the index: every item read, the owed ones filtered out.
            found = 0
            kwargs: dict[str, Any] = {
                "TableName": table,
                "FilterExpression": "attribute_exists(pending_event) AND placed_at < :cutoff",
                "ExpressionAttributeValues": {":cutoff": {"S": _CUTOFF}},
            }
            while True:
                page = scanner.scan(**kwargs)
                found += int(page["Count"])
                if "LastEvaluatedKey" not in page:
                    return found
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        _owe(store, OWED)
        figures: dict[int, tuple[Figure, int]] = {}
        in_table = OWED
        for size in SIZES[mode]:
            started = time.perf_counter()
            _fill(table, size - in_table)
            in_table = size
            filled_s = time.perf_counter() - started
            figures[size] = _measured(by_index, reads, SWEEPS[mode])
            scan_time, scan_reads = _measured(by_scan, reads, 1)
            time_figure, items = figures[size]
            group.rows += [
                row(f"index sweep, {size:,} orders: time", time_figure, "ms"),
                row(f"index sweep, {size:,} orders: items read", _exact(items), "items", OWED),
                row(f"Scan sweep (before), {size:,} orders: time", scan_time, "ms"),
                row(
                    f"Scan sweep (before), {size:,} orders: items read",
                    _exact(scan_reads),
                    "items",
                ),
            ]
            group.notes.append(f"{size - OWED:,} delivered orders written in {filled_s:.0f} s")
        small, large = SIZES[mode]
        group.rows.append(
            ratio_row(
                f"index sweep items read, {large:,} / {small:,} orders",
                _exact(figures[large][1] / figures[small][1]),
                1.0,
            )
        )
        group.rows.append(
            ratio_row(
                f"index sweep time, {large:,} / {small:,} orders",
                _exact(figures[large][0].median / figures[small][0].median),
            )
        )
        group.rows.append(
            fact(
                "index sweep time",
                "grows with the table on moto only: its index query walks every item",
            )
        )
        messaging.reset()
    return group


def _exact(value: float) -> Figure:
    """A count measured once: its median, low and high are the count (floats, as every figure)."""
    count = float(value)
    return Figure(count, count, count, 1)
