"""The system as an AsyncAPI 3.0 document, generated from the catalog and the manifests.

Channels are the SNS topics; each service gets a ``send`` operation per topic it publishes
to and a ``receive`` operation per subscription, whose SNS binding carries the filter
policy Terraform gives it; messages are the event types at every version still
published, with their JSON Schema (Draft 7) as the payload.

    python -m tools.asyncapi                  # print it
    python -m tools.asyncapi --write docs/asyncapi.json
    python -m tools.asyncapi --check docs/asyncapi.json   # exit 1 when stale
"""

from __future__ import annotations

import json
from typing import Any

from .. import declarations, generated, schemas, topology
from ..contract import names

DOCUMENT = declarations.ROOT / "docs" / "asyncapi.json"
ENVIRONMENTS = sorted(p.name for p in (declarations.ROOT / "terraform" / "environments").iterdir())
SNS_BINDING = "0.1.0"
SCHEMA_FORMAT = "application/schema+json;version=draft-07"


def message_id(event_type: str, version: int) -> str:
    return f"{event_type.replace('.', '_')}_v{version}"


def _message(event_type: str, version: int, spec: dict[str, Any], sources: list[str]) -> Any:
    return {
        "name": event_type,
        "title": f"{event_type} v{version}",
        "summary": spec.get("description", ""),
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "description": "SNS message attributes: what filter policies route on.",
            "properties": {
                "event_type": {"type": "string", "const": event_type},
                "event_version": {"type": "string", "const": str(version)},
                "source": {"type": "string", "enum": sources},
                "correlation_id": {"type": "string"},
                **{name: {"type": "string"} for name in spec.get("attributes", [])},
            },
            "required": ["event_type", "event_version", "source", "correlation_id"],
        },
        "correlationId": {"location": "$message.header#/correlation_id"},
        "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": schemas.load(event_type, version)},
    }


def _versions(spec: dict[str, Any]) -> list[int]:
    return sorted({*spec.get("published_versions", []), spec["version"]})


def document() -> dict[str, Any]:
    catalog = declarations.catalog()
    services = declarations.services()
    events = catalog["events"]
    publishers = topology.publishers(services)
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    for topic, described in catalog["topics"].items():
        channel_messages = {}
        for event_type, spec in sorted(events.items()):
            if spec["topic"] != topic:
                continue
            for version in _versions(spec):
                key = message_id(event_type, version)
                messages[key] = _message(event_type, version, spec, publishers.get(event_type, []))
                channel_messages[key] = {"$ref": f"#/components/messages/{key}"}
        address = names.topic_name(topic, "{environment}")
        channels[topic] = {
            "address": address,
            "title": f"{topic} (SNS topic)",
            "description": described.get("description", ""),
            "parameters": {"environment": {"$ref": "#/components/parameters/environment"}},
            "messages": channel_messages,
            "bindings": {"sns": {"name": address, "bindingVersion": SNS_BINDING}},
        }
    operations: dict[str, Any] = {}
    for name, service in services.items():
        by_topic: dict[str, list[str]] = {}
        for event_type in service.publishes:
            by_topic.setdefault(events[event_type]["topic"], []).append(event_type)
        for topic, types in sorted(by_topic.items()):
            operations[f"{name}_sends_{topic}"] = {
                "action": "send",
                "title": f"{name} publishes to {topic}",
                "summary": "Publishes the current version of " + ", ".join(types) + ".",
                "channel": {"$ref": f"#/channels/{topic}"},
                "messages": [
                    {"$ref": f"#/channels/{topic}/messages/{message_id(t, events[t]['version'])}"}
                    for t in types
                ],
            }
    for subscription in topology.subscriptions(services, catalog):
        name, topic = subscription.service, subscription.topic
        accepted = {
            entry["event_type"]: schemas.accepted(entry, events[entry["event_type"]]["version"])
            for entry in services[name].subscribes
        }
        operations[f"{name}_receives_{topic}"] = {
            "action": "receive",
            "title": f"{name} consumes {topic}",
            "summary": "Handles "
            + ", ".join(
                f"{t} v{'/v'.join(map(str, accepted[t]))}" for t in subscription.event_types
            )
            + "; the router converts other published versions to these.",
            "channel": {"$ref": f"#/channels/{topic}"},
            "messages": [
                {"$ref": f"#/channels/{topic}/messages/{message_id(t, v)}"}
                for t in subscription.event_types
                for v in accepted[t]
            ],
            "bindings": {
                "sns": {
                    "bindingVersion": SNS_BINDING,
                    "consumers": [
                        {
                            "protocol": "lambda",
                            "endpoint": {"name": names.function_name(name, "{environment}")},
                            "filterPolicy": subscription.filter_policy,
                            "filterPolicyScope": "MessageAttributes",
                            "rawMessageDelivery": False,
                        }
                    ],
                }
            },
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Event-driven services over SNS",
            "version": "1.0.0",
            "description": "Generated by `make asyncapi` from shared/events/catalog.json, the "
            "event schemas and services/*/service.json; do not edit.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "parameters": {
                "environment": {
                    "description": "The deployment environment.",
                    "enum": ENVIRONMENTS,
                }
            },
        },
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    return generated.main(
        argv, what="AsyncAPI document", render=lambda _: render(), make_target="asyncapi"
    )
