"""From ``dist/<service>.zip`` to a directory a worker can import from.

The zip is unpacked once per content (``.local/run/<service>-<sha>``), as Lambda unpacks
it into ``/var/task``. The artifact targets Lambda's platform (arm64, manylinux); a
dependency inside it that is compiled for another platform or Python cannot be imported
here, so the same locked version, built for this machine, is installed from the
service's ``requirements.txt`` (hash-checked, no dependencies) into
``.local/native/<service>`` and put ahead of the artifact on the worker's ``sys.path``.
Only those packages: the service code and ``messaging`` still come from the artifact.
"""

from __future__ import annotations

import hashlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tools import build, declarations

from .processes import worker_python

ROOT = declarations.ROOT
LOCAL = ROOT / ".local"


class ArtifactError(RuntimeError):
    """An artifact is missing or cannot be made runnable here; the message says why."""


@dataclass(frozen=True)
class Runnable:
    service: str
    task_root: Path
    native: tuple[Path, ...]
    foreign: tuple[str, ...]  # distributions replaced by their native build
    python: str  # the interpreter its workers run: the manifest's Python where installed


def zip_path(service: str) -> Path:
    return build.DIST / f"{service}.zip"


def ensure_built(services: list[str]) -> None:
    """``python -m tools.build --if-stale``: rebuild only what changed."""
    known = declarations.services()
    for name in services:
        build.build(known[name], if_stale=True)


def unpack(service: str) -> Path:
    archive = zip_path(service)
    if not archive.is_file():
        raise ArtifactError(f"{archive} is missing: run `make build SERVICE={service}`")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    target = LOCAL / "run" / f"{service}-{digest}"
    if (target / ".complete").is_file():
        return target
    partial = Path(tempfile.mkdtemp(prefix=f"{service}-", dir=_mkdir(LOCAL / "run")))
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(partial)
    (partial / ".complete").write_text(archive.name)
    try:
        partial.rename(target)
    except OSError:  # another system unpacked the same artifact first
        shutil.rmtree(partial, ignore_errors=True)
    return target


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tags(wheel_file: Path) -> list[str]:
    return [
        line.split(":", 1)[1].strip()
        for line in wheel_file.read_text("utf-8").splitlines()
        if line.startswith("Tag:")
    ]


def _runs_here(tag: str, here: str) -> bool:
    interpreter, abi, plat = tag.split("-")
    if plat == "any":
        return True
    if abi not in ("none", "abi3") and interpreter != here:
        return False
    return sys.platform == "linux" and plat.endswith(platform.machine())


def _python_tag(python: str) -> str:
    """``cp313`` for a Python 3.13 interpreter."""
    if python == sys.executable:
        return f"cp{sys.version_info.major}{sys.version_info.minor}"
    command = [python, "-c", "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def foreign_distributions(task_root: Path, python: str = sys.executable) -> list[str]:
    """Distributions in the artifact built for another platform or Python than ``python``."""
    here = _python_tag(python)
    found = []
    for wheel_file in sorted(task_root.glob("*.dist-info/WHEEL")):
        tags = _tags(wheel_file)
        if tags and not any(_runs_here(tag, here) for tag in tags):
            name = wheel_file.parent.name.removesuffix(".dist-info").rsplit("-", 1)[0]
            found.append(build._normalise(name))
    return found


def native_dependencies(
    service: str, foreign: list[str], python: str = sys.executable
) -> Path | None:
    """Install ``python``'s build of the locked ``foreign`` packages here; their directory."""
    if not foreign:
        return None
    lock = declarations.services()[service].directory / "requirements.txt"
    blocks = []
    for block in build.shipped_requirements(lock):
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", block)
        if match and build._normalise(match[1]) in foreign:
            blocks.append(block)
    if len(blocks) != len(foreign):
        raise ArtifactError(f"{service}: {', '.join(foreign)} not all found in {lock}")
    text = "\n".join(blocks) + "\n"
    stamp_value = hashlib.sha256(f"{python}|{platform.machine()}|{text}".encode()).hexdigest()
    target = LOCAL / "native" / service
    stamp = target / ".locked"
    if stamp.is_file() and stamp.read_text() == stamp_value:
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        requirements = Path(scratch) / "requirements.txt"
        requirements.write_text(text, "utf-8")
        command = [
            python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--require-hashes", "--only-binary=:all:", "--target", str(target),
            "-r", str(requirements),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ArtifactError(
            f"{service}: installing this machine's build of {', '.join(foreign)} failed:\n"
            f"{result.stderr}"
        )
    stamp.write_text(stamp_value)
    return target


def runnable(service: str) -> Runnable:
    task_root = unpack(service)
    python = worker_python(declarations.services()[service].manifest["runtime"])
    foreign = foreign_distributions(task_root, python)
    native = native_dependencies(service, foreign, python)
    return Runnable(service, task_root, (native,) if native else (), tuple(foreign), python)
