"""Scaffold a service the build, the tests, the local system and Terraform pick up unedited.

    python -m tools.new_service shipping --kind consumer [--event order.placed]
    python -m tools.new_service receipts --kind publisher --event order.placed
    python -m tools.new_service status_page --kind http

Writes ``services/<name>/``: ``service.json``, ``src/<name>/handler.py``, ``pyproject.toml``,
``requirements.in`` and a copy of a sibling's ``requirements.txt`` (every service locks
the same ``-r ../../shared/messaging/requirements.in``; ``make lock`` re-locks it when
you add dependencies), and ``tests/test_handler.py``, which passes as written. The
manifest is then checked against the schema and the topology contracts.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

from . import declarations, topology
from .contract import names

TEMPLATES = Path(__file__).resolve().parent / "templates"
KINDS = ("consumer", "publisher", "http")
_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
DEFAULT_EVENT = "order.placed"


class ScaffoldError(ValueError):
    """The service cannot be scaffolded as asked; the message says why."""


def _render(template: Path, values: dict[str, str]) -> str:
    text = template.read_text("utf-8")
    for key, value in values.items():
        text = text.replace(f"__{key}__", value)
    return text


def scaffold(
    name: str,
    kind: str,
    *,
    event_type: str | None = None,
    services_dir: Path = declarations.SERVICES_DIR,
) -> Path:
    """Write ``services_dir/<name>`` and check it; returns the service directory."""
    if not _NAME.match(name) or len(name) > 40:
        raise ScaffoldError(
            f"{name!r} is not a valid service name: snake_case, a letter first, at most 40 chars"
        )
    if kind not in KINDS:
        raise ScaffoldError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    target = services_dir / name
    if target.exists():
        raise ScaffoldError(f"{target} already exists")
    existing = declarations.services(services_dir)
    if name in {p.name for p in declarations.SERVICES_DIR.iterdir() if p.is_dir()}:
        raise ScaffoldError(f"a service named {name!r} already exists in services/")
    events = declarations.catalog()["events"]
    event_type = event_type or DEFAULT_EVENT
    if kind != "http" and event_type not in events:
        raise ScaffoldError(
            f"unknown event type {event_type!r}; add it to shared/events/catalog.json first "
            f"(known: {', '.join(events)})"
        )
    siblings = [
        s.directory / "requirements.txt"
        for s in {**declarations.services(), **existing}.values()
        if (s.directory / "requirements.txt").is_file()
    ]
    if not siblings:
        raise ScaffoldError("no sibling service has a requirements.txt lock to copy")
    kind_dir = TEMPLATES / kind
    values = {
        "service": name,
        "kebab": names.kebab(name),
        "event_type": event_type,
        "event_name": re.sub(r"[^a-z0-9]+", "_", event_type.lower()),
        "topic": str(events.get(event_type, {}).get("topic", "")),
        "description": {
            "consumer": f"Handles {event_type} events (scaffolded; describe what it does).",
            "publisher": f"Publishes {event_type} events (scaffolded; describe what it does).",
            "http": f"Answers GET /{names.kebab(name)} (scaffolded; describe what it does).",
        }[kind],
    }
    package = target / "src" / name
    try:
        package.mkdir(parents=True)
        (target / "tests").mkdir()
        (target / "service.json").write_text(_render(kind_dir / "service.json.tmpl", values))
        (package / "__init__.py").write_text("")
        (package / "handler.py").write_text(_render(kind_dir / "handler.py.tmpl", values))
        (target / "tests" / "test_handler.py").write_text(
            _render(kind_dir / "test_handler.py.tmpl", values)
        )
        (target / "pyproject.toml").write_text(_render(TEMPLATES / "pyproject.toml.tmpl", values))
        (target / "requirements.in").write_text(_render(TEMPLATES / "requirements.in.tmpl", values))
        shutil.copyfile(sorted(siblings)[0], target / "requirements.txt")
        check(name, services_dir)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


def check(name: str, services_dir: Path = declarations.SERVICES_DIR) -> None:
    """The new manifest passes the schema and its subscriptions can match a published event."""
    declarations.load_manifest(services_dir / name / "service.json")
    services = {**declarations.services(), **declarations.services(services_dir)}
    for subscription in topology.subscriptions(services):
        if subscription.service == name and not topology.can_match(subscription):
            raise ScaffoldError(f"{name}'s subscription to {subscription.topic} can never match")
    routes = [
        (route["method"], route["path"], service.name)
        for service in services.values()
        for route in service.routes
    ]
    taken = {(m, p) for m, p, s in routes if s != name}
    clashes = [f"{m} {p}" for m, p, s in routes if s == name and (m, p) in taken]
    if clashes:
        raise ScaffoldError(f"{name}'s routes are already served: {', '.join(clashes)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="snake_case service name, e.g. shipping")
    parser.add_argument("--kind", choices=KINDS, default="consumer")
    parser.add_argument(
        "--event", help=f"the event type it consumes or publishes (default {DEFAULT_EVENT})"
    )
    parser.add_argument("--services-dir", type=Path, default=declarations.SERVICES_DIR)
    args = parser.parse_args(argv)
    try:
        target = scaffold(
            args.name, args.kind, event_type=args.event, services_dir=args.services_dir
        )
    except (ScaffoldError, declarations.ManifestError, topology.TopologyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    shown = (
        target.relative_to(declarations.ROOT)
        if target.is_relative_to(declarations.ROOT)
        else target
    )
    print(json.dumps({"service": args.name, "kind": args.kind, "directory": str(shown)}))
    print(
        f"next: make install && make test-service SERVICE={args.name} && make diagram "
        "(the build, `make local` and Terraform pick it up as it is)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
