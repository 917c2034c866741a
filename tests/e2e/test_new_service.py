"""`make new-service` scaffolds services that pass the manifest schema, the topology
contracts, lint and their own tests, with no other edit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tools import declarations, topology
from tools.new_service import KINDS, ScaffoldError, scaffold


@pytest.mark.parametrize("kind", KINDS)
def test_a_scaffold_passes_the_manifest_schema_and_the_topology_contracts(
    kind: str, tmp_path: Path
) -> None:
    # when
    target = scaffold("shipping", kind, services_dir=tmp_path)
    # then
    manifest = declarations.load_manifest(target / "service.json")
    assert manifest["handler"] == "shipping.handler.handle"
    for path in ("src/shipping/handler.py", "src/shipping/__init__.py", "tests/test_handler.py"):
        assert (target / path).is_file()
    assert (target / "requirements.txt").read_text() == (
        declarations.SERVICES_DIR / "orders_api" / "requirements.txt"
    ).read_text()
    assert "__" not in (target / "src/shipping/handler.py").read_text().replace("__future__", "")
    services = {**declarations.services(), **declarations.services(tmp_path)}
    mine = [s for s in topology.subscriptions(services) if s.service == "shipping"]
    assert all(topology.can_match(s) for s in mine)
    assert len(mine) == (1 if kind == "consumer" else 0)
    for event_type in manifest["publishes"]:
        assert event_type in declarations.catalog()["events"]


@pytest.mark.parametrize(
    ("name", "kind", "event", "needle"),
    [
        ("Shipping", "consumer", None, "not a valid service name"),
        ("orders_api", "http", None, "already exists"),
        ("shipping", "cron", None, "unknown kind"),
        ("shipping", "consumer", "order.shipped", "unknown event type"),
    ],
)
def test_a_bad_request_is_refused_and_leaves_nothing(
    name: str, kind: str, event: str | None, needle: str, tmp_path: Path
) -> None:
    with pytest.raises(ScaffoldError, match=needle):
        scaffold(name, kind, event_type=event, services_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_scaffolded_services_pass_their_own_tests_and_lint() -> None:
    # given one service of each kind in services/ (removed again whatever happens)
    suffix = uuid.uuid4().hex[:6]
    names = [f"scaffold_{kind}_{suffix}" for kind in KINDS]
    try:
        for name, kind in zip(names, KINDS, strict=True):
            scaffold(name, kind)
        directories = [declarations.SERVICES_DIR / name for name in names]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(str(d / "src") for d in directories),
        }
        # when
        tests = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            + [str(d / "tests") for d in directories],
            cwd=declarations.ROOT,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        ruff = [sys.executable, "-m", "ruff"]
        lint = subprocess.run(
            [*ruff, "check", "--no-cache", *map(str, directories)],
            cwd=declarations.ROOT,
            capture_output=True,
            text=True,
        )
        fmt = subprocess.run(
            [*ruff, "format", "--check", "--no-cache", *map(str, directories)],
            cwd=declarations.ROOT,
            capture_output=True,
            text=True,
        )
        # then
        assert tests.returncode == 0, tests.stdout + tests.stderr
        assert "4 passed" in tests.stdout
        assert lint.returncode == 0, lint.stdout
        assert fmt.returncode == 0, fmt.stdout
    finally:
        for name in names:
            shutil.rmtree(declarations.SERVICES_DIR / name, ignore_errors=True)
