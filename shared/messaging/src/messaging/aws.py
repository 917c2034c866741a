"""boto3 clients, created once per container and only when first needed.

Timeouts are explicit and retries bounded so that one slow AWS call cannot eat the
caller's latency budget: botocore's defaults (60 s connect and read, legacy retries)
would let a publish on the critical path hang for minutes.
"""

from __future__ import annotations

from typing import Any

from .config import settings

__all__ = ["client", "reset_clients"]

_clients: dict[str, Any] = {}


def client(service_name: str) -> Any:
    """The shared boto3 client for ``service_name`` (``sns``, ``sqs``, ``s3``, ``dynamodb``...).

    ``AWS_ENDPOINT_URL`` (set by the local system) is honoured by boto3 itself.
    """
    found = _clients.get(service_name)
    if found is None:
        import boto3  # deferred: most cold starts pay for it anyway, but not at import
        from botocore.config import Config

        current = settings()
        config = Config(
            connect_timeout=current.connect_timeout_s,
            read_timeout=current.read_timeout_s,
            retries={"mode": "standard", "total_max_attempts": current.max_attempts},
            tcp_keepalive=True,
        )
        found = _clients[service_name] = boto3.client(service_name, config=config)
    return found


def reset_clients() -> None:
    """Forget every client (tests switch endpoints and credentials between cases)."""
    _clients.clear()
