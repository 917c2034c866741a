"""The HTTP front door: requests become API Gateway HTTP API (payload 2.0) events.

Routes come from the manifests (``{param}`` segments become path parameters; the
routeKey is the declared one, e.g. ``GET /orders/{order_id}``). An unknown route gets
API Gateway's JSON 404. A route declared ``"auth": "jwt"`` answers 401 without a valid
token of the local issuer (403 without one of its scopes), as the JWT authorizer does,
and passes the claims in ``requestContext.authorizer.jwt``. ``/__local/...`` is the
control API the CLI uses.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tools import declarations
from tools.contract import http_event

from . import tokens

# (service, event, request_id, source=, extra=) -> the worker's answer
Invoke = Callable[..., dict[str, Any]]
# (method, path under /__local/, body, x-local-source) -> (status, JSON-able answer)
Control = Callable[[str, str, bytes, str], tuple[int, Any]]

CONTROL = "/__local/"


class Route:
    def __init__(
        self, service: str, method: str, path: str, auth: str = "none", scopes: Iterable[str] = ()
    ) -> None:
        self.service = service
        self.method = method.upper()
        self.path = path
        self.auth = auth
        self.scopes = list(scopes)
        self.route_key = f"{self.method} {path}"
        pattern = re.sub(r"\\\{([A-Za-z_][A-Za-z0-9_]*)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        self.pattern = re.compile(f"^{pattern}$")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in (method.upper(), "ANY"):
            return None
        found = self.pattern.match(path)
        return found.groupdict() if found else None


def routes(services: Iterable[declarations.Service]) -> list[Route]:
    """The declared routes of ``services``, most specific first."""
    found = [
        Route(service.name, route["method"], route["path"], route["auth"], route.get("scopes", ()))
        for service in services
        for route in service.routes
    ]
    # Literal paths before parameterised ones, as API Gateway prefers the most specific.
    return sorted(found, key=lambda r: (r.path.count("{"), -len(r.path)))


def http_response(result: Any) -> tuple[int, dict[str, str], list[str], bytes]:
    """API Gateway's reading of a function result: status, headers, cookies, body."""
    if isinstance(result, dict) and "statusCode" in result:
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return int(result["statusCode"]), headers, list(result.get("cookies") or []), raw
    text = result if isinstance(result, str) else json.dumps(result)
    return 200, {"content-type": "application/json"}, [], text.encode()


class FrontDoor:
    def __init__(
        self,
        routes: list[Route],
        invoke: Invoke,
        host: str,
        port: int,
        *,
        control: Control | None = None,
        token_key: bytes | None = None,
    ) -> None:
        self.routes = routes
        self.invoke = invoke
        self._control = control
        self._token_key = token_key  # None: every jwt route refuses (fail closed)
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per invocation is logged by the system

            def _handle(self) -> None:
                front.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def reply(
        request: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        cookies: list[str] | None = None,
    ) -> None:
        request.send_response(status)
        headers = {"content-type": "application/json", **(headers or {})}
        for name, value in headers.items():
            request.send_header(name, value)
        for cookie in cookies or []:
            request.send_header("set-cookie", cookie)
        request.send_header("content-length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length) if length else b""
        if parts.path.startswith(CONTROL):
            self.control(request, parts.path[len(CONTROL) :], body)
            return
        for route in self.routes:
            params = route.match(request.command, parts.path)
            if params is None:
                continue
            claims: dict[str, str] | None = None
            if route.auth == "jwt":
                try:
                    claims = self.authorize(route, request.headers.get("authorization"))
                except tokens.TokenError as error:
                    self.refuse(request, error)
                    return
            request_id = str(uuid.uuid4())
            event = http_event(
                request.command, parts.path, body=body, headers=dict(request.headers.items()),
                route_key=route.route_key, path_parameters=params, query=parts.query,
                request_id=request_id, jwt_claims=claims, jwt_scopes=route.scopes or None,
            )  # fmt: skip
            answer = self.invoke(
                route.service, event, request_id, source="http", extra={"route": route.route_key}
            )
            if not answer["ok"]:
                self.reply(request, 500, b'{"message":"Internal Server Error"}')
                return
            status, headers, cookies, raw = http_response(answer.get("result"))
            self.reply(request, status, raw, headers, cookies)
            return
        self.reply(request, 404, b'{"message":"Not Found"}')

    def authorize(self, route: Route, authorization: str | None) -> dict[str, str]:
        """The claims of a valid bearer token for ``route``, as API Gateway passes them."""
        if self._token_key is None:
            raise tokens.TokenError("this front door has no local issuer key")
        return tokens.gateway_claims(tokens.verify(self._token_key, authorization, route.scopes))

    def refuse(self, request: BaseHTTPRequestHandler, error: tokens.TokenError) -> None:
        """API Gateway's answer to a refused token; the header says which check failed."""
        forbidden = isinstance(error, tokens.ScopeError)
        challenge = 'Bearer error="{}", error_description="{}"'.format(
            "insufficient_scope" if forbidden else "invalid_token", str(error).replace('"', "'")
        )
        status, message = (403, "Forbidden") if forbidden else (401, "Unauthorized")
        body = json.dumps({"message": message}).encode()
        self.reply(request, status, body, {"www-authenticate": challenge})

    def control(self, request: BaseHTTPRequestHandler, path: str, body: bytes) -> None:
        """``GET state``, ``GET invocations``, ``POST invoke/<service>`` (body: the event)."""
        if self._control is None:
            self.reply(request, 404, b'{"message":"Not Found"}')
            return
        source = request.headers.get("x-local-source") or "invoke"
        status, answer = self._control(request.command, path, body, source)
        self.reply(request, status, json.dumps(answer, default=str).encode())
