"""Talking to a running local system, found through ``<state dir>/state.json``."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import boto3

import messaging
from messaging import Envelope, new_event
from messaging import publish as messaging_publish
from tools import dead_letters, declarations, topology
from tools.contract import FAKE_CREDENTIALS, REGION, lambda_environment, use_endpoint

from . import artifacts, tokens
from .processes import ENVIRONMENT

DEFAULT = artifacts.LOCAL


class NotRunningError(RuntimeError):
    """No local system is running for this state directory."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running(state_dir: Path = DEFAULT) -> dict[str, Any] | None:
    """The state of the running system, or ``None`` (a stale state file is ignored)."""
    try:
        state: dict[str, Any] = json.loads((state_dir / "state.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return state if _alive(int(state.get("pid", 0))) else None


def require(state_dir: Path = DEFAULT) -> dict[str, Any]:
    state = running(state_dir)
    if state is None:
        raise NotRunningError(
            f"no local system is running (no live {state_dir / 'state.json'}): start one with "
            "`make local` (or pass the --state-dir of the one you started)"
        )
    return state


def _request(state: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (always http://127.0.0.1)
        f"{state['http_url']}/__local/{path}", data=data, method=method
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
        return json.loads(response.read())


def invoke(
    state: dict[str, Any], service: str, event: Any, source: str = "invoke"
) -> dict[str, Any]:
    """One synchronous invocation through the running system's worker."""
    data = json.dumps(event).encode()
    request = urllib.request.Request(  # noqa: S310
        f"{state['http_url']}/__local/invoke/{service}",
        data=data,
        method="POST",
        headers={"x-local-source": source},
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def customer_token(state: dict[str, Any], email: str) -> str:
    """A bearer token of the running system's local issuer for the customer ``email``
    (verified, as an identity provider's ID token says), for routes declared jwt."""
    key = tokens.key_in(Path(state["token_key_file"]).parent)
    return tokens.issue(key, email, email=email, email_verified=True)


def invocations(state: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _request(state, "GET", "invocations")
    return found


def publish(
    state: dict[str, Any], event_type: str, data: dict[str, Any], publisher: str | None = None
) -> Envelope:
    """Publish as the declared publisher would: its environment, the messaging package."""
    publishers = topology.publishers().get(event_type, [])
    if not publishers:
        raise NotRunningError(f"no service declares that it publishes {event_type!r}")
    if publisher is not None and publisher not in publishers:
        raise NotRunningError(f"{publisher} does not publish {event_type!r}: {publishers}")
    service = publisher or publishers[0]
    use_endpoint(state["endpoint_url"])
    messaging.reset()
    messaging.configure(lambda_environment(service, topic_arns=state["topic_arns"]))
    try:
        event = new_event(event_type, data)
        messaging_publish(event)
    finally:
        messaging.reset()
    return event


def _sqs(state: dict[str, Any]) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=state["endpoint_url"],
        region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def dead_letter_queues(service: str | None = None, kind: str | None = None) -> list[Any]:
    """The local system's dead-letter queues of ``service`` (or every service), by kind."""
    wanted = [service] if service else list(declarations.services())
    return dead_letters.selected(wanted, ENVIRONMENT, kind)


def dead_letter_listing(
    state: dict[str, Any], service: str | None = None, kind: str | None = None
) -> list[str]:
    """Per dead-letter queue its count, then each letter with its reason (all left in place)."""
    return dead_letters.listing(_sqs(state), dead_letter_queues(service, kind))


def redrive(
    state: dict[str, Any], service: str, *, kind: str | None = None, dry_run: bool = False
) -> dead_letters.Outcome:
    """Every dead letter of ``service``: invoked again, or moved back to its delivery queue."""

    def local_invoke(payload: Any) -> dict[str, Any] | None:
        answer = invoke(state, service, payload, source="redrive")
        return None if answer["ok"] else dict(answer["error"])

    queues = dead_letter_queues(service, kind)
    return dead_letters.redrive(
        _sqs(state), queues, local_invoke, dead_letters.move_by_hand, dry_run=dry_run
    )


def sent_emails(endpoint_url: str, timeout_s: float = 10) -> list[dict[str, Any]]:
    """The emails moto's SES has accepted (its ``/moto-api/data.json`` view of SES).

    moto dumps every service's data for it: after thousands of events, allow it time.
    """
    url = f"{endpoint_url}/moto-api/data.json"
    with urllib.request.urlopen(url, timeout=timeout_s) as answer:  # noqa: S310
        data = json.loads(answer.read())
    messages = data.get("ses", {}).get("Message", [])
    return [m for m in messages if isinstance(m, dict)]
