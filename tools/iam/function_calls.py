"""The AWS calls functions made in the local system (tools/local/call_log.py) checked
against each function's role and permissions boundary as a deployment creates them.

The local system names resources as an environment does, ``<environment>-<name>``,
with environment ``local`` in its own region; a recorded resource is translated to the
deployed environment's name and region before the policies of that environment judge it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.contract import LOCAL_ENVIRONMENT

from . import reference
from .actions import iam_action, iam_prefix
from .dynamodb_attributes import condition_context
from .policy import Request, allows, decision
from .resources import resource_arns

# The item writes DynamoDB's fine-grained access control judges by attribute.
ITEM_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}

# AWS authorizes each item of a DynamoDB transaction as the single-item action.
TRANSACTION_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


@dataclass(frozen=True)
class RecordedCall:
    service: str  # the function's service (orders_api...)
    api: str  # botocore's service name: sns, dynamodb...
    signing_name: str
    operation: str
    region: str
    params: Mapping[str, Any]

    def describe(self) -> str:
        named = ", ".join(f"{k}={v}" for k, v in self.params.items() if isinstance(v, str))
        return f"{self.api}.{self.operation}({named})"


def recorded_calls(directory: Path) -> list[RecordedCall]:
    calls = []
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                calls.append(RecordedCall(**json.loads(line)))
            except (TypeError, ValueError) as error:
                raise ValueError(f"{path}:{number}: not a recorded call: {error}") from error
    return calls


@dataclass(frozen=True)
class Deployed:
    """Where the recorded calls are judged: the environment's names, region and account."""

    environment: str
    region: str
    account: str
    # Sender addresses: the local system's (shared/resources.json) -> the environment's.
    addresses: Mapping[str, str] = field(default_factory=dict)
    local_environment: str = LOCAL_ENVIRONMENT

    def translate(self, value: Any, local_region: str) -> Any:
        if isinstance(value, dict):
            return {k: self.translate(v, local_region) for k, v in value.items()}
        if isinstance(value, list):
            return [self.translate(v, local_region) for v in value]
        if not isinstance(value, str):
            return value
        if value in self.addresses:
            return self.addresses[value]
        value = value.replace(f":{local_region}:", f":{self.region}:")
        value = value.replace(f".{local_region}.", f".{self.region}.")
        return re.sub(rf"(^|[/:]){self.local_environment}-", rf"\g<1>{self.environment}-", value)


def requests(call: RecordedCall, deployed: Deployed) -> Iterator[Request]:
    prefix = iam_prefix(call.signing_name)
    params = deployed.translate(dict(call.params), call.region)
    context = {"aws:ResourceAccount": deployed.account, "s3:ResourceAccount": deployed.account}
    if call.operation in {"TransactWriteItems", "TransactGetItems"}:
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                table = body["TableName"]
                arn = f"arn:aws:dynamodb:{deployed.region}:{deployed.account}:table/{table}"
                item_action = TRANSACTION_ITEM_ACTIONS[kind]
                yield Request(item_action, arn, _item_context(item_action, body, context))
        return
    action = iam_action(call.signing_name, call.operation)
    if reference.exists(action) and reference.takes_no_resource(action):
        yield Request(action, "*", context)
        return
    arns = resource_arns(prefix, call.operation, params, deployed.region, deployed.account)
    if not arns:
        raise ValueError(f"{call.service}: cannot tell the resource of {call.describe()}")
    for arn in arns:
        yield Request(action, arn, _item_context(action, params, context))


def _item_context(
    action: str, params: Mapping[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    return context | condition_context(params) if action in ITEM_WRITES else context


@dataclass(frozen=True)
class FunctionPolicies:
    role: list[Mapping[str, Any]]
    boundary: Mapping[str, Any] | None


def problems(
    calls: list[RecordedCall],
    policies: Mapping[str, FunctionPolicies],
    deployed: Deployed,
) -> list[str]:
    found: dict[str, None] = {}
    for call in calls:
        if call.service not in policies:
            found[f"{call.service}: no role in the plan for this service"] = None
            continue
        granted = policies[call.service]
        for request in requests(call, deployed):
            if not reference.exists(request.action):
                found[f"{call.service}: {request.action} is not an IAM action"] = None
            elif not allows(granted.role, granted.boundary, request):
                missing = (
                    "its role"
                    if decision(granted.role, request) != "Allow"
                    else ("the permissions boundary")
                )
                found[
                    f"{call.service}: {call.describe()} needs a statement allowing "
                    f"{request.action} on {request.resource}, which {missing} lacks"
                ] = None
    return list(found)
