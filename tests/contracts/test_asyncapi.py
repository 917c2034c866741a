"""The AsyncAPI document is current and says what the declarations and Terraform say."""

from __future__ import annotations

import json

from tools import asyncapi, declarations, topology


def test_the_committed_document_is_current() -> None:
    assert asyncapi.DOCUMENT.read_text() == asyncapi.render(), "run `make asyncapi`"


def test_channels_are_the_topics_and_carry_every_published_version() -> None:
    document = asyncapi.document()
    catalog = declarations.catalog()
    assert set(document["channels"]) == set(catalog["topics"])
    carried = {
        (m["name"], int(m["title"].rpartition(" v")[2]))
        for m in document["components"]["messages"].values()
    }
    expected = {
        (event_type, version)
        for event_type, spec in catalog["events"].items()
        for version in {*spec.get("published_versions", []), spec["version"]}
    }
    assert carried == expected


def test_each_subscription_is_a_receive_operation_with_its_filter_policy() -> None:
    operations = asyncapi.document()["operations"]
    for subscription in topology.subscriptions():
        operation = operations[f"{subscription.service}_receives_{subscription.topic}"]
        [consumer] = operation["bindings"]["sns"]["consumers"]
        assert operation["action"] == "receive"
        assert consumer["filterPolicy"] == subscription.filter_policy


def test_inventory_receives_order_placed_v1_and_the_publisher_sends_v2() -> None:
    operations = asyncapi.document()["operations"]
    assert operations["inventory_receives_orders"]["messages"] == [
        {"$ref": "#/channels/orders/messages/order_placed_v1"}
    ]
    assert operations["orders_api_sends_orders"]["messages"] == [
        {"$ref": "#/channels/orders/messages/order_placed_v2"}
    ]


def test_payloads_are_the_catalog_schemas() -> None:
    message = asyncapi.document()["components"]["messages"]["order_placed_v2"]
    schema = json.loads((declarations.EVENTS_DIR / "schemas" / "order.placed.v2.json").read_text())
    assert message["payload"]["schema"] == schema
