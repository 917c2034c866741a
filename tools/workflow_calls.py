"""What GitHub checks when a workflow calls something in this repository, checked offline.

A job's ``uses: ./.github/workflows/x.yml`` must name a workflow that exists and is
triggered by ``workflow_call``; the call must pass every required input and secret and
only declared ones, of the declared type; and the callee's jobs may not ask for more
``GITHUB_TOKEN`` permissions than the calling job grants (GitHub only lets a called
workflow keep or lower them). A step's ``uses: ./path`` must name a directory with an
``action.yml``. The linters cover part of this, and not where Node is missing
(docs/pipeline.md); ``tests/pipeline/test_workflow_calls.py`` runs it over every workflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

WORKFLOWS_DIR = Path(".github/workflows")
# GitHub looks for reusable workflows only directly in .github/workflows/.
LOCAL_WORKFLOW = re.compile(r"^\./\.github/workflows/[^/]+\.ya?ml$")
REMOTE = re.compile(r"^[\w.-]+/[\w.-]+(/[^@\s]+)?@\S+$")
LEVELS = {"none": 0, "read": 1, "write": 2}
# Every scope a GITHUB_TOKEN can carry, for `read-all` / `write-all`.
SCOPES = (
    "actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token",
    "issues", "models", "packages", "pages", "pull-requests", "repository-projects",
    "security-events", "statuses",
)  # fmt: skip
INPUT_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "number": (int, float),
    "string": (str, int, float, bool),  # GitHub turns a scalar into its text
}


@dataclass(frozen=True)
class Use:
    """One ``uses:`` of a job (a reusable workflow call) or of a step (an action)."""

    workflow: Path
    job: str
    ref: str
    job_def: dict[str, Any]
    step: int | None = None  # None: the job itself calls a workflow

    @property
    def where(self) -> str:
        at = f"jobs.{self.job}" + ("" if self.step is None else f".steps[{self.step}]")
        return f"{self.workflow.name}: {at}: uses {self.ref}"


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a workflow is a YAML mapping, got {type(data).__name__}")
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The ``on:`` section as a mapping (YAML 1.1 reads a bare ``on`` key as True)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on if isinstance(on, dict) else {}


def workflow_files(root: Path) -> list[Path]:
    folder = root / WORKFLOWS_DIR
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def uses_in(path: Path) -> list[Use]:
    found = []
    for name, job in (load(path).get("jobs") or {}).items():
        if "uses" in job:
            found.append(Use(path, name, str(job["uses"]), job))
        for number, step in enumerate(job.get("steps") or []):
            if "uses" in step:
                found.append(Use(path, name, str(step["uses"]), job, number))
    return found


def problems(root: Path) -> list[str]:
    """Every broken local call in the workflows under ``root``; empty when all hold."""
    found = []
    for path in workflow_files(root):
        for use in uses_in(path):
            found += use_problems(root, use)
    return found


def use_problems(root: Path, use: Use) -> list[str]:
    ref = use.ref
    if ref.startswith("docker://") or (REMOTE.match(ref) and not ref.startswith(("./", "$/"))):
        return []  # another repository's action or workflow, pinned elsewhere
    if ref.startswith("$/"):
        return [
            f"{use.where}: this repository calls its own workflows and actions as ./..., "
            "which upstream actionlint and GitHub Enterprise Server read (docs/pipeline.md)"
        ]
    if not ref.startswith("./"):
        return [f"{use.where}: neither ./path in this repository nor owner/repo[/path]@ref"]
    if use.step is not None:
        action = root / ref
        if not any((action / name).is_file() for name in ("action.yml", "action.yaml")):
            return [f"{use.where}: no action.yml or action.yaml in {ref}"]
        return []
    if not LOCAL_WORKFLOW.match(ref):
        return [f"{use.where}: a reusable workflow must be ./.github/workflows/<name>.yml"]
    callee_path = root / ref
    if not callee_path.is_file():
        return [f"{use.where}: {ref} does not exist"]
    callee = load(callee_path)
    on = triggers(callee)
    if "workflow_call" not in on:
        return [f"{use.where}: {ref} has no `on: workflow_call`, so it cannot be called"]
    call_spec = on["workflow_call"] or {}
    return [
        f"{use.where}: {problem}"
        for problem in (
            input_problems(call_spec.get("inputs") or {}, use.job_def.get("with") or {})
            + secret_problems(call_spec.get("secrets") or {}, use.job_def.get("secrets"))
            + permission_problems(load(use.workflow), use.job_def, callee)
        )
    ]


def input_problems(declared: dict[str, Any], passed: dict[str, Any]) -> list[str]:
    found = []
    for name, spec in declared.items():
        spec = spec or {}
        if spec.get("required") and "default" not in spec and name not in passed:
            found.append(f"required input {name!r} is not passed")
    for name, value in passed.items():
        if name not in declared:
            found.append(f"input {name!r} is not declared by the called workflow")
            continue
        kind = (declared[name] or {}).get("type", "string")
        if isinstance(value, str) and "${{" in value:
            continue  # an expression: its type is known only at run time
        allowed = INPUT_TYPES.get(kind)
        if allowed is None:
            found.append(f"input {name!r} declares unknown type {kind!r}")
        elif not isinstance(value, allowed) or (kind == "number" and isinstance(value, bool)):
            found.append(f"input {name!r} is {kind} but is passed {value!r}")
    return found


def secret_problems(declared: dict[str, Any], passed: Any) -> list[str]:
    if passed == "inherit":
        return []
    passed = passed or {}
    found = [
        f"required secret {name!r} is not passed (nor secrets: inherit)"
        for name, spec in declared.items()
        if (spec or {}).get("required") and name not in passed
    ]
    found += [
        f"secret {name!r} is not declared by the called workflow"
        for name in passed
        if name not in declared
    ]
    return found


def permission_problems(
    caller: dict[Any, Any], job: dict[str, Any], callee: dict[Any, Any]
) -> list[str]:
    granted_spec = job.get("permissions", caller.get("permissions"))
    if granted_spec is None:
        return ["the calling job sets no permissions, so what the callee may use is unknown"]
    granted = permission_levels(granted_spec)
    found = []
    for name, callee_job in (callee.get("jobs") or {}).items():
        wanted_spec = callee_job.get("permissions", callee.get("permissions"))
        if wanted_spec is None:
            continue  # the job runs with the caller's token as granted
        for scope, level in permission_levels(wanted_spec).items():
            if LEVELS[level] > LEVELS[granted.get(scope, "none")]:
                found.append(
                    f"called job {name!r} asks for {scope}: {level}, "
                    f"the calling job grants {scope}: {granted.get(scope, 'none')}"
                )
    return found


def permission_levels(spec: Any) -> dict[str, str]:
    """``permissions:`` as scope -> none/read/write; a bad value is an error naming it."""
    if spec in ("read-all", "write-all"):
        return dict.fromkeys(SCOPES, spec.removesuffix("-all"))
    if spec == {} or spec is None:
        return {}
    if not isinstance(spec, dict):
        raise ValueError(f"permissions must be read-all, write-all or a mapping, got {spec!r}")
    for scope, level in spec.items():
        if level not in LEVELS:
            raise ValueError(f"permission {scope}: {level!r} is not one of none, read, write")
    return dict(spec)
