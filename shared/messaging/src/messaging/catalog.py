"""The event catalog: which topic carries each event type, its version and its schema.

The catalog is the JSON in ``shared/events/`` that Terraform reads too. A built
artifact carries a copy inside the package (``messaging/_events``); a development
checkout reads the repository's copy; ``EVENT_CATALOG_DIR`` overrides both.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from .config import settings
from .errors import ConfigurationError, UnknownEventTypeError, UnknownEventVersionError
from .validation import Validator, compile_schema

__all__ = ["Catalog", "EventSpec", "catalog_dir", "load_catalog", "topic_env_var"]

_SCHEMA_FILE = re.compile(
    r"^(?P<type>[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.v(?P<version>[0-9]+)\.json$"
)


class EventSpec(NamedTuple):
    """One event type as the catalog declares it.

    A NamedTuple rather than a frozen dataclass: as immutable, and several times cheaper
    to define, which every cold start does (docs/performance.md, group 5).
    """

    type: str
    topic: str
    version: int
    description: str
    attributes: tuple[str, ...]
    versions: tuple[int, ...]
    # Versions that may still reach a consumer: the current one and older ones in flight.
    published: tuple[int, ...] = ()


@lru_cache(maxsize=64)  # asked on every publish; the answer never changes
def topic_env_var(topic: str) -> str:
    """The variable Terraform sets to a topic's ARN: ``orders`` -> ``TOPIC_ARN_ORDERS``."""
    return "TOPIC_ARN_" + re.sub(r"[^A-Za-z0-9]", "_", topic).upper()


def catalog_dir() -> Path:
    """Where the catalog is read from (see the module docstring for the order)."""
    return _catalog_dir(settings().catalog_dir)


@lru_cache(maxsize=8)
def _catalog_dir(override: str) -> Path:
    # Cached: it runs for every event handled, and the answer only changes with the variable.
    if override:
        return Path(override)
    bundled = Path(__file__).with_name("_events")
    if (bundled / "catalog.json").is_file():
        return bundled
    return Path(__file__).resolve().parents[3] / "events"


class Catalog:
    """Event types by name, with their schemas compiled on first use."""

    def __init__(self, directory: Path) -> None:
        path = directory / "catalog.json"
        try:
            raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"cannot read the event catalog at {path}: {error}") from error
        self.directory = directory
        self.metrics_namespace = str(raw["metrics"]["namespace"])
        self.topics: dict[str, str] = {
            name: str(topic.get("description", "")) for name, topic in raw["topics"].items()
        }
        available: dict[str, list[int]] = {}
        for schema_file in (directory / "schemas").glob("*.json"):
            match = _SCHEMA_FILE.match(schema_file.name)
            if match:
                available.setdefault(match["type"], []).append(int(match["version"]))
        self.events: dict[str, EventSpec] = {
            name: EventSpec(
                type=name,
                topic=str(spec["topic"]),
                version=int(spec["version"]),
                description=str(spec.get("description", "")),
                attributes=tuple(spec.get("attributes", ())),
                versions=tuple(sorted(available.get(name, ()))),
                published=tuple(
                    sorted({int(v) for v in spec.get("published_versions", ())} | {spec["version"]})
                ),
            )
            for name, spec in raw["events"].items()
        }
        self._validators: dict[tuple[str, int], Validator] = {}

    def spec(self, event_type: str) -> EventSpec:
        """The declaration of ``event_type``; ``UnknownEventTypeError`` if the catalog lacks it."""
        try:
            return self.events[event_type]
        except KeyError:
            known = ", ".join(sorted(self.events))
            raise UnknownEventTypeError(
                f"event type {event_type!r} is not in the catalog ({known})"
            ) from None

    def schema_path(self, event_type: str, version: int) -> Path:
        return self.directory / "schemas" / f"{event_type}.v{version}.json"

    def validator(self, event_type: str, version: int) -> Validator:
        """The compiled schema of ``event_type`` at ``version``."""
        key = (event_type, version)
        found = self._validators.get(key)
        if found is None:
            spec = self.spec(event_type)
            if version not in spec.versions:
                raise UnknownEventVersionError(
                    f"{event_type} has no schema for version {version!r} "
                    f"(known: {', '.join(map(str, spec.versions)) or 'none'})"
                )
            path = self.schema_path(event_type, version)
            schema = json.loads(path.read_text(encoding="utf-8"))
            found = self._validators[key] = compile_schema(schema, where=str(path))
        return found


_loaded: dict[Path, Catalog] = {}


def load_catalog() -> Catalog:
    """The catalog for this process, read once per directory."""
    directory = catalog_dir()
    found = _loaded.get(directory)
    if found is None:
        found = _loaded[directory] = Catalog(directory)
    return found
