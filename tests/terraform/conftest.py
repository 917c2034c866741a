"""Fixtures of the Terraform tests, shared by the whole session so that one apply of dev
against moto serves the read-back tests, checkov's plan scan and the IAM checks:

* ``bootstrap``: terraform/bootstrap's roles and boundaries applied to a moto server;
* ``deployed``: dev applied to the same server (its roles carry the real boundary), with
  the provider's debug log on; ``deployed_plan``: a plan of it, every value known;
* ``destroyed_deployment``: dev destroyed again, the debug log then complete. Tests that
  use it run after every test of the live deployment (the root conftest orders them).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import tfharness


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    reason = tfharness.init_unavailable()
    if reason:
        pytest.skip(reason)
    with tfharness.moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def bootstrap(
    moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> tfharness.MotoBootstrap:
    env = tfharness.MotoBootstrap(moto_endpoint, tmp_path_factory.mktemp("tf-bootstrap"))
    env.init()
    env.apply_iam()
    return env


@pytest.fixture(scope="session")
def bootstrap_plan(bootstrap: tfharness.MotoBootstrap) -> dict[str, Any]:
    """A plan of the whole bootstrap once its IAM part exists: every policy known."""
    return bootstrap.plan_json()


@pytest.fixture(scope="session")
def moto_dev(
    moto_endpoint: str,
    bootstrap: tfharness.MotoBootstrap,
    tmp_path_factory: pytest.TempPathFactory,
) -> tfharness.MotoEnvironment:
    """The dev environment, initialised against the moto server the bootstrap is on."""
    workdir = tmp_path_factory.mktemp("tf-moto")
    env = tfharness.MotoEnvironment("dev", moto_endpoint, workdir, debug_log=workdir / "debug")
    env.init(with_stand_in_boundary=False)
    return env


@pytest.fixture(scope="session")
def deployed(moto_dev: tfharness.MotoEnvironment) -> Iterator[tfharness.MotoEnvironment]:
    """The dev environment applied to moto; destroyed afterwards whatever happens."""
    try:
        moto_dev.apply()
        yield moto_dev
    finally:
        if not getattr(moto_dev, "destroyed", False):
            moto_dev.destroy()


@pytest.fixture(scope="session")
def deployed_plan(deployed: tfharness.MotoEnvironment) -> dict[str, Any]:
    """`terraform show -json` of a plan of the applied environment: every value known."""
    return deployed.plan_json()


@pytest.fixture(scope="session")
def destroyed_deployment(
    deployed: tfharness.MotoEnvironment, deployed_plan: dict[str, Any]
) -> tfharness.MotoEnvironment:
    """dev destroyed: its debug logs now hold every call of plan, apply and destroy."""
    deployed.destroy()
    deployed.destroyed = True  # type: ignore[attr-defined]
    return deployed
