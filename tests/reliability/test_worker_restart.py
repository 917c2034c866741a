"""A replaced worker process's last words go to its own answer queue, not its successor's."""

from __future__ import annotations

import io
import queue
from typing import Any

from tools.local.worker_host import Worker


def test_an_old_process_eof_does_not_reach_the_queue_its_replacement_starts_on() -> None:
    # given: a worker restarted after a stall or a kill; the new process's ready line is
    # awaited on its own queue while the old process's reader is still draining its EOF
    old: queue.Queue[dict[str, Any] | None] = queue.Queue()
    new: queue.Queue[dict[str, Any] | None] = queue.Queue()
    worker = Worker.__new__(Worker)
    worker._answers = new
    # when: the old reader reaches the end of the killed process's output
    worker._read_answers(io.StringIO('{"ok": true}\n'), old)
    # then: its answer and its EOF stay on the old queue; the new one sees nothing
    assert [old.get_nowait(), old.get_nowait()] == [{"ok": True}, None]
    assert new.empty()
