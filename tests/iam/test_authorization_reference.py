"""The API operation -> IAM action table and the provider log parser, held to AWS's
authorization reference as parliament ships it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.iam import reference
from tools.iam.actions import OPERATION_ACTIONS, iam_action
from tools.iam.provider_log import api_calls

ENTRIES = [
    (prefix, op, action) for prefix, ops in OPERATION_ACTIONS.items() for op, action in ops.items()
]


@pytest.mark.parametrize(("prefix", "operation", "action"), ENTRIES)
def test_every_override_is_needed_and_names_a_real_action(
    prefix: str, operation: str, action: str
) -> None:
    assert not reference.exists(f"{prefix}:{operation}"), "the operation is an action itself"
    assert reference.exists(f"{prefix}:{action}")


def test_the_reference_knows_which_actions_take_no_resource() -> None:
    assert reference.takes_no_resource("kms:ListAliases")
    assert reference.takes_no_resource("sns:Unsubscribe")
    assert not reference.takes_no_resource("kms:DescribeKey")
    assert reference.matches_format(
        "arn:aws:sns:eu-west-1:123456789012:dev-orders",
        reference.resource_arn_formats("sns:Publish")[0],
    )


def test_cloudwatch_and_api_gateway_map_as_aws_authorizes_them() -> None:
    assert iam_action("monitoring", "PutMetricAlarm") == "cloudwatch:PutMetricAlarm"
    assert iam_action("apigateway", "CreateRoute", "POST") == "apigateway:POST"
    assert iam_action("s3", "HeadBucket") == "s3:ListBucket"


SAMPLE = """\
2026-12-01T23:12:50.665Z [DEBUG] provider.terraform-provider-aws_v5.100.0_x5: HTTP Request Sent:
  http.request.body=
  | {"KeyId":"alias/aws/dynamodb"}
   rpc.method=DescribeKey tf_rpc=ReadResource http.method=POST http.url=http://127.0.0.1:1/ http.request.header.authorization="AWS4-HMAC-SHA256 Credential=testing/20261201/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=*****" rpc.service=KMS
2026-12-01T23:12:50.669Z [DEBUG] provider.terraform-provider-aws_v5.100.0_x5: setting endpoint: rpc.service=STS
"""  # noqa: E501 (a provider log line is as long as the provider writes it)


def test_the_provider_log_parser_reads_service_operation_and_body(tmp_path: Path) -> None:
    log = tmp_path / "apply.log"
    log.write_text(SAMPLE)
    [call] = api_calls(log)
    assert (call.service, call.signing_name, call.operation) == ("KMS", "kms", "DescribeKey")
    assert call.body == '{"KeyId":"alias/aws/dynamodb"}'
    assert call.rpc == "ReadResource"


def test_a_request_without_signature_is_an_error(tmp_path: Path) -> None:
    log = tmp_path / "apply.log"
    log.write_text(SAMPLE.replace("Credential=testing/20261201/eu-west-1/kms/aws4_request", "x"))
    with pytest.raises(ValueError, match="SigV4"):
        api_calls(log)
