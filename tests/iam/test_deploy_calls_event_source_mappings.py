"""Event source mapping calls as IAM authorizes them: creation on "*", the mapping's
own calls on its event-source-mapping ARN, each with the function in lambda:FunctionArn."""

from __future__ import annotations

import json

import pytest

from tools.iam import deploy_calls
from tools.iam.provider_log import ApiCall

REGION, ACCOUNT = "eu-west-1", "123456789012"
UUID = "a1b2c3d4-0000-4000-8000-000000000001"
MAPPING = f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{UUID}"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:dev-order-confirmation"
OTHER_FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:prod-order-confirmation"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dev-order-confirmation-orders-queue"
BASE = f"https://lambda.{REGION}.amazonaws.com/2015-03-31/event-source-mappings"
FACTS = deploy_calls.Facts(REGION, ACCOUNT, {}, {}, {MAPPING: FUNCTION})

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "lambda:CreateEventSourceMapping",
            "Resource": "*",
            "Condition": {"ArnLike": {"lambda:FunctionArn": "arn:aws:lambda:*:*:function:dev-*"}},
        },
        {
            "Effect": "Allow",
            "Action": [
                "lambda:GetEventSourceMapping",
                "lambda:UpdateEventSourceMapping",
                "lambda:DeleteEventSourceMapping",
            ],
            "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:*",
            "Condition": {"ArnLike": {"lambda:FunctionArn": "arn:aws:lambda:*:*:function:dev-*"}},
        },
    ],
}


def call(operation: str, method: str, url: str, body: dict[str, object] | None = None) -> ApiCall:
    return ApiCall(
        "Lambda", "lambda", operation, "ApplyResourceChange", method, url,
        json.dumps(body) if body is not None else "",
    )  # fmt: skip


def create(function: str) -> ApiCall:
    body = {"FunctionName": function, "EventSourceArn": QUEUE, "BatchSize": 10}
    return call("CreateEventSourceMapping", "POST", f"{BASE}/", body)


def test_creation_is_authorized_on_star_naming_the_function() -> None:
    [needed] = deploy_calls.needed(create("dev-order-confirmation"), FACTS)
    assert needed.request.action == "lambda:CreateEventSourceMapping"
    assert needed.request.resource == "*"
    assert needed.request.context["lambda:FunctionArn"] == FUNCTION


@pytest.mark.parametrize(
    ("operation", "method", "body"),
    [
        ("GetEventSourceMapping", "GET", None),
        ("DeleteEventSourceMapping", "DELETE", None),
        ("UpdateEventSourceMapping", "PUT", {"FunctionName": FUNCTION, "BatchSize": 5}),
    ],
)
def test_a_mappings_calls_are_authorized_on_the_mapping_with_its_function(
    operation: str, method: str, body: dict[str, object] | None
) -> None:
    [needed] = deploy_calls.needed(call(operation, method, f"{BASE}/{UUID}", body), FACTS)
    assert needed.request.action == f"lambda:{operation}"
    assert needed.request.resource == MAPPING
    assert needed.request.context["lambda:FunctionArn"] == FUNCTION
    assert deploy_calls.problems([needed.call], FACTS, [POLICY]) == []


def test_a_mapping_of_another_environments_function_is_denied() -> None:
    problems = deploy_calls.problems([create(OTHER_FUNCTION)], FACTS, [POLICY])
    assert problems == [
        "Lambda CreateEventSourceMapping: lambda:CreateEventSourceMapping on *, "
        "the only resource AWS authorizes it on is not allowed by the role"
    ]


def test_a_mapping_the_environment_does_not_hold_is_named() -> None:
    unknown = call("GetEventSourceMapping", "GET", f"{BASE}/ffffffff-0000-4000-8000-000000000000")
    with pytest.raises(ValueError, match="function of event source mapping .*ffffffff"):
        list(deploy_calls.needed(unknown, FACTS))
