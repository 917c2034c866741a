"""Every policy the dev plan and the bootstrap plan create, as AWS reads them: identity
policies through parliament (its checks of actions, resource formats and condition types
come from AWS's authorization reference); resource policies (keys, topics, queues,
buckets) for the principals and conditions they must carry."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
import tfharness

from tools.iam.plans import PlannedPolicy, identity_policies, planned_policies
from tools.iam.policy import as_list

pytestmark = pytest.mark.slow

ACCOUNT = tfharness.MOTO_ACCOUNT_ID
ALIAS_ACTIONS = {"kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"}


def justified(policy_address: str, issue: str, detail: Any) -> str | None:
    """Why a finding is accepted, or None. Each entry says why AWS needs the policy so."""
    if issue == "RESOURCE_MISMATCH" and {d["action"] for d in detail} <= ALIAS_ACTIONS:
        # AWS authorizes an alias action on both the alias and its key ("Controlling access
        # to aliases"); the two halves sit in two statements so that the key's can carry
        # the environment-tag condition. parliament judges each statement alone.
        return "alias actions need the alias and the key, granted in two statements"
    if issue == "RESOURCE_MISMATCH" and {d["action"] for d in detail} == {
        "ses:CreateEmailIdentity"
    }:
        # The reference lists CreateEmailIdentity twice under the prefix ses: in Pinpoint
        # Email (no resource type) and in SES v2 (identity*). aws_sesv2_email_identity
        # calls SES v2, which authorizes it on the identity ARN; parliament takes the first.
        return "SES v2 authorizes CreateEmailIdentity on the identity"
    if (
        issue == "RESOURCE_POLICY_PRIVILEGE_ESCALATION"
        and policy_address.startswith("aws_iam_role_policy.deploy[")
        and any(
            f"does allow {a}" in str(detail)
            for a in ("s3:PutBucketPolicy", "s3:PutLifecycleConfiguration")
        )
    ):
        # The deploy role writes the buckets' policies and lifecycle rules (that is what
        # Terraform manages), so a reviewed change could grant it object access or
        # expire objects. It holds no object action itself; what the bucket policy says
        # is reviewed in terraform/modules/shared_resources like every other change.
        return "the deploy role manages bucket policies and lifecycles by design"
    return None


def findings(policy: PlannedPolicy) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports the deprecated pkg_resources
        import parliament

    analysed = parliament.analyze_policy_string(
        json.dumps(policy.document), ignore_private_auditors=True
    )
    return [
        f"{policy.address}: {f.issue} {f.detail}"
        for f in analysed.findings
        if justified(policy.address, f.issue, f.detail) is None
    ]


def test_identity_policies_of_the_environment_pass_parliament(
    deployed_plan: dict[str, Any],
) -> None:
    policies = identity_policies(deployed_plan)
    assert len(policies) >= len(tfharness.service_names()), "every function's role policy"
    problems = [p for policy in policies for p in findings(policy)]
    assert problems == [], "\n".join(problems)


def test_identity_policies_of_the_bootstrap_pass_parliament(
    bootstrap_plan: dict[str, Any],
) -> None:
    policies = identity_policies(bootstrap_plan)
    addresses = {p.address for p in policies}
    for env in ("dev", "staging", "prod"):
        assert f'aws_iam_role_policy.deploy["{env}"]' in addresses
        assert f'aws_iam_policy.lambda_boundary["{env}"]' in addresses
    problems = [p for policy in policies for p in findings(policy)]
    assert problems == [], "\n".join(problems)


# A service principal's grant must name on whose behalf it acts (the confused-deputy
# rule): aws:SourceArn or aws:SourceAccount. CloudWatch Logs encrypts with the log
# group's ARN in the encryption context instead, which AWS documents for that key policy.
SOURCE_KEYS = {"aws:sourcearn", "aws:sourceaccount", "kms:encryptioncontext:aws:logs:arn"}
RESOURCE_POLICY_TYPES = {
    "aws_kms_key",
    "aws_sns_topic_policy",
    "aws_sqs_queue_policy",
    "aws_s3_bucket_policy",
}
MUST_DENY_INSECURE_TRANSPORT = {
    "aws_sns_topic_policy",
    "aws_sqs_queue_policy",
    "aws_s3_bucket_policy",
}


def resource_policy_problems(policy: PlannedPolicy) -> list[str]:
    problems = []
    statements = as_list(policy.document["Statement"])
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        principal = statement.get("Principal", {})
        condition_keys = {
            key.lower() for block in (statement.get("Condition") or {}).values() for key in block
        }
        where = f"{policy.address} {statement.get('Sid')}"
        if principal == "*" or "NotPrincipal" in statement:
            problems.append(f"{where}: open to every principal")
            continue
        if "Service" in principal and not (condition_keys & SOURCE_KEYS):
            problems.append(f"{where}: service principal without aws:SourceArn/SourceAccount")
        for aws in as_list(principal.get("AWS", [])):
            if aws == "*" and "aws:principalaccount" not in condition_keys:
                problems.append(f"{where}: any AWS principal without aws:PrincipalAccount")
            elif aws != "*" and f":{ACCOUNT}:" not in aws:
                problems.append(f"{where}: a principal of another account: {aws}")
    if policy.type in MUST_DENY_INSECURE_TRANSPORT and not any(
        s["Effect"] == "Deny"
        and "aws:securetransport" in {k.lower() for b in s.get("Condition", {}).values() for k in b}
        for s in statements
    ):
        problems.append(f"{policy.address}: no Deny of requests without TLS")
    return problems


def check_resource_policies(plan: dict[str, Any]) -> None:
    policies = [p for p in planned_policies(plan) if p.type in RESOURCE_POLICY_TYPES]
    assert policies, "expected key, topic, queue or bucket policies in the plan"
    problems = [p for policy in policies for p in resource_policy_problems(policy)]
    assert problems == [], "\n".join(problems)


def test_resource_policies_of_the_environment_name_their_principals_and_sources(
    deployed_plan: dict[str, Any],
) -> None:
    check_resource_policies(deployed_plan)


def test_resource_policies_of_the_bootstrap_name_their_principals_and_sources(
    bootstrap_plan: dict[str, Any],
) -> None:
    check_resource_policies(bootstrap_plan)
