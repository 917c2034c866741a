"""The wiring derived from the declarations: subscriptions with their filter policies.

Terraform derives the same from the same JSON; the local system wires itself from
this module; the contract tests and the README diagram read it too.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from . import declarations

EVENT_TYPE_ATTRIBUTE = "event_type"
# Attributes every published event carries besides the catalog's per-event ones.
ENVELOPE_ATTRIBUTES = frozenset({"event_type", "event_version", "source", "correlation_id"})
# AWS's filter-policy limits; their one home is shared/aws_limits.json, which
# Terraform reads too.
_FILTER_LIMITS = json.loads((declarations.ROOT / "shared" / "aws_limits.json").read_text("utf-8"))[
    "sns_filter_policy"
]
MAX_FILTER_KEYS: int = _FILTER_LIMITS["max_keys"]
MAX_FILTER_COMBINATIONS: int = _FILTER_LIMITS["max_combinations"]
MAX_FILTER_BYTES: int = _FILTER_LIMITS["max_bytes"]


DIRECT = "direct"
QUEUE = "queue"
# AWS's advice for a queue feeding a function: a visibility timeout of six times the
# function's timeout (plus the batching window), so a batch that is still being
# retried inside Lambda does not reappear and run twice.
VISIBILITY_TIMEOUT_FACTOR = 6
MAX_VISIBILITY_TIMEOUT_S = 43_200


class TopologyError(ValueError):
    """The declarations cannot be wired as written; the message names the service."""


@dataclass(frozen=True)
class QueueSettings:
    """The queue between a topic and a function: manifest values over the schema's defaults."""

    batch_size: int
    maximum_batching_window_s: int
    maximum_concurrency: int
    max_receive_count: int
    raw_message_delivery: bool
    dead_letter_retention_s: int
    visibility_timeout_s: int

    @classmethod
    def of(cls, declared: dict[str, Any], function_timeout_s: int) -> QueueSettings:
        values = {**declarations.QUEUE_DEFAULTS, **declared}
        visibility = (
            VISIBILITY_TIMEOUT_FACTOR * function_timeout_s + values["maximum_batching_window_s"]
        )
        return cls(**values, visibility_timeout_s=min(visibility, MAX_VISIBILITY_TIMEOUT_S))


@dataclass(frozen=True)
class Subscription:
    service: str
    topic: str
    event_types: tuple[str, ...]
    extra_filter: dict[str, list[str]]
    delivery: str = DIRECT
    queue: QueueSettings | None = None

    @property
    def filter_policy(self) -> dict[str, list[str]]:
        return {EVENT_TYPE_ATTRIBUTE: list(self.event_types), **self.extra_filter}

    @property
    def combinations(self) -> int:
        """How AWS counts a policy's size: the product of each key's value count."""
        total = 1
        for values in self.filter_policy.values():
            total *= len(values)
        return total


def subscriptions(
    services: dict[str, declarations.Service] | None = None,
    catalog: dict[str, Any] | None = None,
) -> list[Subscription]:
    """One subscription per (service, topic), as Terraform creates them."""
    services = declarations.services() if services is None else services
    events = (declarations.catalog() if catalog is None else catalog)["events"]
    found = []
    for service in services.values():
        by_topic: dict[str, list[dict[str, Any]]] = {}
        for entry in service.subscribes:
            if entry["event_type"] not in events:
                raise TopologyError(
                    f"{service.name} subscribes to {entry['event_type']!r}, which is not in "
                    "shared/events/catalog.json"
                )
            topic = events[entry["event_type"]]["topic"]
            by_topic.setdefault(topic, []).append(entry)
        for topic, entries in sorted(by_topic.items()):
            filters = {repr(sorted(e.get("filter", {}).items())) for e in entries}
            if len(filters) > 1:
                raise TopologyError(
                    f"{service.name} subscribes to several event types on topic {topic!r} with "
                    "different filters; one subscription per topic takes one filter"
                )
            deliveries = {
                json.dumps([e.get("delivery", DIRECT), e.get("queue", {})], sort_keys=True)
                for e in entries
            }
            if len(deliveries) > 1:
                raise TopologyError(
                    f"{service.name} subscribes to several event types on topic {topic!r} with "
                    "different delivery settings; one subscription per topic takes one delivery"
                )
            extra = dict(entries[0].get("filter", {}))
            types = tuple(sorted({e["event_type"] for e in entries}))
            delivery = entries[0].get("delivery", DIRECT)
            queue = (
                QueueSettings.of(entries[0].get("queue", {}), service.timeout_s)
                if delivery == QUEUE
                else None
            )
            found.append(Subscription(service.name, topic, types, extra, delivery, queue))
    return found


def publishers(services: dict[str, declarations.Service] | None = None) -> dict[str, list[str]]:
    """Event type to the services that publish it."""
    services = declarations.services() if services is None else services
    found: dict[str, list[str]] = {}
    for service in services.values():
        for event_type in service.publishes:
            found.setdefault(event_type, []).append(service.name)
    return found


def matches(policy: dict[str, list[str]], attributes: dict[str, str]) -> bool:
    """Whether SNS would deliver a message with ``attributes`` under ``policy`` (exact-match)."""
    return all(attributes.get(key) in values for key, values in policy.items())


def possible_attribute_values(event_type: str) -> dict[str, list[str] | None]:
    """For each attribute an event can carry, its possible values (``None``: any string)."""
    spec = declarations.catalog()["events"][event_type]
    schema_file = declarations.EVENTS_DIR / "schemas" / f"{event_type}.v{spec['version']}.json"
    properties = json.loads(schema_file.read_text("utf-8")).get("properties", {})
    values: dict[str, list[str] | None] = {
        "event_type": [event_type],
        "event_version": [str(spec["version"])],
        "source": [*publishers().get(event_type, [])],
        "correlation_id": None,
    }
    for name in spec.get("attributes", []):
        enum = properties.get(name, {}).get("enum")
        values[name] = [str(v) for v in enum] if enum else None
    return values


def can_match(subscription: Subscription) -> bool:
    """Whether some event a producer can publish passes the subscription's filter."""
    for event_type in subscription.event_types:
        possible = possible_attribute_values(event_type)
        if any(key not in possible for key in subscription.filter_policy):
            continue
        choices = []
        for key, accepted in subscription.filter_policy.items():
            allowed = possible[key]
            choices.append([v for v in accepted if allowed is None or v in allowed])
        if all(choices) and any(
            matches(
                subscription.filter_policy,
                dict(zip(subscription.filter_policy, combo, strict=True)),
            )
            for combo in itertools.product(*choices)
        ):
            return True
    return False
