"""The workflows' hardening rules, beyond what actionlint and zizmor check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.workflow_calls import load, triggers

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s+# v\d+(\.\d+){0,2}$")


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "deploy.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = USES.match(line)
        if not match:
            continue
        ref = match["ref"]
        if ref.startswith(("./", "$/")):
            continue  # this repository's own reusable workflow
        assert PINNED.match(ref), f"{path.name}:{number}: {ref} is not pinned to a full commit SHA"
        assert VERSION_COMMENT.match(match["rest"]), f"{path.name}:{number}: no '# vX.Y.Z' comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege(path: Path) -> None:
    workflow = load(path)
    assert "pull_request_target" not in triggers(workflow)
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        permissions = job.get("permissions", {})
        if permissions.get("id-token") == "write":
            deploys = "environment" in job or job.get("uses", "").endswith("/deploy.yml")
            assert deploys, f"{path.name}: job {name} gets id-token: write but deploys nothing"
        assert "write-all" not in str(permissions)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_is_interpolated_into_a_run_block(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        for step in job.get("steps", []):
            assert "${{" not in step.get("run", ""), f"{path.name}: {name}: pass it through env:"


def test_ci_steps_call_make() -> None:
    for name, job in load(ROOT / ".github" / "workflows" / "ci.yml")["jobs"].items():
        for step in job.get("steps", []):
            if "run" in step:
                assert step["run"].startswith("make "), f"ci.yml: {name}: {step['run']!r}"


def test_deploy_applies_the_saved_plan_with_oidc_per_environment() -> None:
    deploy = load(ROOT / ".github" / "workflows" / "deploy.yml")
    assert deploy["concurrency"]["group"] == "deploy-${{ inputs.environment }}"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    runs = {
        job_name: [step.get("run", "") for step in job["steps"]]
        for job_name, job in deploy["jobs"].items()
    }
    assert any("make tf-plan" in r for r in runs["plan"])
    assert any("make tf-apply" in r for r in runs["apply"])
    for job_name in ("plan", "apply"):
        job = deploy["jobs"][job_name]
        assert job["environment"] == "${{ inputs.environment }}"
        assert job["permissions"]["id-token"] == "write"
        uses = [step.get("uses", "") for step in job["steps"]]
        assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
        assert any("make verify-checksums" in r for r in runs[job_name])
        for step in job["steps"]:
            assert "aws-access-key-id" not in step.get("with", {})
