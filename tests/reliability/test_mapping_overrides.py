"""The reliability run's queue kind runs as many batches at once as the direct kind has workers."""

from __future__ import annotations

import threading

from tools import declarations, reliability, topology
from tools.local.event_source_mapping import EventSourceMappings, MappedQueue
from tools.local.system import DEFAULT_CONCURRENCY


def _mappings(stopping: threading.Event) -> EventSourceMappings:
    service = declarations.services()[reliability.CONSUMER]
    [declared] = [s for s in service.manifest["subscribes"] if s.get("delivery") == "queue"]
    settings = topology.QueueSettings.of(declared["queue"], int(service.manifest["timeout_s"]))
    mappings = EventSourceMappings(
        "http://127.0.0.1:9", "local", lambda *_: {"ok": True}, visibility_timeout_s=1,
        stopping=stopping, report=print,
    )  # fmt: skip
    mappings.queues.append(MappedQueue(service.name, "orders", settings, "u", "a", "d"))
    return mappings


def test_an_updated_maximum_concurrency_is_how_many_pollers_start() -> None:
    stopping = threading.Event()
    stopping.set()  # the pollers end at once: only how many started matters
    mappings = _mappings(stopping)
    declared = mappings.queues[0].settings.maximum_concurrency
    assert declared < DEFAULT_CONCURRENCY  # the manifest's own cap is lower
    mappings.update(reliability.CONSUMER, maximum_concurrency=DEFAULT_CONCURRENCY)
    mappings.start()
    assert len(mappings.threads) == DEFAULT_CONCURRENCY
    for thread in mappings.threads:
        thread.join(timeout=5)
