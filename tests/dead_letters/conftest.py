"""A function deployed to moto, for the paths that invoke it (moto runs it without Docker,
answering every invocation successfully)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator

import boto3
import pytest
from moto import mock_aws

from tools.contract import FAKE_CREDENTIALS, names


def _deploy(service: str, environment: str = "dev") -> str:
    role = boto3.client("iam").create_role(
        RoleName=f"fn-{names.kebab(service)}",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return None\n")
    name = names.function_name(service, environment)
    boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="handler.handle",
        Code={"ZipFile": code.getvalue()},
    )
    return name


@pytest.fixture
def deploy_function() -> Callable[..., str]:
    """``deploy_function(service, environment="dev")``: the function's name, inside mock_aws."""
    return _deploy


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for every AWS call (Lambda without Docker), with fake credentials."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield
