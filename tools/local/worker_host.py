"""The worker host: a service's execution environments, as Lambda keeps them warm.

A ``worker.py`` process imports the artifact's handler once, then serves one
invocation at a time over its stdin/stdout; a timed-out or crashed environment is
replaced, so the next invocation is a cold start. A ``WorkerPool`` runs up to the
function's concurrency of them, started on demand.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from tools import declarations
from tools.contract import (
    Provisioned,
    fake_aws_environment,
    lambda_environment,
    names,
    runtime_environment,
)

from . import artifacts
from .processes import ENVIRONMENT, HERE, LocalError, spawn, stop_process
from .worker import Faults


class Worker:
    """A service's execution environment: the artifact imported once, invoked one at a time."""

    def __init__(
        self,
        service: declarations.Service,
        runnable: artifacts.Runnable,
        env: dict[str, str],
        log_file: Path,
        echo: Callable[[str, str], None] | None,
        timeout_s: float | None = None,  # None: the manifest's
    ) -> None:
        self.service = service
        self.runnable = runnable
        self.timeout_s = float(service.manifest["timeout_s"] if timeout_s is None else timeout_s)
        self.env = env | {"AWS_LAMBDA_FUNCTION_TIMEOUT": f"{self.timeout_s:g}"}
        self.log_file = log_file
        self.echo = echo
        self.process: subprocess.Popen[str] | None = None
        self.cold_start_ms = 0.0
        self.cold_starts: list[float] = []
        self.recent: deque[str] = deque(maxlen=200)
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def start(self) -> float:
        """Start the process and import the handler; the cold start in milliseconds."""
        started = time.perf_counter()
        # this process's own queue: a replaced process's reader, still draining its
        # EOF, must not put it where the new process's ready line is awaited
        answers = self._answers = queue.Queue()
        self.process = spawn(
            [self.runnable.python, "-I", str(HERE / "worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env | {"LOCAL_PARENT_PID": str(os.getpid())},
            start_new_session=True,
        )
        assert self.process.stdout
        assert self.process.stderr
        threading.Thread(
            target=self._read_answers, args=(self.process.stdout, answers), daemon=True
        ).start()
        threading.Thread(target=self._read_logs, args=(self.process.stderr,), daemon=True).start()
        try:
            ready = self._answers.get(timeout=60)
        except queue.Empty:
            ready = None
        if not ready or not ready.get("ready"):
            self.stop()
            error = (ready or {}).get("error") or {
                "errorType": "Runtime.ExitError",
                "errorMessage": "the worker exited before its handler was imported",
            }
            tail = "\n".join(list(self.recent)[-15:])
            raise LocalError(
                f"{self.service.name} failed to initialise: {error['errorType']}: "
                f"{error['errorMessage']}\n{tail}"
            )
        self.cold_start_ms = float(ready["cold_start_ms"])
        self.cold_starts.append(self.cold_start_ms)
        self.process_start_ms = (time.perf_counter() - started) * 1000
        return self.cold_start_ms

    @staticmethod
    def _read_answers(stream: IO[str], answers: queue.Queue[dict[str, Any] | None]) -> None:
        for line in stream:
            with contextlib.suppress(ValueError):
                answers.put(json.loads(line))
        answers.put(None)

    def _read_logs(self, stream: IO[str]) -> None:
        with self.log_file.open("a", encoding="utf-8") as out:
            for line in stream:
                out.write(line)
                out.flush()
                self.recent.append(line.rstrip("\n"))
                if self.echo:
                    self.echo(self.service.name, line.rstrip("\n"))

    def invoke(self, event: Any, request_id: str) -> dict[str, Any]:
        """One invocation: ``{"ok", "result" | "error", "duration_ms"}`` as Lambda reports it."""
        with self._lock:
            process = self.process
            if process is None or process.poll() is not None or process.stdin is None:
                return self._failure("Runtime.ExitError", "the worker is not running", 0.0)
            began = time.perf_counter()
            try:
                process.stdin.write(json.dumps({"event": event, "request_id": request_id}) + "\n")
                process.stdin.flush()
            except (BrokenPipeError, OSError):
                return self._failure("Runtime.ExitError", "the worker is gone", 0.0)
            try:
                # Killed at the timeout, no later: the handler's idempotency claim lasts
                # until the worker's deadline, which starts after this one, so a retry
                # can only take the claim over once this attempt is surely dead.
                answer = self._answers.get(timeout=self.timeout_s)
            except queue.Empty:
                answer = None
                elapsed = time.perf_counter() - began
                self._restart()
                return self._failure(
                    "Sandbox.Timedout",
                    f"Task timed out after {self.timeout_s:.2f} seconds",
                    elapsed * 1000,
                )
            if answer is None:
                code = process.wait()
                self._restart()
                return self._failure(
                    "Runtime.ExitError", f"the worker exited with status {code}", 0.0
                )
            return answer

    @staticmethod
    def _failure(kind: str, message: str, duration_ms: float) -> dict[str, Any]:
        error = {"errorType": kind, "errorMessage": message, "stackTrace": []}
        return {"ok": False, "error": error, "duration_ms": round(duration_ms, 2)}

    def _restart(self) -> None:
        """A timed-out or crashed environment is replaced: the next invoke is a cold start."""
        self.stop(grace_s=0)
        with contextlib.suppress(LocalError):
            self.start()

    def close(self) -> None:
        """Close the worker's stdin: its loop ends after the current invocation."""
        if self.process and self.process.stdin:
            with contextlib.suppress(OSError):
                self.process.stdin.close()

    def stop(self, grace_s: float = 3.0) -> None:
        process = self.process
        if process is None:
            return
        assert process.stdin
        stop_process(process, grace_s, ask=process.stdin.close)  # EOF: the worker's loop ends
        for stream in (process.stdin, process.stdout, process.stderr):
            with contextlib.suppress(OSError, ValueError):
                if stream:
                    stream.close()


def worker_environment(
    service: str,
    runnable: artifacts.Runnable,
    endpoint_url: str,
    provisioned: Provisioned,
    *,
    fail_services: frozenset[str] = frozenset(),
    faults: Faults | None = None,
    trace_endpoint: str | None = None,
) -> dict[str, str]:
    """What ``worker.py`` runs with: the function's environment in AWS, pointed at moto.

    With ``trace_endpoint`` (an OTLP/HTTP traces URL) the function traces with ``otel``
    and exports there; without, tracing is off.
    """
    passed = (
        "PATH",
        "LANG",
        "HOME",
        "TZ",
        "LOCAL_CALL_LOG_DIR",
    )  # the last: tools/local/call_log.py
    base = {k: os.environ[k] for k in passed if k in os.environ}
    return {
        **base,
        **fake_aws_environment(endpoint_url),
        **lambda_environment(
            service,
            environment=ENVIRONMENT,
            topic_arns=provisioned.topic_arns,
            dead_letter_queue_url=provisioned.dead_letter_queues.get(service, ""),
            tracing="otel" if trace_endpoint else "off",
        ),
        **({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": trace_endpoint} if trace_endpoint else {}),
        **runtime_environment(service, environment=ENVIRONMENT),
        "LAMBDA_TASK_ROOT": str(runnable.task_root),
        "LOCAL_TASK_ROOT": str(runnable.task_root),
        "LOCAL_FUNCTION_ARN": names.function_arn(service, ENVIRONMENT),  # the context's ARN
        "LOCAL_NATIVE_PATH": os.pathsep.join(str(p) for p in runnable.native),
        "LOCAL_FAIL_SERVICES": ",".join(sorted(fail_services)),
        "LOCAL_FAULTS": faults.to_json() if faults else "",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


class WorkerPool:
    """A function's execution environments, as Lambda scales them: up to ``concurrency``.

    An invocation takes a warm (idle) worker, the most recently used first, or starts one
    while fewer than ``concurrency`` run (a cold start, reported); at the limit it waits
    for one to come free. Concurrency 0 is a function throttled outright, as a reserved
    concurrency of 0 makes it: every synchronous invocation gets Lambda's 429 error.
    """

    def __init__(
        self,
        start: Callable[[], Worker],
        concurrency: int,
        on_cold_start: Callable[[Worker], None],
    ) -> None:
        if concurrency < 0:
            raise LocalError(f"concurrency must be 0 or more, got {concurrency}")
        self.concurrency = concurrency
        self.workers: list[Worker] = []
        self._start = start
        self._on_cold_start = on_cold_start
        self._idle: list[Worker] = []
        self._starting = 0
        self._retired: set[Worker] = set()  # busy when replaced: stopped once they finish
        self._free = threading.Condition()

    @property
    def busy(self) -> int:
        with self._free:
            return len(self.workers) + self._starting - len(self._idle)

    def warm(self) -> Worker:
        """Start one worker ahead of the first invocation."""
        worker = self._cold_start()
        with self._free:
            self._idle.append(worker)
            self._free.notify()
        return worker

    def _cold_start(self) -> Worker:
        with self._free:
            self._starting += 1
        try:
            worker = self._start()
        finally:
            with self._free:
                self._starting -= 1
                self._free.notify()
        with self._free:
            self.workers.append(worker)
        self._on_cold_start(worker)
        return worker

    def invoke(self, event: Any, request_id: str) -> dict[str, Any]:
        if self.concurrency == 0:
            return Worker._failure(
                "TooManyRequestsException", "Rate Exceeded. (reserved concurrency 0)", 0.0
            )
        try:
            worker = self._acquire()
        except LocalError as error:  # Lambda reports an init error on the invoke
            return Worker._failure("Runtime.InitError", str(error), 0.0)
        try:
            return worker.invoke(event, request_id)
        finally:
            with self._free:
                retired = worker in self._retired
                if retired:
                    self._retired.discard(worker)
                    self.workers.remove(worker)
                else:
                    self._idle.append(worker)
                self._free.notify()
            if retired:
                worker.stop()

    def replace(self, start: Callable[[], Worker]) -> int:
        """New code: later invocations start workers with ``start`` (cold starts).

        Idle workers stop now, busy ones when their invocation ends; returns how many
        were running.
        """
        with self._free:
            self._start = start
            idle, self._idle = self._idle, []
            for worker in idle:
                self.workers.remove(worker)
            self._retired.update(self.workers)
            running = len(idle) + len(self._retired)
            self._free.notify_all()
        for worker in idle:
            worker.stop()
        return running

    def _acquire(self) -> Worker:
        with self._free:
            while not self._idle and len(self.workers) + self._starting >= self.concurrency:
                self._free.wait()
            if self._idle:
                return self._idle.pop()
        return self._cold_start()

    def close(self) -> None:
        for worker in list(self.workers):
            worker.close()

    def stop(self) -> None:
        for worker in list(self.workers):
            worker.stop()
