"""Hot reload through the system ``make local`` starts: a change rebuilds and replaces workers.

The system runs in a copy of the tracked tree (with the built zips and their input
stamps, so nothing is rebuilt at start), because the watcher and the build both work
from the checkout the code sits in: the real ``services/`` is never edited.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

from tools import build
from tools.declarations import ROOT, services

from .conftest import LocalSystem, start_system

HANDLER = Path("services/orders_api/src/orders_api/handler.py")
MESSAGING_INIT = Path("shared/messaging/src/messaging/__init__.py")


def _copy_of_the_tree(target: Path) -> Path:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for built in (build.DIST, build.BUILD):  # the zips and their stamps: a start builds nothing
        if built.is_dir():
            shutil.copytree(built, target / built.relative_to(ROOT), dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(*services()))  # fmt: skip
    return target


def _console(system: LocalSystem) -> str:
    return (system.state_dir / "up.log").read_text()


COLD_START = re.compile(r"orders_api\s+cold start \d+ ms")


def _wait_for(system: LocalSystem, pattern: re.Pattern[str], count: int) -> str:
    deadline = time.monotonic() + 180  # a shared change rebuilds every zip
    while time.monotonic() < deadline:
        console = _console(system)
        if len(pattern.findall(console)) >= count:
            return console
        assert system.process.poll() is None, console
        time.sleep(0.2)
    raise AssertionError(f"{count} x {pattern.pattern!r} not printed:\n{_console(system)}")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_changed_source_reloads_its_service_and_a_change_under_shared_reloads_every_one(
    tmp_path: Path,
) -> None:
    reloaded = re.compile(r"(\w+)\s+reloaded: rebuilt \1\.zip, \d+ worker\(s\) replaced")
    tree = _copy_of_the_tree(tmp_path / "tree")
    system = start_system(tmp_path / "state", cwd=tree)
    try:
        assert system.http("GET", "/orders/o-1") == (404, {"error": "no order 'o-1'"})
        cold_starts = len(COLD_START.findall(_console(system)))
        # when orders_api's source changes
        _edit(tree / HANDLER, 'f"no order {order_id!r}"', 'f"no order called {order_id!r}"')
        console = _wait_for(system, reloaded, 1)
        # then that service alone is rebuilt and its next invocation cold-starts the new code
        assert reloaded.findall(console) == ["orders_api"]
        assert "watching services/ and shared/: a change reloads its service" in console
        assert system.http("GET", "/orders/o-1") == (404, {"error": "no order called 'o-1'"})
        _wait_for(system, COLD_START, cold_starts + 1)
        # when the messaging package changes: every service ships it, every one is reloaded
        with (tree / MESSAGING_INIT).open("a") as init:
            init.write("# changed\n")
        console = _wait_for(system, reloaded, 1 + len(services()))
        assert sorted(reloaded.findall(console)[1:]) == sorted(services())
    finally:
        system.stop()
