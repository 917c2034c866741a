"""Request bodies the orders table can take: size, encoding, depth and number forms.

Everything here turns into a 400 (413 for size) naming the problem, so no body can make
the service answer 5xx: JSON that Python reads but DynamoDB refuses (NaN, infinities,
numbers beyond 38 digits, unpaired surrogates) is stopped before it reaches the table.
"""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from typing import Any

from .errors import HttpError

# An order of 100 lines is under 12 KiB; 64 KiB leaves room without inviting abuse.
MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 16
MAX_PROBLEMS = 20
# DynamoDB's number type: 38 significant digits, exponent between -130 and +125.
_DIGITS = 38
_EXPONENT = range(-130, 126)

_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class Unstorable:
    """A number the JSON text holds but DynamoDB cannot: kept as text to be named later."""

    __slots__ = ("reason", "text")

    def __init__(self, text: str, reason: str) -> None:
        self.text, self.reason = text, reason

    def __repr__(self) -> str:
        return self.text if len(self.text) <= 40 else self.text[:37] + "..."


def text_of(raw: bytes) -> str:
    """The body as text: UTF-8 (a leading byte order mark is ignored, RFC 8259 §8.1)."""
    for bom, name in _WIDE_BOMS:
        if raw.startswith(bom):
            raise HttpError(400, f"the request body is {name} (byte order mark); send UTF-8")
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise HttpError(
            400, f"the request body is not valid UTF-8 (byte {error.start}: {error.reason})"
        ) from None


def _integer(text: str) -> int | Unstorable:
    if len(text.lstrip("-")) > _DIGITS:
        return Unstorable(text, f"has more than {_DIGITS} digits, more than DynamoDB stores")
    return int(text)


def _decimal(text: str) -> Decimal | Unstorable:
    number = Decimal(text)
    exponent = number.adjusted()
    if len(number.as_tuple().digits) > _DIGITS or (number and exponent not in _EXPONENT):
        return Unstorable(text, "is beyond the range of numbers DynamoDB stores")
    return number


def _constant(text: str) -> Unstorable:
    return Unstorable(text, f"is {text}, which is not a JSON number")


def parse_json(body: str) -> Any:
    try:
        return json.loads(body, parse_int=_integer, parse_float=_decimal, parse_constant=_constant)
    except RecursionError:
        raise HttpError(400, f"the request body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:
        raise HttpError(400, f"the request body is not valid JSON: {error}") from None


def _text_problem(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"contains an unpaired surrogate at character {error.start}, which is not text"
    return None


def body_problems(value: Any) -> list[dict[str, str]]:
    """Each part of ``value`` that cannot be stored, by field; at most ``MAX_PROBLEMS``."""
    problems: list[dict[str, str]] = []
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack and len(problems) < MAX_PROBLEMS:
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            problems.append({"field": path, "message": f"is nested deeper than {MAX_DEPTH} levels"})
        elif isinstance(node, Unstorable):
            problems.append({"field": path, "message": f"{node!r} {node.reason}"})
        elif isinstance(node, str):
            problem = _text_problem(node)
            if problem:
                problems.append({"field": path, "message": problem})
        elif isinstance(node, list):
            stack.extend(
                (item, f"{path}[{i}]", depth + 1) for i, item in reversed(list(enumerate(node)))
            )
        elif isinstance(node, dict):
            for key, item in reversed(list(node.items())):
                problem = _text_problem(key)
                if problem:
                    problems.append({"field": path, "message": f"a member name {problem}"})
                else:
                    stack.append((item, f"{path}.{key}" if path else key, depth + 1))
    return problems
