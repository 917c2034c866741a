"""The local system's pure parts: SNS-to-Lambda record shape, routes, HTTP events, schedules."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from messaging import Envelope
from messaging.consumer import decode_record, sns_records
from tools.contract import http_event, load_fixture, scheduled_event
from tools.contract import sns_notification_record as lambda_record
from tools.local import artifacts, frontdoor, samples
from tools.local.delivery import rate_seconds
from tools.local.invocations import describe_event

NOTIFICATION = {
    "Type": "Notification",
    "MessageId": "5b1c1bd2-0b0e-4b8e-9d7c-6a1f0c1e2d3f",
    "TopicArn": "arn:aws:sns:us-east-1:123456789012:local-orders",
    "Message": Envelope(
        type="order.placed", version=2, data=load_fixture("order.placed")
    ).to_json(),
    "Timestamp": "2026-01-01T00:00:00.000Z",
    "SignatureVersion": "1",
    "Signature": "c2lnbmF0dXJl",
    "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
    "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    "MessageAttributes": {
        "event_type": {"Type": "String", "Value": "order.placed"},
        "event_version": {"Type": "Number", "Value": "1"},
        "blob": {"Type": "Binary", "Value": "AAEC"},
    },
}


def test_a_notification_becomes_the_record_lambda_receives() -> None:
    # when
    record = lambda_record(NOTIFICATION)
    # then: the same keys as the fixture taken from a real Lambda SNS event
    [real] = load_fixture("sns-lambda-event")["Records"]
    assert set(record) == set(real)
    assert set(record["Sns"]) == set(real["Sns"])
    assert record["EventSource"] == "aws:sns"
    assert record["Sns"]["SigningCertUrl"] == NOTIFICATION["SigningCertURL"]
    assert record["Sns"]["UnsubscribeUrl"] == NOTIFICATION["UnsubscribeURL"]
    assert record["Sns"]["MessageAttributes"]["blob"] == {"Type": "Binary", "Value": "AAEC"}
    assert record["EventSubscriptionArn"].startswith(NOTIFICATION["TopicArn"] + ":")
    # and the messaging package reads it
    [checked] = sns_records({"Records": [record]})
    assert decode_record(checked).type == "order.placed"
    assert (
        describe_event({"Records": [record]})["order_id"]
        == load_fixture("order.placed")["order_id"]
    )


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/orders/o-1", ("GET /orders/{order_id}", {"order_id": "o-1"})),
        ("POST", "/orders", ("POST /orders", {})),
        ("GET", "/orders", None),
        ("GET", "/orders/o-1/extra", None),
        ("DELETE", "/orders/o-1", None),
    ],
)
def test_routes_match_declared_paths_with_parameters(
    method: str, path: str, expected: tuple[str, dict[str, str]] | None
) -> None:
    routes = [
        frontdoor.Route("orders_api", "POST", "/orders"),
        frontdoor.Route("orders_api", "GET", "/orders/{order_id}"),
    ]
    found = [(r.route_key, p) for r in routes if (p := r.match(method, path)) is not None]
    assert found == ([expected] if expected else [])


def test_a_request_becomes_a_payload_2_0_event_and_a_result_a_response() -> None:
    route = frontdoor.Route("orders_api", "GET", "/orders/{order_id}")
    event = http_event(
        "GET",
        "/orders/o-1",
        route_key=route.route_key,
        path_parameters={"order_id": "o-1"},
        query="a=1&a=2&b=",
        headers={"Host": "127.0.0.1:3000", "Cookie": "x=1; y=2", "X-Thing": "v"},
        body=b"",
        request_id="req-1",
    )
    assert event["routeKey"] == "GET /orders/{order_id}"
    assert event["pathParameters"] == {"order_id": "o-1"}
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["cookies"] == ["x=1", "y=2"]
    assert event["headers"]["x-thing"] == "v"
    assert event["requestContext"]["requestId"] == "req-1"
    assert "body" not in event
    assert frontdoor.http_response({"statusCode": 201, "body": "{}", "cookies": ["c=1"]}) == (
        201,
        {},
        ["c=1"],
        b"{}",
    )
    assert frontdoor.http_response({"ok": True}) == (
        200,
        {"content-type": "application/json"},
        [],
        b'{"ok": true}',
    )


def test_schedules() -> None:
    assert rate_seconds("rate(1 minute)") == 60
    assert rate_seconds("rate(3 hours)") == 3 * 3600
    assert rate_seconds("cron(0 12 * * ? *)") is None
    event = scheduled_event("orders_api")
    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")


def test_samples_are_events_the_handlers_accept() -> None:
    sns = samples.sample("sns:inventory.reserved")
    [record] = sns_records(sns)
    assert decode_record(record).data == load_fixture("inventory.reserved")
    http = samples.sample("http:POST /orders")
    assert http["routeKey"] == "POST /orders"
    assert json.loads(http["body"]) == load_fixture("post-orders.body")
    with pytest.raises(samples.SampleError, match="no declared route"):
        samples.sample("http:GET /nowhere")
    with pytest.raises(samples.SampleError, match="unknown event type"):
        samples.sample("sns:order.shipped")


def test_only_foreign_compiled_wheels_are_replaced(tmp_path: Any) -> None:
    here = "x86_64" if artifacts.platform.machine() == "x86_64" else "aarch64"
    other = "aarch64" if here == "x86_64" else "x86_64"
    wheels = {
        "wrapt-2.0.0": f"cp311-cp311-manylinux_2_17_{other}",
        "native_ok-1.0": f"cp311-cp311-manylinux_2_17_{here}",
        "pure-1.0": "py3-none-any",
    }
    for name, tag in wheels.items():
        (tmp_path / f"{name}.dist-info").mkdir()
        (tmp_path / f"{name}.dist-info" / "WHEEL").write_text(f"Wheel-Version: 1.0\nTag: {tag}\n")
    assert artifacts.foreign_distributions(tmp_path) == ["wrapt"]


@pytest.mark.slow
def test_a_timed_out_worker_is_replaced_and_survives_the_thread_that_replaced_it(
    tmp_path: Any,
) -> None:
    # given a function with a 1 s timeout, invoked from a short-lived thread
    import threading
    from pathlib import Path

    from tools.declarations import Service
    from tools.local.worker_host import Worker

    task_root = tmp_path / "task"
    task_root.mkdir()
    (task_root / "slow.py").write_text(
        "import time\n\ndef handle(event, context):\n    time.sleep(event['sleep'])\n"
        "    return {'slept': event['sleep']}\n"
    )
    service = Service("slow", tmp_path, {"timeout_s": 1, "handler": "slow.handle"})
    runnable = artifacts.Runnable("slow", task_root, (), (), sys.executable)
    env = {"LOCAL_TASK_ROOT": str(task_root), "_HANDLER": "slow.handle", "SERVICE_NAME": "slow"}
    env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = "1"
    worker = Worker(service, runnable, env, Path(tmp_path / "slow.log"), None)
    worker.start()
    first = worker.pid
    answers: list[dict[str, Any]] = []
    try:
        # when
        thread = threading.Thread(target=lambda: answers.append(worker.invoke({"sleep": 5}, "r1")))
        thread.start()
        thread.join()
        # then
        assert answers[0]["error"]["errorType"] == "Sandbox.Timedout"
        assert worker.pid != first
        assert len(worker.cold_starts) == 2
        assert worker.invoke({"sleep": 0}, "r2") == {
            "ok": True,
            "result": {"slept": 0},
            "duration_ms": pytest.approx(0, abs=50),
        }
    finally:
        worker.stop()


def test_workers_run_on_the_manifest_python_where_it_is_installed(tmp_path: Any) -> None:
    # given a function whose manifest says python3.13, and that Python's test venv
    from pathlib import Path

    from tools import runtimes
    from tools.declarations import Service
    from tools.local.processes import worker_python
    from tools.local.worker_host import Worker

    if runtimes.venv_python("python3.13") is None:
        pytest.skip(f"SKIPPED: no .venv-py3.13 ({runtimes.how_to_install('python3.13')})")
    task_root = tmp_path / "task"
    task_root.mkdir()
    (task_root / "which.py").write_text(
        "import sys\n\ndef handle(event, context):\n    return list(sys.version_info[:2])\n"
    )
    service = Service("which", tmp_path, {"timeout_s": 5, "handler": "which.handle"})
    python = worker_python("python3.13")
    runnable = artifacts.Runnable("which", task_root, (), (), python)
    env = {"LOCAL_TASK_ROOT": str(task_root), "_HANDLER": "which.handle", "SERVICE_NAME": "which"}
    worker = Worker(service, runnable, env, Path(tmp_path / "which.log"), None)
    worker.start()
    try:
        # when
        answer = worker.invoke({}, "r1")
        # then the handler ran on 3.13, in that venv's process
        assert answer["result"] == [3, 13]
        assert Path(f"/proc/{worker.pid}/exe").resolve() == Path(python).resolve()
    finally:
        worker.stop()
