from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

import messaging
from messaging import get_logger, log_context
from messaging.tracing import continue_trace, outgoing_traceparent


def test_traceparent_is_derived_from_the_xray_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    )
    assert outgoing_traceparent() == "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"


def test_without_xray_the_incoming_trace_continues(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with continue_trace(incoming):
        version, trace_id, span_id, flags = outgoing_traceparent().split("-")
    assert (version, trace_id, flags) == ("00", "0af7651916cd43dd8448eb211c80319c", "01")
    assert span_id != "b7ad6b7169203331"


def test_garbage_incoming_trace_starts_a_new_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    with continue_trace("00-nothex-zz-01"):
        assert len(outgoing_traceparent().split("-")[1]) == 32


def test_span_is_a_no_op_outside_lambda() -> None:
    # A fresh interpreter without Lambda's variables: the span must run its block and
    # never load the X-Ray SDK.
    code = (
        "import sys; from messaging.tracing import span, tracing_active; ran = []\n"
        "with span('publish', event_type='x'):\n    ran.append(1)\n"
        "print(tracing_active(), ran, 'aws_xray_sdk' in sys.modules)"
    )
    env = {"PATH": "/usr/bin:/bin", "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.stdout.strip() == "False [1] False", result.stderr


def test_logs_are_json_with_the_bound_event_context(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    messaging.configure(service_name="order_confirmation")
    log = get_logger("test-json")
    log.handlers[0].stream = sys.stdout  # capsys replaces stdout per test
    with log_context(event_id="e-1", event_type="order.placed", correlation_id="c-1"):
        log.info("sent", extra={"order_id": "o-1"})
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["message"] == "sent"
    assert line["service"] == "order_confirmation"
    assert line["level"] == "INFO"
    assert (line["event_id"], line["event_type"], line["correlation_id"]) == (
        "e-1",
        "order.placed",
        "c-1",
    )
    assert line["order_id"] == "o-1"
    assert logging.getLogger("test-json").propagate is False


def test_importing_the_package_loads_neither_boto3_nor_the_xray_sdk() -> None:
    code = (
        "import sys, messaging; "
        "heavy = [m for m in ('boto3', 'botocore', 'aws_xray_sdk') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
