"""SNS fan-out and EventBridge schedules, delivered as Lambda's asynchronous invocations.

Locally each (service, topic) subscription is an SQS queue subscribed with the same
filter policy Terraform sets; a poller turns each notification into the record SNS
hands to Lambda and submits it. ``rate(...)`` schedules tick in a thread.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import boto3

from tools import declarations, topology
from tools.contract import REGION, names, scheduled_event, sns_notification_record

from .worker import Faults

# (service, event, source) -> request id: an asynchronous invocation
Submit = Callable[[str, Any, str], str]


def rate_seconds(expression: str) -> float | None:
    """``rate(5 minutes)`` -> 300.0; ``None`` for cron expressions."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not match:
        return None
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match[2].rstrip("s")]
    return float(int(match[1]) * unit)


class Delivery:
    def __init__(
        self,
        endpoint_url: str,
        environment: str,
        submit: Submit,
        *,
        stopping: threading.Event,
        report: Callable[[str], None],
        faults: Faults | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.environment = environment
        self.submit = submit
        self.stopping = stopping
        self.report = report
        self.faults = faults
        self.queues: dict[str, dict[str, str]] = {}
        self.threads: list[threading.Thread] = []

    def _client(self, name: str) -> Any:
        return boto3.client(name, endpoint_url=self.endpoint_url, region_name=REGION)

    def subscribe(
        self,
        services: Iterable[str],
        every: dict[str, declarations.Service],
        topic_arns: dict[str, str],
    ) -> None:
        """One SQS queue per (service, topic), subscribed with the service's filter policy."""
        sns, sqs = self._client("sns"), self._client("sqs")
        wanted = set(services)
        for subscription in topology.subscriptions(every):
            if subscription.service not in wanted or subscription.delivery != topology.DIRECT:
                continue  # queue delivery: event_source_mapping.py
            name = names.subscription_queue_name(
                subscription.service, subscription.topic, self.environment
            )
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            sns.subscribe(
                TopicArn=topic_arns[subscription.topic],
                Protocol="sqs",
                Endpoint=attributes["Attributes"]["QueueArn"],
                Attributes={
                    "FilterPolicy": json.dumps(subscription.filter_policy),
                    "FilterPolicyScope": "MessageAttributes",
                },
            )
            self.queues.setdefault(subscription.service, {})[subscription.topic] = url

    def start(self, services: dict[str, declarations.Service]) -> None:
        """Poll every subscription queue and tick every ``rate(...)`` schedule."""
        for name, topics in self.queues.items():
            for topic, url in topics.items():
                self._thread(self._poll, name, topic, url)
        for name, service in services.items():
            expression = service.manifest.get("schedule")
            if not expression:
                continue
            period = rate_seconds(expression)
            if period is None:
                self.report(
                    f"{name}: {expression} is not run locally (only rate(...) is); "
                    f"use `python -m tools.local invoke {name} --event FILE`"
                )
                continue
            self._thread(self._tick, name, period)

    def _thread(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _tick(self, service: str, period: float) -> None:
        while not self.stopping.wait(period):
            self.submit(service, scheduled_event(service, self.environment), "schedule")

    def _poll(self, service: str, topic: str, url: str) -> None:
        sqs = self._client("sqs")
        while not self.stopping.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
            except Exception as error:  # moto going away at shutdown
                if not self.stopping.is_set():
                    self.report(f"polling {service}/{topic} failed: {error}")
                    time.sleep(0.5)
                continue
            for message in messages:
                notification = json.loads(message["Body"])
                record = {"Records": [sns_notification_record(notification)]}
                self.submit(service, record, "sns")
                if self.faults and self.faults.duplicated(notification["MessageId"]):
                    self.submit(service, record, "duplicate")
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
