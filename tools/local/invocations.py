"""The invocation log: one record per invocation, kept, appended to a file and shown."""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from messaging.errors import MalformedMessageError
from messaging.queue_records import as_sns_record, is_queue_event

from .console import Console


class Recorder:
    """``invocations.jsonl`` in the state directory, the same list in memory, the console."""

    def __init__(self, path: Path, console: Console, *, quiet: bool) -> None:
        self.path = path
        self.console = console
        self.quiet = quiet  # no line per invocation (thousands in the reliability suite)
        self.invocations: list[dict[str, Any]] = []
        self.counts: Counter[tuple[str, bool]] = Counter()  # (source, ok) -> records
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        path.write_text("")

    def __call__(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.invocations.append(record)
            self.counts[(str(record.get("source")), bool(record.get("ok")))] += 1
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record, default=str) + "\n")
            self._recorded.notify_all()
        if not self.quiet:
            self.console.invocation(record)

    def wait(self, seen: int, timeout_s: float) -> int:
        """Until there are more than ``seen`` records or ``timeout_s`` passed; the count."""
        with self._recorded:
            self._recorded.wait_for(lambda: len(self.invocations) > seen, timeout_s)
            return len(self.invocations)


def describe_event(event: Any) -> dict[str, Any]:
    """What the logs and the demo's tree say about an event: its type, id, source, time."""
    if not isinstance(event, dict):
        return {"event_type": type(event).__name__}
    if event.get("version") == "2.0" and "routeKey" in event:
        return {"event_type": "http", "route": event["routeKey"], "path": event.get("rawPath")}
    records = event.get("Records")
    if is_queue_event(event):
        return _describe_batch(list(event["Records"]))
    if isinstance(records, list) and records and isinstance(records[0], dict):
        sns = records[0].get("Sns") or {}
        found: dict[str, Any] = {"event_type": "sns"}
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            envelope = json.loads(sns.get("Message", ""))
            found = {
                "event_type": envelope.get("type", "sns"),
                "event_id": envelope.get("id"),
                "event_source": envelope.get("source"),
                "event_time": envelope.get("time"),
                "correlation_id": envelope.get("correlation_id"),
                "order_id": (envelope.get("data") or {}).get("order_id"),
            }
        return found
    if event.get("source") == "aws.events":
        return {"event_type": "schedule"}
    return {"event_type": "custom"}


def _describe_batch(records: list[Any]) -> dict[str, Any]:
    """An SQS batch: its first event as for SNS, and every order id it carries."""
    described = []
    for index, record in enumerate(records):
        with contextlib.suppress(MalformedMessageError, AttributeError):
            described.append(describe_event({"Records": [as_sns_record(record, index)]}))
    first = described[0] if described else {"event_type": "sqs"}
    order_ids = [d["order_id"] for d in described if d.get("order_id")]
    message_ids = [r.get("messageId") for r in records if isinstance(r, dict)]
    return {
        **first,
        "batch_size": len(records),
        "order_ids": order_ids,
        "message_ids": message_ids,
    }
