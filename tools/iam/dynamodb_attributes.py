"""The condition keys DynamoDB sets on an item request, from its parameters:
``dynamodb:Attributes`` (the top-level attribute names it touches) and
``dynamodb:ReturnValues``, which fine-grained access control conditions on.

The attributes are the item's or the key's names and every top-level name in its
update and condition expressions (``#name`` placeholders resolved, ``a.b[0]`` counted
as ``a``); values (``:v``), functions and keywords are not names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TOKEN = re.compile(r"([#:]?[A-Za-z_][A-Za-z0-9_]*)(\s*\()?")
_KEYWORDS = frozenset({"SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN"})
# Where a path may continue (a.b, a[0]): only the first name is top-level.
_CONTINUED = re.compile(r"(?:\.[#A-Za-z0-9_]+|\[\d+\])+")


def expression_names(expression: str, placeholders: Mapping[str, str]) -> set[str]:
    names: set[str] = set()
    position = 0
    while match := _TOKEN.search(expression, position):
        token, call = match.group(1), match.group(2)
        position = match.end()
        if call or token.startswith(":") or token.upper() in _KEYWORDS:
            continue
        continued = _CONTINUED.match(expression, position)
        if continued:
            position = continued.end()
        if token.startswith("#"):
            if token not in placeholders:
                raise ValueError(f"{token} is not in ExpressionAttributeNames")
            names.add(placeholders[token])
        else:
            names.add(token)
    return names


def condition_context(params: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """``dynamodb:Attributes``/``dynamodb:ReturnValues`` of a Put, Update or Delete (item)."""
    placeholders = params.get("ExpressionAttributeNames", {})
    names = set(params.get("Item", {})) | set(params.get("Key", {}))
    for field in ("UpdateExpression", "ConditionExpression"):
        if field in params:
            names |= expression_names(params[field], placeholders)
    context: dict[str, str | list[str]] = {"dynamodb:Attributes": sorted(names)}
    if "ReturnValues" in params:
        context["dynamodb:ReturnValues"] = str(params["ReturnValues"])
    return context
