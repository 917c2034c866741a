"""Hot reload for ``make local``: watch ``services/`` and ``shared/``, reload what changed.

Polls file modification times once a second (no dependency, works on every file
system). A change under ``services/<name>/`` reloads that service; one under ``shared/``
(the messaging package, the event catalog) reloads every service, as each zip ships it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from tools import declarations

ROOT = declarations.ROOT
WATCHED = ("services", "shared")
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "tests"}

Snapshot = dict[Path, tuple[int, int]]


def snapshot(root: Path = ROOT) -> Snapshot:
    """(mtime, size) of every file under the watched directories."""
    found: Snapshot = {}
    for top in WATCHED:
        for path in (root / top).rglob("*"):
            if path.is_file() and not SKIPPED_DIRS.intersection(path.relative_to(root).parts):
                stat = path.stat()
                found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


def affected(changed: Iterable[Path], services: Iterable[str], root: Path = ROOT) -> list[str]:
    """The services a set of changed files touches, in ``services``' order."""
    names = list(services)
    hit: set[str] = set()
    for path in changed:
        parts = path.relative_to(root).parts
        if parts[0] == "shared":
            return names
        if parts[0] == "services" and len(parts) > 1:
            hit.add(parts[1])
    return [name for name in names if name in hit]


def watch(
    services: list[str],
    reload: Callable[[list[str]], None],
    stopping: threading.Event,
    *,
    every_s: float = 1.0,
    root: Path = ROOT,
) -> threading.Thread:
    """Start a thread calling ``reload(names)`` after each change, until ``stopping``."""

    def run() -> None:
        before = snapshot(root)
        while not stopping.wait(every_s):
            now = snapshot(root)
            changed = {p for p in before.keys() | now.keys() if before.get(p) != now.get(p)}
            before = now
            names = affected(changed, services, root)
            if names:
                reload(names)

    thread = threading.Thread(target=run, daemon=True, name="reload")
    thread.start()
    return thread
