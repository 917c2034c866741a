"""A subscription's ``delivery``: validated naming the file and field, defaulted once."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tools import declarations, topology

SCHEMA = json.loads(declarations.MANIFEST_SCHEMA.read_text())
QUEUE_SCHEMA = SCHEMA["properties"]["subscribes"]["items"]["properties"]["queue"]["properties"]


def _services_with(tmp_path: Path, subscription: dict[str, Any], **fields: Any) -> Any:
    manifest = json.loads((declarations.SERVICES_DIR / "order_status" / "service.json").read_text())
    manifest.update(fields)
    manifest["subscribes"] = [subscription]
    path = tmp_path / "queued" / "service.json"
    path.parent.mkdir()
    path.write_text(json.dumps(manifest))
    return path


@pytest.mark.parametrize(
    ("subscription", "message"),
    [
        (
            {"event_type": "order.placed", "delivery": "kafka"},
            r"\$\.subscribes\[0\]\.delivery: must be one of \['direct', 'queue'\]",
        ),
        (
            {
                "event_type": "order.placed",
                "delivery": "queue",
                "queue": {"maximum_concurrency": 1},
            },
            r"\$\.subscribes\[0\]\.queue\.maximum_concurrency: must be bigger than or equal to 2",
        ),
        (
            {
                "event_type": "order.placed",
                "delivery": "queue",
                "queue": {"maximum_concurrency": 1001},
            },
            r"queue\.maximum_concurrency: must be smaller than or equal to 1000",
        ),
        (
            {"event_type": "order.placed", "delivery": "queue", "queue": {"batch_size": 0}},
            r"\$\.subscribes\[0\]\.queue\.batch_size: must be bigger than or equal to 1",
        ),
        (
            # Lambda refuses a batch above 10 without a batching window.
            {"event_type": "order.placed", "delivery": "queue", "queue": {"batch_size": 50}},
            r"queue\.maximum_batching_window_s: must be bigger than or equal to 1",
        ),
        (
            {"event_type": "order.placed", "delivery": "queue", "queue": {"retention": 5}},
            r"\$\.subscribes\[0\]\.queue\.retention: is not an allowed field",
        ),
        (
            # Queue settings on a direct subscription would be silently ignored.
            {"event_type": "order.placed", "queue": {"batch_size": 5}},
            r"\$\.subscribes\[0\]\.delivery: must be same as const definition: queue",
        ),
        (
            {"event_type": "order.placed", "delivery": "direct", "queue": {"batch_size": 5}},
            r"\$\.subscribes\[0\]\.delivery: must be same as const definition: queue",
        ),
    ],
)
def test_a_bad_queue_declaration_fails_naming_the_file_and_field(
    tmp_path: Path, subscription: dict[str, Any], message: str
) -> None:
    path = _services_with(tmp_path, subscription)
    with pytest.raises(declarations.ManifestError) as raised:
        declarations.services(tmp_path)
    assert str(path) in str(raised.value)
    assert re.search(message, str(raised.value)), str(raised.value)


def test_queue_defaults_come_from_the_schema_and_the_timeout(tmp_path: Path) -> None:
    _services_with(tmp_path, {"event_type": "order.placed", "delivery": "queue"}, timeout_s=20)
    [subscription] = topology.subscriptions(declarations.services(tmp_path))
    assert subscription.delivery == topology.QUEUE
    assert subscription.queue == topology.QueueSettings(
        batch_size=QUEUE_SCHEMA["batch_size"]["default"],
        maximum_batching_window_s=QUEUE_SCHEMA["maximum_batching_window_s"]["default"],
        maximum_concurrency=QUEUE_SCHEMA["maximum_concurrency"]["default"],
        max_receive_count=QUEUE_SCHEMA["max_receive_count"]["default"],
        raw_message_delivery=False,
        dead_letter_retention_s=14 * 86400,
        visibility_timeout_s=6 * 20,
    )


def test_the_visibility_timeout_covers_six_timeouts_and_the_batching_window(
    tmp_path: Path,
) -> None:
    declared = {"batch_size": 100, "maximum_batching_window_s": 7, "raw_message_delivery": True}
    subscription = {"event_type": "order.placed", "delivery": "queue", "queue": declared}
    _services_with(tmp_path, subscription, timeout_s=15)
    [subscription] = topology.subscriptions(declarations.services(tmp_path))
    assert subscription.queue is not None
    assert subscription.queue.batch_size == 100
    assert subscription.queue.raw_message_delivery is True
    assert subscription.queue.visibility_timeout_s == 6 * 15 + 7


def test_a_direct_subscription_has_no_queue() -> None:
    direct = [s for s in topology.subscriptions() if s.delivery == topology.DIRECT]
    assert direct
    assert all(s.queue is None for s in direct)


def test_different_deliveries_on_one_topic_are_refused() -> None:
    service = declarations.services()["order_status"]
    manifest = {
        **service.manifest,
        "subscribes": [
            {"event_type": "inventory.reserved", "delivery": "queue"},
            {"event_type": "inventory.rejected"},
        ],
    }
    clash = {"order_status": declarations.Service("order_status", service.directory, manifest)}
    with pytest.raises(topology.TopologyError, match="order_status.*delivery"):
        topology.subscriptions(clash)
