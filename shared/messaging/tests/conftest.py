"""Fixtures for the package's own tests: a publisher service with its environment."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import messaging
from messaging.catalog import catalog_dir
from tools.contract import load_fixture


@pytest.fixture
def orders_api_env(lambda_env: Callable[[str], dict[str, str]]) -> dict[str, str]:
    """The environment of a service that may publish ``order.placed`` and nothing else."""
    return lambda_env("orders_api")


@pytest.fixture
def order() -> dict[str, object]:
    return dict(load_fixture("order.placed"))


@pytest.fixture
def blob_catalog(
    orders_api_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The real catalog plus ``test.blob``, an event whose payload may be any size."""
    shutil.copytree(catalog_dir(), tmp_path / "events")
    catalog_file = tmp_path / "events" / "catalog.json"
    catalog = json.loads(catalog_file.read_text())
    catalog["events"]["test.blob"] = {"topic": "orders", "version": 1, "attributes": []}
    catalog_file.write_text(json.dumps(catalog))
    schema = {"type": "object", "properties": {"payload": {"type": "string"}}}
    (tmp_path / "events" / "schemas" / "test.blob.v1.json").write_text(json.dumps(schema))
    messaging.configure(
        catalog_dir=str(tmp_path / "events"), publishes=frozenset({"order.placed", "test.blob"})
    )
    return tmp_path / "events"
