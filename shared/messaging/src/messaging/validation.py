"""A small, dependency-free validator for the JSON Schema subset the catalog uses.

Why not ``jsonschema``: it costs tens of milliseconds and several packages on every
cold start, for features the event schemas do not need. Schemas are compiled once
into closures; a keyword outside ``SUPPORTED_KEYWORDS`` is rejected at compile time,
so a schema can never be silently half-checked.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

__all__ = ["SUPPORTED_KEYWORDS", "SchemaCompileError", "Validator", "compile_schema"]

_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "default", "examples", "$defs"}
)
SUPPORTED_KEYWORDS = _ANNOTATIONS | {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "enum",
    "const",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "$ref",
}
MAX_PROBLEMS = 20

# (value, path, problems) -> None; appends one line per violation to problems.
_Check = Callable[[Any, str, list[str]], None]
Validator = Callable[[Any], list[str]]


class SchemaCompileError(ValueError):
    """The schema uses a keyword this validator does not implement, or is malformed."""


def _is_integer(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    )


_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


_FORMATS: dict[str, Callable[[str], bool]] = {
    "email": lambda v: bool(_EMAIL.match(v)),
    "uuid": lambda v: bool(_UUID.match(v)),
    "date-time": _is_datetime,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(value: Any) -> Any:
    return value


# keyword: (which values it applies to, what it measures, the test, the message)
_BOUNDS: dict[
    str, tuple[Callable[[Any], bool], Callable[[Any], Any], Callable[[Any, Any], bool], str]
] = {
    "minLength": (
        lambda v: isinstance(v, str),
        len,
        operator.ge,
        "must be at least {} character(s) long",
    ),
    "maxLength": (
        lambda v: isinstance(v, str),
        len,
        operator.le,
        "must be at most {} characters long",
    ),
    "minItems": (lambda v: isinstance(v, list), len, operator.ge, "must have at least {} item(s)"),
    "maxItems": (lambda v: isinstance(v, list), len, operator.le, "must have at most {} items"),
    "minimum": (_is_number, _same, operator.ge, "must be >= {}"),
    "exclusiveMinimum": (_is_number, _same, operator.gt, "must be > {}"),
    "maximum": (_is_number, _same, operator.le, "must be <= {}"),
}


def _bound(
    applies: Callable[[Any], bool],
    measure: Callable[[Any], Any],
    holds: Callable[[Any, Any], bool],
    limit: Any,
    message: str,
) -> _Check:
    text = message.format(limit)

    def check(value: Any, path: str, problems: list[str]) -> None:
        if applies(value) and not holds(measure(value), limit):
            problems.append(f"{path}: {text}")

    return check


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self._root = root
        self._refs: dict[str, _Check] = {}

    def compile(self, schema: Any, where: str) -> _Check:
        if schema is True or schema == {}:
            return lambda value, path, problems: None
        if schema is False:
            return lambda value, path, problems: problems.append(f"{path}: is not allowed")
        if not isinstance(schema, Mapping):
            raise SchemaCompileError(f"{where}: a schema must be an object or a boolean")
        unknown = set(schema) - SUPPORTED_KEYWORDS
        if unknown:
            raise SchemaCompileError(f"{where}: unsupported keyword(s) {sorted(unknown)}")
        checks: list[_Check] = []
        if "$ref" in schema:
            checks.append(self._ref(schema["$ref"], where))
        type_test = self._type(schema.get("type"), where)
        if "enum" in schema:
            choices = list(schema["enum"])
            checks.append(
                lambda v, p, out: (
                    None if v in choices else out.append(f"{p}: must be one of {choices}")
                )
            )
        if "const" in schema:
            const = schema["const"]
            checks.append(
                lambda v, p, out: None if v == const else out.append(f"{p}: must be {const!r}")
            )
        checks.extend(self._string_checks(schema, where))
        checks.extend(self._bound_checks(schema))
        checks.extend(self._array_checks(schema, where))
        checks.extend(self._object_checks(schema, where))

        expected = schema.get("type")

        def check(value: Any, path: str, problems: list[str]) -> None:
            if type_test is not None and not type_test(value):
                problems.append(f"{path}: must be of type {expected}, got {_describe(value)}")
                return
            for one in checks:
                if len(problems) >= MAX_PROBLEMS:
                    return
                one(value, path, problems)

        return check

    def _type(self, declared: Any, where: str) -> Callable[[Any], bool] | None:
        if declared is None:
            return None
        names = [declared] if isinstance(declared, str) else list(declared)
        for name in names:
            if name not in _TYPE_TESTS:
                raise SchemaCompileError(f"{where}: unknown type {name!r}")
        tests = [_TYPE_TESTS[name] for name in names]
        return lambda value: any(test(value) for test in tests)

    def _ref(self, ref: str, where: str) -> _Check:
        if not ref.startswith("#/"):
            raise SchemaCompileError(
                f"{where}: only local $ref ('#/...') is supported, got {ref!r}"
            )

        def resolve(value: Any, path: str, problems: list[str]) -> None:
            if ref not in self._refs:
                target: Any = self._root
                for part in ref[2:].split("/"):
                    target = target[part]
                self._refs[ref] = lambda v, p, out: None  # guards recursive schemas
                self._refs[ref] = self.compile(target, ref)
            self._refs[ref](value, path, problems)

        return resolve

    def _string_checks(self, schema: Mapping[str, Any], where: str) -> list[_Check]:
        checks: list[_Check] = []
        if "pattern" in schema:
            pattern = re.compile(schema["pattern"])
            checks.append(
                lambda v, p, out: (
                    None
                    if not isinstance(v, str) or pattern.search(v)
                    else out.append(f"{p}: must match {pattern.pattern!r}")
                )
            )
        if "format" in schema:
            name = schema["format"]
            if name not in _FORMATS:
                raise SchemaCompileError(f"{where}: unsupported format {name!r}")
            test = _FORMATS[name]
            checks.append(
                lambda v, p, out: (
                    None
                    if not isinstance(v, str) or test(v)
                    else out.append(f"{p}: must be a valid {name}")
                )
            )
        return checks

    def _bound_checks(self, schema: Mapping[str, Any]) -> list[_Check]:
        checks: list[_Check] = []
        for keyword, (applies, measure, holds, message) in _BOUNDS.items():
            if keyword in schema:
                checks.append(_bound(applies, measure, holds, schema[keyword], message))
        return checks

    def _array_checks(self, schema: Mapping[str, Any], where: str) -> list[_Check]:
        checks: list[_Check] = []
        if schema.get("uniqueItems"):

            def unique(v: Any, p: str, out: list[str]) -> None:
                if isinstance(v, list):
                    seen: list[Any] = []
                    for item in v:
                        if item in seen:
                            out.append(f"{p}: items must be unique, {_describe(item)} repeats")
                            return
                        seen.append(item)

            checks.append(unique)
        if "items" in schema:
            item_check = self.compile(schema["items"], f"{where}.items")

            def items(v: Any, p: str, out: list[str]) -> None:
                if isinstance(v, list):
                    for index, item in enumerate(v):
                        item_check(item, f"{p}[{index}]", out)

            checks.append(items)
        return checks

    def _object_checks(self, schema: Mapping[str, Any], where: str) -> list[_Check]:
        checks: list[_Check] = []
        required = list(schema.get("required", ()))
        if required:

            def present(v: Any, p: str, out: list[str]) -> None:
                if isinstance(v, dict):
                    out.extend(f"{p}.{name}: is required" for name in required if name not in v)

            checks.append(present)
        properties = {
            name: self.compile(sub, f"{where}.properties.{name}")
            for name, sub in schema.get("properties", {}).items()
        }
        extra = schema.get("additionalProperties", True)
        extra_check = (
            None if extra is True else self.compile(extra, f"{where}.additionalProperties")
        )
        if properties or extra_check is not None:

            def members(v: Any, p: str, out: list[str]) -> None:
                if not isinstance(v, dict):
                    return
                for name, item in v.items():
                    sub = properties.get(name)
                    if sub is not None:
                        sub(item, f"{p}.{name}", out)
                    elif extra is False:
                        out.append(f"{p}.{name}: is not an allowed field")
                    elif extra_check is not None:
                        extra_check(item, f"{p}.{name}", out)

            checks.append(members)
        return checks


def compile_schema(schema: Mapping[str, Any], *, where: str = "schema") -> Validator:
    """Compile ``schema`` once; the result returns a list of problems (empty when valid).

    >>> check = compile_schema({"type": "object", "required": ["id"]})
    >>> check({})
    ['$.id: is required']
    """
    check = _Compiler(schema).compile(schema, where)

    def validate(instance: Any) -> list[str]:
        problems: list[str] = []
        check(instance, "$", problems)
        return problems

    return validate
