"""Figure 7: end to end through the local system (``python -m tools.local up``).

An HTTP ``POST /orders`` to the local front door, then ``GET /orders/{id}`` polled until
``order_status`` (the last consumer of the chain: orders_api -> inventory ->
order_status) has recorded the stock outcome; and sustained throughput: a burst of
orders sent by a few client threads, timed until every one has its outcome.

Skipped, with the reason in the table, when the local system is not in this checkout
or does not come up.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from messaging.testing import load_fixture

from .report import Group, fact, row
from .stats import Figure, Samples

_FINAL = {"reserved", "rejected"}


def _http(method: str, url: str, body: Any = None, timeout: float = 10.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def _wait_final(base: str, order_id: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        status, order = _http("GET", f"{base}/orders/{order_id}")
        if status == 200 and isinstance(order, dict) and order.get("status") in _FINAL:
            return True
        time.sleep(0.005)
    return False


def _place(base: str, body: dict[str, Any]) -> str:
    status, answer = _http("POST", f"{base}/orders", body)
    if status != 202:
        raise RuntimeError(f"POST /orders answered {status}")
    return str(answer["order_id"])


def end_to_end(*, requests: int, burst: int, timeout_s: float = 60.0) -> Group:
    group = Group("endtoend", "7. End to end through the local system")
    if importlib.util.find_spec("tools.local") is None:
        group.skipped = "local system not available (tools/local is not in this checkout)"
        return group
    with tempfile.TemporaryDirectory(prefix="bench-local-") as state_dir:
        log_path = Path(state_dir) / "up.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "tools.local", "up", "--port", "0", "--moto-port",
                    "0", "--state-dir", state_dir, "--color", "never",
                ],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=os.environ | {"PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
            try:
                return _measure(group, process, Path(state_dir), requests, burst, timeout_s)
            except Exception as error:
                group.skipped = f"local system not available: {type(error).__name__}: {error}"
                group.notes.append(log_path.read_text()[-400:].replace("\n", " "))
                return group
            finally:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _measure(
    group: Group,
    process: subprocess.Popen[bytes],
    state_dir: Path,
    requests: int,
    burst: int,
    timeout_s: float,
) -> Group:
    deadline = time.monotonic() + 120
    base = None
    while base is None:
        if process.poll() is not None:
            raise RuntimeError("`python -m tools.local up` exited")
        if time.monotonic() > deadline:
            raise RuntimeError("the local system did not come up in 120 s")
        try:
            state = json.loads((state_dir / "state.json").read_text())
            base = str(state["http_url"]).rstrip("/")
        except (FileNotFoundError, ValueError, KeyError):
            time.sleep(0.2)
    body = load_fixture("post-orders.body")
    samples = Samples()
    _wait_final(base, _place(base, body), time.monotonic() + timeout_s)  # warm-up
    for index in range(requests):
        started = time.perf_counter()
        order_id = _place(base, body)
        if not _wait_final(base, order_id, time.monotonic() + timeout_s):
            raise RuntimeError(f"order {order_id} not done after {timeout_s} s")
        samples.add("request to last consumer", index % 3, (time.perf_counter() - started) * 1000)
    group.rows.append(
        row("request to last consumer p50", samples.stat("request to last consumer", 50), "ms")
    )
    group.rows.append(
        row("request to last consumer p99", samples.stat("request to last consumer", 99), "ms")
    )
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        order_ids = list(pool.map(lambda _: _place(base, body), range(burst)))
        done = list(
            pool.map(lambda o: _wait_final(base, o, time.monotonic() + timeout_s), order_ids)
        )
    elapsed = time.perf_counter() - started
    if not all(done):
        raise RuntimeError(f"{done.count(False)} of {burst} orders not done")
    events = burst * 3  # order.placed to two consumers, inventory.* to order_status
    rate = events / elapsed
    group.rows.append(
        row("sustained events handled per second", Figure(rate, rate, rate, 1), "ev/s")
    )
    group.rows.append(fact("burst", f"{burst} orders, 4 client threads, {elapsed:.1f} s"))
    group.notes.append("the consumer pool is the one `python -m tools.local up` runs")
    return group
