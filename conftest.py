"""Fixtures shared by every test suite: moto-backed AWS provisioned from the declarations."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from moto import mock_aws

import messaging
from tools.contract import FAKE_CREDENTIALS, Provisioned, drain, lambda_environment, provision


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Every test starts and ends with the package's settings and clients forgotten."""
    messaging.reset()
    yield
    messaging.reset()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process moto with fake credentials; no request can reach real AWS."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "_X_AMZN_TRACE_ID", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        messaging.reset()
        yield
    messaging.reset()


@pytest.fixture
def system(aws: None) -> Provisioned:
    """Topics, tables, bucket, senders and DLQs as Terraform declares them, plus observer queues."""
    return provision("local", observe=True)


@pytest.fixture
def published(system: Provisioned) -> Callable[[str], list[dict[str, Any]]]:
    """``published("orders")``: the envelopes published to a topic since the last call."""

    def read(topic: str) -> list[dict[str, Any]]:
        return [json.loads(n["Message"]) for n in drain(system.observer_queues[topic])]

    return read


@pytest.fixture
def lambda_env(
    system: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], dict[str, str]]:
    """Give the process the environment Terraform gives ``service``'s function."""

    def use(service: str) -> dict[str, str]:
        env = lambda_environment(
            service,
            topic_arns=system.topic_arns,
            dead_letter_queue_url=system.dead_letter_queues[service],
        )
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        messaging.reset()
        return env

    return use


@pytest.fixture
def load_handler(lambda_env: Callable[[str], dict[str, str]]) -> Callable[[str], ModuleType]:
    """Import ``<service>.handler`` as Lambda would: with the function's environment set first."""

    def load(service: str) -> ModuleType:
        lambda_env(service)
        return importlib.import_module(f"{service}.handler")

    return load


# --- the IAM check of every function's AWS calls ----------------------------------------
# The local system's workers record each AWS call in LOCAL_CALL_LOG_DIR
# (tools/local/call_log.py); the checks marked after_end_to_end read them, so they run
# last, once the end-to-end suites (tests/e2e, tests/reliability) have made their calls.


def pytest_configure(config: pytest.Config) -> None:
    if "LOCAL_CALL_LOG_DIR" not in os.environ:
        directory = tempfile.mkdtemp(prefix="aws-calls-")
        os.environ["LOCAL_CALL_LOG_DIR"] = directory
        config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Stable reorder: the Terraform tests of a fresh dev before those of the applied one
    (tests/terraform/conftest.py), the destroy after both, the recorded-call checks last."""

    def rank(item: pytest.Item) -> int:
        fixtures = getattr(item, "fixturenames", ())
        if item.get_closest_marker("after_end_to_end"):
            return 3
        if "destroyed_deployment" in fixtures:
            return 2
        if "deployed" in fixtures:
            return 1
        return 0

    items.sort(key=rank)
