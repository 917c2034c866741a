"""The CI build matrix, and where a deploy takes its artifacts from.

``python -m tools.ci_matrix [--base SHA]`` prints the JSON build matrix,
``{"service": [...]}``: every directory under ``services/`` that has a
``service.json``. Given ``--base`` (a pull request's base commit), only the
services that the change since the merge base touches: its own code under
``services/<name>/``, or anything that every service is built from (the
messaging package under ``shared/``, the lock files ``requirements/*.txt``, the
build tool ``tools/build*`` and the ``tools/declarations*`` it reads), which selects
all of them. When ``GITHUB_OUTPUT``
is set, ``matrix=<json>`` and ``any=true|false`` are appended to it too.

``python -m tools.ci_matrix resolve-run`` decides which CI run's artifacts, and
so which commit, a deploy takes: the current run (no ``CI_RUN_ID``), or an
earlier successful CI run on main, described by the GitHub API's run JSON on
standard input. It prints, and writes to ``GITHUB_OUTPUT``, ``run-id`` and
``sha``.

Standard library only, so the matrix job needs no virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Paths every service is built from: a change under any of them rebuilds all services.
ALL_SERVICES_PREFIXES = ("shared/", "tools/build", "tools/declarations")
#: The lock files: requirements/<name>.txt (their .in sources change nothing until re-locked).
LOCK_FILE = re.compile(r"^requirements/[^/]+\.txt$")
#: The workflow whose runs produce deployable artifacts.
CI_WORKFLOW_PATH = ".github/workflows/ci.yml"
SHA = re.compile(r"^[0-9a-f]{40}$")
#: A service directory name: it becomes a job name, an artifact name and a make argument.
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ResolveError(Exception):
    """The requested CI run cannot be deployed."""


def discover_services(root: Path = REPO_ROOT) -> list[str]:
    """Every directory directly under services/ that declares a service.json, sorted.

    A name that is not a plain identifier (lower case, digits, underscores) is refused.
    """
    services_dir = root / "services"
    if not services_dir.is_dir():
        return []
    names = sorted(p.parent.name for p in services_dir.glob("*/service.json") if p.is_file())
    bad = [name for name in names if not SERVICE_NAME.match(name)]
    if bad:
        raise ValueError(f"service directory names must match {SERVICE_NAME.pattern}: {bad}")
    return names


def touches_all(path: str) -> bool:
    """Whether a change to ``path`` affects the build of every service."""
    return path.startswith(ALL_SERVICES_PREFIXES) or bool(LOCK_FILE.match(path))


def affected_services(services: Sequence[str], changed: Iterable[str]) -> list[str]:
    """The services among ``services`` whose build the changed paths affect, sorted."""
    selected: set[str] = set()
    known = set(services)
    for path in changed:
        if touches_all(path):
            return sorted(known)
        parts = path.split("/")
        if len(parts) >= 3 and parts[0] == "services" and parts[1] in known:
            selected.add(parts[1])
    return sorted(selected)


def changed_files(base: str, root: Path = REPO_ROOT, head: str = "HEAD") -> list[str]:
    """Paths changed on ``head`` since its merge base with ``base`` (as a pull request shows)."""
    result = subprocess.run(
        ["git", "-C", str(root), "diff", "--name-only", "--no-renames", f"{base}...{head}"],
        check=True,
        capture_output=True,
        text=True,
    )
    return [line for line in result.stdout.splitlines() if line]


def build_matrix(root: Path = REPO_ROOT, base: str | None = None) -> dict[str, list[str]]:
    """The matrix: all services without a base, the affected ones with one."""
    services = discover_services(root)
    if base:
        services = affected_services(services, changed_files(base, root))
    return {"service": services}


def resolve_run(
    run: dict[str, object] | None, current_run_id: str, current_sha: str
) -> dict[str, str]:
    """The run and commit to deploy: the current run, or a checked earlier CI run on main."""
    if run is None:
        if not current_run_id or not SHA.match(current_sha):
            raise ResolveError("no CI run given and no current run id / commit sha")
        return {"run-id": current_run_id, "sha": current_sha}
    checks = {
        "path": CI_WORKFLOW_PATH,
        "event": "push",
        "head_branch": "main",
        "status": "completed",
        "conclusion": "success",
    }
    for key, expected in checks.items():
        actual = run.get(key)
        if key == "path" and isinstance(actual, str):
            actual = actual.split("@", 1)[0]
        if actual != expected:
            raise ResolveError(f"run {run.get('id')}: {key} is {actual!r}, expected {expected!r}")
    sha = run.get("head_sha")
    if not isinstance(sha, str) or not SHA.match(sha):
        raise ResolveError(f"run {run.get('id')}: no head_sha")
    return {"run-id": str(run.get("id")), "sha": sha}


def write_github_output(values: dict[str, str]) -> None:
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            for key, value in values.items():
                fh.write(f"{key}={value}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.ci_matrix", description=__doc__)
    parser.add_argument("command", nargs="?", default="matrix", choices=["matrix", "resolve-run"])
    parser.add_argument("--base", default="", help="pull request base commit; empty: all services")
    args = parser.parse_args(argv)

    if args.command == "resolve-run":
        raw = sys.stdin.read().strip() if os.environ.get("CI_RUN_ID") else ""
        try:
            values = resolve_run(
                json.loads(raw) if raw else None,
                os.environ.get("GITHUB_RUN_ID", ""),
                os.environ.get("GITHUB_SHA", ""),
            )
        except (ResolveError, json.JSONDecodeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(values))
        write_github_output(values)
        return 0

    base = args.base.strip()
    if base and set(base) == {"0"}:  # a push that created the branch has no "before"
        base = ""
    matrix = build_matrix(base=base or None)
    text = json.dumps(matrix, separators=(",", ":"))
    print(text)
    write_github_output({"matrix": text, "any": "true" if matrix["service"] else "false"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
