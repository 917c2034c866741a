"""Event schemas as contracts: released versions locked, lint, compatibility, conversion paths.

    python -m tools.schemas lock     # record the hash of every new schema version
    python -m tools.schemas check    # what the contract tests check, as a report

Released versions are immutable: ``shared/events/schemas.lock.json`` holds a hash per event
type and version (of the schema's canonical JSON, so reformatting is not an edit), and
``lock`` only ever adds entries. A contract changes through a new version.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from messaging import validation
from messaging.versions import Converters, conversion_path, load_converters

from . import declarations

SCHEMAS_DIR = declarations.EVENTS_DIR / "schemas"
LOCK_FILE = declarations.EVENTS_DIR / "schemas.lock.json"
DRAFT = "http://json-schema.org/draft-07/schema#"

# Draft 7's vocabulary: a keyword outside it is a typo (``maxLenght``) or an unsupported draft.
_SUBSCHEMA = {"additionalItems", "additionalProperties", "contains", "else", "if", "items",
              "not", "propertyNames", "then"}  # fmt: skip
_SUBSCHEMA_MAPS = {"definitions", "properties", "patternProperties", "dependencies"}
_SUBSCHEMA_LISTS = {"allOf", "anyOf", "oneOf"}
_VALUES = {"$id", "$schema", "$ref", "$comment", "title", "description", "default", "examples",
           "readOnly", "writeOnly", "type", "enum", "const", "multipleOf", "maximum",
           "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength",
           "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties",
           "required", "format", "contentMediaType", "contentEncoding"}  # fmt: skip
KEYWORDS = frozenset(_SUBSCHEMA | _SUBSCHEMA_MAPS | _SUBSCHEMA_LISTS | _VALUES)
FORMATS = frozenset({"date", "date-time", "email", "hostname", "ipv4", "ipv6", "time", "uri",
                     "uri-reference", "uuid"})  # fmt: skip


def schema_files() -> dict[tuple[str, int], Path]:
    """Every schema file by (event type, version)."""
    found = {}
    for path in sorted(SCHEMAS_DIR.glob("*.json")):
        event_type, _, version = path.name.removesuffix(".json").rpartition(".v")
        found[(event_type, int(version))] = path
    return found


def load(event_type: str, version: int) -> dict[str, Any]:
    return dict(json.loads((SCHEMAS_DIR / f"{event_type}.v{version}.json").read_text("utf-8")))


def fingerprint(schema: Any) -> str:
    return "sha256:" + validation.fingerprint(schema)


def _key(event_type: str, version: int) -> str:
    return f"{event_type} v{version}"


def read_lock() -> dict[str, str]:
    if not LOCK_FILE.is_file():
        return {}
    return dict(json.loads(LOCK_FILE.read_text("utf-8")))


def lock_problems() -> list[str]:
    """Released versions whose schema changed or vanished, and versions not yet locked."""
    locked = read_lock()
    files = schema_files()
    problems = []
    for (event_type, version), path in files.items():
        key = _key(event_type, version)
        digest = fingerprint(json.loads(path.read_text("utf-8")))
        if key not in locked:
            problems.append(f"{key} is not in {LOCK_FILE.name}: run `make schema-lock`")
        elif locked[key] != digest:
            problems.append(
                f"{key} is released and immutable, but {path.name} changed "
                f"(locked {locked[key][:19]}..., now {digest[:19]}...): "
                "revert it and add a new version instead"
            )
    present = {_key(t, v) for t, v in files}
    problems += [
        f"{key} is released but its schema file is gone: released versions stay"
        for key in sorted(set(locked) - present)
    ]
    return problems


def write_lock() -> list[str]:
    """Add every version not yet locked; refuse (and change nothing) if a locked one changed."""
    changed = [p for p in lock_problems() if "not in" not in p]
    if changed:
        raise SystemExit("\n".join(changed))
    locked = read_lock()
    added = []
    for (event_type, version), path in schema_files().items():
        key = _key(event_type, version)
        if key not in locked:
            locked[key] = fingerprint(json.loads(path.read_text("utf-8")))
            added.append(key)
    LOCK_FILE.write_text(json.dumps(dict(sorted(locked.items())), indent=2) + "\n", "utf-8")
    return added


def _subschemas(schema: dict[str, Any], where: str) -> Iterator[tuple[Any, str]]:
    for keyword, value in schema.items():
        if keyword in _SUBSCHEMA:
            if keyword == "items" and isinstance(value, list):
                yield from ((s, f"{where}.items[{i}]") for i, s in enumerate(value))
            else:
                yield value, f"{where}.{keyword}"
        elif keyword in _SUBSCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                if keyword != "dependencies" or isinstance(sub, dict):
                    yield sub, f"{where}.{keyword}.{name}"
        elif keyword in _SUBSCHEMA_LISTS and isinstance(value, list):
            yield from ((s, f"{where}.{keyword}[{i}]") for i, s in enumerate(value))


def lint(schema: Any, where: str = "$", *, root: bool = True) -> list[str]:
    """Unknown keywords and formats, anywhere in the schema; the draft it declares.

    fastjsonschema ignores both silently, so this is what stops a half-checked schema.
    """
    if isinstance(schema, bool):
        return []
    if not isinstance(schema, dict):
        return [f"{where}: a schema must be an object or a boolean"]
    problems = []
    if root and schema.get("$schema") != DRAFT:
        problems.append(f"{where}.$schema: must be {DRAFT!r} (the draft the validator implements)")
    problems += [f"{where}: unknown keyword {k!r}" for k in sorted(set(schema) - KEYWORDS)]
    if "format" in schema and schema["format"] not in FORMATS:
        problems.append(f"{where}.format: unknown format {schema['format']!r}")
    for sub, path in _subschemas(schema, where):
        problems += lint(sub, path, root=False)
    return problems


_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
# Keywords whose every change the rules below judge; any other keyword must stay identical.
_JUDGED = {"type", "required", "properties", "additionalProperties", "enum", "const", "items",
           "title", "description", "$comment", "$schema", "$id", "examples", "default",
           *_LOWER, *_UPPER}  # fmt: skip


def _types(schema: dict[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    return {declared} if isinstance(declared, str) else set(declared)


def narrowings(old: Any, new: Any, where: str = "$") -> list[str]:
    """What ``new`` rejects that ``old`` accepted (empty: every old instance is still valid).

    Conservative: a change these rules do not judge is reported as one that cannot be
    proven compatible.
    """
    if old == new or new is True or new == {}:
        return []
    if new is False:
        return [f"{where}: now rejects everything"]
    if old is True or old == {} or old is False:
        return [] if old is False else [f"{where}: was unconstrained, now constrained"]
    found: list[str] = []
    old_types, new_types = _types(old), _types(new)
    if new_types is not None:
        widened = new_types | ({"integer"} if "number" in new_types else set())
        lost = (old_types or {"any type"}) - widened
        if lost:
            found.append(f"{where}: no longer accepts type(s) {sorted(lost)}")
    for name in sorted(set(new.get("required", ())) - set(old.get("required", ()))):
        found.append(f"{where}.{name}: newly required")
    if "enum" in new:
        dropped = [v for v in old.get("enum", []) if v not in new["enum"]]
        if dropped or "enum" not in old:
            found.append(f"{where}: enum narrowed (no longer accepts {dropped or 'any value'})")
    if "const" in new and old.get("const", object()) != new["const"]:
        found.append(f"{where}: const added or changed")
    for keyword in _LOWER:
        if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
            found.append(f"{where}: {keyword} raised to {new[keyword]}")
    for keyword in _UPPER:
        if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
            found.append(f"{where}: {keyword} lowered to {new[keyword]}")
    for keyword in sorted((set(old) | set(new)) - _JUDGED):
        if old.get(keyword) != new.get(keyword):
            found.append(f"{where}: {keyword} changed; not provably compatible")
    found += _object_narrowings(old, new, where)
    if "items" in new:
        found += narrowings(old.get("items", True), new["items"], f"{where}[]")
    return found


def _object_narrowings(old: dict[str, Any], new: dict[str, Any], where: str) -> list[str]:
    found = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_extra = old.get("additionalProperties", True)
    new_extra = new.get("additionalProperties", True)
    for name in sorted(set(old_props) | set(new_props)):
        before = old_props.get(name, old_extra)
        after = new_props.get(name, new_extra)
        if name in old_props and name not in new_props and new_extra is False:
            found.append(f"{where}.{name}: removed")
        else:
            found += narrowings(before, after, f"{where}.{name}")
    if new_extra is not True and old_extra != new_extra:
        found += [
            f"{where}: additionalProperties {problem}"
            for problem in narrowings(old_extra, new_extra, "")
        ] or []
    return found


def compatibility_problems(converters: Converters) -> list[str]:
    """Each version N+1 that narrows N, when no upcaster N -> N+1 is registered."""
    problems = []
    files = schema_files()
    for event_type, version in sorted(files):
        if (event_type, version + 1) not in files:
            continue
        narrowed = narrowings(load(event_type, version), load(event_type, version + 1))
        if narrowed and (event_type, version) not in converters.upcasters:
            problems.append(
                f"{event_type} v{version + 1} narrows v{version} without an upcaster "
                f"(register UPCASTERS[({event_type!r}, {version})] in shared/events/"
                f"converters.py): {'; '.join(narrowed)}"
            )
    return problems


def accepted(entry: dict[str, Any], current: int) -> list[int]:
    """The versions a manifest's subscription entry accepts: declared, else the current one."""
    return list(entry.get("versions") or [current])


def path_problems(converters: Converters) -> list[str]:
    """Each (consumer, event type, published version) with no way to a version it accepts."""
    events = declarations.catalog()["events"]
    files = schema_files()
    problems = []
    for name, service in declarations.services().items():
        for entry in service.subscribes:
            event_type = entry["event_type"]
            spec = events[event_type]
            versions = accepted(entry, spec["version"])
            unknown = [v for v in versions if (event_type, v) not in files]
            if unknown:
                problems.append(f"{name} accepts {event_type} v{unknown} with no schema")
                continue
            for version in sorted({*spec.get("published_versions", []), spec["version"]}):
                if conversion_path(converters, event_type, version, versions) is None:
                    problems.append(
                        f"{name} accepts {event_type} version(s) {versions}, but published "
                        f"version {version} has no path there: accept it, or register the "
                        "converters in shared/events/converters.py"
                    )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Schema lock, lint and compatibility.")
    parser.add_argument("command", choices=["lock", "check"])
    args = parser.parse_args(argv)
    if args.command == "lock":
        added = write_lock()
        print(f"locked: {', '.join(added) or 'nothing new'}")
        return 0
    converters = load_converters(declarations.EVENTS_DIR)
    problems = lock_problems() + compatibility_problems(converters) + path_problems(converters)
    for (event_type, version), path in schema_files().items():
        problems += [f"{path.name}: {p}" for p in lint(load(event_type, version))]
    print("\n".join(problems) or "schemas: locked, lint-clean, compatible, every path exists")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
