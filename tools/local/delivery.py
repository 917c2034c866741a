"""SNS fan-out and EventBridge schedules, delivered as Lambda's asynchronous invocations.

Locally each (service, topic) subscription is an HTTP endpoint subscription, with the
filter policy Terraform sets, to a receiver on 127.0.0.1 that this system runs: moto
POSTs each matching notification while it handles the publish, and the receiver turns
it into the record SNS hands to Lambda and submits it to the function's asynchronous
queue (``invoker.py``, in memory). Nothing waits in an emulated queue, so a delivery
costs the same however many events are pending, and none waits for a poll.
``rate(...)`` and ``cron(...)`` schedules tick in a thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import boto3

from tools import declarations, topology
from tools.contract import REGION, scheduled_event, sns_notification_record

from .processes import HOST
from .schedules import Schedule, parse_schedule
from .worker import Faults, fault_key

# (service, event, source) -> request id: an asynchronous invocation
Submit = Callable[[str, Any, str], str]


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
        self.endpoints: dict[str, dict[str, str]] = {}  # service -> topic -> endpoint URL
        self.received = 0
        self.threads: list[threading.Thread] = []
        self._count = threading.Lock()
        self._receiver = _Receiver(self)
        self._thread(self._receiver.serve_forever)

    def _client(self, name: str) -> Any:
        return boto3.client(name, endpoint_url=self.endpoint_url, region_name=REGION)

    def subscribe(
        self,
        services: Iterable[str],
        every: dict[str, declarations.Service],
        topic_arns: dict[str, str],
        queued_too: bool = False,
    ) -> None:
        """One HTTP subscription per (service, topic), with the service's filter policy;
        queue-delivered ones only with ``queued_too``."""
        sns = self._client("sns")
        port = self._receiver.server_address[1]
        wanted = set(services)
        for subscription in topology.subscriptions(every):
            queued = subscription.delivery != topology.DIRECT
            if subscription.service not in wanted or (queued and not queued_too):
                continue  # queue delivery: event_source_mapping.py
            url = f"http://{HOST}:{port}/{subscription.service}/{subscription.topic}"
            sns.subscribe(
                TopicArn=topic_arns[subscription.topic],
                Protocol="http",
                Endpoint=url,
                Attributes={
                    "FilterPolicy": json.dumps(subscription.filter_policy),
                    "FilterPolicyScope": "MessageAttributes",
                },
            )
            self.endpoints.setdefault(subscription.service, {})[subscription.topic] = url

    def start(self, services: dict[str, declarations.Service]) -> None:
        """Tick every schedule (deliveries arrive on their own)."""
        for name, service in services.items():
            expression = service.manifest.get("schedule")
            if expression:
                self._thread(self._tick, name, parse_schedule(expression))

    def _thread(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _tick(self, service: str, schedule: Schedule) -> None:
        while not self.stopping.wait(schedule.seconds_to_next()):
            self.submit(service, scheduled_event(service, self.environment), "schedule")

    def deliver(self, service: str, notification: dict[str, Any]) -> None:
        """One SNS notification for ``service``: an asynchronous invocation (two if duplicated)."""
        record = {"Records": [sns_notification_record(notification)]}
        self.submit(service, record, "sns")
        if self.faults and self.faults.duplicated(fault_key(notification["Message"])):
            self.submit(service, record, "duplicate")
        with self._count:
            self.received += 1

    def stop(self) -> None:
        self._receiver.shutdown()
        self._receiver.server_close()


class _Receiver(ThreadingHTTPServer):
    """The HTTP endpoint SNS (moto) delivers to: ``POST /<service>/<topic>``."""

    daemon_threads = True

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        super().__init__((HOST, 0), _Notification)


class _Notification(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: moto posts on one connection per thread
    server: _Receiver

    def do_POST(self) -> None:
        service = unquote(self.path.strip("/").split("/")[0])
        delivery = self.server.delivery
        try:
            notification = json.loads(self.rfile.read(int(self.headers["Content-Length"] or 0)))
            if service not in delivery.endpoints:
                raise ValueError(f"no subscription of {service!r}")
            if notification.get("Type") == "Notification":
                delivery.deliver(service, notification)
        except (ValueError, KeyError, TypeError) as error:
            delivery.report(f"rejected a delivery to {self.path}: {error}")
            self._answer(400)
            return
        self._answer(200)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: every delivery is in the invocation log."""
