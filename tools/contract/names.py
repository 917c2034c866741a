"""Every physical name and ARN, as Terraform gives it: one rule, used by every tool and test.

AWS names people read are kebab-case (``<env>-order-status``): declaration names may
hold ``_`` (topics, services, tables), which becomes ``-``. S3 allows no ``_`` at all.
``tests/contracts/test_names.py`` checks each function here against Terraform's plan.
"""

from __future__ import annotations

import re

from messaging.catalog import topic_env_var

__all__ = [
    "ACCOUNT_ID",
    "LOCAL_ENVIRONMENT",
    "REGION",
    "bucket_name",
    "delivery_dlq_name",
    "delivery_queue_dlq_name",
    "delivery_queue_name",
    "function_arn",
    "function_name",
    "kebab",
    "observer_queue_name",
    "on_failure_queue_name",
    "queue_arn",
    "queue_key_alias",
    "resource_env_var",
    "resource_name",
    "schedule_rule_arn",
    "schedule_rule_name",
    "subscription_queue_name",
    "table_name",
    "topic_arn",
    "topic_env_var",
    "topic_name",
]

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
# The environment name the local system and the tests give every physical name.
LOCAL_ENVIRONMENT = "local"


def kebab(name: str) -> str:
    return name.replace("_", "-")


def _physical(environment: str, name: str) -> str:
    return f"{environment}-{kebab(name)}"


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


def topic_name(topic: str, environment: str) -> str:
    return _physical(environment, topic)


def topic_arn(topic: str, environment: str) -> str:
    return _arn("sns", topic_name(topic, environment))


def function_name(service: str, environment: str) -> str:
    return _physical(environment, service)


def function_arn(service: str, environment: str) -> str:
    return _arn("lambda", f"function:{function_name(service, environment)}")


def on_failure_queue_name(service: str, environment: str) -> str:
    """Where Lambda puts an event after its last retry, and the router a poison message."""
    return f"{function_name(service, environment)}-on-failure"


def delivery_dlq_name(service: str, environment: str) -> str:
    """Where SNS redrives what it could not deliver to the function."""
    return f"{function_name(service, environment)}-delivery-dlq"


def delivery_queue_name(service: str, topic: str, environment: str) -> str:
    """The queue between ``topic`` and the function of a queue-delivered subscription."""
    return f"{function_name(service, environment)}-{kebab(topic)}-queue"


def delivery_queue_dlq_name(service: str, topic: str, environment: str) -> str:
    """Where SQS moves a delivery queue's message after its last receive."""
    return f"{delivery_queue_name(service, topic, environment)}-dlq"


def queue_arn(queue_name: str) -> str:
    return _arn("sqs", queue_name)


def queue_key_alias(service: str, environment: str) -> str:
    """The alias of the KMS key that encrypts every queue of the service."""
    return f"alias/sqs/{function_name(service, environment)}"


def schedule_rule_name(service: str, environment: str) -> str:
    return f"{function_name(service, environment)}-schedule"


def schedule_rule_arn(service: str, environment: str) -> str:
    return _arn("events", f"rule/{schedule_rule_name(service, environment)}")


def table_name(table: str, environment: str) -> str:
    return _physical(environment, table)


def bucket_name(bucket: str, environment: str, *, account_id: str = ACCOUNT_ID) -> str:
    # Bucket names are global: the account id keeps two accounts' environments apart.
    return f"{_physical(environment, bucket)}-{account_id}"


def resource_name(kind: str, name: str, environment: str, *, sender_address: str = "") -> str:
    """The physical name of a shared resource of ``kind`` (``tables``, ``buckets``...)."""
    if kind == "tables":
        return table_name(name, environment)
    if kind == "buckets":
        return bucket_name(name, environment)
    if kind == "email_senders":
        return sender_address
    raise ValueError(f"unknown resource kind {kind!r}")


def resource_env_var(kind: str, name: str) -> str:
    """``("tables", "orders")`` -> ``TABLE_ORDERS``: the variable naming a shared resource."""
    prefix = {"tables": "TABLE", "buckets": "BUCKET", "email_senders": "EMAIL_SENDER"}[kind]
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9]', '_', name).upper()}"


# Local-only queues (no Terraform counterpart): SNS -> SQS stands in for SNS -> Lambda
# locally, and observer queues let tests see what was published.
def subscription_queue_name(service: str, topic: str, environment: str) -> str:
    return f"{environment}-sub-{kebab(service)}-{kebab(topic)}"


def observer_queue_name(topic: str, environment: str) -> str:
    return f"{environment}-observe-{kebab(topic)}"
