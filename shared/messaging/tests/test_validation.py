from __future__ import annotations

import pytest

from messaging.validation import SchemaCompileError, compile_schema

ITEM = {
    "type": "object",
    "required": ["sku", "quantity"],
    "additionalProperties": False,
    "properties": {
        "sku": {"type": "string", "pattern": "^[A-Z]+$", "maxLength": 5},
        "quantity": {"type": "integer", "minimum": 1},
    },
}
ORDER = {
    "type": "object",
    "required": ["email", "items"],
    "properties": {
        "email": {"type": "string", "format": "email"},
        "items": {"type": "array", "minItems": 1, "items": ITEM},
        "currency": {"enum": ["EUR", "USD"]},
    },
}


def test_valid_instance_has_no_problems() -> None:
    check = compile_schema(ORDER)
    assert check({"email": "a@b.io", "items": [{"sku": "AB", "quantity": 1}]}) == []


def test_each_problem_names_its_path() -> None:
    check = compile_schema(ORDER)
    problems = check(
        {
            "email": "not-an-email",
            "items": [{"sku": "ab", "quantity": 0, "colour": "red"}, {"quantity": True}],
            "currency": "JPY",
        }
    )
    assert "$.email: must be a valid email" in problems
    assert "$.items[0].sku: must match '^[A-Z]+$'" in problems
    assert "$.items[0].quantity: must be >= 1" in problems
    assert "$.items[0].colour: is not an allowed field" in problems
    assert "$.items[1].sku: is required" in problems
    assert any(p.startswith("$.items[1].quantity: must be of type integer") for p in problems)
    assert "$.currency: must be one of ['EUR', 'USD']" in problems


def test_wrong_type_stops_further_checks_on_that_value() -> None:
    assert compile_schema(ORDER)("a string") == ["$: must be of type object, got 'a string'"]


def test_booleans_are_not_integers_but_integral_floats_are() -> None:
    check = compile_schema({"type": "integer"})
    assert check(True) != []
    assert check(2.0) == []
    assert check(2.5) != []


def test_local_refs_resolve() -> None:
    schema = {"$defs": {"item": ITEM}, "type": "array", "items": {"$ref": "#/$defs/item"}}
    assert compile_schema(schema)([{"sku": "A", "quantity": "x"}]) == [
        "$[0].quantity: must be of type integer, got 'x'"
    ]


def test_unsupported_keyword_is_refused_at_compile_time() -> None:
    with pytest.raises(SchemaCompileError, match="oneOf"):
        compile_schema({"type": "object", "oneOf": []})


def test_unique_items_and_lengths() -> None:
    check = compile_schema({"type": "array", "uniqueItems": True, "maxItems": 2})
    assert check([1, 1]) == ["$: items must be unique, 1 repeats"]
    assert check([1, 2, 3]) == ["$: must have at most 2 items"]
