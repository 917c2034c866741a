"""Every log line of an invocation carries Lambda's request id and the cold-start flag."""

from __future__ import annotations

import copy
import json
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from messaging import Envelope, Router, get_logger, invocation
from tools.contract import load_fixture

AWS_SHAPED_EVENT = load_fixture("sns-lambda-event")


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    return [line for line in lines if "_aws" not in line]  # log lines, not EMF metrics


def test_every_line_of_an_invocation_carries_request_id_and_cold_start(
    lambda_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a consumer whose handler logs, in a new container
    lambda_env("order_confirmation")
    for name in ("app", "messaging"):
        get_logger(name).handlers[0].stream = sys.stdout  # capsys replaces stdout per test
    router = Router(dead_letter_poison=False)

    @router.on("order.placed")
    def confirm(event: Envelope) -> None:
        get_logger().info("confirming", extra={"order_id": event.data["order_id"]})

    # when it is invoked twice
    router.handle(copy.deepcopy(AWS_SHAPED_EVENT), SimpleNamespace(aws_request_id="req-1"))
    first = _lines(capsys)
    router.handle(copy.deepcopy(AWS_SHAPED_EVENT), SimpleNamespace(aws_request_id="req-2"))
    second = _lines(capsys)

    # then the handler's line and the router's own lines are tagged, cold only the first time
    assert [line["message"] for line in first] == ["confirming", "event handled"]
    assert {(line["request_id"], line["cold_start"]) for line in first} == {("req-1", True)}
    assert second
    assert {(line["request_id"], line["cold_start"]) for line in second} == {("req-2", False)}


def test_lines_after_an_invocation_carry_neither_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = get_logger("test-invocation")
    log.handlers[0].stream = sys.stdout
    with invocation(SimpleNamespace(aws_request_id="req-9")):
        log.info("inside")
    log.info("outside")
    inside, outside = _lines(capsys)
    assert inside["request_id"] == "req-9"
    assert "cold_start" in inside
    assert "request_id" not in outside
    assert "cold_start" not in outside


def test_without_a_context_the_request_id_is_left_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = get_logger("test-invocation")
    log.handlers[0].stream = sys.stdout
    with invocation(None):
        log.info("from a tool")
    [line] = _lines(capsys)
    assert "request_id" not in line
    assert isinstance(line["cold_start"], bool)
