"""checkov over the plan of dev applied to moto (every value known), through
`make tf-checkov-plan`, which holds checkov's settings for the directory scan too."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tfharness

pytestmark = pytest.mark.slow


def test_checkov_passes_the_plan_of_dev_applied(
    deployed_plan: dict[str, Any], tmp_path: Path
) -> None:
    make = shutil.which("make")
    assert make, "make is needed to run checkov with the repository's settings"
    plan = tmp_path / "dev-applied-plan.json"
    plan.write_text(json.dumps(deployed_plan))
    result = subprocess.run(
        [make, "-s", "tf-checkov-plan", f"TF_PLAN_JSON={plan}"],
        cwd=tfharness.REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"checkov found problems:\n{result.stdout}\n{result.stderr}"
    assert "Passed checks" in result.stdout, result.stdout
