"""Child processes of the local system and the benchmarks: free ports, moto, stopping.

Every child is started from one long-lived thread and asks Linux to kill it when its
parent dies, so a crashed or killed run leaves nothing holding a port.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools import runtimes

from .moto_runner import DRAIN_PATH, FAN_OUT_AFTER_ANSWER

HOST = "127.0.0.1"
ENVIRONMENT = "local"  # the environment name in every local physical name
HERE = Path(__file__).resolve().parent


class LocalError(RuntimeError):
    """The local system cannot start or do what was asked; the message says why."""


@functools.cache
def worker_python(runtime: str) -> str:
    """The interpreter of a service's workers: its manifest's Python (``make test-venvs``).

    Says once per runtime which interpreter that is, or that it falls back to this one.
    """
    python = runtimes.venv_python(runtime)
    if python is None:
        print(
            f"local workers: no {runtimes.test_venv(runtime).name} for {runtime} "
            f"({runtimes.how_to_install(runtime)}); running them on {runtimes.current_runtime()} "
            f"({sys.executable})",
            file=sys.stderr,
        )
        return sys.executable
    print(f"local workers for {runtime}: {python}", file=sys.stderr)
    return str(python)


def free_port(port: int, what: str, option: str) -> int:
    """``port`` if nothing listens on it (0: any free port); a clear error otherwise."""
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            raise LocalError(
                f"port {port} on {HOST} ({what}) is in use: is another `make local` running? "
                f"Stop it or choose another port with {option}"
            ) from None
        return int(probe.getsockname()[1])


class _Spawner:
    """Starts every child process from one thread that lives as long as this process.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked a child exits, so a worker
    replaced from a short-lived thread (an HTTP request's) would be killed with it.
    """

    def __init__(self) -> None:
        self._requests: queue.Queue[tuple[Callable[[], Any], list[Any], threading.Event]] = (
            queue.Queue()
        )
        threading.Thread(target=self._run, daemon=True, name="spawner").start()

    def _run(self) -> None:
        while True:
            action, box, done = self._requests.get()
            try:
                box.append((True, action()))
            except BaseException as error:
                box.append((False, error))
            done.set()

    def call(self, action: Callable[[], Any]) -> Any:
        box: list[Any] = []
        done = threading.Event()
        self._requests.put((action, box, done))
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def spawn(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(*args, **kwargs)``, from the long-lived spawner thread."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()
    process: subprocess.Popen[Any] = _spawner.call(lambda: subprocess.Popen(*args, **kwargs))
    return process


def stop_process(
    process: subprocess.Popen[Any],
    grace_s: float = 5.0,
    *,
    ask: Callable[[], None] | None = None,
) -> None:
    """Ask the process to end (``ask``, else SIGTERM to its group); SIGKILL it after ``grace_s``."""
    if process.poll() is None:
        with contextlib.suppress(OSError):
            ask() if ask else os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_moto(
    port: int, log_path: Path, timeout_s: float = 30, *, fan_out_after_answer: bool = False
) -> tuple[subprocess.Popen[Any], str]:
    """moto's server on 127.0.0.1:``port``, killed by Linux if this process dies; its URL.

    ``fan_out_after_answer``: SNS delivers to subscriptions after Publish has answered, as
    AWS does, instead of inside the request (``moto_runner.FanOutAfterAnswer``).
    Returns once it answers; ``LocalError`` (pointing at ``log_path``) if it does not.
    """
    command = [sys.executable, "-I", str(HERE / "moto_runner.py"), HOST, str(port)]
    command.append(str(os.getpid()))
    if fan_out_after_answer:
        command.append(FAN_OUT_AFTER_ANSWER)
    with log_path.open("ab") as log:
        process = spawn(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://{HOST}:{port}"
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if process.poll() is not None:
            raise LocalError(
                f"the moto server exited with status {process.returncode}; see {log_path}"
            )
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    process.wait()
    raise LocalError(f"the moto server did not answer on {url} within {timeout_s:.0f} s")


def drain_sns_deliveries(moto_url: str, timeout_s: float = 120) -> None:
    """Return once a moto started with ``fan_out_after_answer`` has made every pending delivery."""
    request = urllib.request.Request(f"{moto_url}{DRAIN_PATH}", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310
        answer.read()
