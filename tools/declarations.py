"""The declarations every tool derives from: the event catalog, shared resources, manifests.

One loader, with the manifest schema applied, so a bad manifest fails the same way in
the build, the tests and the local system: with the file and the field named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from messaging.validation import compile_schema

ROOT = Path(__file__).resolve().parents[1]
SERVICES_DIR = ROOT / "services"
EVENTS_DIR = ROOT / "shared" / "events"
RESOURCES_FILE = ROOT / "shared" / "resources.json"
MANIFEST_SCHEMA = SERVICES_DIR / "service.schema.json"


def _schema_defaults() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The manifest schema's ``default``s: top level, ``retries`` and a subscription's ``queue``."""
    properties = json.loads(MANIFEST_SCHEMA.read_text("utf-8"))["properties"]

    def defaults(fields: dict[str, Any]) -> dict[str, Any]:
        return {name: spec["default"] for name, spec in fields.items() if "default" in spec}

    subscription = properties["subscribes"]["items"]["properties"]
    return (
        defaults(properties),
        defaults(properties["retries"]["properties"]),
        defaults(subscription["queue"]["properties"]),
    )


# Stated once, in services/service.schema.json; Terraform reads the same ``default``s.
DEFAULTS, RETRY_DEFAULTS, QUEUE_DEFAULTS = _schema_defaults()


class ManifestError(ValueError):
    """A service manifest is unreadable or breaks the manifest schema."""


@dataclass(frozen=True)
class Service:
    name: str
    directory: Path
    manifest: dict[str, Any]

    @property
    def handler(self) -> str:
        return str(self.manifest["handler"])

    @property
    def publishes(self) -> list[str]:
        return list(self.manifest["publishes"])

    @property
    def subscribes(self) -> list[dict[str, Any]]:
        return list(self.manifest["subscribes"])

    @property
    def routes(self) -> list[dict[str, str]]:
        return list(self.manifest["routes"])

    @property
    def timeout_s(self) -> int:
        return int(self.manifest["timeout_s"])

    @property
    def retries(self) -> dict[str, int]:
        return {**RETRY_DEFAULTS, **self.manifest.get("retries", {})}


@cache
def _manifest_validator() -> Any:
    return compile_schema(
        json.loads(MANIFEST_SCHEMA.read_text("utf-8")), where=str(MANIFEST_SCHEMA)
    )


def load_manifest(path: Path) -> dict[str, Any]:
    """Read and check one manifest; ``ManifestError`` names the file and each bad field."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise ManifestError(f"{path}: cannot read the manifest: {error}") from None
    problems = _manifest_validator()(raw)
    if problems:
        raise ManifestError(f"{path}: " + "; ".join(problems))
    return {**DEFAULTS, **raw}


def services(root: Path = SERVICES_DIR) -> dict[str, Service]:
    """Every service directory with a ``service.json``, by name."""
    found = {}
    for manifest in sorted(root.glob("*/service.json")):
        name = manifest.parent.name
        found[name] = Service(name, manifest.parent, load_manifest(manifest))
    return found


def catalog() -> dict[str, Any]:
    return dict(json.loads((EVENTS_DIR / "catalog.json").read_text("utf-8")))


def resources() -> dict[str, Any]:
    return dict(json.loads(RESOURCES_FILE.read_text("utf-8")))
