"""Lambda's asynchronous invocation of one function: retries with backoff, then on-failure.

SNS and EventBridge invoke asynchronously: Lambda queues the event, retries a failed
invocation (the manifest's ``maximum_retry_attempts``, about 1 then 2 minutes apart in
AWS, ``backoff_s`` doubled here) and hands the event to the on-failure destination after
the last one, or as soon as it is older than ``maximum_event_age_s`` (``EventAgeExceeded``).
Up to ``concurrency`` events run at once; the others wait in the queue, as events
throttled by a function's reserved concurrency do, until a worker is free.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tools import declarations

RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"


@dataclass(order=True)
class Pending:
    due: float
    seq: int
    event: Any = field(compare=False)
    request_id: str = field(compare=False)
    attempt: int = field(compare=False, default=1)
    source: str = field(compare=False, default="sns")
    queued: float = field(compare=False, default=0.0)  # when Lambda accepted the event
    last_answer: dict[str, Any] | None = field(compare=False, default=None)


# (service, event, request_id, source, attempt, attempts) -> the worker's answer
Invoke = Callable[[str, Any, str, str, int, int], dict[str, Any]]
# (service, the event given up on, the answer of its last attempt (or why none ran),
#  the condition: RETRIES_EXHAUSTED or EVENT_AGE_EXCEEDED)
OnFailure = Callable[[str, Pending, dict[str, Any], str], None]


class AsyncInvoker:
    """Lambda's internal queue for one function's asynchronous (SNS) invocations."""

    def __init__(
        self,
        service: declarations.Service,
        invoke: Invoke,
        on_failure: OnFailure,
        *,
        backoff_s: float,
        stopping: threading.Event,
        concurrency: int = 1,
    ) -> None:
        self.service = service
        self.retries = int(service.retries["maximum_retry_attempts"])
        self.maximum_age_s = float(service.retries["maximum_event_age_s"])
        self.concurrency = concurrency
        self._invoke = invoke
        self._on_failure = on_failure
        self._backoff_s = backoff_s
        self._stopping = stopping
        self._heap: list[Pending] = []
        self._in_flight = 0
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._threads = [
            threading.Thread(target=self._run, daemon=True, name=f"{service.name}-{n}")
            for n in range(concurrency)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, event: Any, source: str = "sns") -> str:
        """Accept an asynchronous invocation of ``event``; its request id."""
        request_id = str(uuid.uuid4())
        now = time.time()
        self._push(Pending(now, next(self._seq), event, request_id, 1, source, now))
        return request_id

    def _push(self, item: Pending) -> None:
        with self._wake:
            heapq.heappush(self._heap, item)
            self._wake.notify()

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                if not self._heap:
                    self._wake.wait(0.2)
                    continue
                wait = self._heap[0].due - time.time()
                if wait > 0:
                    self._wake.wait(min(wait, 0.2))
                    continue
                item = heapq.heappop(self._heap)
                self._in_flight += 1
            try:
                self._attempt(item)
            finally:
                with self._wake:
                    self._in_flight -= 1

    def _attempt(self, item: Pending) -> None:
        if time.time() - item.queued > self.maximum_age_s:
            answer = item.last_answer or _too_old(self.maximum_age_s)
            self._on_failure(self.service.name, item, answer, EVENT_AGE_EXCEEDED)
            return
        answer = self._invoke(
            self.service.name, item.event, item.request_id, item.source, item.attempt,
            1 + self.retries,
        )  # fmt: skip
        if answer["ok"]:
            return
        if item.attempt > self.retries:
            self._on_failure(self.service.name, item, answer, RETRIES_EXHAUSTED)
            return
        delay = self._backoff_s * 2 ** (item.attempt - 1)
        self._push(
            Pending(
                time.time() + delay, next(self._seq), item.event, item.request_id,
                item.attempt + 1, item.source, item.queued, answer,
            )
        )  # fmt: skip

    @property
    def idle(self) -> bool:
        """Nothing queued for this function and nothing running."""
        with self._wake:
            return not self._heap and not self._in_flight

    @property
    def depth(self) -> int:
        """Events accepted and not yet finished (queued, waiting to retry or running)."""
        with self._wake:
            return len(self._heap) + self._in_flight


def _too_old(maximum_age_s: float) -> dict[str, Any]:
    message = f"the event was older than maximum_event_age_s ({maximum_age_s:.0f} s) before it ran"
    return {"ok": False, "error": {"errorType": EVENT_AGE_EXCEEDED, "errorMessage": message}}
