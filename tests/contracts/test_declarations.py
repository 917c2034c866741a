"""Contracts across the repository: the catalog, the manifests and the wiring between them."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from messaging import Router
from tools import declarations, topology

SERVICES = declarations.services()
CATALOG = declarations.catalog()
EVENTS = CATALOG["events"]
RESOURCES = declarations.resources()


def test_there_are_services_and_events_to_check() -> None:
    assert len(SERVICES) >= 4
    assert "order.placed" in EVENTS


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_every_event_type_has_a_topic_and_a_schema_for_its_version(event_type: str) -> None:
    spec = EVENTS[event_type]
    assert spec["topic"] in CATALOG["topics"]
    schema = declarations.EVENTS_DIR / "schemas" / f"{event_type}.v{spec['version']}.json"
    assert schema.is_file(), f"{schema} is missing"
    properties = json.loads(schema.read_text())["properties"]
    for attribute in spec.get("attributes", []):
        assert attribute in properties, f"{event_type} promotes {attribute!r}, not in its schema"


def test_every_schema_file_compiles_with_the_package_validator() -> None:
    from messaging.validation import compile_schema

    for path in sorted((declarations.EVENTS_DIR / "schemas").glob("*.json")):
        compile_schema(json.loads(path.read_text()), where=str(path))


def test_every_published_type_is_in_the_catalog() -> None:
    for service in SERVICES.values():
        for event_type in service.publishes:
            assert event_type in EVENTS, f"{service.name} publishes unknown {event_type!r}"


def test_every_subscribed_type_has_a_publisher_and_a_schema() -> None:
    publishers = topology.publishers(SERVICES)
    for service in SERVICES.values():
        for entry in service.subscribes:
            assert entry["event_type"] in EVENTS
            assert publishers.get(entry["event_type"]), (
                f"{service.name} subscribes to {entry['event_type']!r}, which nobody publishes"
            )


def test_every_declared_resource_exists_in_shared_resources() -> None:
    for service in SERVICES.values():
        for kind, names in service.manifest["resources"].items():
            for name in names:
                assert name in RESOURCES[kind], f"{service.name} uses unknown {kind} {name!r}"


@pytest.mark.parametrize(
    "subscription", topology.subscriptions(), ids=lambda s: f"{s.service}-{s.topic}"
)
def test_filter_policies_stay_within_aws_limits_and_can_match(
    subscription: topology.Subscription,
) -> None:
    assert len(subscription.filter_policy) <= topology.MAX_FILTER_KEYS
    assert subscription.combinations <= topology.MAX_FILTER_COMBINATIONS
    assert len(json.dumps(subscription.filter_policy).encode()) <= topology.MAX_FILTER_BYTES
    assert topology.can_match(subscription), (
        f"{subscription.service}'s filter {subscription.filter_policy} matches no event a "
        "producer can publish"
    )


def test_a_filter_no_producer_can_satisfy_is_caught() -> None:
    impossible = topology.Subscription(
        "x", "orders", ("order.placed",), {"fulfilment": ["teleport"]}
    )
    unknown_key = topology.Subscription("x", "orders", ("order.placed",), {"colour": ["red"]})
    assert not topology.can_match(impossible)
    assert not topology.can_match(unknown_key)


def test_digital_orders_skip_the_inventory_service() -> None:
    [inventory] = [s for s in topology.subscriptions() if s.service == "inventory"]
    assert topology.matches(
        inventory.filter_policy, {"event_type": "order.placed", "fulfilment": "physical"}
    )
    assert not topology.matches(
        inventory.filter_policy, {"event_type": "order.placed", "fulfilment": "digital"}
    )


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_handler_imports_and_routes_exactly_what_its_manifest_subscribes(
    name: str, lambda_env: Callable[[str], dict[str, str]]
) -> None:
    service = SERVICES[name]
    lambda_env(name)
    module_name, _, function = service.handler.rpartition(".")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, function))
    routers = [value for value in vars(module).values() if isinstance(value, Router)]
    subscribed = {entry["event_type"] for entry in service.subscribes}
    if subscribed:
        [router] = routers
        assert router.event_types == subscribed
    else:
        assert routers == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m.pop("handler"), r"\$\.handler: is required"),
        (lambda m: m.update(memory_mb=64), r"\$\.memory_mb: must be bigger than or equal to 128"),
        (lambda m: m.update(architecture="sparc"), r"\$\.architecture: must be one of"),
        (
            lambda m: m["subscribes"].append({"event": "x"}),
            r"\$\.subscribes\[0\]\.event_type: is required",
        ),
        (lambda m: m.update(colour="red"), r"\$\.colour: is not an allowed field"),
        (
            # The generated event_type key would be replaced by the manifest's.
            lambda m: m["subscribes"].append(
                {"event_type": "order.placed", "filter": {"event_type": ["inventory.rejected"]}}
            ),
            r"\$\.subscribes\[0\]\.filter\.event_type: must be one of \[\]",
        ),
        # A route is never public by omission, and only jwt routes take scopes.
        (
            lambda m: m.update(routes=[{"method": "GET", "path": "/x"}]),
            r"\$\.routes\[0\]\.auth: is required",
        ),
        (
            lambda m: m.update(routes=[{"method": "GET", "path": "/x", "auth": "iam"}]),
            r"\$\.routes\[0\]\.auth: must be one of \['jwt', 'none'\]",
        ),
        (
            lambda m: m.update(
                routes=[{"method": "GET", "path": "/x", "auth": "none", "scopes": ["a"]}]
            ),
            r"\$\.routes\[0\]\.scopes: must be one of \[\]",
        ),
    ],
)
def test_a_bad_manifest_fails_naming_the_file_and_field(
    tmp_path: Path, mutate: Callable[[dict[str, object]], object], message: str
) -> None:
    manifest = json.loads((declarations.SERVICES_DIR / "order_status" / "service.json").read_text())
    manifest["subscribes"] = []
    mutate(manifest)
    path = tmp_path / "broken" / "service.json"
    path.parent.mkdir()
    path.write_text(json.dumps(manifest))
    with pytest.raises(declarations.ManifestError) as raised:
        declarations.services(tmp_path)
    assert str(path) in str(raised.value)
    assert re.search(message, str(raised.value))


def test_conflicting_filters_on_one_topic_are_refused() -> None:
    service = SERVICES["order_status"]
    manifest = {
        **service.manifest,
        "subscribes": [
            {"event_type": "inventory.reserved"},
            {"event_type": "inventory.rejected", "filter": {"source": ["inventory"]}},
        ],
    }
    clash = {"order_status": declarations.Service("order_status", service.directory, manifest)}
    with pytest.raises(topology.TopologyError, match="order_status"):
        topology.subscriptions(clash)


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if s.subscribes))
def test_every_consumer_can_keep_idempotency_records_and_read_claim_checks(name: str) -> None:
    resources = SERVICES[name].manifest["resources"]
    assert resources.get("tables", {}).get("idempotency") == "read_write"
    assert resources.get("buckets", {}).get("large-events") in {"read", "read_write"}


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if s.publishes))
def test_every_publisher_can_check_large_events_in(name: str) -> None:
    access = SERVICES[name].manifest["resources"].get("buckets", {}).get("large-events")
    assert access in {"write", "read_write"}
