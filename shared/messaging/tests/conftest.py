"""Fixtures for the package's own tests: a publisher service with its environment."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from messaging.testing import load_fixture


@pytest.fixture
def orders_api_env(lambda_env: Callable[[str], dict[str, str]]) -> dict[str, str]:
    """The environment of a service that may publish ``order.placed`` and nothing else."""
    return lambda_env("orders_api")


@pytest.fixture
def order() -> dict[str, object]:
    return dict(load_fixture("order.placed"))
