"""``python moto_runner.py HOST PORT PARENT_PID``: moto's server, tied to the local system.

Like the workers, it asks Linux to kill it when the process that started it dies, so a
crashed or killed ``make local`` leaves no server holding the port.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import logging
import os
import signal
import sys
from typing import Any


def deliver_http_message_attributes() -> None:
    """Give HTTP endpoint subscriptions the notification SNS sends them, attributes included.

    SNS puts ``MessageAttributes`` in the JSON it POSTs to an HTTP/S endpoint; moto (5.x)
    leaves them out, and the local delivery (``tools/local/delivery.py``) routes on them.
    The POSTs share a pool of kept-alive connections (moto serves each request on a new
    thread, so a connection per thread would be a connection per publish).
    """
    import urllib3
    from moto.sns.models import Subscription

    original = Subscription.publish
    pool = urllib3.PoolManager(maxsize=16, retries=False)

    def publish(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        **rest: Any,
    ) -> None:
        if self.protocol not in ("http", "https"):
            original(self, message, message_id, subject, message_attributes, **rest)
            return
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        if rest.get("message_structure") == "json":
            message = self._parse_message_structure(message, self.protocol)
        body = self.get_post_data(message, message_id, subject, message_attributes)
        pool.request(
            "POST",
            self.endpoint,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "text/plain; charset=UTF-8"},
            timeout=30.0,
        )

    Subscription.publish = publish  # type: ignore[method-assign,assignment]


def route_without_listing_moto(backends: Any) -> None:
    """Route each request without listing moto's package directory.

    moto's server asks ``list_of_moto_modules()`` (a ``listdir`` and an ``isdir`` per
    entry, some 150 of them) on every request to match the host to a service: about 9%
    of its CPU on the local system's traffic. The directory does not change while it runs.
    """
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def write_dynamodb_items_atomically(backend: Any = None) -> None:
    """Check each DynamoDB write's condition and make the write under one lock.

    DynamoDB applies a conditional write atomically; moto's backend checks the condition
    and then writes with no lock, and its server runs each connection on its own thread.
    Two claims of one event (a delivery and its duplicate) both passed
    ``attribute_not_exists(id)`` that way and the email went out twice. A lock per
    process is coarser than DynamoDB's per item, and cheap: the writes are short.
    """
    import threading

    if backend is None:
        from moto.dynamodb.models import DynamoDBBackend as backend

    lock = threading.RLock()  # a transaction's writes may call put_item inside it

    def locked(method: Any) -> Any:
        def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        return write

    for name in WRITES:
        setattr(backend, name, locked(getattr(backend, name)))


# DynamoDBBackend's methods behind PutItem, UpdateItem, DeleteItem, BatchWriteItem and
# TransactWriteItems
WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")


def keep_connections_alive(server: Any) -> None:
    """Keep a client's connection open between requests (HTTP/1.1), as AWS endpoints do.

    moto's server (werkzeug's) ends every answer with ``Connection: close``, so each boto3
    call opens a new connection and moto starts a new thread for it: 28% of the
    functions' samples on the two-hop chain were connecting. werkzeug closes because
    ``http.server`` cannot tell where an unread body ends; this handler reads the body
    (by its ``Content-Length``) before moto sees the request, so the next request starts
    where this one ended. A chunked request body keeps werkzeug's behaviour.
    """
    base = server.MotoRequestHandler

    class KeepAliveRequestHandler(base):  # type: ignore[misc,valid-type]
        _keep_alive = False
        # werkzeug sends the headers and the body apart: on a kept connection Nagle's
        # algorithm would hold the body until the client's delayed ACK (40 ms)
        disable_nagle_algorithm = True

        def run_wsgi(self) -> None:
            encoding = self.headers.get("Transfer-Encoding", "")
            self._keep_alive = "chunked" not in encoding.lower()
            if not self._keep_alive:
                super().run_wsgi()
                return
            length = int(self.headers.get("Content-Length") or 0)
            connection: Any = vars(self)["rfile"]
            body = connection.read(length) if length > 0 else b""
            setattr(self, "rfile", io.BytesIO(body))  # noqa: B010 - what werkzeug reads
            try:
                super().run_wsgi()
            finally:
                setattr(self, "rfile", connection)  # noqa: B010

        def send_header(self, keyword: str, value: str) -> None:
            if self._keep_alive and (keyword.lower(), value.lower()) == ("connection", "close"):
                return
            super().send_header(keyword, value)

    server.MotoRequestHandler = KeepAliveRequestHandler


def answer_in_one_write(server: Any) -> None:
    """Send each answer's status line, headers and body in one write.

    werkzeug writes the headers and then the body, each a ``send`` of its own: two
    system calls and two TCP segments per AWS call, about a quarter of moto's active
    samples on the two-hop chain. Writes are gathered until werkzeug flushes (after each
    piece of the body), so the answer leaves as early as before, byte for byte the same.
    """
    base = server.MotoRequestHandler

    class OneWriteRequestHandler(base):  # type: ignore[misc,valid-type]
        def run_wsgi(self) -> None:
            connection: Any = vars(self)["wfile"]
            gathered = GatheredWrites(connection)
            setattr(self, "wfile", gathered)  # noqa: B010 - what werkzeug writes to
            try:
                super().run_wsgi()
            finally:
                setattr(self, "wfile", connection)  # noqa: B010
                gathered.flush()

    server.MotoRequestHandler = OneWriteRequestHandler


class GatheredWrites:
    """A writer that passes what was written to ``out`` in one write on each flush."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.pending: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pending.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        if self.pending:
            data, self.pending = b"".join(self.pending), []
            self.out.write(data)
        self.out.flush()


def main() -> None:
    host, port, parent = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with contextlib.suppress(OSError, AttributeError):  # PR_SET_PDEATHSIG
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
    from moto import backends, server

    route_without_listing_moto(backends)
    keep_connections_alive(server)
    answer_in_one_write(server)
    write_dynamodb_items_atomically()
    deliver_http_message_attributes()
    # werkzeug logs a line per request under one handler lock: a sixth of moto's CPU under
    # load, with threads queueing on the lock. Errors are still logged.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    server.main(["-H", host, "-p", port])


if __name__ == "__main__":
    main()
