"""What a cold start imports: each function loads only the parts of the package it uses.

The package is lazy (``messaging/__init__.py``), so a publisher-only function never loads
the router, and the router loads the dead-letter, claim-check and version-conversion code
only when an event needs it. Each check runs a fresh interpreter with the function's
Lambda environment, tracing off, and lists the package's modules it ended up with.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

import messaging
from messaging import Envelope
from messaging.catalog import load_catalog
from tools import declarations
from tools.contract import (
    FAKE_CREDENTIALS,
    lambda_environment,
    load_fixture,
    runtime_environment,
    sns_event,
)

CONSUMERS = sorted(name for name, s in declarations.services().items() if s.manifest["subscribes"])
# Code for events that go wrong or arrive at a version the consumer does not accept.
FAILURE_PATHS = {"messaging.dead_letters", "messaging.versions"}
ROUTER = {"messaging.consumer", "messaging.idempotency", "messaging.queue_records"}

_LOADED = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.startswith("messaging"))))
"""

_HANDLED = """
import json, sys
from moto import mock_aws
from messaging import Router

router = Router(dead_letter_poison=False)
seen = []
router.on("order.placed", idempotent=False)(seen.append)
with mock_aws():
    router.handle(json.loads(sys.argv[1]))
assert len(seen) == 1, seen
print(json.dumps(sorted(m for m in sys.modules if m.startswith("messaging"))))
"""


def _modules_after(service: str, code: str, *args: str) -> set[str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"} | FAKE_CREDENTIALS
    env |= lambda_environment(service, tracing="off") | runtime_environment(service)
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def _converts_every_event(service: str) -> bool:
    catalog = load_catalog()
    return any(
        catalog.spec(entry["event_type"]).version not in entry.get("versions", [])
        for entry in declarations.services()[service].manifest["subscribes"]
        if entry.get("versions")
    )


def _handler_module(service: str) -> str:
    return declarations.services()[service].handler.rsplit(".", 1)[0]


def test_a_publisher_only_function_never_imports_the_router() -> None:
    loaded = _modules_after("orders_api", _LOADED, _handler_module("orders_api"))
    assert "messaging.publisher" in loaded  # it did import what it uses
    assert loaded.isdisjoint(ROUTER | FAILURE_PATHS), sorted(loaded & (ROUTER | FAILURE_PATHS))


@pytest.mark.parametrize("service", CONSUMERS)
def test_a_consumer_imports_no_failure_path_code_at_import(service: str) -> None:
    loaded = _modules_after(service, _LOADED, _handler_module(service))
    assert "messaging.consumer" in loaded
    assert "messaging.dead_letters" not in loaded
    # A consumer that accepts an older version than the catalog's converts every event:
    # for it alone the conversion code belongs to the cold start.
    assert ("messaging.versions" in loaded) == _converts_every_event(service)
    if not declarations.services()[service].manifest["publishes"]:
        assert "messaging.publisher" not in loaded


@pytest.mark.parametrize("service", CONSUMERS)
def test_a_first_valid_event_imports_nothing_the_handler_import_did_not(service: str) -> None:
    # What the cold start leaves to the first request would be outside group 5's probe.
    current = load_catalog().spec("order.placed").version
    event = Envelope(type="order.placed", version=current, data=dict(load_fixture("order.placed")))
    handled = _modules_after(service, _HANDLED, json.dumps(sns_event(event)))
    imported = _modules_after(service, _LOADED, _handler_module(service))
    assert handled <= imported, sorted(handled - imported)
    assert "messaging.dead_letters" not in handled


def _origin(name: str) -> Any:
    module, attribute = messaging._LAZY[name]
    return getattr(sys.modules[f"messaging.{module}"], attribute)


@pytest.mark.parametrize("name", sorted(messaging.__all__))
def test_every_public_name_resolves_to_its_definition(name: str) -> None:
    value = getattr(messaging, name)
    if name in messaging._LAZY:
        assert value is _origin(name)
    assert name in dir(messaging)


def test_every_lazy_name_is_public_and_an_unknown_one_is_an_attribute_error() -> None:
    assert set(messaging._LAZY) <= set(messaging.__all__)
    with pytest.raises(AttributeError, match="'messaging' has no attribute 'Routre'"):
        messaging.Routre  # noqa: B018
