"""The policy documents a `terraform show -json` plan creates, by resource."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

IDENTITY_POLICY_TYPES = {"aws_iam_role_policy", "aws_iam_policy"}
POLICY_FIELDS = ("policy", "assume_role_policy")


@dataclass(frozen=True)
class PlannedPolicy:
    address: str
    type: str
    field: str
    values: dict[str, Any]
    document: dict[str, Any]


def planned_policies(plan: dict[str, Any]) -> Iterator[PlannedPolicy]:
    for change in plan.get("resource_changes", []):
        after = (change.get("change") or {}).get("after") or {}
        for field in POLICY_FIELDS:
            text = after.get(field)
            if isinstance(text, str) and text.strip().startswith("{"):
                yield PlannedPolicy(
                    change["address"], change["type"], field, after, json.loads(text)
                )


def identity_policies(plan: dict[str, Any]) -> list[PlannedPolicy]:
    return [
        p for p in planned_policies(plan) if p.type in IDENTITY_POLICY_TYPES and p.field == "policy"
    ]


def one(plan: dict[str, Any], address: str) -> dict[str, Any]:
    found = [p.document for p in planned_policies(plan) if p.address == address]
    if len(found) != 1:
        raise LookupError(f"{address}: expected one policy in the plan, found {len(found)}")
    return found[0]


def deploy_policy(bootstrap_plan: dict[str, Any], env: str) -> dict[str, Any]:
    return one(bootstrap_plan, f'aws_iam_role_policy.deploy["{env}"]')


def boundary_policy(bootstrap_plan: dict[str, Any], env: str) -> dict[str, Any]:
    return one(bootstrap_plan, f'aws_iam_policy.lambda_boundary["{env}"]')


def role_policies(plan: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Inline policies by role name."""
    found: dict[str, list[dict[str, Any]]] = {}
    for policy in planned_policies(plan):
        if policy.type == "aws_iam_role_policy" and policy.field == "policy":
            found.setdefault(str(policy.values["role"]), []).append(policy.document)
    return found
