"""Fixtures of the Terraform tests: a moto server and an environment applied to it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import tfharness


@pytest.fixture(scope="module")
def moto_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tfharness.MotoEnvironment]:
    """The dev environment, initialised against a fresh moto server (stopped afterwards)."""
    reason = tfharness.init_unavailable()
    if reason:
        pytest.skip(reason)
    with tfharness.moto_server() as endpoint:
        env = tfharness.MotoEnvironment("dev", endpoint, tmp_path_factory.mktemp("tf-moto"))
        env.init()
        yield env


@pytest.fixture(scope="module")
def deployed(moto_dev: tfharness.MotoEnvironment) -> Iterator[tfharness.MotoEnvironment]:
    """The dev environment applied to moto; destroyed afterwards whatever happens."""
    try:
        moto_dev.apply()
        yield moto_dev
    finally:
        moto_dev.destroy()


@pytest.fixture(scope="module")
def deployed_plan(deployed: tfharness.MotoEnvironment) -> dict:
    """`terraform show -json` of a plan of the applied environment: every value known."""
    return deployed.plan_json()
