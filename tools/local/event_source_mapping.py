"""Lambda's SQS event source mapping for the queue-delivered subscriptions, locally.

Per queue-delivered (service, topic): the queue Terraform creates (same name, filter
policy, raw delivery, redrive to its dead-letter queue after ``max_receive_count``
receives) and a poller that behaves like the mapping: it receives up to
``batch_size`` messages, waiting at most ``maximum_batching_window_s`` to fill a batch,
runs at most ``maximum_concurrency`` invocations at once, deletes the records the
function did not name in ``batchItemFailures`` (none when the invocation failed) and
lets the others reappear after a visibility timeout, and moves a record to the
dead-letter queue once it failed on its ``max_receive_count``-th receive. A running
batch stays invisible for the declared timeout; a failed record's timeout is then cut
to one scaled down like the retry backoff, so it comes back in seconds, not minutes.
Under the reliability suite's ``faults`` it also sends a picked message a second time,
as SNS's at-least-once delivery to a queue may.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import boto3

from tools import declarations, topology
from tools.contract import REGION, names, sqs_record

from .worker import Faults, queued_fault_key

# (service, Lambda SQS event) -> the worker's answer ({"ok": ..., "result": ...})
InvokeBatch = Callable[[str, dict[str, Any]], dict[str, Any]]
_RECEIVE_MAX = 10  # SQS returns at most 10 messages per ReceiveMessage


@dataclass
class MappedQueue:
    service: str
    topic: str
    settings: topology.QueueSettings
    url: str
    arn: str
    dead_letter_url: str


def failed_ids(answer: dict[str, Any], batch: list[dict[str, Any]]) -> set[str]:
    """The message ids SQS must keep: every one after a failed invocation, else those named."""
    if not answer.get("ok"):
        return {record["messageId"] for record in batch}
    result = answer.get("result")
    failures = result.get("batchItemFailures", []) if isinstance(result, dict) else []
    return {str(item["itemIdentifier"]) for item in failures}


class EventSourceMappings:
    def __init__(
        self,
        endpoint_url: str,
        environment: str,
        invoke: InvokeBatch,
        *,
        visibility_timeout_s: int,
        stopping: threading.Event,
        report: Callable[[str], None],
        faults: Faults | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.environment = environment
        self.invoke = invoke
        self.visibility_timeout_s = visibility_timeout_s
        self.stopping = stopping
        self.report = report
        self.faults = faults
        self.queues: list[MappedQueue] = []
        self.threads: list[threading.Thread] = []
        self._in_flight = 0
        self._lock = threading.Lock()
        # records named failed, moved to a dead-letter queue, sent twice by ``faults``
        self.counts = {"records_failed": 0, "dead_lettered": 0, "duplicated": 0}

    def _count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self.counts[name] += by

    def _client(self, name: str) -> Any:
        return boto3.client(name, endpoint_url=self.endpoint_url, region_name=REGION)

    def create(
        self,
        services: Iterable[str],
        every: dict[str, declarations.Service],
        topic_arns: dict[str, str],
    ) -> None:
        """The queue, its dead-letter queue and the topic subscription of each mapping."""
        sns, sqs = self._client("sns"), self._client("sqs")
        wanted = set(services)
        for subscription in topology.subscriptions(every):
            if subscription.service not in wanted or subscription.queue is None:
                continue
            settings = subscription.queue
            service, topic = subscription.service, subscription.topic
            dead_letter_url = sqs.create_queue(
                QueueName=names.delivery_queue_dlq_name(service, topic, self.environment),
                Attributes={"MessageRetentionPeriod": str(settings.dead_letter_retention_s)},
            )["QueueUrl"]
            # No RedrivePolicy on the moto queue: moto moves a message on its
            # max_receive_count-th receive, one delivery earlier than SQS; the
            # mapping below moves it after that delivery fails, as SQS would.
            url = sqs.create_queue(
                QueueName=names.delivery_queue_name(service, topic, self.environment),
                # The declared timeout while a batch runs (six function timeouts: never
                # shorter than an invocation, so no record runs twice at once) ...
                Attributes={"VisibilityTimeout": str(settings.visibility_timeout_s)},
            )["QueueUrl"]
            arn = self._arn(sqs, url)
            sns.subscribe(
                TopicArn=topic_arns[topic],
                Protocol="sqs",
                Endpoint=arn,
                Attributes={
                    "FilterPolicy": json.dumps(subscription.filter_policy),
                    "FilterPolicyScope": "MessageAttributes",
                    "RawMessageDelivery": str(settings.raw_message_delivery).lower(),
                },
            )
            self.queues.append(MappedQueue(service, topic, settings, url, arn, dead_letter_url))

    def update(self, service: str, **changes: Any) -> None:
        """As ``UpdateEventSourceMapping``: ``service``'s mappings take ``changes`` (batch
        size, batching window) from their pollers' next receive; a maximum concurrency
        counts from ``start``."""
        for queue in self.queues:
            if queue.service == service:
                queue.settings = dataclasses.replace(queue.settings, **changes)

    @staticmethod
    def _arn(sqs: Any, url: str) -> str:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    def start(self) -> None:
        """One poller per concurrent invocation the mapping may run."""
        for queue in self.queues:
            for _ in range(queue.settings.maximum_concurrency):
                thread = threading.Thread(target=self._poll, args=(queue,), daemon=True)
                thread.start()
                self.threads.append(thread)

    def _poll(self, queue: MappedQueue) -> None:
        sqs = self._client("sqs")
        while not self.stopping.is_set():
            try:
                messages = self._receive(sqs, queue)
            except Exception as error:  # moto going away at shutdown
                if not self.stopping.is_set():
                    self.report(f"polling {queue.service}/{queue.topic} failed: {error}")
                    time.sleep(0.5)
                continue
            if not messages:
                continue
            with self._lock:
                self._in_flight += 1
            try:
                self._deliver(sqs, queue, messages)
            except Exception as error:  # a poller that died would leave its batch invisible
                if not self.stopping.is_set():
                    self.report(f"a batch of {queue.service}/{queue.topic} failed: {error}")
            finally:
                with self._lock:
                    self._in_flight -= 1

    def _receive(self, sqs: Any, queue: MappedQueue) -> list[dict[str, Any]]:
        """Up to ``batch_size`` messages, waiting at most the batching window for more."""
        settings = queue.settings
        deadline = time.monotonic() + settings.maximum_batching_window_s
        messages: list[dict[str, Any]] = []
        while len(messages) < settings.batch_size and not self.stopping.is_set():
            remaining = deadline - time.monotonic()
            if messages and remaining <= 0:
                break
            wait_s = 1
            if messages and remaining < 1:
                # SQS waits whole seconds: sleep out the window's last fraction, then
                # take what came. Short polls in a loop instead cost moto a request
                # every few milliseconds for the whole window (most of its CPU).
                self.stopping.wait(remaining)
                wait_s = 0
            received = sqs.receive_message(
                QueueUrl=queue.url,
                MaxNumberOfMessages=min(_RECEIVE_MAX, settings.batch_size - len(messages)),
                WaitTimeSeconds=wait_s,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not received and not messages:
                break
            messages.extend(received)
            if not wait_s:
                break
        return messages

    def _duplicate(self, sqs: Any, queue: MappedQueue, messages: list[dict[str, Any]]) -> None:
        """SNS's at-least-once delivery: a copy of each message ``faults`` picks, once."""
        for message in messages:
            first = message.get("Attributes", {}).get("ApproximateReceiveCount") == "1"
            if first and self.faults and self.faults.duplicated(queued_fault_key(message["Body"])):
                sqs.send_message(
                    QueueUrl=queue.url,
                    MessageBody=message["Body"],
                    MessageAttributes=message.get("MessageAttributes") or {},
                )
                self._count("duplicated")

    def _deliver(self, sqs: Any, queue: MappedQueue, messages: list[dict[str, Any]]) -> None:
        self._duplicate(sqs, queue, messages)
        batch = [sqs_record(message, queue.arn) for message in messages]
        answer = self.invoke(queue.service, {"Records": batch})
        keep = failed_ids(answer, batch)
        self._count("records_failed", len(keep))
        done = []
        for index, (record, message) in enumerate(zip(batch, messages, strict=True)):
            if record["messageId"] in keep:
                receives = int(record["attributes"]["ApproximateReceiveCount"])
                if receives < queue.settings.max_receive_count:
                    # ... and the local, scaled-down one once it failed. A handle no
                    # longer valid: moto gave the message to two polls at once and the
                    # other deleted it, handled (SQS's at-least-once; idempotency absorbs it).
                    with contextlib.suppress(sqs.exceptions.ReceiptHandleIsInvalid):
                        sqs.change_message_visibility(
                            QueueUrl=queue.url,
                            ReceiptHandle=record["receiptHandle"],
                            VisibilityTimeout=self.visibility_timeout_s,
                        )
                    continue
                sqs.send_message(
                    QueueUrl=queue.dead_letter_url,
                    MessageBody=message["Body"],
                    MessageAttributes=message.get("MessageAttributes") or {},
                )
                self._count("dead_lettered")
            done.append({"Id": str(index), "ReceiptHandle": record["receiptHandle"]})
        for start in range(0, len(done), _RECEIVE_MAX):
            sqs.delete_message_batch(QueueUrl=queue.url, Entries=done[start : start + 10])

    def idle(self) -> bool:
        """No batch running and nothing waiting or invisible on any mapped queue."""
        with self._lock:
            if self._in_flight:
                return False
        sqs = self._client("sqs")
        for queue in self.queues:
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue.url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            if any(int(value) for value in attributes.values()):
                return False
        return True
