"""The local system end to end: HTTP in, SNS fan-out by filter, retries, dead letters, stop."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from messaging import Envelope
from messaging.catalog import load_catalog
from messaging.publisher import message_attributes
from tools.contract import load_fixture, scheduled_event
from tools.declarations import ROOT
from tools.local.client import sent_emails
from tools.local.traces import conversation_trace, read_spans

pytestmark = pytest.mark.slow

Invocations = list[dict[str, Any]]


def _emails_for(local: Any, order_id: str, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.time() + 20
    while time.time() < deadline:
        sent = [m for m in sent_emails(local.state["endpoint_url"]) if order_id in m["subject"]]
        if len(sent) >= count:
            return sent
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} confirmation email(s) for {order_id}")


def _reserved(local: Any, order_id: str) -> None:
    local.wait_for(
        lambda found: any(
            i["service"] == "order_status"
            and i.get("order_id") == order_id
            and i.get("event_type") == "inventory.reserved"
            and i["ok"]
            for i in found
        )
    )


def test_an_order_flows_through_every_service(local: Any) -> None:
    # when
    status, answer = local.http("POST", "/orders", load_fixture("post-orders.body"))
    # then
    assert status == 202
    order_id = answer["order_id"]
    _reserved(local, order_id)
    status, order = local.http("GET", f"/orders/{order_id}")
    assert (status, order["status"]) == (200, "reserved")
    item = local.client("dynamodb").get_item(
        TableName="local-orders", Key={"order_id": {"S": order_id}}
    )["Item"]
    assert item["status"]["S"] == "reserved"
    letters = local.cli("dlq", "list")  # nothing failed on the way, in any kind of queue
    assert letters.returncode == 0, letters.stderr
    assert "1 dead letter" not in letters.stdout
    for queue in ("on-failure", "delivery-dlq", "orders-queue-dlq"):
        assert f"local-order-confirmation-{queue}: 0 dead letter(s)" in letters.stdout
    # order_confirmation reads its queue in batches: its invocation may come after the rest
    local.wait_for(
        lambda found: any(
            i["service"] == "order_confirmation" and order_id in i.get("order_ids", [])
            for i in found
        )
    )
    sent = [m for m in sent_emails(local.state["endpoint_url"]) if order_id in m["subject"]]
    assert [m["destinations"]["ToAddresses"] for m in sent] == [["ada@example.com"]]


def test_an_orders_spans_form_one_trace_with_each_consumer_linked_to_its_producer(
    local: Any,
) -> None:
    # when
    status, answer = local.http("POST", "/orders", load_fixture("post-orders.body"))
    assert status == 202
    _reserved(local, answer["order_id"])
    # order_confirmation reads its queue in batches: its invocation may come after the rest
    local.wait_for(
        lambda found: any(
            i["service"] == "order_confirmation" and answer["order_id"] in i.get("order_ids", [])
            for i in found
        )
    )
    [placed] = [
        i
        for i in local.invocations()
        if i.get("order_id") == answer["order_id"] and i.get("service") == "inventory"
    ]
    # then: spans are exported before an invocation returns, so all are in by now
    spans, problems = conversation_trace(
        read_spans(Path(local.state["traces"])), placed["correlation_id"]
    )
    assert problems == []
    sends = {(s["service"], s["name"]) for s in spans if s["kind"] == "PRODUCER"}
    handled = {(s["service"], s["name"]) for s in spans if s["kind"] == "CONSUMER"}
    assert sends == {("orders_api", "publish orders"), ("inventory", "publish inventory")}
    assert handled == {
        ("inventory", "process orders"),
        ("order_confirmation", "process orders"),
        ("order_status", "process orders"),
        ("order_status", "process inventory"),
    }
    by_id = {s["span_id"]: s for s in spans}
    for consumer in (s for s in spans if s["kind"] == "CONSUMER"):
        [link] = consumer["links"]
        producer = by_id[link["span_id"]]
        topic = consumer["attributes"]["messaging.destination.name"]
        assert producer["attributes"]["messaging.destination.name"] == topic
        assert consumer["parent_span_id"] == producer["span_id"]  # no X-Ray header locally


def test_the_receipt_route_needs_the_customers_token_from_the_local_issuer(local: Any) -> None:
    body = load_fixture("post-orders.body")
    status, answer = local.http("POST", "/orders", body)
    assert status == 202
    receipt = f"/orders/{answer['order_id']}/receipt"
    assert local.http("GET", receipt) == (401, {"message": "Unauthorized"})
    mine = local.cli("token", "--email", body["customer_email"])
    assert mine.returncode == 0, mine.stderr
    status, found = local.http(
        "GET", receipt, headers={"authorization": f"Bearer {mine.stdout.strip()}"}
    )
    assert (status, found["customer_email"]) == (200, body["customer_email"])
    theirs = local.cli("token", "--email", "someone.else@example.com").stdout.strip()
    status, refused = local.http("GET", receipt, headers={"authorization": f"Bearer {theirs}"})
    assert status == 403
    assert body["customer_email"] not in json.dumps(refused)


def test_order_placed_v2_reaches_the_v2_consumer_as_is_and_the_v1_consumer_downcast(
    local: Any,
) -> None:
    # when: orders_api publishes the current version, v2, with item_count
    status, answer = local.http("POST", "/orders", load_fixture("post-orders.body"))
    assert status == 202
    order_id = answer["order_id"]
    # then: order_confirmation (on v2) uses item_count; inventory (on v1) reserved the stock
    assert "Items: 3" in _emails_for(local, order_id)[0]["body"]
    _reserved(local, order_id)


def test_an_order_placed_v1_still_in_flight_is_upcast_for_the_v2_consumer(local: Any) -> None:
    # given: a stored order whose v2 event went out, and its v1 event as the outbox stored it
    # before the upgrade, republished to the topic (a new event id, so it is handled again)
    status, answer = local.http("POST", "/orders", load_fixture("post-orders.body"))
    assert status == 202
    order_id = answer["order_id"]
    _emails_for(local, order_id)
    data = {**load_fixture("order.placed.v1"), "order_id": order_id}
    envelope = Envelope(
        type="order.placed", version=1, data=data, source="orders_api", correlation_id=order_id
    )
    # when
    local.client("sns").publish(
        TopicArn=local.state["topic_arns"]["orders"],
        Message=envelope.to_json(),
        MessageAttributes=message_attributes(envelope, load_catalog().spec("order.placed")),
    )
    # then: order_confirmation (on v2) got item_count from the upcaster; inventory took v1 as is
    emails = _emails_for(local, order_id, count=2)
    assert all("Items: 3" in email["body"] for email in emails)
    local.wait_for(
        lambda found: any(
            i["service"] == "inventory" and i.get("event_id") == envelope.id and i["ok"]
            for i in found
        )
    )


def test_a_digital_order_never_reaches_inventory(local: Any) -> None:
    # given
    body = {**load_fixture("post-orders.body"), "fulfilment": "digital"}
    # when
    status, answer = local.http("POST", "/orders", body)
    # then
    assert status == 202
    order_id = answer["order_id"]
    found = local.wait_for(
        lambda found: any(
            i["service"] == "order_confirmation" and i.get("order_id") == order_id for i in found
        )
    )
    time.sleep(1.0)  # inventory's queue would have delivered by now
    found = [i for i in local.invocations() if i.get("order_id") == order_id]
    # every subscriber without a fulfilment filter got it; inventory's filter kept it out
    assert sorted({i["service"] for i in found}) == ["order_confirmation", "order_status"]


def test_a_failing_consumer_ends_in_its_dlq_after_every_retry_then_redrives(local: Any) -> None:
    # given an inventory.reserved for an order nobody stored: order_status raises
    order_id = f"missing-{uuid.uuid4()}"
    data = {"order_id": order_id, "lines": [{"sku": "BOOK-42", "quantity": 1}]}
    # when
    published = local.cli("publish", "inventory.reserved", "--data", json.dumps(data))
    # then
    assert published.returncode == 0, published.stderr
    assert json.loads(published.stdout)["source"] == "inventory"
    found = local.wait_for(
        lambda found: any(i["source"] == "dlq" and i.get("order_id") == order_id for i in found)
    )
    attempts = [i for i in found if i.get("order_id") == order_id and i["source"] == "sns"]
    assert [(i["attempt"], i["ok"], i["error_type"]) for i in attempts] == [
        (1, False, "OrderNotFoundError"),
        (2, False, "OrderNotFoundError"),
        (3, False, "OrderNotFoundError"),
    ]
    assert len({i["request_id"] for i in attempts}) == 1  # one async event, retried
    assert attempts[1]["start"] - attempts[0]["end"] >= 0.1  # with backoff
    dlq = local.client("sqs")
    url = local.state["dead_letter_queues"]["order_status"]
    [message] = dlq.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(":function:local-order-status:$LATEST")
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "OrderNotFoundError"
    assert order_id in record["responsePayload"]["errorMessage"]
    [sns_record] = record["requestPayload"]["Records"]
    assert sns_record["EventSource"] == "aws:sns"
    assert json.loads(sns_record["Sns"]["Message"])["data"] == data

    # dry run lists, changes nothing
    dry = local.cli("dlq", "redrive", "order_status", "--dry-run")
    assert dry.returncode == 0
    assert "would redrive" in dry.stdout
    # still failing: kept
    kept = local.cli("dlq", "redrive", "order_status")
    assert kept.returncode == 1
    assert "still failing" in kept.stdout
    # once the order exists, the redrive handles it and deletes the dead letter
    local.client("dynamodb").put_item(
        TableName="local-orders", Item={"order_id": {"S": order_id}, "status": {"S": "placed"}}
    )
    done = local.cli("dlq", "redrive", "order_status")
    assert done.returncode == 0, done.stdout
    assert "1 redriven, 0 still failing" in done.stdout
    listed = local.cli("dlq", "list", "order_status").stdout
    assert "order_status on-failure local-order-status-on-failure: 0 dead letter(s)" in listed


def test_unknown_routes_get_a_json_404_and_invoke_runs_one_event(local: Any, tmp_path: Any) -> None:
    assert local.http("GET", "/nowhere") == (404, {"message": "Not Found"})
    sample = local.cli("events", "sample", "http:GET /orders/no-such-order")
    assert sample.returncode == 0
    event_file = tmp_path / "event.json"
    event_file.write_text(sample.stdout)
    invoked = local.cli("invoke", "orders_api", "--event", str(event_file))
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout)["statusCode"] == 404
    # the EventBridge schedule in orders_api's manifest, invoked by hand
    event_file.write_text(json.dumps(scheduled_event("orders_api")))
    invoked = local.cli("invoke", "orders_api", "--event", str(event_file))
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout) == {"republished": []}


def test_a_busy_port_fails_with_a_clear_message(local: Any) -> None:
    port = str(local.state["http_port"])
    result = subprocess.run(
        [sys.executable, "-m", "tools.local", "up", "--port", port, "--moto-port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 (HTTP front door) is in use" in result.stderr


def test_order_confirmation_is_fed_in_batches_through_its_queue(local: Any) -> None:
    # when: three orders are placed at once
    orders = [local.http("POST", "/orders", load_fixture("post-orders.body"))[1] for _ in range(3)]
    order_ids = {answer["order_id"] for answer in orders}
    # then: every confirmation is sent once, by invocations with SQS batches
    for order_id in order_ids:
        _emails_for(local, order_id)

    def fed(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            i
            for i in found
            if i["service"] == "order_confirmation" and set(i.get("order_ids", [])) & order_ids
        ]

    # an invocation is recorded when it returns, after its handler sent the email
    local.wait_for(lambda found: {o for i in fed(found) for o in i["order_ids"]} >= order_ids)
    queued = fed(local.invocations())
    assert queued
    assert {i["source"] for i in queued} == {"sqs"}
    assert all(i["ok"] for i in queued)
    assert sorted(o for i in queued for o in i["order_ids"] if o in order_ids) == sorted(order_ids)


def test_ctrl_c_stops_every_process(local: Any) -> None:
    pids = local.pids
    assert len(pids) == 6
    assert local.survivors() == pids
    # when
    local.process.send_signal(signal.SIGINT)
    # then
    assert local.process.wait(timeout=15) == 0
    deadline = time.time() + 5
    while local.survivors() and time.time() < deadline:
        time.sleep(0.05)
    assert local.survivors() == []
    assert not (local.state_dir / "state.json").exists()


def test_fault_injection_dead_letters_after_one_plus_retries_and_a_killed_parent_takes_all(
    start_local: Callable[..., Any],
) -> None:
    # given inventory (a directly delivered consumer) made to fail before its handler runs
    system = start_local(env={"LOCAL_FAIL_SERVICES": "inventory"})
    body = load_fixture("post-orders.body")
    # when
    status, answer = system.http("POST", "/orders", body)
    # then
    assert status == 202
    order_id = answer["order_id"]
    found = system.wait_for(
        lambda found: any(i["source"] == "dlq" and i.get("order_id") == order_id for i in found)
    )
    failing = [i for i in found if i["service"] == "inventory" and i["source"] == "sns"]
    assert [i["attempt"] for i in failing] == [1, 2, 3]
    assert {i["error_type"] for i in failing} == {"RuntimeError"}
    listed = system.cli("dlq", "list", "inventory")
    assert "RetriesExhausted after 3 attempt(s)" in listed.stdout
    assert "LOCAL_FAIL_SERVICES" in listed.stdout

    # when the parent dies without a chance to clean up
    pids = system.pids
    system.process.kill()
    system.process.wait()
    # then its children die with it
    deadline = time.time() + 5
    while system.survivors() and time.time() < deadline:
        time.sleep(0.05)
    assert system.survivors() == [], f"of {pids}"


def test_a_failing_queue_consumer_ends_in_its_queue_dead_letter_queue(
    start_local: Callable[..., Any],
) -> None:
    # given order_confirmation made to fail before its handler runs
    system = start_local(env={"LOCAL_FAIL_SERVICES": "order_confirmation"})
    # when
    status, answer = system.http("POST", "/orders", load_fixture("post-orders.body"))
    # then: received max_receive_count times, then moved by SQS to the queue's DLQ
    assert status == 202
    order_id = answer["order_id"]
    sqs = system.client("sqs")
    dead_letter_url = sqs.get_queue_url(QueueName="local-order-confirmation-orders-queue-dlq")[
        "QueueUrl"
    ]
    deadline = time.time() + 60
    moved: list[dict[str, Any]] = []
    while not moved and time.time() < deadline:
        moved = sqs.receive_message(
            QueueUrl=dead_letter_url, VisibilityTimeout=0, WaitTimeSeconds=1
        ).get("Messages", [])
    assert moved, "nothing reached the queue's dead-letter queue"
    body = json.loads(moved[0]["Body"])
    assert json.loads(body["Message"])["data"]["order_id"] == order_id
    attempts = [
        i
        for i in system.invocations()
        if i["service"] == "order_confirmation" and order_id in i.get("order_ids", [])
    ]
    assert {(i["source"], i["ok"]) for i in attempts} == {("sqs", False)}
    # SNS delivers at least once: count the deliveries of each copy it made
    deliveries: dict[str, int] = {}
    for attempt in attempts:
        for message_id in attempt["message_ids"]:
            deliveries[message_id] = deliveries.get(message_id, 0) + 1
    assert deliveries
    assert set(deliveries.values()) == {5}  # the manifest's max_receive_count

    # the redrive lists it, a dry run keeps it, a redrive moves it back to the queue
    letters = len(deliveries)
    queue = "order_confirmation queue local-order-confirmation-orders-queue-dlq"
    listed = system.cli("dlq", "list", "order_confirmation", "--kind", "queue")
    assert f"{queue}: {letters} dead letter(s)" in listed.stdout, listed.stdout + listed.stderr
    assert "moved aside after its last receive" in listed.stdout
    dry = system.cli("dlq", "redrive", "order_confirmation", "--kind", "queue", "--dry-run")
    assert (dry.returncode, dry.stdout.count("would move")) == (0, letters), dry.stderr
    moved_back = system.cli("dlq", "redrive", "order_confirmation", "--kind", "queue")
    assert moved_back.returncode == 0, moved_back.stdout + moved_back.stderr
    assert f"{queue}: {letters} moved back, 0 kept" in moved_back.stdout
    # ... where the event source mapping delivers it again
    system.wait_for(
        lambda found: (
            sum(
                len(i["message_ids"])
                for i in found
                if i["service"] == "order_confirmation" and order_id in i.get("order_ids", [])
            )
            > 5 * letters
        )
    )


def test_make_demo_passes(tmp_path: Any) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.local", "demo", "--state-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo passed" in result.stdout
    assert "order_status" in result.stdout.split("Event flow:")[1]
    assert "order_confirmation   ok  through its queue" in result.stdout.split("Event flow:")[1]
