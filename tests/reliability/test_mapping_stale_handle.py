"""A failed record whose message is already gone does not stop the mapping's poller."""

from __future__ import annotations

import threading

import boto3
from moto import mock_aws

from tests.reliability.test_mapping_overrides import _mappings
from tools.contract import REGION
from tools.local.event_source_mapping import MappedQueue


@mock_aws
def test_a_failed_batch_whose_message_another_poll_deleted_is_let_go() -> None:
    # given: a message received, then deleted under another receive's handle
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    [stale] = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    [fresh] = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=fresh["ReceiptHandle"])
    mappings = _mappings(threading.Event())
    mappings.endpoint_url = None  # type: ignore[assignment]
    mappings.invoke = lambda *_: {"ok": False}
    [mapped] = mappings.queues
    mappings.queues = [MappedQueue(mapped.service, mapped.topic, mapped.settings, url, "arn", url)]
    # when: the batch carrying the stale copy fails; then: no error, nothing re-sent
    mappings._deliver(sqs, mappings.queues[0], [stale])
    assert mappings.counts["records_failed"] == 1
    assert mappings.counts["dead_lettered"] == 0
