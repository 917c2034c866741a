"""tools.bench.rtt_proxy: every request delayed by the round trip, bodies intact, always stopped.

The delay is checked through the proxy's sleep function (a recorder here), never a clock.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from tools.bench.rtt_proxy import RoundTripProxy

BINARY = bytes(range(256)) * 4096  # 1 MiB, every byte value


class _Echo(BaseHTTPRequestHandler):
    """Answers with what it received: method, path, headers, body (chunked on request)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append(  # type: ignore[attr-defined]
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        self.send_response(201, "Made")
        self.send_header("X-Echo", "yes")
        if self.path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 100_000):
                piece = body[start : start + 100_000]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_POST


@pytest.fixture
def echo() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


class _Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_each_request_waits_the_round_trip_half_each_way(echo: ThreadingHTTPServer) -> None:
    sleeps = _Sleeps()
    with RoundTripProxy(_url(echo), rtt_ms=10, sleep=sleeps) as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]))
        for _ in range(3):
            connection.request("POST", "/", body=b"x")
            assert connection.getresponse().read() == b"x"
        connection.close()
    assert sleeps == [0.005] * 6
    assert proxy.requests == 3


def test_bodies_and_headers_pass_through_byte_for_byte(echo: ThreadingHTTPServer) -> None:
    with RoundTripProxy(_url(echo), rtt_ms=0) as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]))
        connection.request(
            "POST", "/fixed?q=1", body=BINARY, headers={"X-Amz-Target": "SNS.Publish"}
        )
        answer = connection.getresponse()
        fixed = answer.read()
        status, echoed_header = answer.status, answer.getheader("X-Echo")
        # a chunked request body, answered in chunks: both arrive whole
        connection.request(
            "PUT", "/chunked", body=iter([BINARY[:1000], BINARY[1000:]]), encode_chunked=True
        )
        chunked = connection.getresponse().read()
        connection.close()
    assert (status, echoed_header) == (201, "yes")
    assert fixed == BINARY
    assert chunked == BINARY
    first, second = echo.seen  # type: ignore[attr-defined]
    assert (first["method"], first["path"], first["body"]) == ("POST", "/fixed?q=1", BINARY)
    assert first["headers"]["X-Amz-Target"] == "SNS.Publish"
    assert (second["method"], second["body"]) == ("PUT", BINARY)
    assert proxy.connections == 1  # both requests over one kept-alive connection


def test_stop_closes_the_port_and_kept_alive_connections(echo: ThreadingHTTPServer) -> None:
    proxy = RoundTripProxy(_url(echo), rtt_ms=0).start()
    port = int(proxy.url.rsplit(":", 1)[1])
    client = http.client.HTTPConnection("127.0.0.1", port)
    client.request("POST", "/", body=b"kept")
    assert client.getresponse().read() == b"kept"  # the connection stays open after this
    threads_before_stop = threading.active_count()

    proxy.stop()

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert threading.active_count() < threads_before_stop  # serving and connection threads gone
    with pytest.raises((http.client.HTTPException, OSError)):  # the kept-alive one is closed
        _post_again(client)
    client.close()
    with pytest.raises(RuntimeError, match="not running"):
        _ = proxy.url


def _post_again(client: http.client.HTTPConnection) -> None:
    client.request("POST", "/", body=b"again")
    client.getresponse()


def test_an_unreachable_upstream_is_a_502_naming_it() -> None:
    with socket.socket() as placeholder:  # a free port nothing listens on
        placeholder.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{placeholder.getsockname()[1]}"
    with RoundTripProxy(dead, rtt_ms=0) as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]))
        connection.request("POST", "/", body=b"x")
        answer = connection.getresponse()
        text = answer.read().decode()
        connection.close()
    assert answer.status == 502
    assert dead in text


@pytest.mark.parametrize("upstream", ["https://127.0.0.1:1", "127.0.0.1:5000", "http://host"])
def test_an_upstream_that_is_not_plain_http_host_port_is_refused(upstream: str) -> None:
    with pytest.raises(ValueError, match="upstream must be http://host:port"):
        RoundTripProxy(upstream, rtt_ms=1)


def test_a_negative_round_trip_is_refused() -> None:
    with pytest.raises(ValueError, match="rtt_ms must be 0 or more"):
        RoundTripProxy("http://127.0.0.1:1", rtt_ms=-1)


def test_boto3_through_the_proxy_reaches_moto_with_every_call_delayed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    sleeps = _Sleeps()
    try:
        host, port = moto.get_host_and_port()
        with RoundTripProxy(f"http://{host}:{port}", rtt_ms=4, sleep=sleeps) as proxy:
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                monkeypatch.setenv(name, "testing")
            monkeypatch.delenv("AWS_PROFILE", raising=False)
            sns = boto3.client("sns", region_name="eu-west-1", endpoint_url=proxy.url)
            sqs = boto3.client("sqs", region_name="eu-west-1", endpoint_url=proxy.url)
            topic = sns.create_topic(Name="rtt")["TopicArn"]
            queue = sqs.create_queue(QueueName="rtt")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
            sns.subscribe(
                TopicArn=topic,
                Protocol="sqs",
                Endpoint=queue_arn["Attributes"]["QueueArn"],
                Attributes={"RawMessageDelivery": "true"},
            )
            message = json.dumps({"text": "ü" * 5000, "bytes": os.urandom(16).hex()})
            sns.publish(TopicArn=topic, Message=message)
            received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    finally:
        moto.stop()
    assert [m["Body"] for m in received] == [message]
    assert proxy.requests == 6
    assert sleeps == [0.002] * 12
    assert proxy.connections <= 2  # one kept-alive connection per client
