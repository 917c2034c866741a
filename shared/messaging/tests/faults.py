"""Fault injection on a real boto3 client talking to moto: SNS failing batch entries on its side.

botocore's event hooks let the request shrink before it is sent (the "failed" entries
never reach moto, so nothing is published twice) and the parsed answer report those
entries as failed, exactly as SNS does for a partial ``PublishBatch`` failure.
"""

from __future__ import annotations

from typing import Any


class FailEntries:
    """Fail the first ``times`` attempts of every entry whose Id is in ``ids``."""

    def __init__(self, client: Any, ids: set[str], *, times: int, sender_fault: bool) -> None:
        self.ids = ids
        self.remaining = {entry_id: times for entry_id in ids}
        self.sender_fault = sender_fault
        self.calls: list[list[str]] = []
        self._failed_now: list[str] = []
        client.meta.events.register("provide-client-params.sns.PublishBatch", self._before)
        client.meta.events.register("after-call.sns.PublishBatch", self._after)

    def _before(self, params: dict[str, Any], **_: Any) -> None:
        entries = params["PublishBatchRequestEntries"]
        self.calls.append([entry["Id"] for entry in entries])
        self._failed_now = [
            entry["Id"] for entry in entries if self.remaining.get(entry["Id"], 0) > 0
        ]
        for entry_id in self._failed_now:
            self.remaining[entry_id] -= 1
        params["PublishBatchRequestEntries"] = [
            entry for entry in entries if entry["Id"] not in self._failed_now
        ]

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        parsed.setdefault("Failed", []).extend(
            {
                "Id": entry_id,
                "Code": "InternalError" if not self.sender_fault else "InvalidParameter",
                "Message": "injected",
                "SenderFault": self.sender_fault,
            }
            for entry_id in self._failed_now
        )


def count_calls(client: Any, operation: str) -> list[int]:
    """A list that grows by one for every ``operation`` call the client makes."""
    calls: list[int] = []
    client.meta.events.register(
        f"before-call.{client.meta.service_model.endpoint_prefix}.{operation}",
        lambda **_: calls.append(1),
    )
    return calls
