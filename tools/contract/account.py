"""The fake AWS account tests and the local system run in: credentials, region, endpoint."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from .names import REGION

__all__ = ["FAKE_CREDENTIALS", "fake_aws_environment", "use_endpoint"]

# Credentials for moto: never valid in AWS, so nothing run with them can reach it.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# Variables that would point boto3 at a real account or make the package think it runs
# in Lambda with active tracing.
_REAL_WORLD = ("AWS_PROFILE", "_X_AMZN_TRACE_ID", "AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT")


def fake_aws_environment(endpoint_url: str | None = None) -> dict[str, str]:
    """The fake credentials, plus ``AWS_ENDPOINT_URL`` when given (boto3 honours it)."""
    return FAKE_CREDENTIALS | ({"AWS_ENDPOINT_URL": endpoint_url} if endpoint_url else {})


def use_endpoint(endpoint_url: str | None, environ: MutableMapping[str, str] | None = None) -> None:
    """Point every boto3 client of this process at ``endpoint_url`` with fake credentials.

    ``None`` clears any endpoint (in-process moto). boto3 reads these variables itself,
    which is why this one piece of configuration still goes through the environment.
    """
    target = os.environ if environ is None else environ
    target.update(FAKE_CREDENTIALS)
    target.pop("AWS_ENDPOINT_URL", None)
    if endpoint_url:
        target["AWS_ENDPOINT_URL"] = endpoint_url
    for name in _REAL_WORLD:
        target.pop(name, None)
