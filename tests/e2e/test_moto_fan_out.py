"""moto's SNS fan-out after the answer (``moto_runner.FanOutAfterAnswer``), as AWS delivers.

An HTTP endpoint subscription points at a receiver on 127.0.0.1 that holds the first
delivery until the test releases it: with fan-out inside the request, moto could not
answer that Publish (the client's read timeout would fail the test instead of hanging).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tools.contract import REGION, fake_aws_environment
from tools.local.processes import drain_sns_deliveries, free_port, start_moto, stop_process

HANG_BOUND_S = 30.0  # how long a broken fan-out may hang the test before it fails


@dataclass
class Receiver:
    """An HTTP endpoint that records each notification and answers once released."""

    url: str = ""
    release: threading.Event = field(default_factory=threading.Event)
    arrived: list[dict[str, Any]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int) -> list[str]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.arrived) >= count, timeout=HANG_BOUND_S)
            return [notification["Message"] for notification in self.arrived]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.changed:
                state.arrived.append(body)
                state.changed.notify_all()
            state.release.wait(HANG_BOUND_S)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sns"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


@dataclass
class Moto:
    process: Any
    url: str
    port: int

    def client(self, name: str) -> Any:
        config = Config(read_timeout=10, retries={"mode": "standard", "total_max_attempts": 1})
        return boto3.client(name, endpoint_url=self.url, region_name=REGION, config=config)


@pytest.fixture
def moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Moto]:
    port = free_port(0, "moto", "")
    process, url = start_moto(port, tmp_path / "moto.log", fan_out_after_answer=True)
    for name, value in fake_aws_environment().items():
        monkeypatch.setenv(name, value)
    try:
        yield Moto(process, url, port)
    finally:
        stop_process(process, grace_s=HANG_BOUND_S)


def _subscribed_topic(moto: Moto, receiver: Receiver, name: str = "fan-out") -> str:
    sns = moto.client("sns")
    topic: str = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=receiver.url)
    return topic


def _error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return str(raised.value.response["Error"]["Code"])


def test_publish_answers_before_delivery_and_each_message_then_arrives_once_in_order(
    moto: Moto, receiver: Receiver
) -> None:
    # given a topic whose HTTP endpoint holds the first delivery
    sns = moto.client("sns")
    topic = _subscribed_topic(moto, receiver)

    # when three messages are published singly and ten in a batch
    ids = [sns.publish(TopicArn=topic, Message=str(n))["MessageId"] for n in range(3)]
    batch = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[{"Id": f"e{n}", "Message": str(n)} for n in range(3, 13)],
    )
    # then every publish answered while the first delivery was still held
    assert not batch.get("Failed")
    ids += [entry["MessageId"] for entry in batch["Successful"]]
    assert receiver.wait_for(1)[:1] == ["0"]  # the delivery in progress, still unanswered
    assert not receiver.release.is_set()

    # and invalid publishes still fail in the request, delivering nothing
    missing = topic.replace(":fan-out", ":no-such-topic")
    assert _error_code(sns.publish, TopicArn=missing, Message="x") == "NotFound"
    too_long = "x" * (256 * 1024 + 1)
    assert _error_code(sns.publish, TopicArn=topic, Message=too_long) == "InvalidParameter"
    assert (
        _error_code(sns.publish, TopicArn=topic, Message='{"email": "x"}', MessageStructure="json")
        == "InvalidParameter"
    )
    duplicate = [{"Id": "same", "Message": "d"}, {"Id": "same", "Message": "d"}]
    assert (
        _error_code(sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=duplicate)
        == "BatchEntryIdsNotDistinct"
    )
    mixed = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": "bad", "Message": "not json", "MessageStructure": "json"},
            {"Id": "good", "Message": "13"},
        ],
    )
    assert [entry["Id"] for entry in mixed["Failed"]] == ["bad"]
    assert [entry["Id"] for entry in mixed["Successful"]] == ["good"]
    ids.append(mixed["Successful"][0]["MessageId"])

    # when the endpoint is released
    receiver.release.set()

    # then each accepted message arrives once, in publish order, with its id
    expected = [str(n) for n in range(14)]
    assert receiver.wait_for(len(expected)) == expected
    stop_process(moto.process, grace_s=HANG_BOUND_S)  # drains: nothing else is pending
    assert [notification["MessageId"] for notification in receiver.arrived] == ids
    assert [notification["Message"] for notification in receiver.arrived] == expected


def test_the_queue_subscription_receives_what_its_filter_accepts(
    moto: Moto, receiver: Receiver
) -> None:
    # given a topic with an HTTP endpoint (answering at once) and a filtered queue
    receiver.release.set()
    sns, sqs = moto.client("sns"), moto.client("sqs")
    topic = _subscribed_topic(moto, receiver)
    queue = sqs.create_queue(QueueName="large")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"FilterPolicy": json.dumps({"size": ["large"]})},
    )
    # when small and large messages are published
    for n, size in enumerate(["small", "large", "small", "large"]):
        attributes = {"size": {"DataType": "String", "StringValue": size}}
        sns.publish(TopicArn=topic, Message=f"{n} {size}", MessageAttributes=attributes)
    # then, once every delivery is made, the endpoint has all four and the queue the large ones
    drain_sns_deliveries(moto.url)  # the queue's copy of "3 large" follows the endpoint's
    assert receiver.wait_for(4) == ["0 small", "1 large", "2 small", "3 large"]
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["Message"] for m in received) == ["1 large", "3 large"]


def test_a_drain_answers_once_every_pending_delivery_is_made(
    moto: Moto, receiver: Receiver
) -> None:
    # given an endpoint that answers at once, and fifty messages just published
    receiver.release.set()
    sns = moto.client("sns")
    topic = _subscribed_topic(moto, receiver)
    for n in range(50):
        sns.publish(TopicArn=topic, Message=str(n))
    # when the bench asks moto to drain its deliveries
    drain_sns_deliveries(moto.url)
    # then all of them have arrived, in order, by the time it answers
    assert [notification["Message"] for notification in receiver.arrived] == [
        str(n) for n in range(50)
    ]


def test_stopping_the_server_makes_the_pending_deliveries_first(
    moto: Moto, receiver: Receiver
) -> None:
    # given three messages published while the first delivery is held
    sns = moto.client("sns")
    topic = _subscribed_topic(moto, receiver)
    for n in range(3):
        sns.publish(TopicArn=topic, Message=str(n))
    assert receiver.wait_for(1) == ["0"]

    # when the server is asked to stop, and has stopped listening
    os.killpg(moto.process.pid, signal.SIGTERM)
    _wait_until_refused(moto.port)
    receiver.release.set()

    # then it made every pending delivery before it exited
    assert moto.process.wait(timeout=HANG_BOUND_S) == 0
    assert receiver.wait_for(3) == ["0", "1", "2"]


def _wait_until_refused(port: int) -> None:
    for _ in range(int(HANG_BOUND_S / 0.05)):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
        except OSError:
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"the moto server still listens on {port} after SIGTERM")
