"""A loopback HTTP proxy that adds a fixed round trip to every request it passes on.

moto answers in a few milliseconds on the same machine; AWS is a network round trip
away. Put in front of the moto server (``AWS_ENDPOINT_URL`` pointing here), it models
that distance: each request waits half the round trip before it is forwarded and the
other half after the answer arrives, so a client sees ``rtt_ms`` more per call and
whatever saves calls (batching) is measured as it would be against AWS.

Standard library only. One thread per client connection, so concurrent calls are
delayed side by side, not queued; HTTP/1.1 keep-alive on both sides, as botocore's
connection pool expects; bodies are passed through byte for byte (a chunked answer is
re-sent with its length). Binds to 127.0.0.1 on a free port; ``stop()`` (or leaving
the ``with`` block) closes the listening socket and every open connection.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

__all__ = ["RoundTripProxy"]

# Per connection, never forwarded (RFC 9110, section 7.6.1); the length is set anew.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
# A kept-alive upstream connection the server has since closed fails like this before
# any answer: the request never reached the server, so sending it again is safe.
_STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: RoundTripProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards the client
    # Without it, the answer's second write waits for the client's delayed ACK of the
    # first (Nagle): up to 40 ms added to some calls, on top of the round trip modelled.
    disable_nagle_algorithm = True
    wbufsize = -1  # buffered: headers and body leave in one write, flushed per answer
    server: _Server
    upstream: http.client.HTTPConnection | None = None

    def setup(self) -> None:
        super().setup()
        self.server.proxy._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self.upstream is not None:
                self.upstream.close()
            self.server.proxy._closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a benchmark's proxy has nothing to say per request."""

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers end at an empty line
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self, body: bytes) -> tuple[http.client.HTTPResponse, bytes]:
        proxy = self.server.proxy
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):
            reused = self.upstream is not None
            if self.upstream is None:
                self.upstream = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=proxy.upstream_timeout_s
                )
            try:
                self.upstream.request(self.command, self.path, body=body, headers=headers)
                answer = self.upstream.getresponse()
                return answer, answer.read()
            except _STALE_CONNECTION:
                self.upstream.close()
                self.upstream = None
                if not reused or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _proxy(self) -> None:
        proxy = self.server.proxy
        body = self._body()
        proxy.sleep(proxy.rtt_s / 2)  # the request's way there...
        try:
            answer, payload = self._forward(body)
        except OSError as error:
            self.send_error(502, f"upstream {proxy.upstream_url} failed: {error}")
            return
        proxy.sleep(proxy.rtt_s / 2)  # ...and the answer's way back
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()
        proxy._count()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _proxy


class RoundTripProxy:
    """``upstream_url`` (plain HTTP), ``rtt_ms`` further away, at ``self.url``.

    >>> with RoundTripProxy("http://127.0.0.1:5000", rtt_ms=10) as proxy:  # doctest: +SKIP
    ...     use_endpoint(proxy.url)
    """

    def __init__(
        self,
        upstream_url: str,
        *,
        rtt_ms: float,
        upstream_timeout_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rtt_ms < 0:
            raise ValueError(f"rtt_ms must be 0 or more, got {rtt_ms!r}")
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise ValueError(f"upstream must be http://host:port, got {upstream_url!r}")
        self.upstream_url = upstream_url
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port
        self.upstream_timeout_s = upstream_timeout_s
        self.rtt_ms = rtt_ms
        self.rtt_s = rtt_ms / 1000
        self.requests = 0  # answered so far
        self.connections = 0  # accepted so far: fewer than requests means kept alive
        self.sleep = sleep  # tests pass a recorder: the delay is checked without a clock
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RoundTripProxy:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.proxy = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="rtt-proxy"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, close every client connection, wait for the threads."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            open_now = dict(self._connections)
        for connection in open_now:  # kept-alive clients would hold their threads forever
            with contextlib.suppress(OSError):  # already closed by its client
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join()
        for thread in open_now.values():
            thread.join(timeout=5)

    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections[connection] = threading.current_thread()
            self.connections += 1

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.pop(connection, None)

    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    def __enter__(self) -> RoundTripProxy:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
