"""Settings read from the environment Terraform (or the local system) gives each function.

Read once, at first use, and validated: a missing variable fails loudly with its name
rather than falling back to a default that would publish to the wrong place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from .catalog import topic_env_var
from .errors import ConfigurationError

__all__ = ["Settings", "settings"]


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """What the package needs to know about the function it runs in."""

    service: str
    publishes: frozenset[str]
    dead_letter_queue_url: str | None
    large_event_bucket: str | None
    idempotency_table: str | None
    connect_timeout_s: float = 1.0
    read_timeout_s: float = 2.0
    max_attempts: int = 3
    topic_arns: dict[str, str] = field(default_factory=dict)

    def topic_arn(self, topic: str) -> str:
        """The ARN of ``topic`` from ``TOPIC_ARN_<TOPIC>``."""
        env_var = topic_env_var(topic)
        arn = self.topic_arns.get(env_var)
        if not arn:
            raise ConfigurationError(
                f"{env_var} is not set: the ARN of topic {topic!r} comes from the function's "
                "environment (Terraform sets it for every topic the manifest publishes to)"
            )
        return arn


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this process; ``messaging.reset()`` forgets them (tests)."""
    service = os.environ.get("SERVICE_NAME", "")
    if not service:
        raise ConfigurationError("SERVICE_NAME is not set: every function must know its own name")
    publishes = frozenset(
        part.strip() for part in os.environ.get("PUBLISHES", "").split(",") if part.strip()
    )
    attempts = os.environ.get("MESSAGING_MAX_ATTEMPTS", "3")
    if not attempts.isdigit() or int(attempts) < 1:
        raise ConfigurationError(
            f"MESSAGING_MAX_ATTEMPTS must be a positive integer, got {attempts!r}"
        )
    return Settings(
        service=service,
        publishes=publishes,
        dead_letter_queue_url=os.environ.get("DEAD_LETTER_QUEUE_URL") or None,
        large_event_bucket=os.environ.get("BUCKET_LARGE_EVENTS") or None,
        idempotency_table=os.environ.get("TABLE_IDEMPOTENCY") or None,
        connect_timeout_s=_float("MESSAGING_CONNECT_TIMEOUT_S", 1.0),
        read_timeout_s=_float("MESSAGING_READ_TIMEOUT_S", 2.0),
        max_attempts=int(attempts),
        topic_arns={
            name: value
            for name, value in os.environ.items()
            if name.startswith("TOPIC_ARN_") and value
        },
    )
