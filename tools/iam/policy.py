"""What a set of IAM policies allows, evaluated as AWS's policy evaluation logic says:
an explicit Deny wins, then an Allow is needed; with a permissions boundary, the request
must be allowed by the identity policies AND by the boundary.

Covers what this repository's policies use: Allow/Deny, Action/NotAction,
Resource/NotResource, ``*``/``?`` wildcards (actions case-insensitive, resources
case-sensitive), and the String*, Arn*, Bool and Null condition operators with
``...IfExists`` and ``ForAnyValue:``/``ForAllValues:``. A condition key missing from the
request context fails a positive operator and satisfies a negated one, as in AWS.
An operator it does not know raises, rather than guessing.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Context = Mapping[str, str | list[str]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=4096)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE if ignore_case else 0)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    # fnmatch also treats [...] as a class; IAM has none, so escape brackets first.
    escaped = pattern.replace("[", "[[]")
    return bool(_pattern(escaped, ignore_case).match(value))


def _string_like(pattern: str, value: str) -> bool:
    return wildcard_match(pattern, value)


POSITIVE: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": _string_like,
    "ArnEquals": lambda p, v: p == v,
    "ArnLike": _string_like,
    "Bool": lambda p, v: p.lower() == v.lower(),
}
NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator: str, key: str, wanted: list[str], context: Context) -> bool:
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    present = key in context
    values = [str(v) for v in as_list(context[key])] if present else []
    if op == "Null":
        return (not present) == (str(wanted[0]).lower() == "true")
    if not present:
        if qualifier == "ForAllValues":
            return True
        return if_exists or op in NEGATED
    negated = op in NEGATED
    test = POSITIVE.get(NEGATED.get(op, op))
    if test is None:
        raise ValueError(f"condition operator {operator} is not supported by tools.iam.policy")

    def any_wanted(value: str) -> bool:
        return any(test(str(w), value) for w in wanted)

    if qualifier == "ForAllValues":
        result = all(any_wanted(v) for v in values)
    else:  # single-valued keys and ForAnyValue
        result = any(any_wanted(v) for v in values)
    return not result if negated else result


def conditions_hold(block: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    # Keys are case-insensitive in AWS.
    lowered = {k.lower(): v for k, v in context.items()}
    return all(
        _condition_holds(op, key.lower(), [str(w) for w in as_list(wanted)], lowered)
        for op, keys in block.items()
        for key, wanted in keys.items()
    )


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Context


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement:
        actions = as_list(statement["Action"])
        if not any(wildcard_match(a, request.action, ignore_case=True) for a in actions):
            return False
    elif any(
        wildcard_match(a, request.action, ignore_case=True) for a in as_list(statement["NotAction"])
    ):
        return False
    if "Resource" in statement:
        if not any(wildcard_match(r, request.resource) for r in as_list(statement["Resource"])):
            return False
    elif any(wildcard_match(r, request.resource) for r in as_list(statement["NotResource"])):
        return False
    return conditions_hold(statement.get("Condition", {}), request.context)


def decision(documents: Iterable[Mapping[str, Any]], request: Request) -> str:
    """``"Deny"`` (explicit), ``"Allow"`` or ``"ImplicitDeny"`` for one set of policies."""
    allowed = False
    for document in documents:
        for statement in as_list(document.get("Statement", [])):
            if not statement_applies(statement, request):
                continue
            if statement["Effect"] == "Deny":
                return "Deny"
            allowed = True
    return "Allow" if allowed else "ImplicitDeny"


def allows(
    identity: Iterable[Mapping[str, Any]],
    boundary: Mapping[str, Any] | None,
    request: Request,
) -> bool:
    """Identity policies, intersected with the permissions boundary when there is one."""
    if decision(identity, request) != "Allow":
        return False
    return boundary is None or decision([boundary], request) == "Allow"


def granting_statements(documents: Iterable[Mapping[str, Any]], request: Request) -> list[str]:
    """Sids of the Allow statements that match the request (for messages)."""
    return [
        str(s.get("Sid", "?"))
        for d in documents
        for s in as_list(d.get("Statement", []))
        if s["Effect"] == "Allow" and statement_applies(s, request)
    ]
