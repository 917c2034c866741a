"""The deploy role of dev (terraform/bootstrap) against every API call that a plan, an
apply and a destroy of dev against moto made, read from the provider's debug log and
judged by AWS's authorization reference (tools/iam)."""

from __future__ import annotations

from typing import Any

import pytest
import tfharness

from tools.iam import deploy_calls, reference
from tools.iam.plans import deploy_policy
from tools.iam.policy import Request, allows, as_list
from tools.iam.provider_log import api_calls

pytestmark = pytest.mark.slow

ENV = "dev"
ARN = f"{tfharness.REGION}:{tfharness.MOTO_ACCOUNT_ID}"

# Needed to change a deployed environment, which a fresh apply and destroy never call.
UPDATE_ONLY = {
    "lambda:GetFunctionConfiguration", "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration", "lambda:DeleteFunctionConcurrency",
    "lambda:UpdateFunctionEventInvokeConfig", "lambda:ListTags", "lambda:TagResource",
    "lambda:UntagResource", "lambda:UpdateEventSourceMapping",
    "sns:TagResource", "sns:UntagResource", "sns:SetSubscriptionAttributes",
    "sqs:TagQueue", "sqs:UntagQueue",
    "dynamodb:UpdateTable", "dynamodb:TagResource", "dynamodb:UntagResource",
    "logs:DeleteRetentionPolicy", "logs:AssociateKmsKey", "logs:DisassociateKmsKey",
    "logs:TagResource", "logs:UntagResource",
    "cloudwatch:TagResource", "cloudwatch:UntagResource",
    "events:TagResource", "events:UntagResource",
    "kms:PutKeyPolicy", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
    "kms:UpdateAlias",
    "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy",
    "iam:TagRole", "iam:UntagRole", "iam:PutRolePermissionsBoundary",
    "apigateway:PUT", "apigateway:PATCH",
    "ses:TagResource", "ses:UntagResource",
    # The state in S3 (the tests use a local backend).
    "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "kms:Decrypt", "kms:Encrypt",
    "kms:GenerateDataKey",
    # API Gateway checks these on the caller that sets a stage's access log (moto does not).
    *deploy_calls.ACCESS_LOG_DELIVERY,
}  # fmt: skip

# Reads of the data an environment holds: never the deploy role's.
DATA_PLANE_READS = [
    ("dynamodb:Scan", f"arn:aws:dynamodb:{ARN}:table/{ENV}-orders"),
    ("dynamodb:Query", f"arn:aws:dynamodb:{ARN}:table/{ENV}-orders"),
    ("dynamodb:GetItem", f"arn:aws:dynamodb:{ARN}:table/{ENV}-orders"),
    ("dynamodb:BatchGetItem", f"arn:aws:dynamodb:{ARN}:table/{ENV}-orders"),
    ("sqs:ReceiveMessage", f"arn:aws:sqs:{ARN}:{ENV}-inventory-on-failure"),
    ("s3:GetObject", f"arn:aws:s3:::{ENV}-large-events-{tfharness.MOTO_ACCOUNT_ID}/events/1"),
    ("lambda:InvokeFunction", f"arn:aws:lambda:{ARN}:function:{ENV}-orders-api"),
    ("kms:Decrypt", f"arn:aws:kms:{ARN}:key/00000000-0000-0000-0000-000000000000"),
]


def facts(plan: dict[str, Any]) -> deploy_calls.Facts:
    return deploy_calls.facts_from_plan(plan, tfharness.REGION, tfharness.MOTO_ACCOUNT_ID)


@pytest.fixture(scope="module")
def calls(destroyed_deployment: tfharness.MotoEnvironment) -> list[Any]:
    logs = destroyed_deployment.debug_logs()
    steps = [p.name.split("-", 1)[1] for p in logs]
    assert {"apply.log", "plan.log", "destroy.log"} <= set(steps), steps
    found = [c for log in logs for c in api_calls(log)]
    assert found, f"no API call in the provider debug logs {logs}"
    return found


def test_deploy_role_allows_every_call_of_plan_apply_and_destroy(
    calls: list[Any], bootstrap_plan: dict[str, Any], deployed_plan: dict[str, Any]
) -> None:
    policy = deploy_policy(bootstrap_plan, ENV)
    problems = deploy_calls.problems(calls, facts(deployed_plan), [policy])
    assert problems == [], "\n".join(problems)


def test_deploy_role_grants_only_what_the_calls_need(
    calls: list[Any], bootstrap_plan: dict[str, Any], deployed_plan: dict[str, Any]
) -> None:
    used = {n.request.action.lower() for n in deploy_calls.checked(calls, facts(deployed_plan))}
    granted = {
        action
        for statement in as_list(deploy_policy(bootstrap_plan, ENV)["Statement"])
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
    }
    assert not [a for a in granted if "*" in a], "the deploy role names every action it holds"
    unused = sorted(a for a in granted if a.lower() not in used and a not in UPDATE_ONLY)
    assert unused == [], f"granted but called by neither plan, apply nor destroy: {unused}"


@pytest.mark.parametrize(("action", "resource"), DATA_PLANE_READS)
def test_deploy_role_cannot_read_data(
    action: str, resource: str, bootstrap_plan: dict[str, Any]
) -> None:
    policy = deploy_policy(bootstrap_plan, ENV)
    context = {
        "aws:ResourceAccount": tfharness.MOTO_ACCOUNT_ID,
        "s3:ResourceAccount": tfharness.MOTO_ACCOUNT_ID,
        "aws:ResourceTag/environment": ENV,
    }
    assert not allows([policy], None, Request(action, resource, context)), (
        f"the deploy role may {action} on {resource}"
    )


@pytest.mark.parametrize(
    "principal", ["*", tfharness.MOTO_ACCOUNT_ID, "arn:aws:iam::210987654321:root", None]
)
def test_deploy_role_cannot_open_a_function_to_other_principals(
    principal: str | None, bootstrap_plan: dict[str, Any]
) -> None:
    policy = deploy_policy(bootstrap_plan, ENV)
    context = {} if principal is None else {"lambda:Principal": principal}
    function = f"arn:aws:lambda:{ARN}:function:{ENV}-orders-api"
    assert not allows([policy], None, Request("lambda:AddPermission", function, context))


def test_actions_aws_authorizes_only_on_star_are_granted_on_star(
    bootstrap_plan: dict[str, Any],
) -> None:
    # Whatever the call log holds: a grant on an ARN of an action without resource types
    # is a grant AWS never applies.
    problems = []
    for statement in as_list(deploy_policy(bootstrap_plan, ENV)["Statement"]):
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            if reference.takes_no_resource(action) and "*" not in as_list(statement["Resource"]):
                problems.append(f"{statement.get('Sid')}: {action} on {statement['Resource']}")
    assert problems == []
