"""Figures 1 and 2: the latency claim, and the handler's distance to the boto3 floor.

1. ``orders_api`` answering ``POST /orders`` the event-driven way (store, publish,
   return) against the same work done inline: every AWS call the consumers make for an
   order that an inline handler would still need (the confirmation email through SES,
   the stock reservation in DynamoDB, the order's status update; the consumers' own
   functions, called in-process) and a third-party call of injected latency. The AWS
   calls each variant makes per request are counted, so the table shows what the ratio
   is made of.
2. The handler against the calls it cannot avoid, made with plain boto3: one
   conditional ``put_item`` of the same item and one publish of the same message. With
   X-Ray active the handler runs in a worker process that has the Lambda tracing
   environment and sends its segments to a UDP port drained here.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from messaging import aws_client, new_event
from messaging.catalog import load_catalog
from messaging.publisher import message_attributes

from . import goals
from .harness import Harness, raw_client
from .report import Group, fact, ratio_row, row
from .stats import interleave


def inline_handler(system: Harness, third_party_s: float) -> Callable[[dict[str, Any]], Any]:
    """``POST /orders`` doing the downstream work itself instead of publishing an event."""
    store = importlib.import_module("orders_api.store")
    http = importlib.import_module("orders_api.http")
    orders = importlib.import_module("orders_api.orders")
    parse_request, response = http.parse_request, http.response
    event_data, new_order = orders.event_data, orders.new_order

    confirm = system.order_confirmation.confirm
    reserve_stock = system.inventory.reserve_stock
    wanted = system.inventory.wanted_quantities
    record_reserved = system.order_status.reserved

    def handle(event: dict[str, Any]) -> dict[str, Any]:
        request = parse_request(event)
        order = new_order(request.json())
        envelope = new_event("order.placed", event_data(order), correlation_id=request.request_id)
        store.put_order(order, envelope.to_json(), None)  # the same write as the real handler
        confirm(envelope)  # order_confirmation: the email through SES
        refusal = reserve_stock(wanted(envelope.data), token=envelope.id)  # inventory
        if refusal is not None:
            raise RuntimeError(f"stock refused in the benchmark: {refusal}")
        # order_status: the order's status after the reservation (inventory's
        # inventory.reserved event is not published: nothing inline needs it, nor the
        # delivery acknowledgement that clears the outbox).
        lines = [{"sku": sku, "quantity": n} for sku, n in wanted(envelope.data).items()]
        record_reserved(
            new_event("inventory.reserved", {"order_id": order["order_id"], "lines": lines})
        )
        time.sleep(third_party_s)  # the third-party call moto cannot stand in for
        answer: dict[str, Any] = response(
            202, {"order_id": order["order_id"], "status": "accepted"}
        )
        return answer

    return handle


def aws_calls(work: Callable[[], Any]) -> list[str]:
    """The AWS operations ``work`` makes through the package's clients (all the services use)."""
    made: list[str] = []

    def record(model: Any, **_: Any) -> None:
        made.append(f"{model.service_model.service_id} {model.name}")

    clients = [aws_client(name) for name in ("dynamodb", "ses", "sns")]
    for client in clients:
        client.meta.events.register("before-call", record, unique_id="bench-aws-calls")
    try:
        work()
    finally:
        for client in clients:
            client.meta.events.unregister("before-call", unique_id="bench-aws-calls")
    return made


def headline(system: Harness, *, rounds: int, iterations: int, third_party_ms: float) -> Group:
    group = Group(
        "headline",
        "1. POST /orders: event-driven (store, publish, return) vs downstream work inline",
    )
    inline = inline_handler(system, third_party_ms / 1000)
    event = system.post_orders_event

    def event_driven() -> None:
        answer = system.orders_api.handle(event())
        assert answer["statusCode"] == 202, answer

    calls = {
        "event-driven": aws_calls(event_driven),
        "inline": aws_calls(lambda: inline(event())),
    }
    samples = interleave(
        {"event-driven": event_driven, "inline": lambda: inline(event())},
        rounds=rounds,
        iterations=iterations,
        between_rounds=system.fresh,
        reset_every=20,
    )
    for variant in ("event-driven", "inline"):
        group.rows.append(row(f"{variant} p50", samples.stat(variant, 50), "ms"))
        group.rows.append(row(f"{variant} p99", samples.stat(variant, 99), "ms"))
    group.rows.append(
        ratio_row(
            "inline / event-driven p50",
            samples.ratio("inline", "event-driven", 50),
            goals.INLINE_OVER_EVENT_DRIVEN_P50,
        )
    )
    group.rows.append(
        ratio_row(
            "inline / event-driven p99",
            samples.ratio("inline", "event-driven", 99),
            goals.INLINE_OVER_EVENT_DRIVEN_P99,
        )
    )
    for variant, made in calls.items():
        group.rows.append(
            fact(f"{variant}: AWS calls per request", f"{len(made)}: {', '.join(made)}", "calls")
        )
    group.notes.append(
        f"inline = same write + SES send_email + stock transaction + status update + "
        f"{third_party_ms:g} ms injected third-party latency; {iterations} requests per variant "
        f"per round. With N inline calls, 2 event-driven ones and a round trip r, the ratio "
        f"is at most (N*r + {third_party_ms:g} ms) / (2*r)"
    )
    group.notes.extend(samples.error_notes())
    group.distributions = {v: samples.pooled(v) for v in ("event-driven", "inline")}
    return group


class XRayDaemon:
    """A UDP socket standing in for the X-Ray daemon: receives and counts segment documents."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"
        self.datagrams = 0
        self.subsegment_names: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.socket.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.datagrams += 1
            _, _, document = data.partition(b"\n")
            with contextlib.suppress(ValueError):
                self.subsegment_names.add(str(json.loads(document).get("name")))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.socket.close()


class TracedWorker:
    """``tools.bench.xray_worker``: orders_api with X-Ray active, one request per command."""

    def __init__(self, system: Harness, daemon_address: str) -> None:
        env = dict(os.environ) | system.env
        env |= {
            "AWS_LAMBDA_FUNCTION_NAME": "orders_api",
            "LAMBDA_TASK_ROOT": os.getcwd(),
            "AWS_XRAY_DAEMON_ADDRESS": daemon_address,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "_X_AMZN_TRACE_ID": trace_header(),
        }
        env.pop("MESSAGING_TRACING", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.bench.xray_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            bufsize=1,
        )
        self.last_ms = 0.0
        ready = self._read()
        if not ready.get("tracing_active"):
            raise RuntimeError(f"X-Ray is not active in the worker: {ready}")

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the X-Ray worker exited")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def run(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(answer["error"])
        self.last_ms = float(answer["ms"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def trace_header() -> str:
    """A sampled X-Ray trace header, as Lambda sets ``_X_AMZN_TRACE_ID`` per invocation."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled=1"


def floor(system: Harness, *, rounds: int, iterations: int, xray: bool = True) -> Group:
    group = Group("floor", "2. Distance to the floor: handler p50 vs the raw boto3 calls it needs")
    dynamodb = raw_client("dynamodb")
    sns = raw_client("sns")
    table = system.provisioned.tables["orders"]
    topic = system.provisioned.topic_arns["orders"]
    orders = importlib.import_module("orders_api.orders")
    template = orders.new_order(system.body)
    envelope = new_event("order.placed", orders.event_data(template))
    message = envelope.to_json()
    attributes = message_attributes(envelope, load_catalog().spec("order.placed"))
    from boto3.dynamodb.types import TypeSerializer

    serialize = TypeSerializer().serialize
    store = importlib.import_module("orders_api.store")
    written = template | store.owed_attributes(template, message)  # as put_order writes it
    item = {key: serialize(value) for key, value in written.items()}

    def write_and_publish() -> None:
        order_id = str(uuid.uuid4())
        dynamodb.put_item(
            TableName=table,
            Item=item | {"order_id": {"S": order_id}},
            ConditionExpression="attribute_not_exists(order_id)",
        )
        sns.publish(TopicArn=topic, Message=message, MessageAttributes=attributes)

    def handler() -> None:
        answer = system.orders_api.handle(system.post_orders_event())
        assert answer["statusCode"] == 202, answer

    variants: dict[str, Callable[[], Any]] = {
        "handler": handler,
        "floor": write_and_publish,
    }
    # Each comparison alternates its own two variants: in one cycle of three, the
    # in-process handler always ran right after the X-Ray worker, whose segment
    # documents this process was still draining, and paid for it (1.15x against 1.07x).
    samples = interleave(
        variants,
        rounds=rounds,
        iterations=iterations,
        between_rounds=system.fresh,
        reset_every=20,
    )
    daemon = worker = None
    try:
        if xray:
            daemon = XRayDaemon()
            worker = TracedWorker(system, daemon.address)
            traced = worker
            interleave(
                {"handler (X-Ray)": worker.run, "floor beside X-Ray": write_and_publish},
                between_rounds=system.fresh,
                timer={"handler (X-Ray)": lambda: traced.last_ms},
                samples=samples,
                rounds=rounds,
                iterations=iterations,
                reset_every=20,
            )
            variants["handler (X-Ray)"] = worker.run
            variants["floor beside X-Ray"] = write_and_publish
    finally:
        if worker is not None:
            worker.close()
        if daemon is not None:
            time.sleep(0.3)
            daemon.close()
    for variant in variants:
        group.rows.append(row(f"{variant} p50", samples.stat(variant, 50), "ms"))
    group.rows.append(
        ratio_row(
            "handler / floor p50 (no tracing)",
            samples.ratio("handler", "floor", 50),
            goals.HANDLER_OVER_FLOOR_P50,
        )
    )
    if xray:
        group.rows.append(
            ratio_row(
                "handler with X-Ray / floor p50",
                samples.ratio("handler (X-Ray)", "floor beside X-Ray", 50),
                goals.HANDLER_WITH_XRAY_OVER_FLOOR_P50,
            )
        )
    group.notes.append(
        "floor = plain boto3 conditional put_item (same item, as the handler writes it without "
        "an Idempotency-Key) + sns.publish (same message and attributes): the calls it cannot avoid"
    )
    if daemon is not None:
        names = ", ".join(sorted(daemon.subsegment_names)) or "none"
        group.notes.append(
            f"X-Ray: {daemon.datagrams} segment documents reached the local daemon port "
            f"(names: {names})"
        )
    group.notes.extend(samples.error_notes())
    group.distributions = {v: samples.pooled(v) for v in variants}
    group.samples = samples
    return group
