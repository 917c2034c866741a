"""A moto server on a free loopback port, always stopped, and the environment that points at it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from messaging.testing import FAKE_CREDENTIALS
from tools.local.system import free_port, start_moto


@contextlib.contextmanager
def moto_server(*, timeout_s: float = 30.0) -> Iterator[str]:
    """Start ``moto.server`` on 127.0.0.1 (as the local system does); yield its URL; stop it."""
    with tempfile.TemporaryDirectory(prefix="bench-moto-") as scratch:
        process, url = start_moto(
            free_port(0, "moto server", ""), Path(scratch) / "moto.log", timeout_s
        )
        try:
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def use_endpoint(endpoint_url: str) -> None:
    """Point every boto3 client of this process at ``endpoint_url`` with fake credentials."""
    os.environ.update(FAKE_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    for name in ("AWS_PROFILE", "_X_AMZN_TRACE_ID", "AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT"):
        os.environ.pop(name, None)
