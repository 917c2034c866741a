"""A local system per test module, on free ports, in its own state directory, always stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from tools.contract import FAKE_CREDENTIALS, REGION
from tools.declarations import ROOT

BACKOFF_S = 0.1  # Lambda waits minutes between retries; the tests wait a tenth of a second


@dataclass
class LocalSystem:
    process: subprocess.Popen[str]
    state_dir: Path
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.state["http_url"])

    @property
    def pids(self) -> list[int]:
        workers = [int(pid) for w in self.state["workers"].values() for pid in w["pids"]]
        return [self.process.pid, int(self.state["moto_pid"]), *workers]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tools.local", *args, "--state-dir", str(self.state_dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def http(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310
            self.url + path, data=data, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def invocations(self) -> list[dict[str, Any]]:
        path = self.state_dir / "invocations.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 20
    ) -> list[dict[str, Any]]:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            found = self.invocations()
            if predicate(found):
                return found
            time.sleep(0.05)
        raise AssertionError(f"timed out; invocations so far: {json.dumps(self.invocations())}")

    def client(self, name: str) -> Any:
        return boto3.client(
            name,
            endpoint_url=self.state["endpoint_url"],
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def survivors(self) -> list[int]:
        return [pid for pid in self.pids if alive(pid)]

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in self.pids[1:]:  # whatever the stop did, nothing it started may survive
            kill_if_alive(pid)
        return int(self.process.returncode)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for every purpose but its exit status.
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return status != "Z"


def kill_if_alive(pid: int) -> None:
    if pid and alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def start_system(
    state_dir: Path, *extra: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> LocalSystem:
    """``python -m tools.local up`` in ``cwd`` on free ports; returns once state.json says ready."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / "up.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "tools.local", "up", "--port", "0", "--moto-port", "0",
            "--state-dir", str(state_dir), "--backoff", str(BACKOFF_S), "--color", "never",
            *extra,
        ],
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    system = LocalSystem(process, state_dir)
    deadline = time.time() + 120  # a fresh clone builds every zip first
    try:
        while time.time() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"`up` exited {process.returncode}:\n{_log(state_dir)}")
            state_file = state_dir / "state.json"
            if state_file.is_file():
                system.state = json.loads(state_file.read_text())
                return system
            time.sleep(0.1)
        raise AssertionError(f"`up` was not ready in time:\n{_log(state_dir)}")
    except BaseException:
        system.stop(signal.SIGKILL)
        raise


def _log(state_dir: Path) -> str:
    return (state_dir / "up.log").read_text()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    system = start_system(tmp_path_factory.mktemp("local"))
    try:
        yield system
    finally:
        system.stop()


@pytest.fixture
def start_local(tmp_path: Path) -> Iterator[Callable[..., LocalSystem]]:
    """Start extra systems in a test; each is stopped (and its processes reaped) afterwards."""
    started: list[LocalSystem] = []

    def start(*extra: str, env: dict[str, str] | None = None) -> LocalSystem:
        system = start_system(tmp_path / f"local-{len(started)}", *extra, env=env)
        started.append(system)
        return system

    try:
        yield start
    finally:
        for system in started:
            system.stop()
