"""Figures 3 and 4: what the messaging package adds, and what batching saves.

3. ``messaging.publish`` against a raw ``sns.publish(Message=json.dumps(...))``; the
   consumer router's cost per event (parse, validate, dispatch; idempotency excluded,
   and included when the package has it) against a raw ``json.loads`` of the record.
4. 1,000 events through ``publish_many`` against 1,000 single ``publish`` calls: API
   calls made (counted with botocore's ``before-call`` hooks) and time per event.
"""

from __future__ import annotations

import importlib
import inspect
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from messaging import (
    Envelope,
    Router,
    aws_client,
    configure,
    new_event,
    publish,
    publish_many,
)
from messaging.catalog import load_catalog
from messaging.publisher import message_attributes
from tools.contract import sns_event

from . import goals
from .harness import Harness, raw_client, silence_logs
from .report import Group, fact, ratio_row, row
from .stats import Figure, Samples, interleave


def _order_data(system: Harness) -> dict[str, Any]:
    orders = importlib.import_module("orders_api.orders")
    data: dict[str, Any] = orders.event_data(orders.new_order(system.body))
    return data


RAW_SAME_WIRE = "raw sns.publish, same wire"


def publish_overhead(system: Harness, *, rounds: int, iterations: int) -> Group:
    group = Group("publish", "3a. messaging.publish vs raw sns.publish(json.dumps(...))")
    sns = raw_client("sns")
    topic = system.provisioned.topic_arns["orders"]
    data = _order_data(system)
    template = new_event("order.placed", data)
    wire_attributes = message_attributes(template, load_catalog().spec("order.placed"))

    def package() -> None:
        publish(new_event("order.placed", data))

    def raw() -> None:
        sns.publish(TopicArn=topic, Message=json.dumps({"id": str(uuid.uuid4()), "data": data}))

    def same_wire() -> None:
        # What the package sends, built once: the difference to ``package`` is its own code.
        sns.publish(TopicArn=topic, Message=template.to_json(), MessageAttributes=wire_attributes)

    samples = interleave(
        {"messaging.publish": package, "raw sns.publish": raw, RAW_SAME_WIRE: same_wire},
        rounds=rounds,
        iterations=iterations,
        between_rounds=system.fresh,
        reset_every=20,
    )
    for variant in ("messaging.publish", "raw sns.publish", RAW_SAME_WIRE):
        group.rows.append(row(f"{variant} p50", samples.stat(variant, 50), "ms"))
    group.rows.append(
        ratio_row(
            "messaging.publish / raw p50",
            samples.ratio("messaging.publish", "raw sns.publish", 50),
            goals.PUBLISH_OVER_RAW_P50,
        )
    )
    group.rows.append(
        ratio_row(
            "messaging.publish / raw with the same wire p50",
            samples.ratio("messaging.publish", RAW_SAME_WIRE, 50),
        )
    )
    group.rows.append(
        ratio_row(
            "raw with the same wire / raw p50",
            samples.ratio(RAW_SAME_WIRE, "raw sns.publish", 50),
        )
    )
    group.notes.extend(samples.error_notes())
    group.notes.append(
        "raw = sns.publish(json.dumps({id, data})), no attributes; same wire = plain boto3 "
        "sending the package's message and its six message attributes, built once. The "
        "package's code (manifest check, schema validation, envelope, size check, settings, "
        "client, tracing hook) is messaging.publish / same wire; the attributes and the "
        "longer envelope, handled by botocore and moto, are same wire / raw"
    )
    return group


_CACHE_KEY = {
    "raw json.loads": "raw",
    "router, idempotency excluded": "excluded",
    "router, idempotency included": "included",
}


def _idempotency_supported() -> bool:
    """Whether this messaging package has the idempotency layer (``TABLE_IDEMPOTENCY``)."""
    try:
        from messaging import idempotency  # noqa: F401
    except ImportError:
        return False
    return "idempotent" in inspect.signature(Router.on).parameters


def router_overhead(system: Harness, *, rounds: int, iterations: int, per_sample: int) -> Group:
    group = Group(
        "router",
        "3b. Consumer router per event (parse, validate, dispatch) vs raw json.loads",
    )
    data = _order_data(system)
    handled: list[str] = []

    def consume(event: Envelope) -> None:
        handled.append(event.id)

    excluded = Router()
    excluded.on("order.placed", idempotent=False)(consume)
    idempotency = _idempotency_supported()
    included = Router()
    included.on("order.placed", idempotent=True)(consume)
    silence_logs()

    def lambda_events(count: int) -> list[dict[str, Any]]:
        return [sns_event(new_event("order.placed", data)) for _ in range(count)]

    def raw_batch() -> None:
        for event in lambda_events_cache["raw"]:
            json.loads(event["Records"][0]["Sns"]["Message"])

    def excluded_batch() -> None:
        for event in lambda_events_cache["excluded"]:
            excluded.handle(event)

    def included_batch() -> None:
        table = system.provisioned.tables["idempotency"]
        configure(system.env, idempotency_table=table)
        try:
            for event in lambda_events_cache["included"]:
                included.handle(event)
        finally:
            configure(system.env)

    lambda_events_cache: dict[str, list[dict[str, Any]]] = {}

    # The idempotency layer makes two DynamoDB calls per event: fewer events per sample.
    per_sample_included = max(2, per_sample // 20)

    def refill() -> None:  # fresh event ids each sample: idempotency must not skip them
        for key in ("raw", "excluded"):
            lambda_events_cache[key] = lambda_events(per_sample)
        lambda_events_cache["included"] = lambda_events(per_sample_included)

    variants: dict[str, Callable[[], Any]] = {
        "raw json.loads": raw_batch,
        "router, idempotency excluded": excluded_batch,
    }
    if idempotency:
        variants["router, idempotency included"] = included_batch
    samples = Samples()
    for round_index in range(rounds):
        for _ in range(iterations):
            refill()
            for name, work in variants.items():
                started = time.perf_counter()
                work()
                events = len(lambda_events_cache[_CACHE_KEY[name]])
                samples.add(name, round_index, (time.perf_counter() - started) * 1e6 / events)
    for name in variants:
        per_event = samples.stat(name, 50)
        group.rows.append(row(f"{name}: per event", per_event, "us"))
        group.rows.append(
            row(
                f"{name}: events/s per core",
                Figure(
                    1e6 / per_event.median,
                    1e6 / per_event.high,
                    1e6 / per_event.low,
                    per_event.rounds,
                ),
                "ev/s",
            )
        )
    group.rows.append(
        ratio_row(
            "router (excluded) / raw json.loads",
            samples.ratio("router, idempotency excluded", "raw json.loads", 50),
        )
    )
    if idempotency:
        group.rows.append(
            ratio_row(
                "router (included) / raw json.loads",
                samples.ratio("router, idempotency included", "raw json.loads", 50),
            )
        )
    else:
        group.rows.append(
            fact(
                "router, idempotency included",
                "not measured: the idempotency layer is not in the messaging package yet",
            )
        )
    group.notes.append(
        f"one SNS record per Lambda event, {per_sample} events per sample "
        f"({per_sample_included} with idempotency: its DynamoDB put and update go to moto); "
        "JSON log lines formatted and written to /dev/null; a no-op handler"
    )
    return group


def batching(system: Harness, *, chunks: int, chunk: int) -> Group:
    """``chunks`` interleaved rounds of ``chunk`` events each way, on fresh queues each round."""
    total = chunks * chunk
    group = Group(
        "batching",
        f"4. {total:,} events: publish_many vs single publishes ({chunks} rounds of {chunk})",
    )
    data = _order_data(system)
    calls = {"Publish": 0, "PublishBatch": 0}
    client = aws_client("sns")

    def count(operation: str) -> Callable[..., None]:
        def hook(**_: Any) -> None:
            calls[operation] += 1

        return hook

    client.meta.events.register("before-call.sns.Publish", count("Publish"))
    client.meta.events.register("before-call.sns.PublishBatch", count("PublishBatch"))
    made = {"publish_many": 0, "single publish": 0}

    def many() -> None:
        publish_many(new_event("order.placed", data) for _ in range(chunk))

    def single() -> None:
        for _ in range(chunk):
            publish(new_event("order.placed", data))

    samples = Samples()
    for round_index in range(chunks):
        order = [("publish_many", many), ("single publish", single)]
        if round_index % 2:
            order.reverse()
        for name, work in order:
            system.purge_observers()
            before = calls["PublishBatch"] + calls["Publish"]
            started = time.perf_counter()
            try:
                work()
            except Exception as error:
                samples.error(name, error)
                continue
            samples.add(name, round_index, (time.perf_counter() - started) * 1000 / chunk)
            made[name] += calls["PublishBatch"] + calls["Publish"] - before
    for name in ("publish_many", "single publish"):
        group.rows.append(
            fact(f"{name}: API calls", f"{made[name]:,} for {total:,} events", "calls")
        )
        group.rows.append(row(f"{name}: time per event", samples.stat(name, 50), "ms"))
    group.rows.append(
        ratio_row(
            "single / publish_many time per event",
            samples.ratio("single publish", "publish_many", 50),
            goals.SINGLE_OVER_PUBLISH_MANY_PER_EVENT,
        )
    )
    group.notes.extend(samples.error_notes())
    group.notes.append(
        "moto handles each PublishBatch entry like a single publish, fan-out included; in "
        "AWS each call saved is a network round trip"
    )
    return group
