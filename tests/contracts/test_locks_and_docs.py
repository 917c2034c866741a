"""The locks install anywhere, and the README tells the truth about the topology and targets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import diagram
from tools.declarations import ROOT
from tools.lock import lock_files

LOCKS = [path.with_suffix(".txt") for path in lock_files()]
# What a machine's pip configuration could leak into a lock: index options, local paths.
LEAKS = re.compile(
    r"(--(extra-)?index-url|--find-links|-f\s|file://|/opt/|/tmp/|/root/|/home/|/work/|/Users/|[A-Z]:\\)"
)


def test_every_in_file_has_its_lock() -> None:
    assert len(LOCKS) >= 2
    for lock in LOCKS:
        assert lock.is_file(), f"{lock} is missing: run `make lock`"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_locks_name_no_index_or_local_path_and_pin_every_hash(lock: Path) -> None:
    text = lock.read_text()
    leaks = [line for line in text.splitlines() if LEAKS.search(line)]
    assert leaks == []
    pins = re.findall(r"^[A-Za-z0-9][A-Za-z0-9._-]*==\S+ \\$", text, flags=re.M)
    assert pins
    assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}", text)) >= len(pins)


def test_readme_topology_diagram_is_current() -> None:
    readme = ROOT / "README.md"
    assert diagram.render(readme.read_text()) == readme.read_text(), "run `make diagram`"


def test_readme_lists_every_make_target_people_call() -> None:
    readme = (ROOT / "README.md").read_text()
    makefiles = [ROOT / "Makefile", *sorted((ROOT / "make").glob("*.mk"))]
    targets = set()
    for makefile in makefiles:
        targets |= set(re.findall(r"^([a-z][a-z0-9-]*):.*## ", makefile.read_text(), flags=re.M))
    missing = sorted(t for t in targets if f"make {t}" not in readme)
    assert missing == [], f"README does not mention: {missing}"


def test_make_help_lists_targets() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "build" in result.stdout
    assert "test" in result.stdout


def test_unknown_service_lists_the_valid_ones() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.build", "no_such_service"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "orders_api" in result.stderr
    assert "no_such_service" in result.stderr
