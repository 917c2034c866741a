"""The environment of a service's function: what Terraform sets, and what Lambda adds."""

from __future__ import annotations

from collections.abc import Mapping

from messaging.config import TRACING_VARIABLE
from tools import declarations

from . import names
from .names import LOCAL_ENVIRONMENT

__all__ = ["DLQ_RETENTION_S", "lambda_environment", "runtime_environment"]

# Dead letters are kept 14 days (SQS's maximum): the window in which a redrive can
# bring an event back, so idempotency records must outlive it (Terraform's
# queue_message_retention_s).
DLQ_RETENTION_S = 14 * 86400


def lambda_environment(
    service: str,
    *,
    environment: str = LOCAL_ENVIRONMENT,
    topic_arns: Mapping[str, str] | None = None,
    dead_letter_queue_url: str = "",
    tracing: str = "xray",
) -> dict[str, str]:
    """The variables Terraform gives ``service``'s function (modules/lambda_service).

    ``tracing`` is the environment's ``tracing_backend`` (with ``otel`` Terraform also
    adds the ADOT layer's wrapper variables, read by Lambda's runtime, not by the package).
    """
    declared = declarations.services()[service]
    manifest = declared.manifest
    events = declarations.catalog()["events"]
    env = {
        TRACING_VARIABLE: tracing,
        "SERVICE_NAME": service,
        "ENVIRONMENT": environment,
        "PUBLISHES": ",".join(declared.publishes),
        "LOG_LEVEL": "INFO",
        "DEAD_LETTER_QUEUE_URL": dead_letter_queue_url,
        "FUNCTION_TIMEOUT_S": str(manifest["timeout_s"]),
        "IDEMPOTENCY_TTL_S": str(declared.retries["maximum_event_age_s"] + DLQ_RETENTION_S),
    }
    for event_type in declared.publishes:
        topic = events[event_type]["topic"]
        arn = (topic_arns or {}).get(topic) or names.topic_arn(topic, environment)
        env[names.topic_env_var(topic)] = arn
    senders = declarations.resources().get("email_senders", {})
    for kind in ("tables", "buckets", "email_senders"):
        for name in manifest["resources"].get(kind, []):
            address = senders.get(name, {}).get("address", "")
            env[names.resource_env_var(kind, name)] = names.resource_name(
                kind, name, environment, sender_address=address
            )
    return env


def runtime_environment(service: str, *, environment: str = LOCAL_ENVIRONMENT) -> dict[str, str]:
    """The variables Lambda's runtime itself sets for ``service``'s function."""
    declared = declarations.services()[service]
    manifest = declared.manifest
    return {
        "AWS_LAMBDA_FUNCTION_NAME": names.function_name(service, environment),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(manifest["memory_mb"]),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(manifest["timeout_s"]),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{manifest['runtime']}",
        "_HANDLER": declared.handler,
    }
