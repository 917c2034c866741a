"""``make demo``: start the system, place an order over HTTP, follow the chain, check it.

Prints the event flow as a tree (which service handled which event and how long each
hop took) and exits non-zero, naming the step, when an outcome is missing or late.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime
from typing import Any

import boto3

from tools.contract import REGION, load_fixture

from .client import customer_token, sent_emails
from .system import LocalError, Options, System
from .traces import conversation_trace, read_spans, trace_tree

# What a physical order must cause: (service, event type) handled successfully.
EXPECTED_HOPS = [
    ("order_confirmation", "order.placed"),
    ("inventory", "order.placed"),
    ("order_status", "inventory.reserved"),
]


class DemoFailure(RuntimeError):
    """A step of the demo failed; the message says which and why."""


def _http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
        url, data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def flow_tree(invocations: list[dict[str, Any]], root: dict[str, Any]) -> list[str]:
    """The invocations caused by ``root``, as tree lines: each event under its publisher."""
    lines = [
        f"{root.get('route')}  ->  {root['service']}  {root.get('status', '')}  "
        f"{root.get('duration_ms', 0):.0f} ms"
    ]

    def children(parent: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        by_event: dict[str, list[dict[str, Any]]] = {}
        for item in invocations:
            published = _epoch(item.get("event_time"))
            if (
                item.get("source") in ("sns", "sqs")  # direct, or queue delivery
                and item.get("event_source") == parent["service"]
                and published is not None
                and parent["start"] - 0.05 <= published <= parent["end"] + 0.05
            ):
                by_event.setdefault(str(item["event_id"]), []).append(item)
        return by_event

    def walk(parent: dict[str, Any], indent: str) -> None:
        events = list(children(parent).items())
        for index, (event_id, handled) in enumerate(events):
            last = index == len(events) - 1
            first = handled[0]
            lines.append(
                f"{indent}{'└─' if last else '├─'} {first['event_type']} "
                f"(event {event_id[:8]}, published by {parent['service']})"
            )
            inner = indent + ("   " if last else "│  ")
            handled.sort(key=lambda i: (i["service"], i["start"]))
            for position, item in enumerate(handled):
                end = position == len(handled) - 1
                published = _epoch(item.get("event_time")) or item["start"]
                delivery = (item["start"] - published) * 1000
                outcome = "ok" if item["ok"] else f"FAILED {item.get('error_type')}"
                attempt = f" attempt {item['attempt']}" if item.get("attempt", 1) > 1 else ""
                via = (
                    f"through its queue (batch of {item.get('batch_size', 1)}), "
                    if item.get("source") == "sqs"
                    else ""
                )
                lines.append(
                    f"{inner}{'└─' if end else '├─'} {item['service']:<20} {outcome}{attempt}  "
                    f"{via}delivered after {delivery:.0f} ms, "
                    f"ran {item.get('duration_ms', 0):.0f} ms"
                )
                walk(item, inner + ("   " if end else "│  "))

    walk(root, "")
    return lines


def _wait_for_chain(system: System, correlation_id: str, timeout_s: float) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        done = {
            (i["service"], i["event_type"])
            for i in list(system.invocations)
            if i.get("correlation_id") == correlation_id and i["ok"]
        }
        failed = [
            i
            for i in list(system.invocations)
            if i.get("correlation_id") == correlation_id and not i["ok"]
        ]
        if failed:
            first = failed[0]
            raise DemoFailure(
                f"{first['service']} failed on {first['event_type']}: "
                f"{first.get('error_type')}: {first.get('error_message')}"
            )
        if all(hop in done for hop in EXPECTED_HOPS):
            return
        time.sleep(0.05)
    missing = [f"{s} handling {t}" for s, t in EXPECTED_HOPS if (s, t) not in done]
    raise DemoFailure(f"timed out after {timeout_s:.0f} s waiting for: {', '.join(missing)}")


def _check(label: str, ok: bool, detail: str, results: list[tuple[str, bool, str]]) -> None:
    results.append((label, ok, detail))


def run_demo(options: Options, timeout_s: float = 30.0) -> int:
    started = time.perf_counter()
    system = System(options)
    console = system.console
    try:
        system.start()
        assert system.front_door
        assert system.provisioned
        base = f"http://127.0.0.1:{system.front_door.port}"
        body = load_fixture("post-orders.body")
        dynamodb = boto3.resource("dynamodb", endpoint_url=system.endpoint_url, region_name=REGION)
        stock = dynamodb.Table(system.provisioned.tables["stock"])
        before = {
            item["sku"]: int(stock.get_item(Key={"sku": item["sku"]})["Item"]["available"])
            for item in body["items"]
        }
        console.system(f"placing a sample order: POST {base}/orders")
        placed_at = time.perf_counter()
        status, answer = _http("POST", f"{base}/orders", body)
        if status != 202:
            raise DemoFailure(f"POST /orders answered {status}: {answer}")
        order_id = answer["order_id"]
        root = next(
            i
            for i in reversed(system.invocations)
            if i["service"] == "orders_api" and i.get("source") == "http"
        )
        correlation_id = root["request_id"]
        _wait_for_chain(system, correlation_id, timeout_s)
        chain_s = time.perf_counter() - placed_at

        results: list[tuple[str, bool, str]] = []
        status, order = _http("GET", f"{base}/orders/{order_id}")
        _check("order stored", status == 200, f"GET /orders/{order_id} -> {status}", results)
        _check(
            "order status is 'reserved' (the follow-up event was handled)",
            isinstance(order, dict) and order.get("status") == "reserved",
            f"status={order.get('status') if isinstance(order, dict) else order!r}",
            results,
        )
        _check(
            "the public read carries no e-mail address",
            body["customer_email"] not in json.dumps(order),
            f"GET /orders/{order_id} answers {sorted(order) if isinstance(order, dict) else order}",
            results,
        )
        receipt_url = f"{base}/orders/{order_id}/receipt"
        status, _ = _http("GET", receipt_url)
        _check("the receipt needs a token", status == 401, f"without one -> {status}", results)
        token = customer_token(system.state(), body["customer_email"])
        status, receipt = _http("GET", receipt_url, token=token)
        _check(
            "the customer's token reads the receipt",
            status == 200 and receipt.get("customer_email") == body["customer_email"],
            f"with a token of the local issuer -> {status}",
            results,
        )
        after = {sku: int(stock.get_item(Key={"sku": sku})["Item"]["available"]) for sku in before}
        wanted: dict[str, int] = {}
        for item in body["items"]:
            wanted[item["sku"]] = wanted.get(item["sku"], 0) + item["quantity"]
        _check(
            "stock reserved",
            all(before[s] - after[s] == wanted[s] for s in before),
            ", ".join(f"{s}: {before[s]} -> {after[s]}" for s in before),
            results,
        )
        emails = [
            m for m in sent_emails(system.endpoint_url) if order_id in json.dumps(m, default=str)
        ]
        _check(
            "confirmation email sent",
            len(emails) == 1,
            f"{len(emails)} email(s) about the order in moto's SES to {body['customer_email']}",
            results,
        )

        assert system.traces
        spans, problems = conversation_trace(read_spans(system.traces.path), correlation_id)
        consumers = sum(1 for s in spans if s["kind"] == "CONSUMER")
        _check(
            "one trace across both hops, each consumer span linked to its producer",
            not problems and consumers >= len(EXPECTED_HOPS),
            "; ".join(problems) or f"{len(spans)} spans, {consumers} consumer spans linked",
            results,
        )

        print()
        print("Event flow:")
        for line in flow_tree(list(system.invocations), root):
            print(f"  {line}")
        print()
        print(f"Trace (OpenTelemetry, from {system.traces.path}):")
        for trace_id in sorted({s["trace_id"] for s in spans}):
            for line in trace_tree(spans, trace_id):
                print(f"  {line}")
        print()
        print("Checks:")
        for label, ok, detail in results:
            print(f"  {'PASS' if ok else 'FAIL'}  {label}  ({detail})")
        print()
        failed = [label for label, ok, _ in results if not ok]
        total = time.perf_counter() - started
        print(
            f"order {order_id}: chain complete in {chain_s * 1000:.0f} ms; demo took {total:.1f} s"
        )
        if failed:
            print(f"demo FAILED: {'; '.join(failed)}")
            return 1
        print("demo passed")
        return 0
    except (DemoFailure, LocalError) as error:
        print(f"demo FAILED: {error}")
        return 1
    finally:
        system.stop()
