"""Event schemas as contracts: released versions immutable, lint, compatibility, paths."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from messaging import validation
from messaging.versions import Converters, load_converters
from tools import build, declarations, schemas
from tools.contract import load_fixture

CONVERTERS = load_converters(declarations.EVENTS_DIR)
FILES = schemas.schema_files()


def test_every_released_version_is_locked_and_unchanged() -> None:
    assert schemas.lock_problems() == []


def test_an_edited_released_version_fails_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a copy of the schemas where order.placed v1 widens a field in place
    copy = tmp_path / "schemas"
    copy.mkdir()
    for path in FILES.values():
        (copy / path.name).write_bytes(path.read_bytes())
    edited = json.loads((copy / "order.placed.v1.json").read_text())
    edited["properties"]["order_id"]["maxLength"] = 128
    (copy / "order.placed.v1.json").write_text(json.dumps(edited))
    monkeypatch.setattr(schemas, "SCHEMAS_DIR", copy)
    # then
    [problem] = schemas.lock_problems()
    assert problem.startswith("order.placed v1 is released and immutable")


def test_reformatting_a_released_version_is_not_an_edit() -> None:
    for (event_type, version), path in FILES.items():
        pretty = json.dumps(json.loads(path.read_text()), indent=4, sort_keys=True)
        assert (
            schemas.fingerprint(json.loads(pretty))
            == schemas.read_lock()[f"{event_type} v{version}"]
        )


@pytest.mark.parametrize("key", sorted(FILES), ids=lambda k: f"{k[0]}.v{k[1]}")
def test_every_schema_passes_the_lint(key: tuple[str, int]) -> None:
    assert schemas.lint(schemas.load(*key)) == []


@pytest.mark.parametrize(
    "path",
    sorted(declarations.SERVICES_DIR.glob("*/src/**/*.schema.json")),
    ids=lambda p: p.name,
)
def test_every_service_schema_passes_the_lint(path: Path) -> None:
    assert schemas.lint(json.loads(path.read_text())) == []


def test_the_manifest_schema_uses_only_known_keywords() -> None:
    manifest_schema = json.loads(declarations.MANIFEST_SCHEMA.read_text())
    assert [p for p in schemas.lint(manifest_schema) if "$.$schema" not in p] == []


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"properties": {"sku": {"type": "string", "maxLenght": 3}}}, "'maxLenght'"),
        ({"items": {"anyOf": [{"tpye": "string"}]}}, "$.items.anyOf[0]: unknown keyword 'tpye'"),
        ({"$defs": {}}, "unknown keyword '$defs'"),
        ({"format": "e-mail"}, "unknown format 'e-mail'"),
    ],
)
def test_the_lint_rejects_unknown_keywords_and_formats(
    schema: dict[str, Any], problem: str
) -> None:
    problems = schemas.lint({"$schema": schemas.DRAFT, **schema})
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("old", "new", "narrowed"),
    [
        ({"type": "string"}, {"type": "string", "maxLength": 3}, "maxLength lowered"),
        ({"type": "integer", "minimum": 0}, {"type": "integer", "minimum": 1}, "minimum raised"),
        ({"enum": ["a", "b"]}, {"enum": ["a"]}, "enum narrowed"),
        ({"type": ["string", "null"]}, {"type": "string"}, "no longer accepts type(s) ['null']"),
        ({"type": "number"}, {"type": "integer"}, "no longer accepts type(s) ['number']"),
        (
            {"properties": {"a": {}}, "additionalProperties": False},
            {"properties": {}, "additionalProperties": False},
            "$.a: removed",
        ),
        ({"properties": {"a": {}}}, {"properties": {"a": {}}, "required": ["a"]}, "newly required"),
        (
            {"properties": {"a": {}}},
            {"properties": {"a": {}}, "additionalProperties": False},
            "additionalProperties",
        ),
        ({"pattern": "^a"}, {"pattern": "^ab"}, "pattern changed; not provably compatible"),
        ({"items": {"type": "string"}}, {"items": {"type": "integer"}}, "$[]: no longer"),
    ],
)
def test_narrowing_rules(old: dict[str, Any], new: dict[str, Any], narrowed: str) -> None:
    assert any(narrowed in p for p in schemas.narrowings(old, new)), schemas.narrowings(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"type": "string", "maxLength": 3}, {"type": "string", "maxLength": 5}),
        ({"type": "integer"}, {"type": "number"}),
        ({"enum": ["a"]}, {"enum": ["a", "b"]}),
        (
            {"properties": {"a": {}}, "additionalProperties": False},
            {"properties": {"a": {}, "b": {"type": "string"}}, "additionalProperties": False},
        ),
        ({"required": ["a", "b"]}, {"required": ["a"]}),
    ],
)
def test_widening_is_compatible(old: dict[str, Any], new: dict[str, Any]) -> None:
    assert schemas.narrowings(old, new) == []


def test_every_narrowing_version_has_its_upcaster() -> None:
    assert schemas.compatibility_problems(CONVERTERS) == []


def test_a_narrowing_version_without_an_upcaster_fails_naming_it() -> None:
    without = Converters({}, CONVERTERS.downcasters)
    [problem] = schemas.compatibility_problems(without)
    assert problem.startswith("order.placed v2 narrows v1 without an upcaster")
    assert "$.item_count: newly required" in problem


def test_every_published_version_reaches_every_consumer() -> None:
    assert schemas.path_problems(CONVERTERS) == []


def test_a_consumer_without_a_path_is_named_with_the_version() -> None:
    without = Converters(CONVERTERS.upcasters, {})
    assert schemas.path_problems(without) == [
        "inventory accepts order.placed version(s) [1], but published version 2 has no path "
        "there: accept it, or register the converters in shared/events/converters.py"
    ]


def _example(event_type: str, version: int) -> dict[str, Any]:
    """tests/events/<type>.json is the current version; <type>.v<N>.json an older one."""
    current = declarations.catalog()["events"][event_type]["version"]
    name = event_type if version == current else f"{event_type}.v{version}"
    return dict(load_fixture(name))


def test_the_examples_match_their_versions() -> None:
    for event_type, version in FILES:
        check = validation.compile_schema(schemas.load(event_type, version))
        assert check(_example(event_type, version)) == [], (event_type, version)


@pytest.mark.parametrize(
    ("kind", "key"),
    [("up", k) for k in sorted(CONVERTERS.upcasters)]
    + [("down", k) for k in sorted(CONVERTERS.downcasters)],
)
def test_each_converter_turns_its_example_into_a_valid_neighbour(
    kind: str, key: tuple[str, int]
) -> None:
    event_type, version = key
    target = version + 1 if kind == "up" else version - 1
    step = (CONVERTERS.upcasters if kind == "up" else CONVERTERS.downcasters)[key]
    converted = step(_example(event_type, version))
    check = validation.compile_schema(schemas.load(event_type, target))
    assert check(converted) == []
    assert converted == _example(event_type, target)  # the examples describe one order


def test_the_artifact_validates_with_its_generated_code_and_no_schema_compiler(
    tmp_path: Path,
) -> None:
    # given: the built orders_api, unpacked
    service = declarations.services()["orders_api"]
    artifact = build.build(service, dist=tmp_path / "dist", work=tmp_path / "work")
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(tmp_path / "task")
    # when: its messaging validates in an interpreter where fastjsonschema cannot be imported
    probe = (
        "import sys; sys.modules['fastjsonschema'] = None\n"
        f"sys.path.insert(0, {str(tmp_path / 'task')!r})\n"
        "import json\n"
        "from messaging.catalog import load_catalog\n"
        "check = load_catalog().validator('order.placed', 2)\n"
        f"order = json.loads({json.dumps(json.dumps(load_fixture('order.placed')))})\n"
        "print(json.dumps([check(order), check({**order, 'items': [{'sku': 'BOOK-42\\\\n',"
        " 'quantity': 1, 'unit_price_cents': 1}]}), 'decimal' in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, cwd=tmp_path
    )
    # then
    assert result.returncode == 0, result.stderr
    valid, invalid, decimal_loaded = json.loads(result.stdout)
    assert valid == []
    assert invalid == ["$.items[0].sku: must match pattern ^[A-Z0-9-]{1,32}$"]
    assert decimal_loaded is False
