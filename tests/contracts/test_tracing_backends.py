"""Terraform's tracing_backend accepts exactly the backends the messaging package knows."""

from __future__ import annotations

import re

import pytest

from messaging.config import TRACING_BACKENDS
from tools.declarations import ROOT

TERRAFORM = ROOT / "terraform"
_VALIDATION = re.compile(r"contains\(\[([^\]]*)\],\s*var\.tracing_backend\)")


@pytest.mark.parametrize("module", ["system", "lambda_service"])
def test_terraform_validates_the_packages_backends(module: str) -> None:
    source = (TERRAFORM / "modules" / module / "variables.tf").read_text("utf-8")
    [listed] = _VALIDATION.findall(source)
    assert tuple(re.findall(r'"([^"]+)"', listed)) == TRACING_BACKENDS


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_environment_chooses_a_known_backend(environment: str) -> None:
    tfvars = (TERRAFORM / "environments" / environment / "terraform.tfvars").read_text("utf-8")
    [chosen] = re.findall(r'^tracing_backend\s*=\s*"([^"]*)"', tfvars, re.MULTILINE)
    assert chosen in TRACING_BACKENDS
