"""tools.iam.policy against the examples of AWS's IAM documentation: "Policy evaluation
logic", "Permissions boundaries for IAM entities", and the NotAction, NotResource and
condition operator pages."""

from __future__ import annotations

import pytest

from tools.iam.policy import Request, allows, decision


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def request(action: str, resource: str = "*", **context: str) -> Request:
    return Request(action, resource, context)


def test_a_boundary_limits_what_the_identity_policy_grants() -> None:
    # "Permissions boundaries for IAM entities": ShirleyRodriguez may create users by her
    # permissions policy, but her boundary allows only S3, CloudWatch and EC2.
    boundary = policy(
        {"Effect": "Allow", "Action": ["s3:*", "cloudwatch:*", "ec2:*"], "Resource": "*"}
    )
    identity = [policy({"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*"})]
    assert not allows(identity, boundary, request("iam:CreateUser"))
    assert allows(identity, None, request("iam:CreateUser"))
    # ...and the boundary alone grants nothing.
    assert not allows([], boundary, request("s3:GetObject", "arn:aws:s3:::b/k"))


def test_an_explicit_deny_overrides_any_allow() -> None:
    identity = [
        policy({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}),
        policy(
            {
                "Effect": "Deny",
                "Action": "dynamodb:DeleteTable",
                "Resource": "arn:aws:dynamodb:*:*:table/Books",
            }
        ),
    ]
    books = "arn:aws:dynamodb:us-east-1:123456789012:table/Books"
    assert decision(identity, request("dynamodb:DeleteTable", books)) == "Deny"
    assert decision(identity, request("dynamodb:GetItem", books)) == "Allow"
    assert decision([], request("dynamodb:GetItem", books)) == "ImplicitDeny"


def test_not_action_deny_without_mfa() -> None:
    # NotAction page: deny everything but IAM to a request without MFA.
    document = policy(
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {
            "Sid": "DenyAllUsersNotUsingMFA",
            "Effect": "Deny",
            "NotAction": "iam:*",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    )
    assert decision([document], request("s3:ListBucket")) == "Deny"  # key missing: IfExists
    assert decision([document], request("iam:ListUsers")) == "Allow"
    assert (
        decision([document], request("s3:ListBucket", **{"aws:MultiFactorAuthPresent": "true"}))
        == "Allow"
    )


def test_not_resource_allows_everything_but_the_named_resources() -> None:
    # NotResource page: every bucket but the HR payroll folder.
    document = policy(
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
        }
    )
    assert allows([document], None, request("s3:GetObject", "arn:aws:s3:::HRBucket/Other"))
    assert not allows(
        [document], None, request("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/2020.csv")
    )


def test_wildcards_actions_ignore_case_resources_do_not() -> None:
    document = policy(
        {"Effect": "Allow", "Action": "SNS:Get*", "Resource": "arn:aws:sns:*:*:dev-*"}
    )
    assert allows([document], None, request("sns:GetTopicAttributes", "arn:aws:sns:r:1:dev-o"))
    assert not allows([document], None, request("sns:GetTopicAttributes", "arn:aws:sns:r:1:DEV-o"))
    assert not allows([document], None, request("sns:SetTopicAttributes", "arn:aws:sns:r:1:dev-o"))


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("StringEquals", "dev", True),
        ("StringEquals", "prod", False),
        ("StringNotEquals", "prod", True),
        ("StringLike", "de?", True),
        ("ArnLike", "arn:aws:sns:*:123456789012:dev-*", False),
    ],
)
def test_condition_operators(operator: str, value: str, expected: bool) -> None:
    document = policy(
        {
            "Effect": "Allow",
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": {operator: {"aws:ResourceTag/environment": value}},
        }
    )
    got = allows(
        [document], None, request("kms:DescribeKey", **{"aws:ResourceTag/environment": "dev"})
    )
    assert got is expected


def test_a_missing_key_fails_a_positive_condition_and_satisfies_a_negated_one() -> None:
    # "If the key that you specify in a policy condition is not present in the request
    # context, the values do not match" -- a negated operator is then satisfied.
    positive = policy(
        {
            "Effect": "Allow",
            "Action": "lambda:AddPermission",
            "Resource": "*",
            "Condition": {"StringEquals": {"lambda:Principal": "sns.amazonaws.com"}},
        }
    )
    negated = policy(
        {
            "Effect": "Allow",
            "Action": "lambda:AddPermission",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"lambda:Principal": "*"}},
        }
    )
    assert not allows([positive], None, request("lambda:AddPermission"))
    assert allows([negated], None, request("lambda:AddPermission"))


def test_an_unknown_operator_is_an_error_not_a_guess() -> None:
    document = policy(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        }
    )
    with pytest.raises(ValueError, match="DateGreaterThan"):
        allows([document], None, request("s3:ListBucket", **{"aws:CurrentTime": "x"}))
