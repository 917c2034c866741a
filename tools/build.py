"""Build ``dist/<service>.zip`` for Lambda: byte-identical whenever the sources are.

The zip holds the service's package, the ``messaging`` package with the event catalog,
and the service's locked third-party dependencies installed for the Lambda runtime
and architecture in its manifest (not for this machine). What the runtime already
provides (boto3, botocore and their dependencies) stays out.

Determinism: entries sorted, timestamps fixed at 1980-01-01, modes fixed; ``.pyc`` files
are compiled with hash-based invalidation and a fixed ``/var/task`` path (pip's own
compilation would embed a random temporary path) by the runtime's own Python where it
is installed (tools/runtimes.py finds it, pyenv included); without it the zip has no ``.pyc``.

    python -m tools.build orders_api [inventory ...] [--if-stale]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from messaging import validation

from . import declarations, pyc, runtimes

ROOT = declarations.ROOT
DIST = ROOT / "dist"
BUILD = ROOT / "build"
MESSAGING_SRC = ROOT / "shared" / "messaging" / "src" / "messaging"
EVENTS = declarations.EVENTS_DIR
TASK_ROOT = "/var/task"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)

# Shipped by every Lambda Python runtime; bundling them would only add megabytes.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")


class BuildError(RuntimeError):
    """A service cannot be built; the message says why."""


def _platforms(runtime: str, architecture: str) -> list[str]:
    machine = "aarch64" if architecture == "arm64" else "x86_64"
    runtimes.version_of(runtime)  # a runtime this function cannot target fails here, by name
    # python3.12 and later run on Amazon Linux 2023 (glibc 2.34): any wheel up to manylinux_2_34.
    tags = ["manylinux2014", "manylinux_2_17", "manylinux_2_28", "manylinux_2_34"]
    return [f"{tag}_{machine}" for tag in tags]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def shipped_requirements(lock: Path) -> list[str]:
    """The lock's entries (with their hashes) minus what the Lambda runtime provides."""
    kept: list[str] = []
    entry: list[str] = []
    for line in lock.read_text("utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" ") and entry:
            kept.append("\n".join(entry))
            entry = []
        entry.append(line)
    if entry:
        kept.append("\n".join(entry))
    shipped = []
    for block in kept:
        match = _REQUIREMENT.match(block)
        if match is None:
            raise BuildError(f"{lock}: cannot read requirement {block.splitlines()[0]!r}")
        if _normalise(match[1]) not in RUNTIME_PROVIDED:
            shipped.append(block.rstrip(" \\"))
    return shipped


def _copy_tree(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        if path.name.endswith(".egg-info") or any(p.endswith(".egg-info") for p in path.parts):
            continue
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)


def _generate_validators(service: declarations.Service, target: Path) -> None:
    """Each schema the function checks, as code: the artifact needs no schema compiler."""
    target.mkdir(parents=True)
    schemas = [
        *(EVENTS / "schemas").glob("*.json"),
        *(service.directory / "src").rglob("*.schema.json"),
    ]
    for path in sorted(schemas):
        schema = json.loads(path.read_text("utf-8"))
        code = validation.generate_code(schema, where=str(path.relative_to(ROOT)))
        (target / f"{validation.fingerprint(schema)}.py").write_text(code, "utf-8")


def _install_dependencies(service: declarations.Service, target: Path) -> None:
    lock = service.directory / "requirements.txt"
    if not lock.is_file():
        raise BuildError(f"{lock} is missing: run `make lock`")
    shipped = shipped_requirements(lock)
    if not shipped:
        return
    runtime = service.manifest["runtime"]
    with tempfile.TemporaryDirectory() as scratch:
        requirements = Path(scratch) / "requirements.txt"
        requirements.write_text("\n".join(shipped) + "\n", "utf-8")
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--require-hashes", "--no-compile", "--only-binary=:all:",
            "--implementation", "cp", "--python-version", runtime.removeprefix("python"),
            "--target", str(target), "-r", str(requirements),
        ]  # fmt: skip
        for platform in _platforms(runtime, service.manifest["architecture"]):
            command += ["--platform", platform]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(f"installing {service.name}'s dependencies failed:\n{result.stderr}")
    for junk in target.glob("*.dist-info/direct_url.json"):
        junk.unlink()
    shutil.rmtree(target / "bin", ignore_errors=True)


def _compile(staging: Path, runtime: str) -> bool:
    """Precompile with ``runtime``'s interpreter; ``False`` (and why) when none is installed."""
    if runtime == runtimes.current_runtime():
        pyc.compile_tree(staging, TASK_ROOT)
        return True
    python = runtimes.interpreter(runtime)
    if python is None:
        print(
            f"note: {runtime} is not installed, so the zip carries no .pyc files and Lambda "
            f"compiles at cold start; {runtimes.how_to_install(runtime)}",
            file=sys.stderr,
        )
        return False
    command = [str(python), "-I", str(Path(pyc.__file__)), str(staging), TASK_ROOT]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"compiling with {python} failed:\n{result.stderr}")
    return True


def write_zip(staging: Path, destination: Path) -> None:
    """Zip ``staging`` so that the same files always give the same bytes."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".zip.partial")
    files = sorted(
        (p for p in staging.rglob("*") if p.is_file()),
        key=lambda p: p.relative_to(staging).as_posix(),
    )
    with zipfile.ZipFile(partial, "w") as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(staging).as_posix(), date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 & 0xFFFF) << 16
            info.create_system = 3  # Unix, so the mode above is honoured everywhere
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    partial.replace(destination)


def input_digest(service: declarations.Service) -> str:
    """A digest of everything the zip is built from, so unchanged sources skip the build."""
    digest = hashlib.sha256()
    roots = [service.directory / "src", MESSAGING_SRC, EVENTS]
    files = [service.directory / "service.json", service.directory / "requirements.txt"]
    for root in roots:
        files += [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for path in sorted(files):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(Path(__file__).read_bytes() + Path(pyc.__file__).read_bytes())
    # Whether (and by which Python) the .pyc files are compiled changes the zip too.
    digest.update(str(runtimes.interpreter(service.manifest["runtime"])).encode())
    # The generated validators depend on the generator's version too.
    digest.update(importlib.metadata.version("fastjsonschema").encode())
    return digest.hexdigest()


def build(
    service: declarations.Service,
    *,
    if_stale: bool = False,
    dist: Path | None = None,
    work: Path | None = None,
) -> Path:
    """Build ``service`` into ``dist/<name>.zip``, staging under ``work``."""
    dist = DIST if dist is None else dist
    work = BUILD if work is None else work
    destination = dist / f"{service.name}.zip"
    stamp = work / f"{service.name}.inputs"
    digest = input_digest(service)
    if if_stale and destination.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return destination
    staging = work / service.name
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    package = service.handler.split(".")[0]
    _copy_tree(service.directory / "src", staging)
    if not (staging / package).is_dir():
        raise BuildError(f"{service.name}: handler package {package!r} not found under src/")
    _copy_tree(MESSAGING_SRC, staging / "messaging")
    (staging / "messaging" / "_events" / "schemas").mkdir(parents=True)
    shutil.copyfile(EVENTS / "catalog.json", staging / "messaging" / "_events" / "catalog.json")
    for schema in sorted((EVENTS / "schemas").glob("*.json")):
        shutil.copyfile(schema, staging / "messaging" / "_events" / "schemas" / schema.name)
    # The converters the router chains between versions, and the manifest naming the versions
    # this service accepts (see messaging.versions).
    shutil.copyfile(EVENTS / "converters.py", staging / "messaging" / "_events" / "converters.py")
    shutil.copyfile(service.directory / "service.json", staging / "messaging" / "_service.json")
    _generate_validators(service, staging / "messaging" / "_validators")
    _install_dependencies(service, staging)
    _compile(staging, service.manifest["runtime"])
    write_zip(staging, destination)
    stamp.write_text(digest)
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("services", nargs="+", help="service names (directories under services/)")
    parser.add_argument(
        "--if-stale", action="store_true", help="skip services whose inputs are unchanged"
    )
    args = parser.parse_args(argv)
    known = declarations.services()
    unknown = [name for name in args.services if name not in known]
    if unknown:
        print(
            f"error: unknown service(s) {', '.join(unknown)}; valid: {', '.join(known)}",
            file=sys.stderr,
        )
        return 2
    for name in args.services:
        try:
            path = build(known[name], if_stale=args.if_stale)
        except BuildError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        data = path.read_bytes()
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        summary = {
            "service": name,
            "zip": str(shown),
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
