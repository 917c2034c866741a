"""Create, against an AWS endpoint (moto in tests and locally), what Terraform creates in AWS.

Topics, tables, the claim-check bucket, verified senders and, per consuming service, its
on-failure queue and its subscriptions' delivery dead-letter queue, named as Terraform names
them for ``environment``. ``observe=True`` also subscribes one SQS queue per topic so tests
and tools can see what was published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from tools import declarations

from . import names
from .names import REGION


@dataclass
class Provisioned:
    environment: str
    topic_arns: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    dead_letter_queues: dict[str, str] = field(default_factory=dict)
    delivery_dlqs: dict[str, str] = field(default_factory=dict)
    observer_queues: dict[str, str] = field(default_factory=dict)


def _client(name: str, endpoint_url: str | None) -> Any:
    return boto3.client(name, endpoint_url=endpoint_url, region_name=REGION)


def table_schema(table: dict[str, Any]) -> dict[str, Any]:
    """Keys and sparse global secondary indexes, as modules/shared_resources makes them."""
    indexes = table.get("indexes", {})
    keys = [table["hash_key"]]
    keys += [key for index in indexes.values() for key in (index["hash_key"], index["range_key"])]
    schema: dict[str, Any] = {
        "AttributeDefinitions": [
            {"AttributeName": key, "AttributeType": "S"} for key in dict.fromkeys(keys)
        ],
        "KeySchema": [{"AttributeName": table["hash_key"], "KeyType": "HASH"}],
    }
    if indexes:
        schema["GlobalSecondaryIndexes"] = [
            {
                "IndexName": name,
                "KeySchema": [
                    {"AttributeName": index["hash_key"], "KeyType": "HASH"},
                    {"AttributeName": index["range_key"], "KeyType": "RANGE"},
                ],
                "Projection": (
                    {"ProjectionType": "INCLUDE", "NonKeyAttributes": index["projected"]}
                    if index.get("projected")
                    else {"ProjectionType": "KEYS_ONLY"}
                ),
            }
            for name, index in indexes.items()
        ]
    return schema


def provision(
    environment: str = "local", *, endpoint_url: str | None = None, observe: bool = False
) -> Provisioned:
    sns = _client("sns", endpoint_url)
    sqs = _client("sqs", endpoint_url)
    dynamodb = _client("dynamodb", endpoint_url)
    s3 = _client("s3", endpoint_url)
    ses = _client("ses", endpoint_url)
    out = Provisioned(environment)

    for topic in declarations.catalog()["topics"]:
        name = names.topic_name(topic, environment)
        out.topic_arns[topic] = sns.create_topic(Name=name)["TopicArn"]

    shared = declarations.resources()
    for table, spec in shared.get("tables", {}).items():
        name = names.table_name(table, environment)
        dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **table_schema(spec))
        if spec.get("ttl_attribute"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec["ttl_attribute"]},
            )
        out.tables[table] = name
    for bucket in shared.get("buckets", {}):
        name = names.bucket_name(bucket, environment)
        s3.create_bucket(Bucket=name)
        out.buckets[bucket] = name
    for sender in shared.get("email_senders", {}).values():
        ses.verify_email_identity(EmailAddress=sender["address"])

    for service in declarations.services().values():
        queue = sqs.create_queue(QueueName=names.on_failure_queue_name(service.name, environment))
        out.dead_letter_queues[service.name] = queue["QueueUrl"]
        if service.subscribes:  # SNS's redrive target of the service's subscriptions
            name = names.delivery_dlq_name(service.name, environment)
            out.delivery_dlqs[service.name] = sqs.create_queue(QueueName=name)["QueueUrl"]

    if observe:
        for topic, arn in out.topic_arns.items():
            name = names.observer_queue_name(topic, environment)
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
            out.observer_queues[topic] = url
    return out


def drain(queue_url: str, *, endpoint_url: str | None = None) -> list[dict[str, Any]]:
    """Receive and delete every message now in ``queue_url`` (SNS notifications decoded)."""
    sqs = _client("sqs", endpoint_url)
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(json.loads(message["Body"]) | {"_sqs": message})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
