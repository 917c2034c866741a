"""The AWS side of `tools.dead_letters`: queue names, synchronous invoke, delete once handled.

moto runs Lambda without Docker here, answering every invocation successfully, so this
covers the plumbing of a successful redrive; a failing redrive (the letter kept) is
covered by ``test_kinds.py`` with a failing invoker and on the local system, through the
same ``redrive_queue``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import boto3
import pytest

from messaging import Envelope
from messaging.dead_letters import dead_letter_record
from tools import dead_letters
from tools.contract import load_fixture, sns_event


@pytest.fixture
def aws_lambda(fake_aws: None) -> None:
    """moto, with Lambda (conftest.py)."""


def _deploy_dead_letter(service_kebab: str, deploy_function: Callable[..., str]) -> str:
    deploy_function(service_kebab.replace("-", "_"))
    sqs = boto3.client("sqs")
    sqs.create_queue(QueueName=f"dev-{service_kebab}-delivery-dlq")
    url = sqs.create_queue(QueueName=f"dev-{service_kebab}-on-failure")["QueueUrl"]
    payload = sns_event(
        Envelope(type="inventory.reserved", data=load_fixture("inventory.reserved"))
    )
    record = dead_letter_record(
        payload,
        LookupError("order not found"),
        condition="RetriesExhausted",
        attempts=3,
        function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:dev-{service_kebab}",
        request_id="r-1",
    )
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
    return url


def _depth(url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_list_and_dry_run_keep_every_letter(
    aws_lambda: None, capsys: pytest.CaptureFixture[str], deploy_function: Callable[..., str]
) -> None:
    url = _deploy_dead_letter("order-status", deploy_function)
    assert dead_letters.main(["list", "order_status", "--env", "dev"]) == 0
    assert (
        "RetriesExhausted after 3 attempt(s): LookupError: order not found"
        in capsys.readouterr().out
    )
    assert dead_letters.main(["redrive", "order_status", "--env", "dev", "--dry-run"]) == 0
    assert "would redrive" in capsys.readouterr().out
    assert _depth(url) == 1


def test_redrive_invokes_the_function_and_deletes_the_handled_letter(
    aws_lambda: None, capsys: pytest.CaptureFixture[str], deploy_function: Callable[..., str]
) -> None:
    url = _deploy_dead_letter("order-status", deploy_function)
    assert dead_letters.main(["redrive", "order_status", "--env", "dev"]) == 0
    out = capsys.readouterr().out
    assert "order_status on-failure dev-order-status-on-failure: 1 redriven, 0 still failing" in out
    assert "order_status delivery dev-order-status-delivery-dlq: 0 redriven" in out
    assert _depth(url) == 0


def test_unknown_service_lists_the_valid_ones(
    aws_lambda: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dead_letters.main(["list", "nope", "--env", "dev"]) == 2
    assert "order_status" in capsys.readouterr().err


def test_a_missing_queue_is_named_and_nothing_is_touched(
    aws_lambda: None, capsys: pytest.CaptureFixture[str], deploy_function: Callable[..., str]
) -> None:
    url = _deploy_dead_letter("order-status", deploy_function)
    boto3.client("sqs").delete_queue(QueueUrl=url)
    assert dead_letters.main(["redrive", "order_status", "--env", "dev"]) == 2
    assert (
        "queue dev-order-status-on-failure (on-failure dead letters of order_status) does not exist"
        in capsys.readouterr().err
    )
