"""Each call of a Terraform apply/destroy (tools.iam.provider_log) as the IAM requests
AWS authorizes it with: action, resource ARN and the request context its conditions read.

Besides the call's own action, AWS checks a few more on the caller: ``iam:PassRole`` for
a role handed to a service (the reference lists it as a dependent action); for an
HTTP API stage with an access log, the CloudWatch Logs delivery actions (API Gateway's
"Permissions for CloudWatch logging" of HTTP APIs); and for a table encrypted with a
customer managed key, the key's DescribeKey and CreateGrant through DynamoDB.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlparse

from . import reference
from .actions import iam_action, iam_prefix
from .policy import Request, allows, decision
from .provider_log import ApiCall
from .resources import event_source_mapping_arn, function_arn, resource_arns, rest_params

# AWS authorizes sts:GetCallerIdentity for everyone ("No permissions are required").
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}
# Calls the provider makes expecting they may be denied: while configuring itself,
# aws-sdk-go-base asks iam:GetUser for the account id and, denied (a role session is no
# user), falls back to sts:GetCallerIdentity.
MAY_BE_DENIED = {("iam:GetUser", "ConfigureProvider")}
# What DynamoDB asks of whoever creates a table encrypted with a customer managed key
# (AWS KMS developer guide, "How Amazon DynamoDB uses AWS KMS", authorizing the key).
DYNAMODB_KEY_USE_BY_CREATOR = ("kms:DescribeKey", "kms:CreateGrant")
ACCESS_LOG_DELIVERY = [
    "logs:CreateLogDelivery",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
]


@dataclass(frozen=True)
class Facts:
    """What the deployed environment tells about its resources (from the plan's state)."""

    region: str
    account: str
    tags: Mapping[str, Mapping[str, str]]  # resource ARN -> tags
    boundaries: Mapping[str, str]  # role ARN -> permissions boundary ARN
    # event source mapping ARN -> the function it invokes (lambda:FunctionArn of its calls)
    mapped_functions: Mapping[str, str] = field(default_factory=dict)


def facts_from_plan(plan: Mapping[str, Any], region: str, account: str) -> Facts:
    """Tags and boundaries as the plan of the applied environment wants them, which is
    what AWS holds after an apply (moto does not return every resource's tags)."""
    tags: dict[str, dict[str, str]] = {}
    boundaries: dict[str, str] = {}
    mapped: dict[str, str] = {}
    for change in plan.get("resource_changes", []):
        values = (change.get("change") or {}).get("after") or {}
        if change["type"] == "aws_lambda_event_source_mapping" and values.get("uuid"):
            esm = event_source_mapping_arn(values["uuid"], region, account)
            mapped[esm] = values["function_arn"]
        arn = values.get("arn")
        if not isinstance(arn, str):
            continue
        if isinstance(values.get("tags_all"), dict):
            tags[arn] = values["tags_all"]
        if change["type"] == "aws_iam_role" and values.get("permissions_boundary"):
            boundaries[arn] = values["permissions_boundary"]
    return Facts(region, account, tags, boundaries, mapped)


def wire_params(call: ApiCall, prefix: str) -> dict[str, Any]:
    body = call.body.strip()
    if body.startswith("{"):
        # The log may carry more after the JSON document (a continuation of the entry).
        params: dict[str, Any] = json.JSONDecoder().raw_decode(body)[0]
    elif "Action=" in body:
        params = dict(parse_qsl(body))
    else:
        params = {}
    if prefix in {"lambda", "s3", "apigateway", "ses"}:
        params.update(rest_params(prefix, call.url))
        params.update(parse_qsl(urlparse(call.url).query))
    return params


@dataclass(frozen=True)
class Needed:
    call: ApiCall
    request: Request


def _context(
    prefix: str, params: Mapping[str, Any], arns: list[str], facts: Facts
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "aws:SecureTransport": "true",
        "aws:ResourceAccount": facts.account,
        "s3:ResourceAccount": facts.account,
    }
    for arn in arns:
        for key, value in facts.tags.get(arn, {}).items():
            context[f"aws:ResourceTag/{key}"] = value
        if arn in facts.boundaries:
            context["iam:PermissionsBoundary"] = facts.boundaries[arn]
    tags = params.get("Tags")
    if isinstance(tags, list):
        for tag in tags:
            key = tag.get("TagKey", tag.get("Key"))
            context[f"aws:RequestTag/{key}"] = tag.get("TagValue", tag.get("Value"))
    for key, value in params.items():  # query protocol: Tags.member.1.Key=...
        if key.startswith("Tags.member.") and key.endswith(".Key"):
            context[f"aws:RequestTag/{value}"] = params.get(key[:-3] + "Value", "")
    if prefix == "iam" and "PermissionsBoundary" in params:
        context["iam:PermissionsBoundary"] = params["PermissionsBoundary"]
    if prefix == "kms" and str(params.get("KeyId", "")).startswith("alias/"):
        context["kms:RequestAlias"] = params["KeyId"]
    if prefix == "lambda" and "Principal" in params:
        context["lambda:Principal"] = params["Principal"]
    if prefix == "lambda" and (function := _mapped_function(params, arns, facts)):
        context["lambda:FunctionArn"] = function
    return context


def _mapped_function(params: Mapping[str, Any], arns: list[str], facts: Facts) -> str | None:
    """The function an event source mapping call concerns, as Lambda fills in
    ``lambda:FunctionArn``: the one the request names (create, update), else the one
    the mapping invokes (get, delete, which name only the mapping)."""
    if "UUID" not in params and not (params.get("EventSourceArn") and "FunctionName" in params):
        return None
    if "FunctionName" in params:
        return function_arn(params["FunctionName"], facts.region, facts.account)
    [mapping] = arns
    if mapping not in facts.mapped_functions:
        raise ValueError(f"cannot tell the function of event source mapping {mapping}")
    return facts.mapped_functions[mapping]


def needed(call: ApiCall, facts: Facts) -> Iterator[Needed]:
    prefix = iam_prefix(call.signing_name)
    action = iam_action(call.signing_name, call.operation, call.http_method)
    params = wire_params(call, prefix)
    if prefix == "apigateway":
        # The HTTP API's wire path starts /v2/; its resource ARNs do not.
        path = params["Path"].removeprefix("/v2")
        arns: list[str] | None = [f"arn:aws:apigateway:{facts.region}::{path}"]
    elif reference.exists(action) and reference.takes_no_resource(action):
        arns = ["*"]
    else:
        arns = resource_arns(prefix, call.operation, params, facts.region, facts.account)
    if not arns:
        raise ValueError(f"cannot tell the resource of {call.service} {call.operation}: {params}")
    context = _context(prefix, params, arns, facts)
    for arn in arns:
        yield Needed(call, Request(action, arn, context))
    yield from _dependent(call, prefix, params, facts)


def _dependent(
    call: ApiCall, prefix: str, params: Mapping[str, Any], facts: Facts
) -> Iterator[Needed]:
    roles: list[tuple[str, str]] = []
    if prefix == "lambda" and "Role" in params:
        roles.append((params["Role"], "lambda.amazonaws.com"))
    if prefix == "sns":
        values = [params.get("AttributeValue", "")]
        attributes = params.get("Attributes")
        values += list(attributes.values()) if isinstance(attributes, dict) else []
        values += [
            v
            for k, v in params.items()
            if k.startswith("Attributes.entry.") and k.endswith(".value")
        ]
        roles += [(v, "sns.amazonaws.com") for v in values if isinstance(v, str) and ":role/" in v]
    for role, service in roles:
        context = {"iam:PassedToService": service, "aws:ResourceAccount": facts.account}
        yield Needed(call, Request("iam:PassRole", role, context))
    if prefix == "kms" and call.operation == "CreateKey" and params.get("Tags"):
        tags = {f"aws:RequestTag/{t['TagKey']}": t["TagValue"] for t in params["Tags"]}
        new_key = f"arn:aws:kms:{facts.region}:{facts.account}:key/(created by CreateKey)"
        yield Needed(call, Request("kms:TagResource", new_key, tags))
    key = (params.get("SSESpecification") or {}).get("KMSMasterKeyId")
    if prefix == "dynamodb" and call.operation in {"CreateTable", "UpdateTable"} and key:
        # DynamoDB reads a table's customer managed key and creates its grant with the
        # caller's credentials (forward access); the reference lists no dependent action.
        context = _context("kms", {}, [key], facts) | {
            "kms:ViaService": f"dynamodb.{facts.region}.amazonaws.com",
            "kms:GrantIsForAWSResource": "true",
        }
        for action in DYNAMODB_KEY_USE_BY_CREATOR:
            yield Needed(call, Request(action, key, context))
    if prefix == "apigateway" and "accessLogSettings" in call.body:
        for action in ACCESS_LOG_DELIVERY:
            yield Needed(call, Request(action, "*", {}))


def checked(calls: list[ApiCall], facts: Facts) -> Iterator[Needed]:
    """The requests of the calls that IAM must allow (not those AWS lets anyone make,
    nor those the provider expects may be denied)."""
    for call in calls:
        action = iam_action(call.signing_name, call.operation, call.http_method)
        if (action, call.rpc) in MAY_BE_DENIED:
            continue
        for item in needed(call, facts):
            if item.request.action not in ALWAYS_ALLOWED:
                yield item


def problems(
    calls: list[ApiCall],
    facts: Facts,
    identity: list[Mapping[str, Any]],
    boundary: Mapping[str, Any] | None = None,
) -> list[str]:
    """Every call the policies (identity ∩ boundary) would not let through, as AWS says."""
    found: dict[str, None] = {}
    for item in checked(calls, facts):
        for problem in request_problems(item.request, identity, boundary):
            found[f"{item.call.service} {item.call.operation}: {problem}"] = None
    return list(found)


def request_problems(
    request: Request,
    identity: list[Mapping[str, Any]],
    boundary: Mapping[str, Any] | None,
) -> list[str]:
    if not reference.exists(request.action):
        return [f"{request.action} is not an action of AWS's authorization reference"]
    formats = reference.resource_arn_formats(request.action)
    if request.resource != "*" and not any(
        reference.matches_format(request.resource, f) for f in formats
    ):
        return [f"{request.resource} is no resource type of {request.action} ({formats or '*'})"]
    if allows(identity, boundary, request):
        return []
    where = (
        "on *, the only resource AWS authorizes it on"
        if request.resource == "*"
        else (f"on {request.resource}")
    )
    side = "the role" if decision(identity, request) != "Allow" else "the permissions boundary"
    return [f"{request.action} {where} is not allowed by {side}"]
