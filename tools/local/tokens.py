"""The local identity provider: JWTs signed with a key kept in the state directory.

API Gateway's JWT authorizer checks a token's signature against the issuer's keys, then
``iss``, ``aud`` (or ``client_id``), ``exp``, ``nbf``, ``iat`` and, on routes with scopes,
``scope``/``scp``; it hands the function the claims, every value a string. The local
front door does the same with HS256 and a random key (stdlib HMAC: no dependency, and
nothing but this machine ever holds the key). Tokens of the local issuer are worthless
anywhere else: no deployed environment trusts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ISSUER = "https://issuer.local.invalid"
AUDIENCE = "orders-web-local"
KEY_FILE = "jwt-hs256.key"
LIFETIME_S = 3600


class TokenError(ValueError):
    """The token is missing, malformed, badly signed or not valid now (401)."""


class ScopeError(TokenError):
    """A valid token without any of the route's scopes (403)."""


def key_in(state_dir: Path) -> bytes:
    """The state directory's signing key, created (owner-only) on first use."""
    path = state_dir / KEY_FILE
    try:
        return bytes.fromhex(path.read_text("ascii").strip())
    except FileNotFoundError:
        pass
    state_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key.hex())
    return key


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, signing_input: str) -> bytes:
    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def issue(key: bytes, subject: str, *, lifetime_s: int = LIFETIME_S, **claims: Any) -> str:
    """A token of the local issuer for ``subject``, e.g. ``issue(key, "c-1", email=...)``."""
    now = int(time.time())
    payload = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": subject,
        "iat": now, "nbf": now, "exp": now + lifetime_s, **claims,
    }  # fmt: skip
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{header}.{body}.{_b64(_signature(key, f'{header}.{body}'))}"


def _number(payload: Mapping[str, Any], claim: str) -> float | None:
    value = payload.get(claim)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenError(f"the {claim} claim is not a number")
    return float(value)


def verify(key: bytes, authorization: str | None, scopes: Iterable[str] = ()) -> dict[str, Any]:
    """The payload of the bearer token in an ``Authorization`` header, once it passes every
    check API Gateway makes; ``TokenError`` (``ScopeError``) naming the one that failed."""
    if not authorization:
        raise TokenError("no bearer token in the Authorization header")
    token = authorization.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("the token is not a JWT (three base64url parts)")
    try:
        header = json.loads(_unb64(parts[0]))
        payload = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except ValueError:
        raise TokenError("the token's parts are not base64url JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenError("the token is not signed with HS256 by the local issuer")
    if not hmac.compare_digest(signature, _signature(key, f"{parts[0]}.{parts[1]}")):
        raise TokenError("the token's signature does not match the local issuer's key")
    if not isinstance(payload, dict):
        raise TokenError("the token's payload is not a JSON object")
    if payload.get("iss") != ISSUER:
        raise TokenError(f"the token's issuer is not {ISSUER}")
    audiences = payload.get("aud", payload.get("client_id"))
    audiences = audiences if isinstance(audiences, list) else [audiences]
    if AUDIENCE not in audiences:
        raise TokenError(f"the token is not issued for the audience {AUDIENCE}")
    now = time.time()
    expires = _number(payload, "exp")
    if expires is None:
        raise TokenError("the token has no exp claim")
    if expires <= now:
        raise TokenError("the token has expired")
    for claim in ("nbf", "iat"):
        moment = _number(payload, claim)
        if moment is not None and moment > now:
            raise TokenError(f"the token's {claim} is in the future")
    wanted = list(scopes)
    if wanted and not set(wanted) & set(granted_scopes(payload)):
        raise ScopeError(f"the token has none of the route's scopes: {', '.join(wanted)}")
    return payload


def granted_scopes(payload: Mapping[str, Any]) -> list[str]:
    """The token's scopes: ``scope`` (space-separated) or ``scp`` (a list or a string)."""
    found = payload.get("scope", payload.get("scp", []))
    return found.split() if isinstance(found, str) else [str(s) for s in found]


def gateway_claims(payload: Mapping[str, Any]) -> dict[str, str]:
    """The claims as API Gateway passes them to the function: every value a string."""

    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return "[" + " ".join(text(v) for v in value) + "]"
        if isinstance(value, dict):
            return json.dumps(value, separators=(",", ":"))
        return str(value)

    return {name: text(value) for name, value in payload.items()}
