"""The worker host: one service's execution environment, as Lambda keeps it warm.

A ``worker.py`` process imports the artifact's handler once, then serves one
invocation at a time over its stdin/stdout; a timed-out or crashed environment is
replaced, so the next invocation is a cold start.
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
    ) -> None:
        self.service = service
        self.runnable = runnable
        self.env = env
        self.timeout_s = float(service.manifest["timeout_s"])
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
        self._answers = queue.Queue()
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
        for target, stream in (
            (self._read_answers, self.process.stdout),
            (self._read_logs, self.process.stderr),
        ):
            threading.Thread(target=target, args=(stream,), daemon=True).start()
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

    def _read_answers(self, stream: IO[str]) -> None:
        for line in stream:
            with contextlib.suppress(ValueError):
                self._answers.put(json.loads(line))
        self._answers.put(None)

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
                answer = self._answers.get(timeout=self.timeout_s + 1)
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
) -> dict[str, str]:
    """What ``worker.py`` runs with: the function's environment in AWS, pointed at moto."""
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
        ),
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
