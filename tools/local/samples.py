"""``events sample``: correct Lambda events to start from, built from tests/events fixtures.

* ``sns:<event-type>``: the SNS record Lambda receives for that event, its data taken
  from ``tests/events/<event-type>.json`` and published as the declared publisher would
  (envelope, message attributes, filter attributes);
* ``http:<METHOD> <path>``: the API Gateway HTTP API (2.0) event for a declared route,
  with path parameters matched and, for ``POST /orders``, the sample body.
"""

from __future__ import annotations

import re
from typing import Any

import messaging
from messaging import new_event
from tools import declarations, topology
from tools.contract import http_event, load_fixture, names, sns_record

from .frontdoor import Route


class SampleError(ValueError):
    """The kind asked for names no declared event type or route."""


def _fixture(name: str) -> Any:
    try:
        return load_fixture(name)
    except FileNotFoundError:
        return None


def sns_sample(event_type: str) -> dict[str, Any]:
    catalog = declarations.catalog()["events"]
    if event_type not in catalog:
        raise SampleError(f"unknown event type {event_type!r}; known: {', '.join(catalog)}")
    data = _fixture(event_type)
    if data is None:
        raise SampleError(f"no fixture tests/events/{event_type}.json to take the data from")
    publisher = (topology.publishers().get(event_type) or ["local"])[0]
    messaging.configure(service_name=publisher)
    try:
        envelope = new_event(event_type, data)
    finally:
        messaging.reset()
    arn = names.topic_arn(catalog[event_type]["topic"], "local")
    return {"Records": [sns_record(envelope, topic_arn=arn)]}


def http_sample(method: str, path: str) -> dict[str, Any]:
    routes = [
        Route(service.name, route["method"], route["path"])
        for service in declarations.services().values()
        for route in service.routes
    ]
    for route in sorted(routes, key=lambda r: r.path.count("{")):
        params = route.match(method, path)
        if params is None:
            continue
        body = None
        if method.upper() in ("POST", "PUT", "PATCH"):
            slug = re.sub(r"[^a-z0-9]+", "-", route.path.lower()).strip("-")
            body = _fixture(f"{method.lower()}-{slug}.body")
        return http_event(
            method.upper(),
            path,
            body=body,
            route_key=route.route_key,
            path_parameters=params or None,
        )
    known = ", ".join(sorted(r.route_key for r in routes))
    raise SampleError(f"no declared route matches {method} {path}; routes: {known}")


def sample(kind: str) -> dict[str, Any]:
    if kind.startswith("sns:"):
        return sns_sample(kind.removeprefix("sns:"))
    if kind.startswith("http:"):
        method, _, path = kind.removeprefix("http:").strip().partition(" ")
        if not path:
            raise SampleError(
                "write http samples as 'http:<METHOD> <path>', e.g. 'http:GET /orders/o-1'"
            )
        return http_sample(method, path.strip())
    raise SampleError(f"unknown kind {kind!r}: use sns:<event-type> or 'http:<METHOD> <path>'")
