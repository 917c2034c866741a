"""Helpers for tests and local tools: Lambda-shaped events and the environment Terraform sets.

Not shipped in built artifacts. Everything here builds the documented AWS shapes, so
a handler tested with these sees what it will see in Lambda.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .catalog import catalog_dir, load_catalog, topic_env_var
from .envelope import Envelope
from .publisher import message_attributes

__all__ = [
    "ACCOUNT_ID",
    "FAKE_CREDENTIALS",
    "REGION",
    "http_event",
    "lambda_environment",
    "load_fixture",
    "repo_root",
    "resource_env_var",
    "service_manifest",
    "sns_event",
    "sns_record",
]

REGION = "us-east-1"
# Credentials for moto: never valid in AWS, so nothing run with them can reach it.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# Dead letters are kept 14 days (SQS's maximum): the window in which a redrive can
# bring an event back, so idempotency records must outlive it.
DLQ_RETENTION_S = 14 * 86400
ACCOUNT_ID = "123456789012"


def repo_root() -> Path:
    """The repository root, found from the catalog's location in a development checkout."""
    return catalog_dir().resolve().parents[1]


def load_fixture(name: str) -> Any:
    """``tests/events/<name>.json``: fixtures producers and consumers are both checked against."""
    path = repo_root() / "tests" / "events" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def service_manifest(service: str) -> dict[str, Any]:
    path = repo_root() / "services" / service / "service.json"
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def resource_env_var(kind: str, name: str) -> str:
    """``("tables", "orders")`` -> ``TABLE_ORDERS``: the variable naming a shared resource."""
    prefix = {"tables": "TABLE", "buckets": "BUCKET", "email_senders": "EMAIL_SENDER"}[kind]
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9]', '_', name).upper()}"


def resource_name(kind: str, name: str, environment: str) -> str:
    """The physical name Terraform gives a shared resource in ``environment``."""
    if kind == "email_senders":
        resources = json.loads((repo_root() / "shared" / "resources.json").read_text("utf-8"))
        return str(resources["email_senders"][name]["address"])
    if kind == "buckets":
        return f"{environment}-{name}-{ACCOUNT_ID}"
    return f"{environment}-{name}"


def lambda_environment(
    service: str,
    *,
    environment: str = "local",
    topic_arns: Mapping[str, str] | None = None,
    dead_letter_queue_url: str = "",
) -> dict[str, str]:
    """The environment variables Terraform gives ``service``'s function, from its manifest."""
    manifest = service_manifest(service)
    catalog = load_catalog()
    publishes = list(manifest.get("publishes", []))
    env = {
        "SERVICE_NAME": service,
        "ENVIRONMENT": environment,
        "PUBLISHES": ",".join(publishes),
        "LOG_LEVEL": "INFO",
        "DEAD_LETTER_QUEUE_URL": dead_letter_queue_url,
        "FUNCTION_TIMEOUT_S": str(manifest.get("timeout_s", 10)),
        "IDEMPOTENCY_TTL_S": str(
            manifest.get("retries", {}).get("maximum_event_age_s", 3600) + DLQ_RETENTION_S
        ),
    }
    for event_type in publishes:
        topic = catalog.spec(event_type).topic
        arn = (topic_arns or {}).get(topic) or (
            f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{environment}-{topic.replace('_', '-')}"
        )
        env[topic_env_var(topic)] = arn
    resources = manifest.get("resources", {})
    for kind in ("tables", "buckets", "email_senders"):
        for name in resources.get(kind, []):
            env[resource_env_var(kind, name)] = resource_name(kind, name, environment)
    return env


def sns_record(
    envelope: Envelope,
    *,
    topic_arn: str | None = None,
    message: str | None = None,
    attributes: Mapping[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """One ``Records[]`` entry exactly as SNS hands it to Lambda (every documented field)."""
    spec = load_catalog().events.get(envelope.type)
    topic = spec.topic if spec else "unknown"
    topic_arn = topic_arn or f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:test-{topic}"
    if attributes is None:
        attributes = message_attributes(envelope, spec) if spec else {}
    message_id = str(uuid.uuid4())
    return {
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "Signature": base64.b64encode(b"not-a-real-signature").decode(),
            "SigningCertUrl": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000.pem",
            "MessageId": message_id,
            "Message": envelope.to_json() if message is None else message,
            "MessageAttributes": {
                name: {"Type": value["DataType"], "Value": value["StringValue"]}
                for name, value in attributes.items()
            },
            "Type": "Notification",
            "UnsubscribeUrl": (
                f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                f"{topic_arn}:{message_id}"
            ),
            "TopicArn": topic_arn,
            "Subject": None,
        },
    }


def sns_event(envelopes: Envelope | Iterable[Envelope]) -> dict[str, Any]:
    """A Lambda SNS event carrying ``envelopes`` (SNS sends one record per invocation)."""
    items = [envelopes] if isinstance(envelopes, Envelope) else list(envelopes)
    return {"Records": [sns_record(envelope) for envelope in items]}


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    route_key: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: str = "",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event for ``method path``."""
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    now = datetime.now(UTC)
    request_headers = {"content-type": "application/json", **dict(headers or {})}
    return {
        "version": "2.0",
        "routeKey": route_key or f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {key.lower(): value for key, value in request_headers.items()},
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": request_headers.get("user-agent", "test"),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key or f"{method} {path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "body": text,
        "isBase64Encoded": False,
    }
