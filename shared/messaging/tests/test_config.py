"""Settings: read once from the function's environment, validated, or given by configure()."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import messaging
from messaging import ConfigurationError, Settings, configure, new_event, settings

PACKAGE = Path(messaging.__file__).parent


def test_a_malformed_setting_fails_loudly_with_its_name() -> None:
    with pytest.raises(ConfigurationError, match="MESSAGING_READ_TIMEOUT_S must be a positive"):
        Settings.from_environ({"SERVICE_NAME": "s", "MESSAGING_READ_TIMEOUT_S": "-1"})
    with pytest.raises(ConfigurationError, match="IDEMPOTENCY_TTL_S must be a positive integer"):
        Settings.from_environ({"SERVICE_NAME": "s", "IDEMPOTENCY_TTL_S": "soon"})
    with pytest.raises(ConfigurationError, match="MESSAGING_TRACING must be one of xray, otel"):
        Settings.from_environ({"MESSAGING_TRACING": "sometimes"})


def test_a_missing_service_name_fails_at_first_use() -> None:
    configure({"PUBLISHES": "order.placed"})
    with pytest.raises(ConfigurationError, match="SERVICE_NAME is not set"):
        new_event("order.placed", {})


def test_configure_replaces_the_environment_without_touching_it() -> None:
    before = dict(os.environ)
    configured = configure({"SERVICE_NAME": "orders_api", "IDEMPOTENCY_TTL_S": "60"})
    assert settings() is configured
    assert (settings().service, settings().idempotency_ttl_s) == ("orders_api", 60)
    assert configure(settings(), idempotency_ttl_s=None).idempotency_ttl_s is None
    assert dict(os.environ) == before
    messaging.reset()
    assert settings() == Settings.from_environ(os.environ)


def test_configure_names_a_field_settings_lacks_and_keeps_the_settings() -> None:
    configured = configure({"SERVICE_NAME": "orders_api"})
    with pytest.raises(TypeError, match="does not have: idempotency_tll_s"):
        configure(settings(), idempotency_tll_s=60)
    assert settings() is configured


def test_settings_cannot_be_changed_in_place() -> None:
    current = configure({"SERVICE_NAME": "orders_api", "TOPIC_ARN_ORDERS": "arn:aws:sns:x"})
    with pytest.raises(AttributeError):
        current.service_name = "someone_else"  # type: ignore[misc]
    with pytest.raises(TypeError):
        current.topic_arns["TOPIC_ARN_ORDERS"] = "arn:aws:sns:y"  # type: ignore[index]
    assert Settings().topic_arns == {}


def test_no_module_of_the_package_reads_the_environment_itself() -> None:
    # config.py reads it once; Lambda sets _X_AMZN_TRACE_ID anew for every invocation.
    readers = {
        path.name: line.strip()
        for path in sorted(PACKAGE.glob("*.py"))
        if path.name != "config.py"
        for line in path.read_text("utf-8").splitlines()
        if re.search(r"os\.(environ|getenv)", line) and "_X_AMZN_TRACE_ID" not in line
    }
    assert readers == {}
