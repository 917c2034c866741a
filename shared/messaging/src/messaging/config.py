"""The package's settings: read once from the function's environment, typed and validated.

Terraform (or the local system) sets the variables; ``settings()`` reads them at first
use (the cold start) and every module of the package asks it, never ``os.environ``. A
malformed value fails loudly with its name, and so does a missing ``SERVICE_NAME`` as
soon as anything needs it, rather than a default that would publish to the wrong place.
Tools and tests call ``configure(...)`` instead of rewriting ``os.environ``:

>>> configure({"SERVICE_NAME": "orders_api", "PUBLISHES": "order.placed"})  # doctest: +SKIP
>>> configure(service_name="orders_api")   # the process environment, one field replaced
>>> configure(settings(), large_event_bucket=None)   # the current settings, one replaced
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from .errors import ConfigurationError

__all__ = [
    "OTLP_PROTOCOLS",
    "TRACING_BACKENDS",
    "TRACING_VARIABLE",
    "Settings",
    "configure",
    "reset_settings",
    "settings",
]

# The one home of the tracing switch: Terraform's tracing_backend variable, the contract
# (tools/contract/environment.py) and the local system all name it through these.
TRACING_VARIABLE = "MESSAGING_TRACING"
TRACING_BACKENDS = ("xray", "otel", "off")
# How ``otel`` exports without the ADOT layer's provider: the OTLP exporter specification's
# protocol names. JSON by default: stdlib only (messaging/otlp_json.py, docs/performance.md).
OTLP_PROTOCOLS = ("http/json", "http/protobuf")
_OTLP_DEFAULT_ENDPOINT = "http://localhost:4318"  # the collector in the function (ADOT layer)


def _number(env: Mapping[str, str], name: str, kind: type[int] | type[float]) -> Any:
    """A positive number from ``env[name]``; ``None`` when unset."""
    raw = env.get(name, "")
    if raw == "":
        return None
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if value <= 0:
        what = "a positive integer" if kind is int else "a positive number"
        raise ConfigurationError(f"{name} must be {what}, got {raw!r}")
    return value


def _traces_endpoint(env: Mapping[str, str]) -> str:
    """As the OTLP exporter specification reads its variables: the traces endpoint as
    given, else the base endpoint with ``/v1/traces`` appended."""
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or _OTLP_DEFAULT_ENDPOINT
    return base.rstrip("/") + "/v1/traces"


# A NamedTuple, not a frozen dataclass: as immutable, and several times cheaper to define
# at every cold start (docs/performance.md, group 5).
class Settings(NamedTuple):
    """What the package needs to know about the function it runs in."""

    service_name: str = ""  # SERVICE_NAME; read it through ``service``
    publishes: frozenset[str] = frozenset()  # PUBLISHES, comma-separated event types
    dead_letter_queue_url: str | None = None  # DEAD_LETTER_QUEUE_URL
    large_event_bucket: str | None = None  # BUCKET_LARGE_EVENTS
    idempotency_table: str | None = None  # TABLE_IDEMPOTENCY
    connect_timeout_s: float = 1.0  # MESSAGING_CONNECT_TIMEOUT_S
    read_timeout_s: float = 2.0  # MESSAGING_READ_TIMEOUT_S
    max_attempts: int = 3  # MESSAGING_MAX_ATTEMPTS
    topic_arns: Mapping[str, str] = MappingProxyType({})  # TOPIC_ARN_<TOPIC>
    log_level: str = "INFO"  # LOG_LEVEL
    idempotency_ttl_s: int | None = None  # IDEMPOTENCY_TTL_S
    function_timeout_s: float | None = None  # FUNCTION_TIMEOUT_S
    large_event_threshold_bytes: int | None = None  # LARGE_EVENT_THRESHOLD_BYTES
    tracing: str = "xray"  # MESSAGING_TRACING: xray, otel or off (TRACING_BACKENDS)
    trace_export_timeout_s: float = 0.5  # MESSAGING_TRACE_EXPORT_TIMEOUT_S (otel)
    # OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL (OTLP_PROTOCOLS)
    otlp_protocol: str = "http/json"
    otlp_traces_endpoint: str = _OTLP_DEFAULT_ENDPOINT + "/v1/traces"
    function_name: str = ""  # AWS_LAMBDA_FUNCTION_NAME: set by Lambda itself
    catalog_dir: str = ""  # EVENT_CATALOG_DIR: the catalog outside the artifact (tests)

    @property
    def service(self) -> str:
        """This function's service name; ``ConfigurationError`` when ``SERVICE_NAME`` is unset."""
        if not self.service_name:
            raise ConfigurationError(
                "SERVICE_NAME is not set: every function must know its own name"
            )
        return self.service_name

    def topic_arn(self, topic: str) -> str:
        """The ARN of ``topic`` from ``TOPIC_ARN_<TOPIC>``."""
        from .catalog import topic_env_var  # the catalog reads its directory from here

        env_var = topic_env_var(topic)
        arn = self.topic_arns.get(env_var)
        if not arn:
            raise ConfigurationError(
                f"{env_var} is not set: the ARN of topic {topic!r} comes from the function's "
                "environment (Terraform sets it for every topic the manifest publishes to)"
            )
        return arn

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> Settings:
        """Read and check every variable the package uses from ``env``."""
        tracing = (env.get(TRACING_VARIABLE) or "xray").lower()
        if tracing not in TRACING_BACKENDS:
            raise ConfigurationError(
                f"{TRACING_VARIABLE} must be one of {', '.join(TRACING_BACKENDS)}, got {tracing!r}"
            )
        protocol = (
            env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "http/json"
        ).lower()
        if protocol not in OTLP_PROTOCOLS:
            raise ConfigurationError(
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL must be one "
                f"of {', '.join(OTLP_PROTOCOLS)} (the package exports OTLP over HTTP), "
                f"got {protocol!r}"
            )
        return cls(
            service_name=env.get("SERVICE_NAME", ""),
            publishes=frozenset(
                part.strip() for part in env.get("PUBLISHES", "").split(",") if part.strip()
            ),
            dead_letter_queue_url=env.get("DEAD_LETTER_QUEUE_URL") or None,
            large_event_bucket=env.get("BUCKET_LARGE_EVENTS") or None,
            idempotency_table=env.get("TABLE_IDEMPOTENCY") or None,
            connect_timeout_s=_number(env, "MESSAGING_CONNECT_TIMEOUT_S", float) or 1.0,
            read_timeout_s=_number(env, "MESSAGING_READ_TIMEOUT_S", float) or 2.0,
            max_attempts=_number(env, "MESSAGING_MAX_ATTEMPTS", int) or 3,
            topic_arns=MappingProxyType(
                {name: arn for name, arn in env.items() if name.startswith("TOPIC_ARN_") and arn}
            ),
            log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
            idempotency_ttl_s=_number(env, "IDEMPOTENCY_TTL_S", int),
            function_timeout_s=_number(env, "FUNCTION_TIMEOUT_S", float),
            large_event_threshold_bytes=_number(env, "LARGE_EVENT_THRESHOLD_BYTES", int),
            tracing=tracing,
            trace_export_timeout_s=_number(env, "MESSAGING_TRACE_EXPORT_TIMEOUT_S", float) or 0.5,
            otlp_protocol=protocol,
            otlp_traces_endpoint=_traces_endpoint(env),
            function_name=env.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            catalog_dir=env.get("EVENT_CATALOG_DIR", ""),
        )


_configured: Settings | None = None


@lru_cache(maxsize=1)
def _from_process() -> Settings:
    return Settings.from_environ(os.environ)


def settings() -> Settings:
    """The settings of this process: ``configure``'s, else the environment's, read once."""
    return _configured if _configured is not None else _from_process()


def configure(environ: Mapping[str, str] | Settings | None = None, /, **fields: Any) -> Settings:
    """Use these settings until ``reset_settings()`` (``messaging.reset()``): read from
    ``environ`` (default: the process environment) or given, with ``fields`` replaced."""
    global _configured
    if isinstance(environ, Settings):
        base = environ
    else:
        base = Settings.from_environ(os.environ if environ is None else environ)
    unknown = sorted(set(fields) - set(Settings._fields))
    if unknown:
        raise TypeError(f"configure() got fields Settings does not have: {', '.join(unknown)}")
    _configured = base._replace(**fields) if fields else base
    return _configured


def reset_settings() -> None:
    """Forget the settings: the next ``settings()`` reads the environment again."""
    global _configured
    _configured = None
    _from_process.cache_clear()
