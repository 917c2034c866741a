"""The manifest's Lambda Python: found here (pyenv included), targeted by the build."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from tools import build, declarations, runtimes


def _fake_python(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def fresh_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty PATH and pyenv root under ``tmp_path``; the cached lookups forgotten."""
    root = tmp_path / "pyenv"
    monkeypatch.setenv("PYENV_ROOT", str(root))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    runtimes.interpreter.cache_clear()
    yield root
    runtimes.interpreter.cache_clear()


def test_the_newest_pyenv_patch_release_is_chosen(fresh_lookup: Path) -> None:
    for version in ("3.13.2", "3.13.10", "3.13.10-dev", "3.12.9"):
        _fake_python(fresh_lookup / "versions" / version / "bin" / "python3.13")
    assert runtimes.interpreter("python3.13") == (
        fresh_lookup / "versions" / "3.13.10" / "bin" / "python3.13"
    )


def test_pyenv_shims_on_path_are_not_taken_for_an_installed_python(
    fresh_lookup: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # a shim answers for every version pyenv knows of, installed or not
    _fake_python(fresh_lookup / "shims" / "python3.14")
    monkeypatch.setenv("PATH", str(fresh_lookup / "shims"))
    assert runtimes.interpreter("python3.14") is None
    real = _fake_python(tmp_path / "bin" / "python3.14")
    monkeypatch.setenv("PATH", os.pathsep.join([str(fresh_lookup / "shims"), str(real.parent)]))
    runtimes.interpreter.cache_clear()
    assert runtimes.interpreter("python3.14") == real


def test_a_missing_python_says_how_to_get_it(fresh_lookup: Path) -> None:
    assert runtimes.interpreter("python3.14") is None
    assert "pyenv install 3.14" in runtimes.how_to_install("python3.14")


def test_a_runtime_that_is_not_python_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="'nodejs22.x' is not a Lambda Python runtime"):
        runtimes.version_of("nodejs22.x")


def test_every_service_and_the_schema_default_run_python_3_13() -> None:
    assert declarations.DEFAULTS["runtime"] == "python3.13"
    assert {s.manifest["runtime"] for s in declarations.services().values()} == {"python3.13"}


@pytest.mark.parametrize(("architecture", "machine"), [("arm64", "aarch64"), ("x86_64", "x86_64")])
def test_dependencies_are_fetched_for_the_manifest_architecture(
    architecture: str, machine: str
) -> None:
    platforms = build._platforms("python3.13", architecture)
    assert platforms
    assert all(p.startswith("manylinux") and p.endswith(f"_{machine}") for p in platforms)
    assert "manylinux_2_34_" + machine in platforms  # Amazon Linux 2023's glibc


def test_the_zip_carries_bytecode_of_the_manifest_python(tmp_path: Path) -> None:
    service = declarations.services()["order_status"]
    runtime = service.manifest["runtime"]
    if runtimes.interpreter(runtime) is None:
        pytest.skip(f"SKIPPED: {runtime} is not installed ({runtimes.how_to_install(runtime)})")
    tag = "cpython-" + runtimes.version_of(runtime).replace(".", "")
    artifact = build.build(service, dist=tmp_path / "dist", work=tmp_path / "work")
    with zipfile.ZipFile(artifact) as archive:
        compiled = [n for n in archive.namelist() if n.endswith(".pyc")]
    assert "order_status/__pycache__/handler." + tag + ".pyc" in compiled
    assert all(f".{tag}.pyc" in name for name in compiled)
