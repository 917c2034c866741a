"""The local system's pure parts: SNS-to-Lambda record shape, routes, HTTP events, schedules."""

from __future__ import annotations

import concurrent.futures
import io
import json
import re
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from messaging import Envelope
from messaging.consumer import decode_record, sns_records
from tools.contract import http_event, load_fixture, scheduled_event
from tools.contract import sns_notification_record as lambda_record
from tools.local import artifacts, frontdoor, samples
from tools.local.invocations import describe_event
from tools.local.schedules import ScheduleError, parse_schedule

ROOT = Path(__file__).resolve().parents[2]

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
    assert parse_schedule("rate(1 minute)").period_s == 60
    assert parse_schedule("rate(3 hours)").period_s == 3 * 3600
    event = scheduled_event("orders_api")
    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "now", "fires"),
    [
        ("cron(0 12 * * ? *)", "2026-03-04 11:59", "2026-03-04 12:00"),
        ("cron(0 12 * * ? *)", "2026-03-04 12:00", "2026-03-05 12:00"),
        ("cron(15,45 * * * ? *)", "2026-03-04 10:20", "2026-03-04 10:45"),
        ("cron(0/20 8-9 * * ? *)", "2026-03-04 09:41", "2026-03-05 08:00"),
        # weekdays count from Sunday = 1; 2026-03-07 is a Saturday
        ("cron(0 9 ? * MON-FRI *)", "2026-03-06 10:00", "2026-03-09 09:00"),
        ("cron(30 6 ? * 1 *)", "2026-03-06 10:00", "2026-03-08 06:30"),
        ("cron(0 0 1 JAN,JUL ? 2027)", "2026-03-06 10:00", "2027-01-01 00:00"),
        ("cron(0 0 31 * ? *)", "2026-04-01 00:00", "2026-05-31 00:00"),
    ],
)
def test_cron_schedules_fire_when_eventbridge_would(expression: str, now: str, fires: str) -> None:
    assert parse_schedule(expression).next_after(_utc(now)) == _utc(fires)


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("cron(0 12 * * *)", "6 fields"),
        ("cron(0 12 * * MON *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 25 * * ? *)", "hours '25' is outside 0-23"),
        ("cron(0 12 L * ? *)", "L, W or #"),
        ("cron(0 12 ? * 6#3 *)", "L, W or #"),
        ("cron(x 12 * * ? *)", "minutes 'x' is not a number"),
        ("every(5 minutes)", "neither rate(...) nor cron(...)"),
        ("rate(0 minutes)", "at least 1"),
    ],
)
def test_a_schedule_the_local_system_cannot_run_is_refused_by_name(
    expression: str, named: str
) -> None:
    with pytest.raises(ScheduleError, match=re.escape(named)):
        parse_schedule(expression)


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


def _gated_worker(tmp_path: Any) -> tuple[Any, Any]:
    """A worker factory whose handler waits until the file ``gate`` exists."""
    from pathlib import Path

    from tools.declarations import Service
    from tools.local.worker_host import Worker

    task_root = tmp_path / "task"
    task_root.mkdir()
    gate = tmp_path / "gate"
    (task_root / "gated.py").write_text(
        "import os, time\n\ndef handle(event, context):\n"
        f"    while not os.path.exists({str(gate)!r}):\n        time.sleep(0.01)\n"
        "    return {'pid': os.getpid()}\n"
    )
    service = Service("gated", tmp_path, {"timeout_s": 60, "handler": "gated.handle"})
    runnable = artifacts.Runnable("gated", task_root, (), (), sys.executable)
    env = {"LOCAL_TASK_ROOT": str(task_root), "_HANDLER": "gated.handle", "SERVICE_NAME": "gated"}

    def start() -> Worker:
        worker = Worker(service, runnable, env, Path(tmp_path / "gated.log"), None)
        worker.start()
        return worker

    return start, gate


def test_a_function_scales_out_to_its_concurrency_on_demand_then_reuses_warm_workers(
    tmp_path: Any,
) -> None:
    import threading
    import time

    from tools.local.worker_host import WorkerPool

    # given a pool of at most 2 workers, none started, and a handler held at a gate
    start, gate = _gated_worker(tmp_path)
    cold: list[int] = []
    pool = WorkerPool(start, 2, lambda worker: cold.append(worker.pid))
    answers: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda n=n: answers.append(pool.invoke({}, f"r{n}")))
        for n in range(3)
    ]
    try:
        # when three invocations arrive at once
        for thread in threads:
            thread.start()
        while pool.busy < 2 or len(cold) < 2:
            time.sleep(0.01)
        # then two run, each in a worker started for it, and the third waits for one
        assert len(pool.workers) == 2
        assert len(answers) == 0
        gate.touch()
        for thread in threads:
            thread.join()
        assert all(answer["ok"] for answer in answers)
        assert {a["result"]["pid"] for a in answers} == set(cold)
        # and a later invocation reuses a warm worker: no third cold start
        assert pool.invoke({}, "r4")["result"]["pid"] in cold
        assert len(cold) == 2
    finally:
        gate.touch()
        pool.close()
        pool.stop()


def test_an_event_older_than_maximum_event_age_goes_to_on_failure_without_more_attempts() -> None:
    import threading
    import time
    from pathlib import Path

    from tools.declarations import Service
    from tools.local.invoker import EVENT_AGE_EXCEEDED, AsyncInvoker

    # given a function whose events may be 0.2 s old, with two retries, whose first
    # attempt fails after 0.3 s
    retries = {"maximum_retry_attempts": 2, "maximum_event_age_s": 0.2}
    service = Service("aged", Path("."), {"retries": retries})
    attempts: list[int] = []
    failures: list[tuple[int, str, str]] = []
    done = threading.Event()

    def invoke(name: str, event: Any, request_id: str, source: str, attempt: int, of: int) -> Any:
        attempts.append(attempt)
        time.sleep(0.3)
        return {"ok": False, "error": {"errorType": "Boom", "errorMessage": "failed"}}

    def on_failure(name: str, item: Any, answer: dict[str, Any], condition: str) -> None:
        failures.append((item.attempt, condition, answer["error"]["errorType"]))
        done.set()

    stopping = threading.Event()
    invoker = AsyncInvoker(service, invoke, on_failure, backoff_s=0.0, stopping=stopping)
    invoker.start()
    try:
        # when
        invoker.submit({"n": 1})
        assert done.wait(10)
        # then no retry ran: the event expired with the first attempt's error
        assert attempts == [1]
        assert failures == [(2, EVENT_AGE_EXCEEDED, "Boom")]
    finally:
        stopping.set()


def test_replacing_a_functions_code_retires_its_warm_workers_and_the_next_start_is_cold(
    tmp_path: Any,
) -> None:
    from tools.local.worker_host import WorkerPool

    # given a pool with one warm worker
    start, gate = _gated_worker(tmp_path)
    gate.touch()
    cold: list[int] = []
    pool = WorkerPool(start, 2, lambda worker: cold.append(worker.pid))
    try:
        first = pool.warm().pid
        assert pool.invoke({}, "r1")["result"]["pid"] == first
        # when its code is replaced
        assert pool.replace(start) == 1
        # then the next invocation runs in a new worker, a cold start, and the old one is gone
        assert pool.invoke({}, "r2")["result"]["pid"] != first
        assert len(cold) == 2
        assert [w.pid for w in pool.workers] == [cold[1]]
    finally:
        pool.close()
        pool.stop()


def test_a_change_under_shared_reloads_every_service_one_under_a_service_only_it(
    tmp_path: Any,
) -> None:
    from tools.local.reload import affected, snapshot

    # given a checkout with two services and the shared package
    for path in ("services/a/src/a/handler.py", "services/b/service.json", "shared/m/x.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("1")
    (tmp_path / "services/a/tests").mkdir()
    (tmp_path / "services/a/tests/test_x.py").write_text("1")
    before = snapshot(tmp_path)
    # then each change is found and mapped to the services it rebuilds
    assert tmp_path / "services/a/tests/test_x.py" not in before  # tests are not shipped
    (tmp_path / "services/a/src/a/handler.py").write_text("22")
    changed = {p for p, stat in snapshot(tmp_path).items() if before.get(p) != stat}
    assert affected(changed, ["a", "b"], tmp_path) == ["a"]
    assert affected({tmp_path / "shared/m/x.py"}, ["a", "b"], tmp_path) == ["a", "b"]
    assert affected({tmp_path / "services/c/x.py"}, ["a", "b"], tmp_path) == []


@pytest.fixture
def local_moto(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto as the local system runs it, the AWS environment pointed at it; its URL."""
    from tools.contract import fake_aws_environment
    from tools.local.processes import free_port, start_moto, stop_process

    moto, url = start_moto(free_port(0, "moto", ""), tmp_path / "moto.log")
    for name, value in fake_aws_environment(url).items():
        monkeypatch.setenv(name, value)
    try:
        yield url
    finally:
        stop_process(moto)


def test_sns_delivers_each_matching_notification_to_the_receiver_with_its_attributes(
    local_moto: str,
) -> None:
    import threading

    import boto3

    from tools import declarations
    from tools.contract import REGION
    from tools.local.delivery import Delivery

    # given moto as the local system runs it, and the delivery's HTTP subscriptions
    url = local_moto
    stopping = threading.Event()
    submitted: list[tuple[str, Any, str]] = []
    delivery = Delivery(
        url, "local", lambda *call: submitted.append(call) or "request",
        stopping=stopping, report=print,
    )  # fmt: skip
    try:
        sns = boto3.client("sns", endpoint_url=url, region_name=REGION)
        topic = sns.create_topic(Name="local-orders")["TopicArn"]
        topics = {
            "orders": topic,
            "inventory": sns.create_topic(Name="local-inventory")["TopicArn"],
        }
        delivery.subscribe(["inventory", "order_status"], declarations.services(), topics)
        # when a digital order is published (inventory's filter wants physical ones)
        attributes = {
            "event_type": {"DataType": "String", "StringValue": "order.placed"},
            "fulfilment": {"DataType": "String", "StringValue": "digital"},
        }
        message_id = sns.publish(
            TopicArn=topic, Message=NOTIFICATION["Message"], MessageAttributes=attributes
        )["MessageId"]
        # then it was delivered before the publish returned, to order_status only, with
        # the attributes SNS sends an HTTP endpoint
        assert [(service, source) for service, _, source in submitted] == [("order_status", "sns")]
        record = submitted[0][1]["Records"][0]["Sns"]
        assert record["MessageId"] == message_id
        assert record["MessageAttributes"] == {
            "event_type": {"Type": "String", "Value": "order.placed"},
            "fulfilment": {"Type": "String", "Value": "digital"},
        }
        assert delivery.received == 1
    finally:
        delivery.stop()


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


def test_a_batching_window_waits_on_sqs_without_polling_it_in_a_loop(aws: None) -> None:
    import threading

    import boto3

    from tools import topology
    from tools.contract import REGION
    from tools.local.event_source_mapping import EventSourceMappings, MappedQueue

    # given a mapped queue holding one message, its batching window 1 s, batches of 10
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="local-window")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    settings = topology.QueueSettings(
        batch_size=10, maximum_batching_window_s=1, maximum_concurrency=1,
        max_receive_count=5, raw_message_delivery=True, dead_letter_retention_s=60,
        visibility_timeout_s=30,
    )  # fmt: skip
    queue = MappedQueue("inventory", "orders", settings, url, "arn", "")
    mappings = EventSourceMappings(
        "", "local", lambda *_: {"ok": True}, visibility_timeout_s=1,
        stopping=threading.Event(), report=print,
    )  # fmt: skip
    receives: list[int] = []
    sqs.meta.events.register(
        "provide-client-params.sqs.ReceiveMessage",
        lambda params, **_: receives.append(params["WaitTimeSeconds"]),
    )
    # when the poller gathers a batch
    batch = mappings._receive(sqs, queue)
    # then it took the message, waited out the window and asked once more, no more often
    assert len(batch) == 1
    assert receives == [1, 0]


_CLAIMING_HANDLER = """
import os, time
from messaging import Envelope
from messaging.idempotency import run_once

def handle(event, context):
    envelope = Envelope.from_json(event["envelope"])

    def send(envelope):
        if not os.path.exists("stalled"):  # the first attempt hangs once it holds the claim
            open("stalled", "w").close()
            time.sleep(60)
        with open("handled", "a") as out:
            out.write(context.aws_request_id + "\\n")
        return "sent"

    return run_once(os.environ["TABLE_IDEMPOTENCY"], "claiming", envelope, send, context)
"""


def test_a_handler_killed_by_its_timeout_leaves_a_claim_that_expires_so_a_retry_takes_over(
    tmp_path: Any, local_moto: str
) -> None:
    import threading

    import boto3

    from tools.contract import REGION, fake_aws_environment
    from tools.declarations import Service
    from tools.local.invoker import AsyncInvoker
    from tools.local.worker_host import Worker, WorkerPool

    # given a 1 s function whose first attempt stalls after claiming the event, on moto
    url = local_moto
    stopping = threading.Event()
    pool: WorkerPool | None = None
    try:
        boto3.client("dynamodb", endpoint_url=url, region_name=REGION).create_table(
            TableName="idempotency", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )  # fmt: skip
        task_root = tmp_path / "task"
        task_root.mkdir()
        (task_root / "claiming.py").write_text(_CLAIMING_HANDLER)
        # the package in the task root, boto3 beside it, as an artifact carries them
        (task_root / "messaging").symlink_to(ROOT / "shared/messaging/src/messaging")
        manifest = {"timeout_s": 1, "handler": "claiming.handle"}
        manifest["retries"] = {"maximum_retry_attempts": 2, "maximum_event_age_s": 600}
        service = Service("claiming", tmp_path, manifest)
        packages = (Path(boto3.__file__).parent.parent,)
        runnable = artifacts.Runnable("claiming", task_root, packages, (), sys.executable)
        env = {
            **fake_aws_environment(url), "LOCAL_TASK_ROOT": str(task_root),
            "LOCAL_NATIVE_PATH": ":".join(map(str, packages)), "_HANDLER": "claiming.handle",
            "SERVICE_NAME": "claiming", "TABLE_IDEMPOTENCY": "idempotency",
            "MESSAGING_TRACING": "off",
        }  # fmt: skip

        def start() -> Worker:
            worker = Worker(service, runnable, env, tmp_path / "claiming.log", None)
            worker.start()
            return worker

        pool = WorkerPool(start, 1, lambda _: None)
        answers: list[dict[str, Any]] = []
        given_up: list[str] = []
        done = threading.Event()

        def invoke(_: str, event: Any, request_id: str, *__: Any) -> dict[str, Any]:
            assert pool
            answers.append(pool.invoke(event, request_id))
            if answers[-1]["ok"]:
                done.set()
            return answers[-1]

        def on_failure(*failure: Any) -> None:
            given_up.append(failure[3])
            done.set()

        invoker = AsyncInvoker(
            service, invoke, on_failure, backoff_s=1.0, stopping=stopping, concurrency=1
        )
        invoker.start()
        # when the event is invoked asynchronously
        envelope = Envelope(type="order.placed", version=2, data=load_fixture("order.placed"))
        invoker.submit({"envelope": envelope.to_json()})
        assert done.wait(60), f"no outcome: {answers}"
        # then the stalled attempt was killed at the timeout, and once its claim expired
        # a retry handled the event, once, with nothing sent to the on-failure destination
        errors = [a["error"]["errorType"] for a in answers if not a["ok"]]
        assert errors[0] == "Sandbox.Timedout", answers[0]
        assert set(errors[1:]) <= {"EventInProgressError"}
        assert given_up == []
        assert answers[-1]["result"] == "sent"
        assert len((task_root / "handled").read_text().split()) == 1
    finally:
        stopping.set()
        if pool:
            pool.stop()


def test_the_local_moto_keeps_a_connection_open_across_requests_with_bodies(
    local_moto: str,
) -> None:
    import http.client
    from urllib.parse import urlsplit

    # given moto as the local system runs it, and one client connection
    address = urlsplit(local_moto)
    connection = http.client.HTTPConnection(address.hostname or "", address.port)
    scope = "Credential=test/20260101/us-east-1/dynamodb/aws4_request"
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0",
    }
    try:
        sockets, answers = [], []
        # when three requests with bodies go one after the other on it
        for target, body in (
            ("CreateTable", {
                "TableName": "kept", "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            }),
            ("PutItem", {"TableName": "kept", "Item": {"id": {"S": "a"}, "b": {"S": "b" * 5000}}}),
            ("ListTables", {}),
        ):  # fmt: skip
            connection.request(
                "POST", "/", body=json.dumps(body),
                headers={**headers, "X-Amz-Target": f"DynamoDB_20120810.{target}"},
            )  # fmt: skip
            answer = connection.getresponse()
            answers.append((answer.status, json.loads(answer.read() or b"{}")))
            sockets.append(connection.sock)
        # then each was answered in full and the connection stayed the same
        assert [status for status, _ in answers] == [200, 200, 200], answers
        assert answers[2][1]["TableNames"] == ["kept"]
        assert sockets[0] is not None
        assert sockets == [sockets[0]] * 3
    finally:
        connection.close()


def test_the_local_motos_conditional_writes_let_one_of_concurrent_claims_win() -> None:
    from moto.dynamodb.exceptions import ConditionalCheckFailed
    from moto.dynamodb.models import DynamoDBBackend

    from tools.local.moto_runner import write_dynamodb_items_atomically

    # given moto's DynamoDB as the local system's moto serves it (a subclass, patched alone)
    class Backend(DynamoDBBackend):  # type: ignore[misc]
        pass

    write_dynamodb_items_atomically(Backend)
    backend = Backend("us-east-1", "123456789012")
    backend.create_table(
        "claims", schema=[{"AttributeName": "id", "KeyType": "HASH"}],
        attr=[{"AttributeName": "id", "AttributeType": "S"}], throughput=None,
        billing_mode="PAY_PER_REQUEST", indexes=None, global_indexes=None, streams=None,
        sse_specification=None, tags=[], deletion_protection_enabled=False,
        warm_throughput=None,
    )  # fmt: skip
    keys = [f"event-{n}" for n in range(200)]
    threads = 4
    barrier = threading.Barrier(threads)

    def claim_each(_: int) -> list[str]:
        won = []
        for key in keys:
            barrier.wait()
            try:
                backend.put_item(
                    "claims", {"id": {"S": key}},
                    condition_expression="attribute_not_exists(id)",
                )  # fmt: skip
                won.append(key)
            except ConditionalCheckFailed:
                pass
        return won

    # when every thread claims every key at once, switching threads as often as it can
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            winners = [key for won in pool.map(claim_each, range(threads)) for key in won]
    finally:
        sys.setswitchinterval(interval)
    # then each key has exactly one winner, as DynamoDB's conditional writes give
    assert sorted(winners) == sorted(keys)


def test_the_local_moto_sends_an_answer_in_one_write_per_flush() -> None:
    from tools.local.moto_runner import GatheredWrites

    class Socket(io.BytesIO):
        writes = 0

        def write(self, data: Any) -> int:
            self.writes += 1
            return super().write(data)

    # given the writer moto's answers go through, in front of a connection
    connection = Socket()
    writer = GatheredWrites(connection)
    # when werkzeug writes the status line, headers and body, then flushes
    writer.write(b"HTTP/1.1 200 OK\r\n")
    writer.write(b"Content-Length: 2\r\n\r\n")
    writer.write(b"{}")
    assert connection.writes == 0
    writer.flush()
    writer.flush()
    # then the connection got the whole answer, unchanged, in one write
    assert connection.getvalue() == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    assert connection.writes == 1


def test_the_local_moto_signs_each_notification_under_one_certificate_per_key(aws: None) -> None:
    import base64

    import boto3
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import Subscription, sns_backends

    from tools.contract import REGION
    from tools.local.moto_runner import sign_with_one_certificate_per_key

    # given an HTTP subscription in moto, its class patched alone as the local moto patches it
    class Signed(Subscription):  # type: ignore[misc]
        pass

    sign_with_one_certificate_per_key(Signed)
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="signed")["TopicArn"]
    arn = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:9/")[
        "SubscriptionArn"
    ]
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    subscription = backend.subscriptions[arn]
    expected = Subscription.get_post_data(subscription, "first", "id-0", "subject")
    subscription.__class__ = Signed
    stored = dict(backend._message_public_keys)
    # when three notifications are made for it
    posts = [
        subscription.get_post_data(f"message {n}", f"id-{n}", None, {"a": {"Type": "String"}})
        for n in range(1, 4)
    ]
    first = subscription.get_post_data("first", "id-0", "subject")
    # then they share one certificate, stored once where moto serves it from
    urls = {post["SigningCertURL"] for post in [*posts, first]}
    assert len(urls) == 1
    added = set(backend._message_public_keys) - set(stored)
    assert [f"https://sns.{REGION}.amazonaws.com/{name}" for name in added] == list(urls)
    certificate = x509.load_pem_x509_certificate(backend._message_public_keys[added.pop()])
    # and each message is signed under it as SNS signs (version 2, SHA256 over its fields)
    for post in [*posts, first]:
        signed = "".join(
            f"{field}\n{post[field]}\n"
            for field in ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
        )
        certificate.public_key().verify(  # raises InvalidSignature on a bad one
            base64.b64decode(post["Signature"]), signed.encode(), padding.PKCS1v15(),
            hashes.SHA256(),
        )  # fmt: skip
    assert posts[0]["MessageAttributes"] == {"a": {"Type": "String"}}
    # and a notification has moto's fields and values but for its time and signature
    varying = {"Timestamp", "Signature", "SigningCertURL"}
    assert {k: v for k, v in first.items() if k not in varying} == {
        k: v for k, v in expected.items() if k not in varying
    }
    assert set(first) == set(expected)


def test_the_local_moto_lists_a_response_classs_methods_once() -> None:
    import types

    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler

    from tools.local.moto_runner import name_response_methods_once

    # given moto's response module as the local moto patches it (a copy, patched alone)
    listed: list[object] = []

    def method_names_from_class(clazz: object) -> list[str]:
        listed.append(clazz)
        return responses.method_names_from_class(clazz)

    module = types.SimpleNamespace(method_names_from_class=method_names_from_class)
    name_response_methods_once(module)
    # when a request's action is looked up for the same class again and again
    names = [module.method_names_from_class(DynamoHandler) for _ in range(3)]
    # then the class was listed once, with moto's answer
    assert listed == [DynamoHandler]
    assert names[0] == set(responses.method_names_from_class(DynamoHandler))
    assert "put_item" in names[2]


def test_the_local_moto_hands_over_the_interpreter_lock_within_half_a_millisecond() -> None:
    from tools.local.moto_runner import hand_over_the_interpreter_lock_sooner

    # given this interpreter at CPython's default switch interval (5 ms)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        # when the local moto's setting is applied
        hand_over_the_interpreter_lock_sooner()
        # then a thread waiting for the lock gets it within half a millisecond
        assert sys.getswitchinterval() <= 0.0005
    finally:
        sys.setswitchinterval(interval)


def test_the_local_moto_parses_each_condition_once_per_expression_names_and_values(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from moto.dynamodb import comparisons

    from tools.contract import REGION
    from tools.local.moto_runner import parse_each_condition_once

    # given moto's condition parser, its lexer counted, and a condition parsed as moto does
    original = comparisons.ConditionExpressionParser
    lexed: list[str] = []
    lex = original._lex_condition_expression

    def counted(self: Any) -> Any:
        lexed.append(self.condition_expression)
        return lex(self)

    monkeypatch.setattr(original, "_lex_condition_expression", counted)
    expression = "attribute_not_exists(id) OR #v < :v"
    names = {"#v": "version", "#unused": "x"}
    values = {":v": {"N": "2"}, ":unused": {"S": "x"}}
    moto_parsed = original(expression, names, values)
    moto_condition = moto_parsed.parse()
    lexed.clear()
    parse_each_condition_once(comparisons)
    try:
        parser = comparisons.ConditionExpressionParser
        # when the same condition is parsed twice, the second time from equal copies
        first = parser(expression, names, values)
        condition = first.parse()
        second = parser(expression, json.loads(json.dumps(names)), json.loads(json.dumps(values)))
        # then the second parse is the first's, not lexed again, with what moto found
        assert second.parse() is condition
        assert lexed == [expression]
        assert repr(condition) == repr(moto_condition)
        for found in (first, second):
            assert found.expr_attr_names_found == moto_parsed.expr_attr_names_found
            assert found.expr_attr_values_found == moto_parsed.expr_attr_values_found
        assert second.expr_attr_names_found  # moto found names here, so equality means something
        # and other values are parsed anew, as is an expression that fails to parse
        assert parser(expression, names, {**values, ":v": {"N": "3"}}).parse() is not condition
        assert lexed == [expression] * 2
        for _ in range(2):
            with pytest.raises(ValueError, match="Bad function expression"):
                parser("attribute_not_exists(id", None, None).parse()
        assert lexed[2:] == ["attribute_not_exists(id"] * 2

        # when moto's DynamoDB checks a conditional PutItem (each writes version 1), then
        # the same one, then one with another value
        lexed.clear()
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="claims", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )  # fmt: skip
        put = "attribute_not_exists(id) OR #version < :version"

        def claim(version: str) -> None:
            dynamodb.put_item(
                TableName="claims", Item={"id": {"S": "a"}, "version": {"N": "1"}},
                ConditionExpression=put, ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={":version": {"N": version}},
            )  # fmt: skip

        claim("1")
        with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
            claim("1")
        claim("2")
        # then each write was checked as DynamoDB checks it, and each condition lexed once
        assert lexed == [put, put]
    finally:
        comparisons.ConditionExpressionParser = original  # type: ignore[misc]


def test_the_local_moto_answers_dynamodb_sqs_and_sns_past_flask_as_flask_would(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import http.client
    import types

    import boto3
    import flask
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from tools.contract import REGION
    from tools.local.moto_runner import dispatch_past_flask

    # given moto's dispatcher (a subclass, patched alone) and moto's own, each serving on
    # 127.0.0.1, a table, a queue and a topic in moto, and the requests Flask handles counted
    class PastFlask(DomainDispatcherApplication):
        pass

    dispatch_past_flask(types.SimpleNamespace(DomainDispatcherApplication=PastFlask))
    through_flask: list[str] = []
    wsgi_app = flask.Flask.wsgi_app

    def counted(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
        through_flask.append(app.service)
        return wsgi_app(app, environ, start_response)

    monkeypatch.setattr(flask.Flask, "wsgi_app", counted)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="kept", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )  # fmt: skip
    dynamodb.put_item(TableName="kept", Item={"id": {"S": "a"}, "b": {"S": "b"}})
    boto3.client("sqs", region_name=REGION).create_queue(QueueName="kept")
    boto3.client("sns", region_name=REGION).create_topic(Name="kept")

    class Unlogged(MotoRequestHandler):  # werkzeug's logger is left as it is
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    servers: list[Any] = []
    json_1_0 = "application/x-amz-json-1.0"
    form = "application/x-www-form-urlencoded"
    missing_topic = "arn:aws:sns:us-east-1:123456789012:missing"
    requests = [  # service, content type, target, body; each answers the same each time
        ("dynamodb", json_1_0, "DynamoDB_20120810.GetItem",
         {"TableName": "kept", "Key": {"id": {"S": "a"}}}),
        ("dynamodb", json_1_0, "DynamoDB_20120810.GetItem",
         {"TableName": "missing", "Key": {"id": {"S": "a"}}}),
        ("dynamodb", json_1_0, "DynamoDB_20120810.PutItem",
         {"TableName": "kept", "Item": {"id": {"S": "a"}},
          "ConditionExpression": "attribute_not_exists(id)"}),
        ("sqs", json_1_0, "AmazonSQS.GetQueueUrl", {"QueueName": "kept"}),
        ("sqs", json_1_0, "AmazonSQS.GetQueueUrl", {"QueueName": "missing"}),
        ("sns", form, None, "Action=ListTopics&Version=2010-03-31"),
        ("sns", form, None, f"Action=GetTopicAttributes&TopicArn={missing_topic}"),
    ]  # fmt: skip

    def answer(
        server: Any, service: str, content_type: str, target: str | None, body: Any,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, list[tuple[str, str]], bytes, int]:  # fmt: skip
        """Status, headers and body (the request id masked), and how many went through Flask."""
        scope = f"Credential=test/20260101/{REGION}/{service}/aws4_request"
        headers = {
            "Host": "moto.test:4566",  # moto writes it into queue URLs
            "Content-Type": content_type,
            "Authorization": f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0",
            **({"X-Amz-Target": target} if target else {}),
            **(extra or {}),
        }
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        through_flask.clear()
        try:
            connection.request(
                "POST", "/", body=body if isinstance(body, str) else json.dumps(body),
                headers=headers,
            )  # fmt: skip
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        kept = [
            (k, v)
            for k, v in response.getheaders()
            if k.lower() not in ("date", "x-amzn-requestid")
        ]
        request_id = response.getheader("x-amzn-requestid", "")
        return (
            response.status,
            kept,
            content.replace(request_id.encode(), b"<id>"),
            len(through_flask),
        )

    try:
        for app in (DomainDispatcherApplication(create_backend_app), PastFlask(create_backend_app)):
            servers.append(
                make_server("127.0.0.1", 0, app, threaded=True, request_handler=Unlogged)
            )
            threading.Thread(target=servers[-1].serve_forever, daemon=True).start()
        for request in requests:
            # when a request is answered by moto's Flask app, and past it
            status, headers, body, flask_calls = answer(servers[0], *request)
            assert flask_calls == 1  # what's counted is what Flask does
            past = answer(servers[1], *request)
            # then the answer is the same, Flask-CORS's header and moto's error code included,
            # and Flask never saw the request
            assert past == (status, headers, body, 0), request
            assert ("Access-Control-Allow-Origin", "*") in headers
        # and it is moto's answer: the item, the queue's URL, the topic, moto's error codes
        answers = [answer(servers[1], *request)[::2] for request in requests]
        assert [status for status, _ in answers] == [200, 400, 400, 200, 400, 200, 404]
        assert json.loads(answers[0][1]) == {"Item": {"id": {"S": "a"}, "b": {"S": "b"}}}
        assert json.loads(answers[1][1])["__type"].endswith("#ResourceNotFoundException")
        assert json.loads(answers[2][1])["__type"].endswith("#ConditionalCheckFailedException")
        assert json.loads(answers[3][1]) == {"QueueUrl": "http://moto.test:4566/123456789012/kept"}
        assert json.loads(answers[4][1])["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"
        assert b"arn:aws:sns:us-east-1:123456789012:kept" in answers[5][1]
        assert b"<Code>NotFound</Code>" in answers[6][1]

        # when a CORS request (with an Origin) comes, then it goes through Flask as before
        cors = {"Origin": "http://127.0.0.1:8000"}
        past = answer(servers[1], *requests[0], extra=cors)
        assert past == (*answer(servers[0], *requests[0], extra=cors)[:3], 1)
        assert ("Access-Control-Allow-Origin", "http://127.0.0.1:8000") in past[1]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_the_local_moto_parses_plain_header_lines_without_the_email_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import email.parser
    import http.client
    import types

    from tools.local.moto_runner import parse_headers_without_the_email_parser

    # given header blocks, what http.client (the email parser) makes of each, and the
    # local moto's parsing installed on a copy of http.client, the email parser counted
    plain = (
        b"Host: 127.0.0.1:4566\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"X-Amz-Target: DynamoDB_20120810.GetItem\r\nX-Empty:\r\nX-Spaced: \t a  b  \r\n"
        b"x-dup: 1\r\nX-Dup: 2\r\nX-Latin: caf\xe9\r\nX-Colons: a: b:c\r\n\r\nthe body"
    )
    folded = b"Host: a\r\nX-Folded: one\r\n two\r\nX-After: b\r\n\r\n"
    no_colon = b"Host: a\r\nnot a header\r\nX-After: b\r\n\r\n"
    space_in_name = b"Host: a\r\nX Space: b\r\n\r\n"
    blocks = [plain, folded, no_colon, space_in_name, b"\r\n", b"Host: a\n\n"]
    expected = [http.client.parse_headers(io.BytesIO(block)).items() for block in blocks]
    client = types.SimpleNamespace(
        _read_headers=http.client._read_headers,  # type: ignore[attr-defined]
        HTTPMessage=http.client.HTTPMessage,
    )
    parse_headers_without_the_email_parser(client)
    parsed: list[str] = []

    class Parser(email.parser.Parser):
        def parsestr(self, text: str, headersonly: bool = False) -> Any:
            parsed.append(text)
            return super().parsestr(text, headersonly)

    monkeypatch.setattr(email.parser, "Parser", Parser)
    # when a block of plain "Name: value" lines is parsed
    stream = io.BytesIO(plain)
    message = client.parse_headers(stream)
    # then the email parser was not asked, and the message is the one it makes
    assert parsed == []
    assert type(message) is http.client.HTTPMessage
    assert message.items() == expected[0]
    assert message.get_all("X-DUP") == ["1", "2"]
    assert message["X-Spaced"] == "a  b  "
    assert stream.read() == b"the body"  # the body is left where http.server reads it
    # and a block the split cannot take goes to the email parser, with its answer
    for block, items in zip(blocks[1:4], expected[1:4], strict=True):
        parsed.clear()
        assert client.parse_headers(io.BytesIO(block)).items() == items
        assert len(parsed) == 1
    assert expected[1][1] == ("X-Folded", "one\r\n two")  # folding is what made it differ
    # and an empty block, a block of bare newlines and a message class are as before
    parsed.clear()
    assert [client.parse_headers(io.BytesIO(b)).items() for b in blocks[4:]] == expected[4:]
    assert parsed == []

    class Message(http.client.HTTPMessage):
        pass

    assert type(client.parse_headers(io.BytesIO(plain), _class=Message)) is Message


def test_the_local_moto_formats_a_request_line_only_when_werkzeug_would_log_it() -> None:
    import logging
    import types

    from tools.local.moto_runner import log_requests_only_when_logged

    # given moto's request handler (a stand-in recording what it is asked to log), patched
    logged: list[tuple[Any, Any]] = []

    class Handler:
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            logged.append((code, size))

    server = types.SimpleNamespace(MotoRequestHandler=Handler)
    log_requests_only_when_logged(server)
    handler = server.MotoRequestHandler()
    assert isinstance(handler, Handler)
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    try:
        # when requests are answered while werkzeug logs errors alone (as the local moto)
        for quiet in (logging.WARNING, logging.ERROR):
            werkzeug_log.setLevel(quiet)
            handler.log_request(200, 21)
        # then no line is made for them
        assert logged == []
        # when werkzeug logs requests, then the line is made as before, with its arguments
        werkzeug_log.setLevel(logging.INFO)
        handler.log_request(404, 5)
        handler.log_request()
        assert logged == [(404, 5), ("-", "-")]
    finally:
        werkzeug_log.setLevel(level)


def _restore_after(monkeypatch: pytest.MonkeyPatch, owner: Any, *names: str) -> None:
    """Have monkeypatch put ``owner``'s attributes back as they are now, whatever patches them."""
    for name in names:
        monkeypatch.setattr(owner, name, getattr(owner, name))


def test_the_local_moto_reads_the_sqs_clock_from_time_time_without_building_datetimes(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import boto3
    from moto.core import utils
    from moto.sqs import models

    from tools.contract import REGION
    from tools.local.moto_runner import read_the_clock_once_per_sqs_check

    # given moto's SQS, the datetimes its clock builds counted where its unix_time gets them
    _restore_after(monkeypatch, models, "unix_time", "unix_time_millis")
    assert models.unix_time is utils.unix_time  # what moto.sqs.models calls through
    built: list[object] = []
    utcnow = utils.utcnow

    def counted() -> Any:
        built.append(None)
        return utcnow()

    monkeypatch.setattr(utils, "utcnow", counted)
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="clock")["QueueUrl"]
    queued = 20
    for start in (0, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(start, start + 10)],
        )
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=900)
    # and a receive as moto makes it: a datetime for each message's visible/delayed check
    built.clear()
    [first] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert len(built) >= queued
    read_the_clock_once_per_sqs_check()
    # when a receive is made on the queue's messages after the patch
    built.clear()
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    # then it got its messages without building a datetime
    assert built == []
    assert [m["Body"] for m in received] == [str(n) for n in range(1, 11)]
    # and the clock reads time.time(), in seconds and in milliseconds
    t0 = time.time()
    seconds = models.unix_time()
    t1 = time.time()
    assert t0 <= seconds <= t1
    t0 = time.time()
    milliseconds = models.unix_time_millis()
    t1 = time.time()
    assert t0 * 1000 <= milliseconds <= t1 * 1000
    # and a given datetime is answered by moto's own
    when = datetime(2026, 1, 2, 3, 4, 5, 678901)
    assert models.unix_time(when) == utils.unix_time(when) == 1767323045.678901
    assert models.unix_time_millis(when) == utils.unix_time_millis(when)
    # and a received message is hidden for its visibility timeout, visible again after it,
    # and the delayed one stays delayed
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in again] == ["0", *(str(n) for n in range(11, queued))]
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None
    assert built == []


def test_the_local_moto_counts_an_sqs_queue_once_per_call_and_answers_as_moto(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.exceptions import InvalidAttributeName
    from moto.sqs.models import Queue, SQSBackend, sqs_backends

    from tools.contract import REGION
    from tools.local.moto_runner import SQS_COUNTS, count_an_sqs_queue_once_per_call

    # given a queue with visible, received (so not visible) and delayed messages
    _restore_after(
        monkeypatch,
        SQSBackend,
        "get_queue_attributes",
        "is_message_valid_based_on_retention_period",
        "send_message",
    )
    _restore_after(monkeypatch, Queue, *SQS_COUNTS)
    original = SQSBackend.get_queue_attributes
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="counted")["QueueUrl"]
    for n in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]) == 2
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=60)
    # and a deeper queue, and one whose retention period is a minute
    deep = sqs.create_queue(QueueName="deep")["QueueUrl"]
    for start in range(0, 200, 10):
        sqs.send_message_batch(
            QueueUrl=deep,
            Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(start, start + 10)],
        )
    aging = sqs.create_queue(QueueName="aging", Attributes={"MessageRetentionPeriod": "60"})
    for body in ("a", "b", "expired", "c"):
        sqs.send_message(QueueUrl=aging["QueueUrl"], MessageBody=body)
    backend = sqs_backends[DEFAULT_ACCOUNT_ID][REGION]
    [expired] = [m for m in backend.get_queue("aging")._messages if m.body == "expired"]
    expired.sent_timestamp = int((time.time() - 61) * 1000)
    # and reads of a queue's attributes (each counts its messages three times) counted
    reads: list[str] = []
    attributes = Queue.__dict__["attributes"]

    def counted(queue: Any) -> Any:
        reads.append(queue.name)
        return attributes.fget(queue)

    monkeypatch.setattr(Queue, "attributes", property(counted))
    # and moto's answers to GetQueueAttributes on that state
    asked = [
        ["All"],
        ["All", "QueueArn"],
        [
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed", "VisibilityTimeout",
            "Policy", "RedrivePolicy", "FifoQueue", "KmsMasterKeyId",
        ],
        ["ApproximateNumberOfMessages", "ApproximateNumberOfMessages"],
        [],
    ]  # fmt: skip
    expected = [original(backend, "counted", names) for names in asked]
    assert expected[2] == {
        "ApproximateNumberOfMessages": 3,
        "ApproximateNumberOfMessagesNotVisible": 2,
        "ApproximateNumberOfMessagesDelayed": 1,
        "VisibilityTimeout": 30,
    }
    assert expected[0]["Policy"] is None  # All keeps moto's None values, a list drops them
    invalid = [["ApproximateNumberOfMessages", "Bogus"], ["QueueArn", ""]]
    refused = []
    for names in invalid:
        with pytest.raises(InvalidAttributeName) as error:
            original(backend, "counted", names)
        refused.append(str(error.value))
    # and a receive as moto makes it, reading the queue's attributes for each message
    reads.clear()
    assert len(sqs.receive_message(QueueUrl=deep, MaxNumberOfMessages=10)["Messages"]) == 10
    assert len(reads) >= 10
    # and a send as moto makes it, counting the queue it adds to
    counts: list[str] = []
    visible = Queue.__dict__["approximate_number_of_messages"]
    monkeypatch.setattr(
        Queue,
        "approximate_number_of_messages",
        property(lambda queue: counts.append(queue.name) or visible.fget(queue)),
    )
    sqs.send_message(QueueUrl=deep, MessageBody="200")
    assert counts == ["deep"]
    count_an_sqs_queue_once_per_call()

    # when the same attributes are asked after the patch
    reads.clear()
    answers = [backend.get_queue_attributes("counted", names) for names in asked]
    # then moto's answers are given, each from one count of the queue
    assert answers == expected
    assert reads == ["counted"] * (len(asked) - 1)  # and none for no names
    # and invalid names are refused as moto refuses them
    for names, message in zip(invalid, refused, strict=True):
        with pytest.raises(InvalidAttributeName) as error:
            backend.get_queue_attributes("counted", names)
        assert str(error.value) == message
    # and so through the API
    reads.clear()
    answer = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "FifoQueue"]
    )
    assert answer["Attributes"] == {"ApproximateNumberOfMessages": "3"}
    assert reads == ["counted"]

    # when ten messages are received from the deep queue
    reads.clear()
    received = sqs.receive_message(QueueUrl=deep, MaxNumberOfMessages=10)["Messages"]
    # then they came without counting it
    assert [m["Body"] for m in received] == [str(n) for n in range(10, 20)]
    assert reads == []
    # and a send to it counts nothing, and its message is there to receive
    counts.clear()
    sqs.send_message(QueueUrl=deep, MessageBody="201")
    assert counts == []
    assert backend.get_queue_attributes("deep", ["ApproximateNumberOfMessages"]) == {
        "ApproximateNumberOfMessages": 182  # 202 sent, 20 received
    }
    assert counts == ["deep"]
    # and a message older than its queue's retention period is still not received
    bodies = [
        m["Body"]
        for _ in range(3)
        for m in sqs.receive_message(QueueUrl=aging["QueueUrl"], MaxNumberOfMessages=10).get(
            "Messages", []
        )
    ]
    assert sorted(bodies) == ["a", "b", "c"]


def _lock_sqs_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apply the local moto's SQS lock to moto's classes, for this test alone."""
    from moto.sqs.models import Queue, SQSBackend

    from tools.local.moto_runner import change_sqs_queues_one_request_at_a_time

    _restore_after(monkeypatch, SQSBackend, "receive_message", "change_message_visibility")
    _restore_after(monkeypatch, Queue, "delete_message", "add_message", "wait_for_messages")
    change_sqs_queues_one_request_at_a_time()


class _Outcome(threading.Thread):
    """A thread running one call, keeping its answer or its exception."""

    def __init__(self, name: str, call: Any, finished: list[str] | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self.call, self.finished = call, [] if finished is None else finished
        self.answer: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.answer = self.call()
        except BaseException as error:  # kept for the test to assert on
            self.error = error
        self.finished.append(self.name)


def _second_call_while_first_is_paused(
    first: _Outcome, paused: threading.Event, resume: threading.Event, second: _Outcome
) -> list[str]:
    """Start ``first``; once it has paused inside moto, ``second``; then let both end.

    What had finished while ``first`` was still paused: under the lock, nothing (a
    second call that is merely slow also finishes nothing, so this can only ever miss
    a missing lock, never invent one).
    """
    try:
        first.start()
        assert paused.wait(10), f"the {first.name} never reached the pause"
        second.start()
        second.join(timeout=0.5)
        finished_inside = list(first.finished)
    finally:
        resume.set()
        first.join(timeout=10)
        second.join(timeout=10)
    return finished_inside


@pytest.mark.parametrize("other", ["delete", "change_visibility", "send"])
def test_the_local_moto_changes_an_sqs_queue_only_between_the_steps_of_a_receive(
    aws: None, monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    from tools.contract import REGION

    _lock_sqs_queues(monkeypatch)
    # given a queue with a message in flight and one visible
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="shared")["QueueUrl"]
    for body in ("in flight", "visible"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    [in_flight] = sqs.receive_message(QueueUrl=url)["Messages"]
    # and a receive that stops inside its pass over the in-flight messages
    inside, resume = threading.Event(), threading.Event()

    class Pausing(set):  # type: ignore[type-arg]
        def __iter__(self) -> Iterator[Any]:
            for n, message in enumerate(super().__iter__()):
                if n == 0 and not inside.is_set():
                    inside.set()
                    resume.wait()
                yield message

    queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue("shared")
    queue._pending_messages = Pausing(queue._pending_messages)
    finished: list[str] = []
    receiver = boto3.client("sqs", region_name=REGION)
    receive = _Outcome(
        "receive", lambda: receiver.receive_message(QueueUrl=url)["Messages"], finished
    )
    changer = boto3.client("sqs", region_name=REGION)
    calls = {
        "delete": lambda: changer.delete_message(
            QueueUrl=url, ReceiptHandle=in_flight["ReceiptHandle"]
        ),
        "change_visibility": lambda: changer.change_message_visibility(
            QueueUrl=url, ReceiptHandle=in_flight["ReceiptHandle"], VisibilityTimeout=0
        ),
        "send": lambda: changer.send_message(QueueUrl=url, MessageBody="sent"),
    }
    change = _Outcome(other, calls[other], finished)
    # when another request changes the queue while the receive is inside it
    finished_inside = _second_call_while_first_is_paused(receive, inside, resume, change)
    # then neither fails, and the change waited for the receive to complete
    assert receive.error is None, repr(receive.error)
    assert change.error is None, repr(change.error)
    assert finished_inside == [], f"the {other} completed while a receive was inside the queue"
    assert sorted(finished) == sorted(["receive", other])
    assert [m["Body"] for m in receive.answer] == ["visible"]
    # and no message is lost: each is where the two requests put it
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in left] == {
        "delete": [],
        "change_visibility": ["in flight"],
        "send": ["sent"],
    }[other]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "0"
    kept = {"delete": "1", "change_visibility": "2", "send": "3"}[other]
    assert counts["ApproximateNumberOfMessagesNotVisible"] == kept


def test_the_local_moto_long_polls_sqs_outside_the_lock_so_a_send_reaches_the_poll(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from moto.sqs.models import Queue

    from tools.contract import REGION

    _lock_sqs_queues(monkeypatch)
    # given a long poll on an empty queue, known to be waiting
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="polled")["QueueUrl"]
    waiting = threading.Event()
    wait_for_messages = Queue.wait_for_messages

    def signalled(queue: Any, timeout: float) -> None:
        waiting.set()
        wait_for_messages(queue, timeout)

    monkeypatch.setattr(Queue, "wait_for_messages", signalled)
    poller = boto3.client("sqs", region_name=REGION)
    poll = _Outcome(
        "poll", lambda: poller.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    )
    poll.start()
    try:
        assert waiting.wait(10)
        # when a message is sent while it waits
        sqs.send_message(QueueUrl=url, MessageBody="sent")
    finally:
        poll.join(timeout=10)
    # then the send did not wait for the poll to end: the poll returns the message
    assert poll.error is None, repr(poll.error)
    assert [m["Body"] for m in poll.answer] == ["sent"]


def test_the_local_moto_deletes_and_changes_sqs_messages_in_batches_and_redrives_under_the_lock(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from tools.contract import REGION

    _lock_sqs_queues(monkeypatch)
    # given a queue of three received messages, and a queue redriving to a dead-letter queue
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="batched")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == ["0", "1", "2"]
    # when two are deleted and one made visible again, in batches with a bad entry each
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            *({"Id": m["Body"], "ReceiptHandle": m["ReceiptHandle"]} for m in received[:2]),
            {"Id": "bad", "ReceiptHandle": "not-a-handle"},
        ],
    )
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "2", "ReceiptHandle": received[2]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "bad", "ReceiptHandle": "not-a-handle", "VisibilityTimeout": 0},
        ],
    )
    # then each batch did its entries and refused the bad one
    assert sorted(e["Id"] for e in deleted["Successful"]) == ["0", "1"]
    assert [(e["Id"], e["Code"]) for e in deleted["Failed"]] == [("bad", "ReceiptHandleIsInvalid")]
    assert [e["Id"] for e in changed["Successful"]] == ["2"]
    assert [(e["Id"], e["Code"]) for e in changed["Failed"]] == [("bad", "ReceiptHandleIsInvalid")]
    [again] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert again["Body"] == "2"

    # given a message received as often as its queue allows, made visible again
    dead = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redriving = sqs.create_queue(
        QueueName="redriving",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 1})
        },
    )["QueueUrl"]
    sqs.send_message(QueueUrl=redriving, MessageBody="poison")
    [poison] = sqs.receive_message(QueueUrl=redriving)["Messages"]
    sqs.change_message_visibility(
        QueueUrl=redriving, ReceiptHandle=poison["ReceiptHandle"], VisibilityTimeout=0
    )
    # when it is received again: moto moves it to the dead-letter queue inside the receive
    receiver = boto3.client("sqs", region_name=REGION)
    receive = _Outcome(
        "receive", lambda: receiver.receive_message(QueueUrl=redriving).get("Messages")
    )
    receive.start()
    receive.join(timeout=10)
    # then the receive, holding the lock, could add it there, and answered nothing
    assert not receive.is_alive(), "the receive is stuck adding to the dead-letter queue"
    assert receive.error is None, repr(receive.error)
    assert receive.answer is None
    [moved] = sqs.receive_message(QueueUrl=dead)["Messages"]
    assert moved["Body"] == "poison"


def test_the_local_moto_keeps_a_message_sent_while_a_delete_rebuilds_the_queue(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    from tools.contract import REGION

    _lock_sqs_queues(monkeypatch)
    # given a received message, and its delete stopped once it has copied the queue's
    # other messages, before it puts the copy in place
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="rebuilt")["QueueUrl"]
    for body in ("deleted", "kept"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    [received] = sqs.receive_message(QueueUrl=url)["Messages"]
    copied, resume = threading.Event(), threading.Event()
    finished: list[str] = []
    deleter = boto3.client("sqs", region_name=REGION)
    delete = _Outcome(
        "delete",
        lambda: deleter.delete_message(QueueUrl=url, ReceiptHandle=received["ReceiptHandle"]),
        finished,
    )

    class Pausing(list):  # type: ignore[type-arg]
        def __iter__(self) -> Iterator[Any]:
            yield from super().__iter__()
            if threading.current_thread() is delete and not copied.is_set():
                copied.set()
                resume.wait()

    queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue("rebuilt")
    queue._messages = Pausing(queue._messages)
    sender = boto3.client("sqs", region_name=REGION)
    send = _Outcome("send", lambda: sender.send_message(QueueUrl=url, MessageBody="sent"), finished)
    # when a message is sent meanwhile
    finished_inside = _second_call_while_first_is_paused(delete, copied, resume, send)
    # then both succeed and the sent message is in the queue with the one kept
    assert delete.error is None, repr(delete.error)
    assert send.error is None, repr(send.error)
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(m["Body"] for m in left) == ["kept", "sent"]
    # because the send waited for the delete to complete
    assert finished_inside == []
    assert sorted(finished) == ["delete", "send"]
