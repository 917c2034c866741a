"""The benchmark harness in this process: provisioned resources, Lambda environment, handlers.

The orders_api handler runs in-process with the environment Terraform gives its
function; the consumers' modules are imported too (their variables are added) so the
inline variant of the headline can call their logic directly.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
from botocore.config import Config

import messaging
from tools import declarations
from tools.contract import Provisioned, http_event, lambda_environment, load_fixture, provision
from tools.contract.provision import table_schema
from tools.local.processes import drain_sns_deliveries

SKUS_STOCK = 10**12
devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process


def silence_logs() -> None:
    """Send the services' JSON log lines to /dev/null: still formatted and written, not shown."""
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and getattr(logger, "_messaging_configured", False):
            for handler in logger.handlers:
                if isinstance(handler, logging.StreamHandler):
                    handler.setStream(devnull)


def metric_lines_to_devnull() -> contextlib.AbstractContextManager[Any]:
    """The EMF metric lines (``messaging.metrics`` writes them on stdout) to /dev/null too.

    Formatted and written like the log lines, but not to the terminal or pipe the
    benchmark prints its table on: what that costs per line is the reader's, not
    Lambda's, and thousands of them would bury the table.
    """
    return contextlib.redirect_stdout(devnull)


def raw_client(name: str) -> Any:
    """A plain boto3 client with the same timeouts and retries the messaging package uses."""
    config = Config(
        connect_timeout=1.0,
        read_timeout=2.0,
        retries={"mode": "standard", "total_max_attempts": 3},
        tcp_keepalive=True,
    )
    return boto3.client(name, config=config)


def orders_api_environment(system: Provisioned) -> dict[str, str]:
    """orders_api's Lambda environment, plus what the consumers need at import (inline variant)."""
    env: dict[str, str] = {}
    for service in ("inventory", "order_confirmation", "order_status"):
        env |= lambda_environment(service, topic_arns=system.topic_arns)
    env |= lambda_environment(
        "orders_api",
        topic_arns=system.topic_arns,
        dead_letter_queue_url=system.dead_letter_queues["orders_api"],
    )
    # The idempotency layer is measured explicitly by the router group, never by accident.
    env.pop("TABLE_IDEMPOTENCY", None)
    return env


@dataclass
class Harness:
    provisioned: Provisioned
    env: dict[str, str]
    orders_api: ModuleType
    order_confirmation: ModuleType
    inventory: ModuleType
    order_status: ModuleType
    body: dict[str, Any]
    settle: Callable[[], None] = lambda: None  # between rounds: pending SNS deliveries made
    _generation: int = 0
    _subscriptions: dict[str, str] = field(default_factory=dict)

    def post_orders_event(self) -> dict[str, Any]:
        return http_event("POST", "/orders", body=self.body)

    def fresh(self) -> None:
        """Empty orders table and empty subscribed queues, between rounds and every few calls.

        moto copies a whole table on every ``TransactWriteItems`` (for its rollback), so
        the write slows as the table grows; AWS does not. A fresh table keeps the
        emulator's cost flat.
        """
        dynamodb = raw_client("dynamodb")
        name = self.provisioned.tables["orders"]
        dynamodb.delete_table(TableName=name)
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            **table_schema(declarations.resources()["tables"]["orders"]),
        )
        self.purge_observers()

    def purge_observers(self) -> None:
        """Replace the queues subscribed to the topics with empty ones.

        moto's publish slows as a subscribed queue's backlog grows, and ``PurgeQueue`` is
        allowed once a minute, so each round gets new queues (same topics, same fan-out).
        Deliveries still pending (fan-out after the answer) are made first, off the clock.
        """
        self.settle()
        sqs = raw_client("sqs")
        sns = raw_client("sns")
        self._generation += 1
        for topic, arn in self.provisioned.topic_arns.items():
            old_url = self.provisioned.observer_queues.get(topic)
            old_subscription = self._subscriptions.get(topic)
            url = sqs.create_queue(QueueName=f"bench-{topic}-{self._generation}")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            subscribed = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
            self._subscriptions[topic] = subscribed["SubscriptionArn"]
            self.provisioned.observer_queues[topic] = url
            if old_subscription:
                sns.unsubscribe(SubscriptionArn=old_subscription)
            if old_url:
                sqs.delete_queue(QueueUrl=old_url)


def start(endpoint_url: str, *, fan_out_after_answer: bool = False) -> Harness:
    """Provision against ``endpoint_url`` and import the handlers as Lambda would.

    ``fan_out_after_answer``: the moto server there delivers after Publish has answered;
    between rounds the harness waits until it has made every pending delivery.
    """
    provisioned = provision("local", endpoint_url=endpoint_url)
    env = orders_api_environment(provisioned)
    os.environ.update(env)
    messaging.reset()
    body = load_fixture("post-orders.body")
    stock = raw_client("dynamodb")
    for item in body["items"]:
        stock.put_item(
            TableName=provisioned.tables["stock"],
            Item={"sku": {"S": item["sku"]}, "available": {"N": str(SKUS_STOCK)}},
        )
    modules = {
        name: importlib.import_module(f"{name}.handler")
        for name in ("orders_api", "order_confirmation", "inventory", "order_status")
    }
    silence_logs()
    system = Harness(
        provisioned,
        env,
        modules["orders_api"],
        modules["order_confirmation"],
        modules["inventory"],
        modules["order_status"],
        body,
    )
    if fan_out_after_answer:
        system.settle = lambda: drain_sns_deliveries(endpoint_url)
    system.purge_observers()  # the first queues subscribed to the topics
    answer = system.orders_api.handle(system.post_orders_event())
    if answer["statusCode"] != 202:
        raise RuntimeError(f"POST /orders answered {answer['statusCode']}: {answer['body']}")
    return system
