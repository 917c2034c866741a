"""The contract between the declarations and everything derived from them, written once.

Physical names (``names``), a function's environment (``environment``), the AWS event
shapes (``events``), the fake account tests and the local system run in (``account``),
the event fixtures (``fixtures``) and, on moto, what Terraform creates (``provision``).
The local system, the tools and every test import these;
``tests/contracts/test_names.py`` checks the names against Terraform's plan.
Repository tooling: never shipped in an artifact.
"""

from __future__ import annotations

from .account import FAKE_CREDENTIALS, fake_aws_environment, use_endpoint
from .environment import lambda_environment, runtime_environment
from .events import (
    http_event,
    on_failure_record,
    scheduled_event,
    sns_event,
    sns_notification,
    sns_notification_record,
    sns_record,
    sqs_event,
    sqs_record,
)
from .fixtures import load_fixture
from .names import ACCOUNT_ID, LOCAL_ENVIRONMENT, REGION
from .provision import Provisioned, drain, provision

__all__ = [
    "ACCOUNT_ID",
    "FAKE_CREDENTIALS",
    "LOCAL_ENVIRONMENT",
    "REGION",
    "Provisioned",
    "drain",
    "fake_aws_environment",
    "http_event",
    "lambda_environment",
    "load_fixture",
    "on_failure_record",
    "provision",
    "runtime_environment",
    "scheduled_event",
    "sns_event",
    "sns_notification",
    "sns_notification_record",
    "sns_record",
    "sqs_event",
    "sqs_record",
    "use_endpoint",
]
