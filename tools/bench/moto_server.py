"""A moto server on a free loopback port, always stopped (the local system's launcher)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tools.local.processes import free_port, start_moto, stop_process


@contextlib.contextmanager
def moto_server(*, timeout_s: float = 30.0, fan_out_after_answer: bool = False) -> Iterator[str]:
    """Start ``moto.server`` on 127.0.0.1 (as the local system does); yield its URL; stop it.

    ``fan_out_after_answer``: SNS delivers to subscriptions after Publish has answered.
    """
    with tempfile.TemporaryDirectory(prefix="bench-moto-") as scratch:
        process, url = start_moto(
            free_port(0, "moto server", ""),
            Path(scratch) / "moto.log",
            timeout_s,
            fan_out_after_answer=fan_out_after_answer,
        )
        try:
            yield url
        finally:
            stop_process(process, grace_s=10)
