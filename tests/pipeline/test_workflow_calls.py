"""Every local `uses:` resolves, and each reusable workflow call satisfies its callee
(tools/workflow_calls.py): the real workflows hold, and each way of breaking them is caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools import workflow_calls

ROOT = Path(__file__).resolve().parents[2]
CI = ".github/workflows/ci.yml"
DEPLOY = ".github/workflows/deploy.yml"
DEPLOY_CALL = "    uses: ./.github/workflows/deploy.yml"


def test_every_local_uses_resolves_and_satisfies_its_callee() -> None:
    assert workflow_calls.problems(ROOT) == []


def test_ci_calls_the_deploy_workflow_locally() -> None:
    calls = [
        use.ref
        for path in workflow_calls.workflow_files(ROOT)
        for use in workflow_calls.uses_in(path)
        if use.step is None
    ]
    assert calls == ["./.github/workflows/deploy.yml"], "the check above has a call to check"


def broken_copy(tmp_path: Path, file: str, old: str, new: str) -> list[str]:
    """The problems found in a copy of this repository's workflows with one edit made."""
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    target = tmp_path / file
    text = target.read_text(encoding="utf-8")
    assert old in text, f"{file} no longer contains {old!r}: update this regression"
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return workflow_calls.problems(tmp_path)


REGRESSIONS = {
    "dollar-self": (
        CI,
        DEPLOY_CALL,
        "    uses: $/.github/workflows/deploy.yml",
        "calls its own workflows and actions as ./...",
    ),
    "missing-file": (
        CI,
        DEPLOY_CALL,
        "    uses: ./.github/workflows/nope.yml",
        "./.github/workflows/nope.yml does not exist",
    ),
    "no-prefix": (
        CI,
        DEPLOY_CALL,
        "    uses: .github/workflows/deploy.yml",
        "neither ./path in this repository nor owner/repo[/path]@ref",
    ),
    "subdirectory": (
        CI,
        DEPLOY_CALL,
        "    uses: ./.github/workflows/deploy/deploy.yml",
        "must be ./.github/workflows/<name>.yml",
    ),
    "required-input-missing": (
        CI,
        "      environment: dev",
        "      enviroment: dev",
        "required input 'environment' is not passed",
    ),
    "undeclared-input": (
        CI,
        "      environment: dev",
        "      environment: dev\n      region: eu-west-1",
        "input 'region' is not declared by the called workflow",
    ),
    "undeclared-secret": (
        CI,
        "      environment: dev",
        "      environment: dev\n    secrets:\n      token: x",
        "secret 'token' is not declared by the called workflow",
    ),
    "permission-not-granted": (
        CI,
        "      id-token: write # OIDC: assume the dev deploy role\n",
        "",
        "called job 'plan' asks for id-token: write, the calling job grants id-token: none",
    ),
    "permission-lowered": (
        CI,
        "      actions: read # download this run's artifacts\n",
        "",
        "called job 'source' asks for actions: read, the calling job grants actions: none",
    ),
    "callee-not-callable": (
        DEPLOY,
        "  workflow_call:\n",
        "  repository_dispatch:\n",
        "has no `on: workflow_call`, so it cannot be called",
    ),
    "required-secret-missing": (
        DEPLOY,
        "        required: true\n  workflow_dispatch:",
        "        required: true\n    secrets:\n      deploy-key:\n        required: true\n"
        "  workflow_dispatch:",
        "required secret 'deploy-key' is not passed (nor secrets: inherit)",
    ),
    "callee-input-is-boolean": (
        DEPLOY,
        "        description: dev, staging or prod\n        type: string",
        "        description: dev, staging or prod\n        type: boolean",
        "input 'environment' is boolean but is passed 'dev'",
    ),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_a_broken_call_is_reported(tmp_path: Path, name: str) -> None:
    file, old, new, expected = REGRESSIONS[name]
    found = broken_copy(tmp_path, file, old, new)
    assert any(expected in problem for problem in found), found


def test_secrets_inherit_passes_every_required_secret() -> None:
    declared = {"deploy-key": {"required": True}}
    assert workflow_calls.secret_problems(declared, "inherit") == []
    assert workflow_calls.secret_problems(declared, {"deploy-key": "${{ secrets.K }}"}) == []
    assert workflow_calls.secret_problems(declared, None) == [
        "required secret 'deploy-key' is not passed (nor secrets: inherit)"
    ]


def test_a_required_input_with_a_default_may_be_left_out() -> None:
    declared = {"level": {"type": "number", "required": True, "default": 1}}
    assert workflow_calls.input_problems(declared, {}) == []
    assert workflow_calls.input_problems(declared, {"level": True}) == [
        "input 'level' is number but is passed True"
    ]
    assert workflow_calls.input_problems(declared, {"level": "${{ inputs.x }}"}) == []


def test_read_all_and_write_all_cover_every_scope() -> None:
    caller = {"permissions": "read-all"}
    callee = {"jobs": {"j": {"permissions": {"contents": "read", "id-token": "write"}}}}
    assert workflow_calls.permission_problems(caller, {}, callee) == [
        "called job 'j' asks for id-token: write, the calling job grants id-token: read"
    ]
    assert workflow_calls.permission_problems({"permissions": "write-all"}, {}, callee) == []
    # A callee job without its own permissions takes the callee's top-level ones.
    assert workflow_calls.permission_problems(
        {}, {"permissions": {}}, {"permissions": {"contents": "read"}, "jobs": {"j": {}}}
    ) == ["called job 'j' asks for contents: read, the calling job grants contents: none"]


def test_a_bad_permission_value_is_named() -> None:
    with pytest.raises(ValueError, match=r"permission contents: 'admin' is not one of"):
        workflow_calls.permission_levels({"contents": "admin"})


def test_a_local_action_needs_its_action_yml(tmp_path: Path) -> None:
    workflows = tmp_path / ".github/workflows"
    workflows.mkdir(parents=True)
    (workflows / "w.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - uses: ./.github/actions/greet\n",
        encoding="utf-8",
    )
    assert workflow_calls.problems(tmp_path) == [
        "w.yml: jobs.j.steps[0]: uses ./.github/actions/greet: "
        "no action.yml or action.yaml in ./.github/actions/greet"
    ]
    (tmp_path / ".github/actions/greet").mkdir(parents=True)
    (tmp_path / ".github/actions/greet/action.yml").write_text("name: greet\n", encoding="utf-8")
    assert workflow_calls.problems(tmp_path) == []
