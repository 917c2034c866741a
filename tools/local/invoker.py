"""Lambda's asynchronous invocation of one function: retries with backoff, then on-failure.

SNS and EventBridge invoke asynchronously: Lambda queues the event, retries a failed
invocation (the manifest's ``maximum_retry_attempts``, about 1 then 2 minutes apart in
AWS, ``backoff_s`` doubled here) and hands the event to the on-failure destination after
the last one.
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


@dataclass(order=True)
class Pending:
    due: float
    seq: int
    event: Any = field(compare=False)
    request_id: str = field(compare=False)
    attempt: int = field(compare=False, default=1)
    source: str = field(compare=False, default="sns")


# (service, event, request_id, source, attempt, attempts) -> the worker's answer
Invoke = Callable[[str, Any, str, str, int, int], dict[str, Any]]
# (service, the event that failed its last attempt, the answer of that attempt)
OnFailure = Callable[[str, Pending, dict[str, Any]], None]


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
    ) -> None:
        self.service = service
        self.retries = int(service.retries["maximum_retry_attempts"])
        self._invoke = invoke
        self._on_failure = on_failure
        self._backoff_s = backoff_s
        self._stopping = stopping
        self._heap: list[Pending] = []
        self._in_flight = False
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True, name=service.name)

    def start(self) -> None:
        self._thread.start()

    def submit(self, event: Any, source: str = "sns") -> str:
        request_id = str(uuid.uuid4())
        self._push(Pending(time.time(), next(self._seq), event, request_id, 1, source))
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
                self._in_flight = True
            answer = self._invoke(
                self.service.name, item.event, item.request_id, item.source, item.attempt,
                1 + self.retries,
            )  # fmt: skip
            if not answer["ok"]:
                if item.attempt <= self.retries:
                    delay = self._backoff_s * 2 ** (item.attempt - 1)
                    self._push(
                        Pending(
                            time.time() + delay, next(self._seq), item.event, item.request_id,
                            item.attempt + 1, item.source,
                        )
                    )  # fmt: skip
                else:
                    self._on_failure(self.service.name, item, answer)
            with self._wake:
                self._in_flight = False

    @property
    def idle(self) -> bool:
        """Nothing queued for this function and nothing running."""
        with self._wake:
            return not self._heap and not self._in_flight
