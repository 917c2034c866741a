"""API Gateway HTTP API (payload v2.0) plumbing: requests in, JSON responses out."""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal
from typing import Any, NamedTuple

from .body import MAX_BODY_BYTES, body_problems, parse_json, text_of
from .errors import HttpError


# A NamedTuple, not a frozen dataclass: as immutable, and it costs 0.16 ms rather than
# 0.9 ms to define at every cold start (docs/performance.md, group 5).
class Request(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    body: str | None
    request_id: str
    # The JWT authorizer's verified claims (every value a string), empty on public routes.
    claims: dict[str, str]

    def json(self) -> Any:
        """The body as JSON: non-integers as ``Decimal``; ``HttpError`` 400 for anything
        DynamoDB or the schema cannot take, naming the field where there is one."""
        if self.body is None or self.body.strip() == "":
            raise HttpError(400, "the request body is empty; send a JSON object")
        value = parse_json(self.body)
        problems = body_problems(value)
        if problems:
            raise HttpError(400, "the request body cannot be stored", problems=problems)
        return value


def _too_large(size: int) -> HttpError:
    return HttpError(
        413,
        f"the request body is {size:,} bytes; the limit is {MAX_BODY_BYTES:,} bytes",
        limit_bytes=MAX_BODY_BYTES,
    )


def parse_request(event: Any) -> Request:
    """The method, path, headers and body of a payload v2.0 event."""
    if not isinstance(event, dict):
        raise HttpError(400, "the event is not an API Gateway HTTP API request")
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    if not isinstance(http, dict) or not isinstance(http.get("method"), str):
        raise HttpError(400, "the event has no requestContext.http.method")
    headers = event.get("headers") or {}
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise HttpError(400, "the event body must be a string")
    if body is not None:
        # Base64 grows 4/3; refuse an oversized body before decoding it.
        if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
            raise _too_large(len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body))
        if event.get("isBase64Encoded"):
            try:
                raw = base64.b64decode(body, validate=True)
            except binascii.Error:
                raise HttpError(400, "the request body is not valid base64") from None
        else:
            raw = body.encode("utf-8", "surrogatepass")
        if len(raw) > MAX_BODY_BYTES:
            raise _too_large(len(raw))
        body = text_of(raw)
    path = event.get("rawPath") or http.get("path") or "/"
    return Request(
        method=http["method"].upper(),
        path=str(path),
        headers={str(k).lower(): str(v) for k, v in headers.items()}
        if isinstance(headers, dict)
        else {},
        body=body,
        request_id=str(context.get("requestId", "")) if isinstance(context, dict) else "",
        claims=_jwt_claims(context),
    )


def _jwt_claims(context: Any) -> dict[str, str]:
    """``requestContext.authorizer.jwt.claims``, where API Gateway's JWT authorizer puts them."""
    authorizer = context.get("authorizer") if isinstance(context, dict) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, dict) else None
    claims = jwt.get("claims") if isinstance(jwt, dict) else None
    return {str(k): str(v) for k, v in claims.items()} if isinstance(claims, dict) else {}


def _plain(value: Any) -> Any:
    # Numbers read back from DynamoDB are Decimal; JSON has no Decimal.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":"), default=_plain),
    }


def error_response(error: HttpError) -> dict[str, Any]:
    headers = {}
    if error.status == 405 and "allowed" in error.details:
        headers["allow"] = ", ".join(error.details["allowed"])
    if "retry_after_s" in error.details:
        headers["retry-after"] = str(error.details["retry_after_s"])
    return response(error.status, {"error": str(error), **error.details}, headers)
