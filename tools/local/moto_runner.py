"""``python moto_runner.py HOST PORT PARENT_PID``: moto's server, tied to the local system.

Like the workers, it asks Linux to kill it when the process that started it dies, so a
crashed or killed ``make local`` leaves no server holding the port.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys


def main() -> None:
    host, port, parent = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with contextlib.suppress(OSError, AttributeError):  # PR_SET_PDEATHSIG
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
    from moto.server import main as moto_main

    moto_main(["-H", host, "-p", port])


if __name__ == "__main__":
    main()
