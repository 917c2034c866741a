"""Readable logs: one line per invocation, coloured per service on a terminal, plain when piped."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

_PALETTE = ["36", "35", "33", "32", "34", "91", "96", "95", "93", "92"]


class Console:
    def __init__(self, color: bool | None = None, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        if color is None:
            color = self.stream.isatty() and not os.environ.get("NO_COLOR")
        self.color = color
        self._colors: dict[str, str] = {}
        self._lock = threading.Lock()
        self.width = 20

    def _paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def tag(self, service: str) -> str:
        if service not in self._colors:
            self._colors[service] = _PALETTE[len(self._colors) % len(_PALETTE)]
        return self._paint(f"{service:<{self.width}}", self._colors[service])

    def _write(self, line: str) -> None:
        stamp = time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d}"
        with self._lock:
            self.stream.write(f"{self._paint(stamp, '2')} {line}\n")
            self.stream.flush()

    def system(self, message: str) -> None:
        name = "local".ljust(self.width)
        self._write(f"{self._paint(name, '1')} {message}")

    def function_output(self, service: str, line: str) -> None:
        self._write(f"{self.tag(service)} {self._paint('| ' + line, '2')}")

    def invocation(self, record: dict[str, Any]) -> None:
        what = record.get("event_type", "?")
        if record.get("source") == "http":
            what = f"{record.get('route')} -> {record.get('status', '-')}"
        elif record.get("event_id"):
            what = f"{what} {str(record['event_id'])[:8]}"
        if record.get("attempt", 1) > 1 and record.get("source") != "dlq":
            what += f" (attempt {record.get('attempt')}/{record['attempts']})"
        if record.get("source") == "dlq":
            outcome = self._paint(
                f"-> dead-letter queue after {record.get('attempts')} attempts: "
                f"{record.get('error_type')}",
                "31;1",
            )
            self._write(f"{self.tag(record['service'])} {what:<44} {outcome}")
            return
        duration = record.get("duration_ms")
        took = f"{duration:8.1f} ms" if isinstance(duration, int | float) else " " * 11
        if record.get("ok"):
            outcome = self._paint("ok", "32")
        else:
            message = str(record.get("error_message", ""))[:120]
            outcome = self._paint(f"FAILED {record.get('error_type')}: {message}", "31")
        self._write(f"{self.tag(record['service'])} {what:<44} {took}  {outcome}")
