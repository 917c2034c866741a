"""API Gateway HTTP API (payload v2.0) plumbing: requests in, JSON responses out."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any


class HttpError(Exception):
    """An error the client caused or can act on; becomes a JSON response with ``status``."""

    def __init__(self, status: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.details = details


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: str | None
    request_id: str

    def json(self) -> Any:
        if self.body is None or self.body.strip() == "":
            raise HttpError(400, "the request body is empty; send a JSON object")
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise HttpError(400, f"the request body is not valid JSON: {error}") from None


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
    if body is not None and event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except ValueError:
            raise HttpError(400, "the request body is not valid base64-encoded UTF-8") from None
    path = event.get("rawPath") or http.get("path") or "/"
    return Request(
        method=http["method"].upper(),
        path=str(path),
        headers={str(k).lower(): str(v) for k, v in headers.items()}
        if isinstance(headers, dict)
        else {},
        body=body,
        request_id=str(context.get("requestId", "")) if isinstance(context, dict) else "",
    )


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
    }


def error_response(error: HttpError) -> dict[str, Any]:
    headers = {}
    if error.status == 405 and "allowed" in error.details:
        headers["allow"] = ", ".join(error.details["allowed"])
    return response(error.status, {"error": str(error), **error.details}, headers)
