"""X-Ray's resource-policy API, served from memory on 127.0.0.1: moto implements no
X-Ray resource policy, which the environments create for SNS active tracing.
Only the three operations aws_xray_resource_policy calls (AWS X-Ray API reference)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    policies: dict[str, dict[str, Any]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        operation = self.path.strip("/")
        if operation == "PutResourcePolicy":
            policy = {
                "PolicyName": body["PolicyName"],
                "PolicyDocument": body["PolicyDocument"],
                "PolicyRevisionId": uuid.uuid4().hex[:8],
                "LastUpdatedTime": time.time(),
            }
            self.policies[body["PolicyName"]] = policy
            self._answer(200, {"ResourcePolicy": policy})
        elif operation == "ListResourcePolicies":
            self._answer(200, {"ResourcePolicies": list(self.policies.values())})
        elif operation == "DeleteResourcePolicy":
            self.policies.pop(body.get("PolicyName", ""), None)
            self._answer(200, {})
        else:
            self._answer(400, {"Message": f"operation {operation} is not served by this stand-in"})

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def xray_resource_policies() -> Iterator[str]:
    """The stand-in on a free loopback port, always stopped afterwards."""
    handler = type("Handler", (_Handler,), {"policies": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
