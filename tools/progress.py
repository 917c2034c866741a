"""A progress line on stderr while a long run works, so it is never silent.

On a terminal the line is rewritten in place every second; in a log (CI, a pipe) a new
line is written every ``log_every_s``. Used by ``make reliability`` and ``make bench``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO


class Progress:
    """``with Progress(lambda: f"{n} done"):`` shows ``[12.3 s] 40 done`` until the block ends."""

    def __init__(
        self,
        describe: Callable[[], str],
        *,
        stream: TextIO | None = None,
        every_s: float = 1.0,
        log_every_s: float = 10.0,
    ) -> None:
        self.describe = describe
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = every_s if self.tty else log_every_s
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="progress")

    def line(self) -> str:
        return f"[{time.monotonic() - self.started:6.1f} s] {self.describe()}"

    def _write(self, final: bool = False) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + self.line() + ("\n" if final else ""))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._write()

    def __enter__(self) -> Progress:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._write(final=True)
