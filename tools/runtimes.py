"""Which installed interpreter runs a manifest's Lambda runtime on this machine.

Lambda runs ``python3.13`` for a manifest saying so; locally the same minor version is
looked for on ``PATH`` (pyenv's shims skipped: they answer for any version, installed
or not) and then in pyenv's versions directory. ``.venv-py3.13`` (created by
``make test-venvs``) is the same interpreter with the test and runtime dependencies
installed, which is what local workers and tests need.

    python -m tools.runtimes                       # each manifest runtime's interpreter
    python -m tools.runtimes --path python3.13     # one interpreter, or exit 1 saying why
    python -m tools.runtimes --test-python inventory
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from . import declarations

_RUNTIME = re.compile(r"^python(3\.\d+)$")


class RuntimeNotFoundError(LookupError):
    """No interpreter for a runtime is installed; the message says how to get one."""


def version_of(runtime: str) -> str:
    """``"3.13"`` for ``"python3.13"``; a clear error for anything else."""
    match = _RUNTIME.match(runtime)
    if match is None:
        raise ValueError(f"{runtime!r} is not a Lambda Python runtime (python3.N)")
    return match[1]


def current_runtime() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def _pyenv_root() -> Path:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    if shutil.which("pyenv"):
        result = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        if result.returncode == 0 and result.stdout.strip():
            return Path(result.stdout.strip())
    return Path.home() / ".pyenv"


def _patch_level(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.name))


@functools.cache
def interpreter(runtime: str) -> Path | None:
    """The base interpreter of ``runtime`` (``python3.13``) installed here, or ``None``."""
    version = version_of(runtime)
    if runtime == current_runtime():
        return Path(getattr(sys, "_base_executable", sys.executable))
    shims = _pyenv_root() / "shims"
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory) / f"python{version}"
        if directory and Path(directory) != shims and os.access(candidate, os.X_OK):
            return candidate
    versions = _pyenv_root() / "versions"
    installed = sorted(
        (p for p in versions.glob(f"{version}.*") if re.fullmatch(rf"{version}\.\d+", p.name)),
        key=_patch_level,
    )
    for prefix in reversed(installed):
        binary = prefix / "bin" / f"python{version}"
        if os.access(binary, os.X_OK):
            return binary
    return None


def test_venv(runtime: str) -> Path:
    """Where ``make test-venvs`` puts the environment of ``runtime``: ``.venv-py3.13``."""
    return declarations.ROOT / f".venv-py{version_of(runtime)}"


def venv_python(runtime: str) -> Path | None:
    """The Python of ``runtime``'s test environment, when ``make test-venvs`` made one."""
    python = test_venv(runtime) / "bin" / "python"
    return python if os.access(python, os.X_OK) else None


def how_to_install(runtime: str) -> str:
    version = version_of(runtime)
    return (
        f"install Python {version} (`pyenv install {version}`, or your system's python{version} "
        f"package), then `make test-venvs`"
    )


def test_python(service: str) -> Path:
    """The Python that runs ``service``'s tests: its manifest's, else this one, saying so."""
    runtime = declarations.services()[service].manifest["runtime"]
    python = venv_python(runtime)
    if python is None:
        print(
            f"{service}: no {test_venv(runtime).name} for its runtime {runtime} "
            f"({how_to_install(runtime)}); falling back to {current_runtime()} ({sys.executable})",
            file=sys.stderr,
        )
        return Path(sys.executable)
    return python


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.runtimes", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--path", metavar="RUNTIME", help="print the interpreter of RUNTIME")
    group.add_argument("--how", metavar="RUNTIME", help="print how to install RUNTIME's Python")
    group.add_argument("--test-python", metavar="SERVICE", help="print its tests' Python")
    args = parser.parse_args(argv)
    if args.how:
        print(how_to_install(args.how))
        return 0
    if args.test_python:
        if args.test_python not in declarations.services():
            print(f"error: unknown service {args.test_python!r}", file=sys.stderr)
            return 2
        print(test_python(args.test_python))
        return 0
    runtimes = (
        [args.path]
        if args.path
        else sorted({s.manifest["runtime"] for s in declarations.services().values()})
    )
    missing = 0
    for runtime in runtimes:
        found = interpreter(runtime)
        if found is None:
            missing += 1
            print(f"{runtime}: not installed; {how_to_install(runtime)}", file=sys.stderr)
        else:
            print(found if args.path else f"{runtime}: {found}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
