"""Fault-injection suite: publish N events through the local system while things go wrong,
then account for every one of them, once for each way a consumer can be fed: subscribed
directly (SNS invokes it asynchronously, Lambda retries, the on-failure queue) and through
its SQS queue (the event source mapping's batches, partial batch failures, the queue's
dead-letter queue).

Injected: handler failures that strike once (half before the handler runs, half after,
with the response lost), failures that strike every attempt, workers killed
mid-invocation and handlers that stall past the function's timeout (each once, before or
after the handler), SNS notifications delivered twice, and throttled ``PublishBatch``
calls on the publishing side. Through a queue, a failure strikes its record alone
(reported in ``batchItemFailures``), a crash or stall the whole batch, and a duplicate is
a second copy of the message on the queue. The events are digital orders, so
``order_confirmation`` (one email per order) is their consumer.

Accounting: every order has exactly one confirmation email or its event is in a
dead-letter queue (the function's on-failure queue or the subscription queue's); none has
two; none is missing.

    python -m tools.reliability [--events 1000] [--delivery direct,queue]
        [--json bench/reliability.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
from botocore.awsrequest import AWSResponse

import messaging
from messaging import Envelope, PublishError, new_event, publish_many
from messaging.queue_records import as_sns_record
from tools.contract import REGION, lambda_environment, load_fixture, use_endpoint
from tools.dead_letters import receive_all
from tools.local.client import sent_emails
from tools.local.system import DEFAULT_CONCURRENCY, Faults, Options, System
from tools.progress import Progress
from tools.reliability_timeline import Timeline, tail, timelines

CONSUMER = "order_confirmation"
DELIVERIES = ("direct", "queue")
# The invocation sources of each delivery kind in the system's records.
SOURCES = {"direct": ("sns", "duplicate"), "queue": ("sqs",)}
# What a stalled handler costs: it holds a worker this long before it is killed and retried.
# Longer than any healthy handler runs (one killed after sending its email but
# before marking the event done would send it again on the retry, as in Lambda): the
# slowest are the first invocation on a fresh worker, 1.2-2.4 s at load 2-5, the others
# under 0.4 s (docs/performance.md, reliability).
CONSUMER_TIMEOUT_S = 4.0
PUBLISHER = "orders_api"
# orders_api's instances publishing at once, as many Lambda invocations of it would: one
# publisher's throttle backoff (botocore's, up to a second or two a call) no longer
# holds back every event behind it. Through a queue too, since the local moto's SQS no
# longer counts the queue on every send and receive (four publishers starved the
# mapping's polls while it did: docs/performance.md, "Reliability at scale").
PUBLISHERS = 4
PUBLISH_BATCH = 10  # orders per publish_many call: one PublishBatch
ORDER_ID = re.compile(r'"order_id": ?"([^"]+)"')
THROTTLE_BODY = (
    b'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender'
    b"</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    b"<RequestId>injected</RequestId></ErrorResponse>"
)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


@dataclass
class Throttle:
    """Answers a fraction of ``PublishBatch`` calls with SNS's 400 Throttling error.

    Drawn per call (the orders it carries, and how many times they were sent before),
    not per call made, so a seed throttles the same calls however the concurrent
    publishers interleave.
    """

    rate: float
    seed: str
    calls: int = 0
    throttled: int = 0
    _sent: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
        orders = ",".join(sorted(set(ORDER_ID.findall(unquote_plus(body)))))
        with self._lock:
            self.calls += 1
            self._sent[orders] += 1
            draw = random.Random(f"{self.seed}:{orders}:{self._sent[orders]}").random()
            if draw >= self.rate:
                return None
            self.throttled += 1
        return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, _Raw(THROTTLE_BODY))


@dataclass
class Report:
    events: int
    faults: dict[str, float]
    delivery: str = "direct"
    figures: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    # order id -> what happened to it, for each order not handled exactly once nor only
    # dead-lettered: what a failed run must show to be understood
    unbalanced: dict[str, dict[str, Any]] = field(default_factory=dict)
    timelines: list[Timeline] = field(default_factory=list)  # one per event
    tail: str = ""  # what the last 1% of the events waited on

    @property
    def balanced(self) -> bool:
        f = self.figures
        return (
            f["handled_exactly_once"] + f["dead_lettered"] == self.events
            and f["handled_twice_or_more"] == 0
            and f["unaccounted"] == 0
            and f["handled_and_dead_lettered"] == 0
        )

    def table(self) -> str:
        return table([self])


def table(reports: list[Report]) -> str:
    """One column per delivery kind; a figure a kind does not have shows as ``-``."""
    names: dict[str, None] = {"events published": None}
    columns: list[dict[str, Any]] = []
    for report in reports:
        column: dict[str, Any] = {"events published": report.events}
        column |= {name.replace("_", " "): value for name, value in report.figures.items()}
        column |= {f"{name} (s)": round(value, 1) for name, value in report.seconds.items()}
        columns.append(column)
        names |= dict.fromkeys(column)
    width = max(len(name) for name in names)
    heads = [report.delivery for report in reports]
    cell = max(12, *(len(head) for head in heads))
    lines = [f"{'delivery':<{width}}" + "".join(f"  {head:>{cell}}" for head in heads)]
    for name in names:
        values = (str(column.get(name, "-")) for column in columns)
        lines.append(f"{name:<{width}}" + "".join(f"  {value:>{cell}}" for value in values))
    verdicts = ("BALANCED" if report.balanced else "NOT BALANCED" for report in reports)
    lines.append(f"{'':<{width}}" + "".join(f"  {verdict:>{cell}}" for verdict in verdicts))
    return "\n".join(lines)


def _orders(count: int, seed: str) -> list[dict[str, Any]]:
    template = load_fixture("order.placed")
    return [
        {**template, "order_id": f"{seed}-{n:05d}", "fulfilment": "digital"} for n in range(count)
    ]


def _publish(
    system: System, orders: list[dict[str, Any]], throttle: Throttle, publishers: int
) -> tuple[dict[str, int], dict[str, float]]:
    """Publish as orders_api would, from ``publishers`` concurrent instances, 10 orders a
    call, re-publishing (same ids) whatever a throttle refused after botocore's retries;
    the figures, and when (``time.time()``) each order was published."""
    assert system.provisioned
    messaging.reset()
    messaging.configure(
        lambda_environment(PUBLISHER, environment="local", topic_arns=system.provisioned.topic_arns)
    )
    # created here, once: the publishers share it (botocore clients are thread-safe)
    messaging.aws_client("sns").meta.events.register(
        "before-send.sns.PublishBatch", throttle, unique_id="reliability-throttle"
    )
    events = [new_event("order.placed", order) for order in orders]
    chunks = [
        events[start : start + PUBLISH_BATCH] for start in range(0, len(events), PUBLISH_BATCH)
    ]
    published: dict[str, float] = {}
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def publisher(mine: list[list[Envelope]]) -> None:
        for chunk in mine:
            pending, rounds = chunk, 0
            while pending:
                rounds += 1
                try:
                    publish_many(pending)
                    pending = []
                except PublishError as error:
                    pending = [event for event in pending if event.id in error.failures]
                    with lock:
                        counts["events_republished_by_producer"] += len(pending)
                    time.sleep(0.05 * rounds)
            with lock:
                counts["publish_rounds"] = max(counts["publish_rounds"], rounds)
                published.update(dict.fromkeys((e.data["order_id"] for e in chunk), time.time()))

    threads = [
        threading.Thread(target=publisher, args=(chunks[n::publishers],), daemon=True)
        for n in range(publishers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    messaging.reset()
    if len(published) != len(orders):
        raise RuntimeError(f"published {len(published)} of {len(orders)} orders")
    return {"publish_rounds": 0, "events_republished_by_producer": 0, **counts}, published


def _wait_until_quiet(system: System, timeout_s: float) -> float:
    """Until no invocation is queued, waiting to retry or running, for 1.5 s on end; when
    (``time.perf_counter()``) that quiet began.

    Deliveries need no watching: moto POSTs each notification to the system's receiver
    before it answers the publish, so every published event is already queued.
    """
    deadline = time.perf_counter() + timeout_s
    quiet_since: float | None = None
    while time.perf_counter() < deadline:
        if not system.idle():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.perf_counter()
        elif time.perf_counter() - quiet_since > 1.5:
            return quiet_since
        time.sleep(0.2)
    raise TimeoutError(f"events still in flight after {timeout_s:.0f} s")


def _progress(system: System, events: int, delivery: str) -> str:
    counts = system.recorder.counts if system.recorder else Counter()
    handled = sum(counts[(source, True)] for source in SOURCES[delivery])
    failed = sum(counts[(source, False)] for source in SOURCES[delivery])
    if delivery == "queue":
        mapped = system.mappings.counts if system.mappings else Counter()
        return (
            f"{delivery}: {events:,} events  batches ok {handled:,}  failed {failed:,}  "
            f"records failed {mapped['records_failed']:,}  "
            f"dead-lettered {mapped['dead_lettered']:,}"
        )
    # moto delivers while it answers the publish; a producer's re-publish is delivered again
    delivered = system.delivery.received if system.delivery else 0
    return (
        f"{delivery}: delivered {delivered:,} (of {events:,} events)  invocations ok "
        f"{handled:,}  failed {failed:,}  dead-lettered {counts[('dlq', False)]:,}"
    )


def _order_id(record: dict[str, Any]) -> str:
    """The order in a Lambda record: an SNS record, or an SQS one whose body SNS sent."""
    sns = record if "Sns" in record else as_sns_record(record, 0)
    return str(json.loads(sns["Sns"]["Message"])["data"]["order_id"])


def _dead_letters(system: System, sqs: Any) -> Counter[str]:
    """Order id -> letters in the consumer's dead-letter queues.

    The on-failure queue holds Lambda's destination records (and the router's poison
    records), each carrying the invocation's event; a subscription queue's dead-letter
    queue holds the messages SNS sent, as they were.
    """
    assert system.provisioned
    dead: Counter[str] = Counter()
    for letter in receive_all(sqs, system.provisioned.dead_letter_queues[CONSUMER], 60):
        payload = json.loads(letter["Body"])["requestPayload"]
        for record in payload["Records"]:
            dead[_order_id(record)] += 1
    for queue in system.mappings.queues if system.mappings else []:
        if queue.service != CONSUMER:
            continue
        for letter in receive_all(sqs, queue.dead_letter_url, 60):
            dead[_order_id({"eventSource": "aws:sqs", "body": letter["Body"]})] += 1
    return dead


def _account(
    system: System, orders: list[dict[str, Any]]
) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
    assert system.provisioned
    emails: Counter[str] = Counter()
    for message in sent_emails(system.endpoint_url, timeout_s=300):
        subject = str(message.get("subject", ""))
        emails[subject.removeprefix("Order ").removesuffix(" confirmed")] += 1
    sqs = boto3.client("sqs", endpoint_url=system.endpoint_url, region_name=REGION)
    dead = _dead_letters(system, sqs)
    ids = [order["order_id"] for order in orders]
    once = sum(1 for i in ids if emails[i] == 1 and not dead[i])
    balanced = {i for i in ids if (emails[i], bool(dead[i])) in {(1, False), (0, True)}}
    unbalanced = {i: (emails[i], dead[i]) for i in ids if i not in balanced}
    return unbalanced, {
        "handled_exactly_once": once,
        "dead_lettered": sum(1 for i in ids if dead[i] and not emails[i]),
        "handled_twice_or_more": sum(1 for i in ids if emails[i] > 1),
        "handled_and_dead_lettered": sum(1 for i in ids if emails[i] and dead[i]),
        "unaccounted": sum(1 for i in ids if not emails[i] and not dead[i]),
    }


def run(
    events: int,
    *,
    delivery: str = "direct",
    transient: float = 0.10,
    permanent: float = 0.01,
    duplicate: float = 0.05,
    throttle: float = 0.2,
    crash: float = 0.01,
    stall: float = 0.005,
    seed: str | None = None,
    timeout_s: float = 600,
    state_dir: Path | None = None,
    consumer_timeout_s: float = CONSUMER_TIMEOUT_S,
    backoff_s: float = 1.0,
    publishers: int = PUBLISHERS,
) -> Report:
    if delivery not in DELIVERIES:
        raise ValueError(f"delivery must be one of {', '.join(DELIVERIES)}, got {delivery!r}")
    seed = seed or uuid.uuid4().hex[:8]
    state_dir = state_dir or Path(".local") / "reliability"
    struck = state_dir / "faults-struck"
    shutil.rmtree(struck, ignore_errors=True)
    struck.mkdir(parents=True)
    faults = Faults(
        transient, permanent, duplicate, seed, crash=crash, timeout=stall, struck_dir=str(struck)
    )
    options = Options(
        http_port=0,
        moto_port=0,
        state_dir=state_dir,
        # A stalled handler holds a worker until its timeout: a short one keeps the run short.
        timeout_overrides={CONSUMER: consumer_timeout_s},
        # Through the queue as many batches at once as the direct kind has workers (the
        # manifest's 2 left the last events waiting behind the backlog); the faults, the
        # visibility timeout, the receives before the dead-letter queue are the manifest's.
        mapping_overrides={CONSUMER: {"maximum_concurrency": DEFAULT_CONCURRENCY}},
        services=[CONSUMER],
        # "direct": the asynchronous invoke path (retries, on-failure queue), even where
        # the manifest asks for a queue; "queue": the manifest's queue and its mapping.
        queue_delivery=delivery == "queue",
        # Lambda waits about a minute before a retry, far longer than a handler runs; a
        # retry much sooner than the handler takes would find a duplicate's claim still
        # in progress on every attempt and dead-letter an event another worker handles.
        backoff_s=backoff_s,
        faults=faults,
        color=False,
        quiet=True,
    )
    report = Report(
        events,
        {
            "transient": transient,
            "permanent": permanent,
            "duplicate": duplicate,
            "throttle": throttle,
            "crash": crash,
            "timeout": stall,
        },
        delivery,
    )
    system = System(options)
    saved = dict(os.environ)
    try:
        started = time.perf_counter()
        system.start()
        use_endpoint(system.endpoint_url)
        report.seconds["start"] = time.perf_counter() - started
        orders = _orders(events, seed)
        gate = Throttle(throttle, seed)
        started, first_publish = time.perf_counter(), time.time()
        with Progress(lambda: _progress(system, events, delivery)):
            figures, published = _publish(system, orders, gate, publishers)
            report.figures.update(figures)
            report.figures["publish_batch_calls"] = gate.calls
            report.figures["publish_batch_calls_throttled"] = gate.throttled
            report.seconds["publish"] = time.perf_counter() - started
            quiet = _wait_until_quiet(system, timeout_s)
        # the 1.5 s spent confirming the quiet is not part of the run
        report.seconds["publish_to_quiet"] = quiet - started
        mapped = system.mappings.counts if system.mappings else {}
        report.figures["duplicate_deliveries_injected"] = (
            mapped["duplicated"]
            if delivery == "queue"
            else sum(1 for r in system.invocations if r.get("source") == "duplicate")
        )
        runs = [r for r in system.invocations if r.get("source") in SOURCES[delivery]]
        report.figures["invocations"] = len(runs)
        report.figures["failed_invocations"] = sum(1 for r in runs if not r["ok"])
        if delivery == "queue":
            report.figures["records_received"] = sum(r.get("batch_size", 0) for r in runs)
            report.figures["records_failed"] = mapped["records_failed"]
        errors = Counter(r.get("error_type") for r in runs if not r["ok"])
        report.figures["workers_killed_mid_invocation"] = errors["Runtime.ExitError"]
        report.figures["handlers_timed_out"] = errors["Sandbox.Timedout"]
        runs_and_letters = [*runs, *(r for r in system.invocations if r.get("source") == "dlq")]
        report.timelines = timelines(published, runs_and_letters, first_publish)
        report.tail = tail(report.timelines)
        unbalanced, figures = _account(system, orders)
        report.figures.update(figures)
        report.unbalanced = {
            order_id: {"emails": emails, "dead_letters": dead, "invocations": [
                {k: r.get(k) for k in ("source", "attempt", "ok", "error_type", "start", "end")}
                for r in system.invocations
                if order_id == r.get("order_id") or order_id in (r.get("order_ids") or ())
            ]}
            for order_id, (emails, dead) in unbalanced.items()
        }  # fmt: skip
    finally:
        system.stop()
        os.environ.clear()
        os.environ.update(saved)
        messaging.reset()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument(
        "--delivery",
        type=_deliveries,
        default=list(DELIVERIES),
        help=f"comma-separated delivery kinds, each run in turn (default {','.join(DELIVERIES)})",
    )
    parser.add_argument("--transient", type=float, default=0.10)
    parser.add_argument("--permanent", type=float, default=0.01)
    parser.add_argument("--duplicates", type=float, default=0.05)
    parser.add_argument("--throttle", type=float, default=0.2)
    parser.add_argument("--crashes", type=float, default=0.01, help="workers killed, once")
    parser.add_argument("--timeouts", type=float, default=0.005, help="handlers stalled, once")
    parser.add_argument("--seed")
    parser.add_argument(
        "--publishers",
        type=int,
        default=PUBLISHERS,
        help=f"concurrent publishers (default {PUBLISHERS})",
    )
    parser.add_argument("--json", type=Path, default=Path("bench") / "reliability.json")
    args = parser.parse_args(argv)
    reports = [
        run(
            args.events,
            delivery=delivery,
            transient=args.transient,
            permanent=args.permanent,
            duplicate=args.duplicates,
            throttle=args.throttle,
            crash=args.crashes,
            stall=args.timeouts,
            seed=args.seed,
            publishers=args.publishers,
        )
        for delivery in args.delivery
    ]
    print(table(reports))
    for report in reports:
        print(f"{report.delivery} {report.tail}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        report.delivery: {
            "events": report.events,
            "faults": report.faults,
            "figures": report.figures,
            "seconds": report.seconds,
            "balanced": report.balanced,
            "unbalanced": report.unbalanced,
            "tail": report.tail,
        }
        for report in reports
    }
    for report in reports:
        for order_id, what in report.unbalanced.items():
            print(f"{report.delivery}: {order_id} unbalanced: {json.dumps(what)}")
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    for report in reports:  # every event's timeline, one JSON line each, beside the summary
        lines = args.json.with_name(f"{args.json.stem}-{report.delivery}-timeline.jsonl")
        lines.write_text("".join(json.dumps(t.as_dict()) + "\n" for t in report.timelines))
    return 0 if all(report.balanced for report in reports) else 1


def _deliveries(text: str) -> list[str]:
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [kind for kind in kinds if kind not in DELIVERIES]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(
            f"delivery kinds are {', '.join(DELIVERIES)}; got {text!r}"
        )
    return kinds


if __name__ == "__main__":
    sys.exit(main())
