"""The HTTP front door: requests become API Gateway HTTP API (payload 2.0) events.

Routes come from the manifests (``{param}`` segments become path parameters; the
routeKey is the declared one, e.g. ``GET /orders/{order_id}``). An unknown route gets
API Gateway's JSON 404. ``/__local/...`` is the control API the CLI uses.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from messaging.testing import ACCOUNT_ID

if TYPE_CHECKING:
    from .system import System

CONTROL = "/__local/"


class Route:
    def __init__(self, service: str, method: str, path: str) -> None:
        self.service = service
        self.method = method.upper()
        self.path = path
        self.route_key = f"{self.method} {path}"
        pattern = re.sub(r"\\\{([A-Za-z_][A-Za-z0-9_]*)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        self.pattern = re.compile(f"^{pattern}$")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in (method.upper(), "ANY"):
            return None
        found = self.pattern.match(path)
        return found.groupdict() if found else None


def routes(system: System) -> list[Route]:
    found = [
        Route(name, route["method"], route["path"])
        for name, service in system.services.items()
        for route in service.routes
    ]
    # Literal paths before parameterised ones, as API Gateway prefers the most specific.
    return sorted(found, key=lambda r: (r.path.count("{"), -len(r.path)))


def api_event(
    route: Route,
    params: dict[str, str],
    method: str,
    raw_path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    request_id: str,
) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway would send for this request."""
    now = datetime.now(UTC)
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    cookies = [c.strip() for c in lowered.pop("cookie", "").split(";") if c.strip()]
    query_parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        query_parameters[name] = (
            f"{query_parameters[name]},{value}" if name in query_parameters else value
        )
    try:
        text: str | None = body.decode("utf-8") if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if cookies:
        event["cookies"] = cookies
    if query_parameters:
        event["queryStringParameters"] = query_parameters
    if params:
        event["pathParameters"] = params
    if text is not None:
        event["body"] = text
    return event


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
    def __init__(self, system: System, host: str, port: int) -> None:
        self.system = system
        self.routes = routes(system)
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
            request_id = str(uuid.uuid4())
            event = api_event(
                route, params, request.command, parts.path, parts.query,
                dict(request.headers.items()), body, request_id,
            )  # fmt: skip
            answer = self.system.invoke(
                route.service, event, request_id, source="http", extra={"route": route.route_key}
            )
            if not answer["ok"]:
                self.reply(request, 500, b'{"message":"Internal Server Error"}')
                return
            status, headers, cookies, raw = http_response(answer.get("result"))
            self.reply(request, status, raw, headers, cookies)
            return
        self.reply(request, 404, b'{"message":"Not Found"}')

    def control(self, request: BaseHTTPRequestHandler, path: str, body: bytes) -> None:
        """``GET state``, ``GET invocations``, ``POST invoke/<service>`` (body: the event)."""
        if request.command == "GET" and path == "state":
            self.reply(request, 200, json.dumps(self.system.state()).encode())
        elif request.command == "GET" and path == "invocations":
            self.reply(request, 200, json.dumps(self.system.invocations, default=str).encode())
        elif request.command == "POST" and path.startswith("invoke/"):
            service = path.removeprefix("invoke/")
            if service not in self.system.workers:
                message = {"message": f"no service {service!r} runs in this system"}
                self.reply(request, 404, json.dumps(message).encode())
                return
            source = request.headers.get("x-local-source") or "invoke"
            answer = self.system.invoke(service, json.loads(body or b"{}"), source=source)
            self.reply(request, 200, json.dumps(answer, default=str).encode())
        else:
            self.reply(request, 404, b'{"message":"Not Found"}')
