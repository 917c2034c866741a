"""With tracing active (as in Lambda), publish, handle and a bulk call emit real X-Ray subsegments.

The X-Ray SDK sends finished subsegments over UDP to its daemon; the test plays the
daemon on a loopback port and reads what arrives. It runs in a fresh interpreter
because the SDK keeps process-wide state.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from tools.contract import FAKE_CREDENTIALS, load_fixture

TRACE_ROOT = "1-5759e988-bd862e3fe1be46a994272793"

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from moto import mock_aws
    import messaging
    from messaging import Envelope, Router, new_event, publish
    from tools.contract import sns_event, sqs_event

    order = json.loads(sys.argv[1])
    with mock_aws():
        import boto3
        arn = boto3.client("sns").create_topic(Name="local-orders")["TopicArn"]
        messaging.reset()
        messaging.configure(topic_arns={"TOPIC_ARN_ORDERS": arn})
        event = new_event("order.placed", order)
        publish(event)
        router = Router(dead_letter_poison=False)
        router.on("order.placed", idempotent=False)(lambda e: None)
        router.handle(sns_event(event), None)
        bulk = Router(dead_letter_poison=False)
        bulk.batch("order.placed", idempotent=False)(lambda events: [])
        bulk.handle(sqs_event([event, event]), None)
        print(event.traceparent)
    """
)


def test_publish_and_handle_emit_subsegments_and_carry_the_trace(tmp_path: Path) -> None:
    # given: a UDP "daemon" on loopback and a Lambda-like environment with a sampled trace
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(5)
    port = daemon.getsockname()[1]
    env = {
        "PATH": "/usr/bin:/bin",
        **FAKE_CREDENTIALS,
        "SERVICE_NAME": "orders_api",
        "PUBLISHES": "order.placed",
        "AWS_LAMBDA_FUNCTION_NAME": "local-orders-api",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "_X_AMZN_TRACE_ID": f"Root={TRACE_ROOT};Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    # when
    try:
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT, json.dumps(load_fixture("order.placed"))],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        names = set()
        while True:
            try:
                packet = daemon.recv(65_536).decode()
            except TimeoutError:
                break
            document = json.loads(packet.split("\n", 1)[1])
            assert document["trace_id"] == TRACE_ROOT
            names.add(document["name"])
            if {"publish", "handle", "handle_batch"} <= names:
                break
    finally:
        daemon.close()
    # then: a batch handler's bulk call is one subsegment, as before otel spans per event
    assert {"publish", "handle", "handle_batch"} <= names
    traceparent = result.stdout.strip().splitlines()[-1]
    assert traceparent.split("-")[1] == TRACE_ROOT[2:].replace("-", "")
