"""AWS's authorization reference (the Service Authorization Reference: every action,
the resource types it is authorized on and their ARN formats), as parliament ships it."""

from __future__ import annotations

import re
import warnings
from functools import cache
from typing import Any


@cache
def _definition() -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        # parliament imports pkg_resources, which warns that it is deprecated.
        warnings.simplefilter("ignore")
        import parliament
    return list(parliament.iam_definition)


@cache
def _privileges() -> dict[str, list[dict[str, Any]]]:
    """``"kms:listaliases"`` -> its entries (a prefix can span services, e.g. SES v1 and v2)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for service in _definition():
        arns = {r["resource"]: r["arn"] for r in service["resources"]}
        for privilege in service["privileges"]:
            key = f"{service['prefix']}:{privilege['privilege']}".lower()
            found.setdefault(key, []).append(
                {"service": service["service_name"], "privilege": privilege, "arns": arns}
            )
    return found


def exists(action: str) -> bool:
    return action.lower() in _privileges()


def canonical(action: str) -> str:
    """The action as the reference spells it (``kms:listaliases`` -> ``kms:ListAliases``)."""
    entry = _privileges()[action.lower()][0]
    return f"{action.split(':')[0]}:{entry['privilege']['privilege']}"


def actions_of(prefix: str) -> list[str]:
    return sorted({canonical(k) for k in _privileges() if k.startswith(f"{prefix.lower()}:")})


def access_level(action: str) -> str:
    return str(_privileges()[action.lower()][0]["privilege"]["access_level"])


def resource_arn_formats(action: str) -> list[str]:
    """ARN formats of the resource types the action is authorized on ([] means only "*")."""
    formats = []
    for entry in _privileges()[action.lower()]:
        for resource in entry["privilege"]["resource_types"]:
            name = resource["resource_type"].rstrip("*")
            if name:
                formats.append(entry["arns"][name])
    return formats


def takes_no_resource(action: str) -> bool:
    return not resource_arn_formats(action)


def matches_format(arn: str, arn_format: str) -> bool:
    """``arn`` has the shape of the reference's format (each ``${Var}`` one or more characters)."""
    parts = re.split(r"\$\{[^}]+\}", arn_format)
    return re.fullmatch(".+".join(re.escape(p) for p in parts), arn) is not None
