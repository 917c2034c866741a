"""The attributes an item request touches, as DynamoDB's fine-grained access control sees
them, and a ``dynamodb:Attributes`` condition judged on them by tools.iam.policy."""

from __future__ import annotations

import pytest

from tools.iam.dynamodb_attributes import condition_context, expression_names
from tools.iam.policy import Request, allows

TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/dev-orders"
# The statement shape modules/lambda_service gives an updater of owned attributes.
UPDATER = {
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:UpdateItem"],
            "Resource": [TABLE],
            "Condition": {
                "ForAllValues:StringEquals": {"dynamodb:Attributes": ["order_id", "status"]},
                "StringEqualsIfExists": {
                    "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"]
                },
            },
        }
    ]
}


def test_names_are_top_level_and_placeholders_resolved() -> None:
    names = expression_names(
        "SET #s = :s, lines[0].sku = :sku, a.b = if_not_exists(c, :zero) REMOVE d",
        {"#s": "status"},
    )
    assert names == {"status", "lines", "a", "c", "d"}


def test_an_unknown_placeholder_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="#missing"):
        expression_names("SET #missing = :v", {})


def _update(expression: str, **extra: object) -> Request:
    params = {"Key": {"order_id": {"S": "1"}}, "UpdateExpression": expression, **extra}
    return Request("dynamodb:UpdateItem", TABLE, condition_context(params))


def test_an_update_of_owned_attributes_is_allowed() -> None:
    assert allows(
        [UPDATER], None, _update("SET #s = :s", ExpressionAttributeNames={"#s": "status"})
    )


def test_an_update_touching_another_attribute_is_denied() -> None:
    assert not allows([UPDATER], None, _update("SET status = :s, customer_email = :e"))


def test_an_update_returning_the_whole_item_is_denied() -> None:
    assert not allows([UPDATER], None, _update("SET status = :s", ReturnValues="ALL_NEW"))
