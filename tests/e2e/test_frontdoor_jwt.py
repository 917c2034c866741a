"""The local front door honours each route's declared auth, as API Gateway's JWT authorizer:
401 without a valid token of the local issuer, 403 without the route's scopes, and the
claims in ``requestContext.authorizer.jwt`` (every value a string) when it lets one in."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tools import declarations
from tools.local import tokens
from tools.local.frontdoor import FrontDoor, Route, routes

KEY = b"k" * 32


class Recorder:
    """A fake worker: records each event and answers 200 with nothing in it."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, service: str, event: dict[str, Any], *_: Any, **__: Any) -> Any:
        self.events.append(event)
        return {"ok": True, "result": {"statusCode": 200, "body": "{}"}}


@pytest.fixture
def door() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    served = [
        Route("orders_api", "GET", "/orders/{order_id}/receipt", "jwt"),
        Route("orders_api", "DELETE", "/orders/{order_id}", "jwt", ["orders/cancel"]),
        Route("orders_api", "GET", "/orders/{order_id}", "none"),
    ]
    front = FrontDoor(served, recorder, "127.0.0.1", 0, token_key=KEY)
    front.start()
    try:
        yield f"http://127.0.0.1:{front.port}", recorder
    finally:
        front.stop()


def _call(url: str, method: str = "GET", authorization: str | None = None) -> tuple[int, Any]:
    headers = {"authorization": authorization} if authorization else {}
    request = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, {}
    except urllib.error.HTTPError as error:
        challenge = error.headers.get("www-authenticate", "")
        return error.code, {"challenge": challenge, "body": json.loads(error.read())}


def _token(key: bytes = KEY, **claims: Any) -> str:
    return tokens.issue(key, "c-1", email="ada@example.com", email_verified=True, **claims)


def _forged(**payload: Any) -> str:
    """A token with ``payload`` merged in, re-signed with the right key."""
    header, body, _ = _token().split(".")
    merged = {**json.loads(base64.urlsafe_b64decode(body + "==")), **payload}
    raw = base64.urlsafe_b64encode(json.dumps(merged).encode()).rstrip(b"=").decode()
    signature = tokens._signature(KEY, f"{header}.{raw}")
    return f"{header}.{raw}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_a_valid_token_reaches_the_function_with_the_claims_as_strings(
    door: tuple[str, Recorder],
) -> None:
    url, recorder = door
    status, _ = _call(f"{url}/orders/o-1/receipt", authorization=f"Bearer {_token()}")
    assert status == 200
    [event] = recorder.events
    jwt = event["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"]["email"] == "ada@example.com"
    assert jwt["claims"]["email_verified"] == "true"
    assert jwt["claims"]["iss"] == tokens.ISSUER
    assert jwt["claims"]["exp"].isdigit()
    assert event["routeKey"] == "GET /orders/{order_id}/receipt"


def now() -> int:
    return int(time.time())


@pytest.mark.parametrize(
    ("authorization", "problem"),
    [
        (None, "no bearer token"),
        ("Bearer", "not a JWT"),
        ("Bearer not.a.jwt", "not base64url JSON"),
        (f"Bearer {_token(key=b'x' * 32)}", "signature does not match"),
        (f"Bearer {_forged(iss='https://elsewhere.example.com')}", "issuer"),
        (f"Bearer {_forged(aud='another-api')}", "audience"),
        (f"Bearer {_forged(exp=now() - 1)}", "expired"),
        (f"Bearer {_forged(exp=None)}", "no exp claim"),
        (f"Bearer {_forged(nbf=now() + 600)}", "nbf is in the future"),
        ("Bearer " + _token().rsplit(".", 1)[0] + ".", "signature does not match"),
    ],
)
def test_a_jwt_route_answers_401_without_a_valid_token(
    door: tuple[str, Recorder], authorization: str | None, problem: str
) -> None:
    url, recorder = door
    status, answer = _call(f"{url}/orders/o-1/receipt", authorization=authorization)
    assert status == 401
    assert answer["body"] == {"message": "Unauthorized"}
    assert problem in answer["challenge"]
    assert recorder.events == []


def test_an_unsigned_token_is_refused() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    _, body, _ = _token().split(".")
    with pytest.raises(tokens.TokenError, match="HS256"):
        tokens.verify(KEY, f"{header}.{body}.")


def test_a_route_with_scopes_answers_403_to_a_token_without_them(
    door: tuple[str, Recorder],
) -> None:
    url, recorder = door
    status, answer = _call(
        f"{url}/orders/o-1", "DELETE", authorization=f"Bearer {_token(scope='orders/read')}"
    )
    assert status == 403
    assert "orders/cancel" in answer["challenge"]
    assert recorder.events == []
    status, _ = _call(
        f"{url}/orders/o-1", "DELETE", authorization=_token(scope="orders/read orders/cancel")
    )
    assert status == 200
    assert recorder.events[0]["requestContext"]["authorizer"]["jwt"]["scopes"] == ["orders/cancel"]


def test_a_public_route_needs_no_token_and_gets_no_claims(door: tuple[str, Recorder]) -> None:
    url, recorder = door
    assert _call(f"{url}/orders/o-1")[0] == 200
    assert "authorizer" not in recorder.events[0]["requestContext"]


def test_without_an_issuer_key_a_jwt_route_refuses_every_token() -> None:
    recorder = Recorder()
    served = [Route("orders_api", "GET", "/orders/{order_id}/receipt", "jwt")]
    front = FrontDoor(served, recorder, "127.0.0.1", 0)
    front.start()
    try:
        status, _ = _call(
            f"http://127.0.0.1:{front.port}/orders/o-1/receipt", authorization=_token()
        )
    finally:
        front.stop()
    assert status == 401
    assert recorder.events == []


def test_the_declared_routes_carry_their_auth() -> None:
    declared = {r.route_key: r.auth for r in routes(declarations.services().values())}
    assert declared["GET /orders/{order_id}/receipt"] == "jwt"
    assert declared["GET /orders/{order_id}"] == "none"
    assert declared["POST /orders"] == "none"


def test_the_key_is_made_once_per_state_directory_and_owner_only(tmp_path: Path) -> None:
    key = tokens.key_in(tmp_path)
    assert tokens.key_in(tmp_path) == key
    assert len(key) == 32
    assert (tmp_path / tokens.KEY_FILE).stat().st_mode & 0o077 == 0
