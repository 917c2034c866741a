from __future__ import annotations

import json
from pathlib import Path

import pytest

from messaging import validation
from messaging.validation import SchemaCompileError, compile_schema, fingerprint, generate_code

ITEM = {
    "type": "object",
    "required": ["sku", "quantity"],
    "additionalProperties": False,
    "properties": {
        "sku": {"type": "string", "pattern": "^[A-Z0-9-]+$", "maxLength": 10},
        "quantity": {"type": "integer", "minimum": 1},
    },
}
ORDER = {
    "type": "object",
    "required": ["email", "items"],
    "definitions": {"item": ITEM},
    "properties": {
        "email": {"type": "string", "format": "email"},
        "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/item"}},
        "currency": {"enum": ["EUR", "USD"]},
        "id": {"type": "string", "format": "uuid"},
        "payment": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["card"],
                    "properties": {"card": {"type": "string"}},
                },
                {
                    "type": "object",
                    "required": ["iban"],
                    "properties": {"iban": {"type": "string"}},
                },
            ]
        },
        "note": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}]},
    },
}
VALID = {"email": "a@b.io", "items": [{"sku": "BOOK-42", "quantity": 1}]}


def test_valid_instance_has_no_problems() -> None:
    check = compile_schema(ORDER)
    assert check(VALID) == []
    assert check({**VALID, "payment": {"iban": "DE00"}, "note": None}) == []


def test_patterns_anchor_at_the_end_of_the_string_as_in_ecma_262() -> None:
    # Python's $ also matches before a trailing newline; JSON Schema's must not.
    check = compile_schema(ORDER)
    assert check({**VALID, "items": [{"sku": "BOOK-42\n", "quantity": 1}]}) == [
        "$.items[0].sku: must match pattern ^[A-Z0-9-]+$"
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"email": "not-an-email"}, "$.email: must be email"),
        ({"id": "not-a-uuid"}, "$.id: must be uuid"),
        ({"currency": "JPY"}, "$.currency: must be one of ['EUR', 'USD']"),
        ({"items": [{"sku": "AB", "quantity": 0}]}, "$.items[0].quantity: must be bigger than"),
        ({"items": [{"sku": "AB", "quantity": 1, "colour": "red"}]}, "$.items[0].colour: is not"),
        ({"items": [{"quantity": 1}]}, "$.items[0].sku: is required"),
        ({"items": [{"sku": "A", "quantity": True}]}, "$.items[0].quantity: must be integer"),
        ({"payment": {"card": "x", "iban": "y"}}, "$.payment: must be valid exactly by one"),
        ({"note": "long"}, "$.note: cannot be validated by any definition"),
    ],
)
def test_the_problem_names_the_field(change: dict[str, object], problem: str) -> None:
    [found] = compile_schema(ORDER)({**VALID, **change})  # one violation, one problem
    assert found.startswith(problem)


def test_every_missing_required_field_is_named() -> None:
    assert compile_schema(ORDER)({}) == ["$.email: is required", "$.items: is required"]


def test_every_violation_is_reported() -> None:
    problems = compile_schema(ORDER)(
        {"email": "nope", "items": [{"sku": "ab", "quantity": 0, "colour": "red"}], "x": 1}
    )
    assert problems == [
        "$.email: must be email",
        "$.items[0].sku: must match pattern ^[A-Z0-9-]+$",
        "$.items[0].quantity: must be bigger than or equal to 1",
        "$.items[0].colour: is not an allowed field",
    ]


def test_booleans_are_not_integers() -> None:
    check = compile_schema({"type": "integer"})
    assert check(True) != []
    assert check(2) == []


def test_generated_code_needs_neither_fastjsonschema_nor_decimal() -> None:
    code = generate_code(ORDER)
    assert "fastjsonschema" not in code
    assert "import decimal" not in code
    assert "from decimal" not in code


def test_bundled_generated_code_is_what_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: an artifact's generated module for this schema, altered to tell itself apart
    schema = {"type": "object"}
    code = generate_code(schema).replace(" must be object", " must be object (bundled)")
    (tmp_path / f"{fingerprint(schema)}.py").write_text(code)
    monkeypatch.setattr(validation, "GENERATED_DIR", tmp_path)
    # when / then
    assert compile_schema(schema)([]) == ["$: must be object (bundled)"]
    with pytest.raises(SchemaCompileError, match="carries no generated validator"):
        compile_schema({"type": "array"})  # an artifact generates nothing at run time


def test_fingerprint_ignores_formatting_and_key_order() -> None:
    assert fingerprint(json.loads('{"b": 1,  "a": 2}')) == fingerprint({"a": 2, "b": 1})
