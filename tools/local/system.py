"""The local system: moto provisioned from the declarations, each function's workers scaled
to its concurrency, SNS delivery with Lambda's asynchronous semantics, an HTTP front door.

Everything binds to 127.0.0.1. Child processes run in their own session (a terminal's
Ctrl-C reaches only this process, which then stops them in order) and die with it.
The parts: ``processes`` (ports, moto, children), ``worker_host`` (a function's
execution environments), ``invoker`` (concurrency, retries, on-failure), ``delivery``
(SNS fan-out to an HTTP receiver, schedules), ``frontdoor`` (HTTP), ``invocations`` (the log).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tools import declarations
from tools.contract import REGION, Provisioned, on_failure_record, provision, use_endpoint

from . import artifacts, tokens
from .console import Console
from .delivery import Delivery
from .event_source_mapping import EventSourceMappings
from .frontdoor import FrontDoor, routes
from .invocations import Recorder, describe_event
from .invoker import EVENT_AGE_EXCEEDED, AsyncInvoker, Pending
from .processes import ENVIRONMENT, HERE, HOST, LocalError, free_port, start_moto, stop_process
from .traces import TraceCollector
from .worker import Faults
from .worker_host import Worker, WorkerPool, worker_environment

__all__ = ["SEED_FILE", "Faults", "LocalError", "Options", "System"]

SEED_FILE = HERE / "seed.json"
DEFAULT_CONCURRENCY = 4  # per function; Lambda's is the account's 1,000 or the reserved concurrency


@dataclass
class Options:
    http_port: int = 3000
    moto_port: int = 4566
    state_dir: Path = artifacts.LOCAL
    services: list[str] | None = None  # None: every service
    backoff_s: float = 1.0  # first retry delay, doubled each retry (AWS: about 1, then 2 min)
    deliver: bool = True  # subscribe the services to their topics and deliver
    # False: queue-delivered subscriptions are delivered directly too (the reliability
    # suite runs its faults on both paths)
    queue_delivery: bool = True
    build: bool = True
    seed: Path | None = SEED_FILE
    fail_services: frozenset[str] = frozenset()
    faults: Faults | None = None  # fault injection for the reliability suite
    verbose: bool = False
    color: bool | None = None
    quiet: bool = False  # no line per invocation (thousands of them in the reliability suite)
    concurrency: int = DEFAULT_CONCURRENCY  # workers per function at most
    concurrency_overrides: dict[str, int] = field(default_factory=dict)  # per service name
    timeout_overrides: dict[str, float] = field(default_factory=dict)  # s, per service name
    # per service name: its queue mappings' settings changed, as UpdateEventSourceMapping
    mapping_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The functions' AWS endpoint when it is not moto's own: the bench puts a loopback
    # proxy there that delays every call by an AWS-like round trip (tools.bench.rtt_proxy).
    functions_endpoint_url: str | None = None

    def concurrency_of(self, service: str) -> int:
        return self.concurrency_overrides.get(service, self.concurrency)


class System:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.stopping = threading.Event()
        self.all_services = declarations.services()
        names = options.services or list(self.all_services)
        unknown = [n for n in names if n not in self.all_services]
        if unknown:
            raise LocalError(
                f"unknown service(s) {', '.join(unknown)}; valid: {', '.join(self.all_services)}"
            )
        self.services = {n: self.all_services[n] for n in names}
        self.state_dir = options.state_dir
        self.console = Console(options.color)
        self.moto: subprocess.Popen[bytes] | None = None
        self.endpoint_url = ""
        self.provisioned: Provisioned | None = None
        self.workers: dict[str, WorkerPool] = {}
        self.invokers: dict[str, AsyncInvoker] = {}
        self.delivery: Delivery | None = None
        self.mappings: EventSourceMappings | None = None
        self.front_door: FrontDoor | None = None
        self.recorder: Recorder | None = None
        self.traces: TraceCollector | None = None
        self.started_at = 0.0

    @property
    def invocations(self) -> list[dict[str, Any]]:
        return self.recorder.invocations if self.recorder else []

    @property
    def subscription_endpoints(self) -> dict[str, dict[str, str]]:
        """service -> topic -> the HTTP endpoint its subscription delivers to."""
        return self.delivery.endpoints if self.delivery else {}

    def start(self) -> None:
        """Build what is stale, start and provision moto, start the workers and delivery."""
        t0 = time.perf_counter()
        self.started_at = time.time()
        opts = self.options
        http_port = free_port(opts.http_port, "HTTP front door", "--port / LOCAL_PORT")
        moto_port = free_port(opts.moto_port, "moto server", "--moto-port / LOCAL_MOTO_PORT")
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.recorder = Recorder(
            self.state_dir / "invocations.jsonl", self.console, quiet=opts.quiet
        )
        if opts.build:
            self.console.system(f"building stale artifacts for {', '.join(self.services)}")
            artifacts.ensure_built(list(self.services))
        runnables = {name: artifacts.runnable(name) for name in self.services}
        for name, runnable in runnables.items():
            if runnable.foreign:
                self.console.system(
                    f"{name}: {', '.join(runnable.foreign)} from this machine's build "
                    f"(the artifact's targets Lambda's platform)"
                )
        self.moto, self.endpoint_url = start_moto(moto_port, self.state_dir / "logs" / "moto.log")
        use_endpoint(self.endpoint_url)
        self.provisioned = provision(ENVIRONMENT, endpoint_url=self.endpoint_url)
        self._seed()
        self.delivery = Delivery(
            self.endpoint_url,
            ENVIRONMENT,
            lambda service, event, source: self.invokers[service].submit(event, source),
            stopping=self.stopping,
            report=self.console.system,
            faults=opts.faults,
        )
        # Queue-delivered subscriptions: SQS -> event source mapping, a synchronous invoke.
        self.mappings = EventSourceMappings(
            self.endpoint_url,
            ENVIRONMENT,
            lambda service, event: self.invoke(service, event, source="sqs"),
            visibility_timeout_s=max(1, round(opts.backoff_s)),
            stopping=self.stopping,
            report=self.console.system,
            faults=opts.faults,
        )
        if opts.deliver:
            self.delivery.subscribe(
                self.services, self.all_services, self.provisioned.topic_arns,
                queued_too=not opts.queue_delivery,
            )  # fmt: skip
            if opts.queue_delivery:
                self.mappings.create(self.services, self.all_services, self.provisioned.topic_arns)
                for name, changes in opts.mapping_overrides.items():
                    self.mappings.update(name, **changes)
        # The functions trace with OpenTelemetry, as with tracing_backend = "otel" in AWS,
        # to a collector standing in for the ADOT layer's (make demo prints the trace).
        self.traces = TraceCollector(self.state_dir / "traces.jsonl").start()
        for name, service in self.services.items():
            self.workers[name] = WorkerPool(
                self._starter(service, runnables[name]),
                opts.concurrency_of(name),
                self._cold_started,
            )
            if opts.concurrency_of(name):  # one ready before the first request
                self.workers[name].warm()
        for name, service in self.services.items():
            self.invokers[name] = AsyncInvoker(
                service, self.invoke, self.dead_letter,
                backoff_s=opts.backoff_s, stopping=self.stopping,
                concurrency=opts.concurrency_of(name),
            )  # fmt: skip
            self.invokers[name].start()
        if opts.deliver:
            self.delivery.start(self.services)
            self.mappings.start()
        self.front_door = FrontDoor(
            routes(self.services.values()), self.invoke, HOST, http_port, control=self.control,
            token_key=tokens.key_in(self.state_dir),
        )  # fmt: skip
        self.front_door.start()
        self._write_state()
        self.console.system(
            f"ready in {time.perf_counter() - t0:.1f} s: HTTP http://{HOST}:{http_port}  "
            f"moto {self.endpoint_url}  state {self.state_dir / 'state.json'}"
        )

    def _starter(self, service: declarations.Service, runnable: artifacts.Runnable) -> Any:
        """How ``service``'s workers start, running ``runnable``."""
        assert self.provisioned
        env = worker_environment(
            service.name, runnable, self.options.functions_endpoint_url or self.endpoint_url,
            self.provisioned,
            fail_services=self.options.fail_services, faults=self.options.faults,
            trace_endpoint=self.traces.endpoint if self.traces else None,
        )  # fmt: skip

        def start() -> Worker:
            worker = Worker(
                service,
                runnable,
                env,
                self.state_dir / "logs" / f"{service.name}.log",
                self.console.function_output if self.options.verbose else None,
                self.options.timeout_overrides.get(service.name),
            )
            worker.start()
            return worker

        return start

    def reload(self, names: list[str]) -> None:
        """Rebuild ``names``' zips and replace their workers (the next start is cold)."""
        for name in names:
            if name not in self.workers:
                continue
            try:
                artifacts.ensure_built([name])
                starter = self._starter(self.services[name], artifacts.runnable(name))
            except Exception as error:  # a broken build must not stop the running system
                self.console.system(
                    f"{self.console.tag(name)} reload failed, still running the previous build: "
                    f"{type(error).__name__}: {error}"
                )
                continue
            replaced = self.workers[name].replace(starter)
            self.console.system(
                f"{self.console.tag(name)} reloaded: rebuilt {artifacts.zip_path(name).name}, "
                f"{replaced} worker(s) replaced; the next invocation is a cold start"
            )

    def _cold_started(self, worker: Worker) -> None:
        name = worker.service.name
        pool = self.workers.get(name)
        count = len(pool.workers) if pool else 1
        self.console.system(
            f"{self.console.tag(name)} cold start {worker.cold_start_ms:.0f} ms "
            f"(handler import; worker {count} of at most {self.options.concurrency_of(name)})"
        )

    def _seed(self) -> None:
        assert self.provisioned
        seed = json.loads(self.options.seed.read_text("utf-8")) if self.options.seed else {}
        dynamodb = boto3.resource("dynamodb", endpoint_url=self.endpoint_url, region_name=REGION)
        for table, items in seed.get("tables", {}).items():
            for item in items:
                dynamodb.Table(self.provisioned.tables[table]).put_item(Item=item)

    def invoke(
        self,
        service: str,
        event: Any,
        request_id: str | None = None,
        source: str = "invoke",
        attempt: int = 1,
        attempts: int = 1,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One synchronous invocation of ``service``'s worker, recorded and logged."""
        request_id = request_id or str(uuid.uuid4())
        started = time.time()
        answer = self.workers[service].invoke(event, request_id)
        record = {
            "service": service,
            "source": source,
            "request_id": request_id,
            "start": started,
            "end": time.time(),
            "duration_ms": answer.get("duration_ms"),
            "ok": answer["ok"],
            "attempt": attempt,
            "attempts": attempts,
            **describe_event(event),
            **(extra or {}),
        }
        if not answer["ok"]:
            record["error_type"] = answer["error"]["errorType"]
            record["error_message"] = answer["error"]["errorMessage"]
        if source == "http" and answer["ok"] and isinstance(answer.get("result"), dict):
            record["status"] = answer["result"].get("statusCode")
        assert self.recorder
        self.recorder(record)
        return answer

    def dead_letter(
        self, service: str, item: Pending, answer: dict[str, Any], condition: str
    ) -> None:
        """The on-failure destination record Lambda sends after the last retry or expiry."""
        assert self.provisioned
        assert self.recorder
        error = answer["error"]
        # An event that expired waiting for its next attempt did not run that attempt.
        attempts = item.attempt - 1 if condition == EVENT_AGE_EXCEEDED else item.attempt
        record = on_failure_record(
            item.event, error, service=service, attempts=attempts,
            request_id=item.request_id, environment=ENVIRONMENT, condition=condition,
        )  # fmt: skip
        boto3.client("sqs", endpoint_url=self.endpoint_url, region_name=REGION).send_message(
            QueueUrl=self.provisioned.dead_letter_queues[service],
            MessageBody=json.dumps(record, default=str),
            MessageAttributes={
                "service": {"DataType": "String", "StringValue": service},
                "error_type": {"DataType": "String", "StringValue": error["errorType"]},
                "condition": {"DataType": "String", "StringValue": condition},
            },
        )
        now = time.time()
        self.recorder(
            {
                "service": service, "source": "dlq", "request_id": item.request_id,
                "start": now, "end": now, "ok": False, "attempts": attempts,
                "condition": condition,
                "error_type": error["errorType"], "error_message": error["errorMessage"],
                **describe_event(item.event),
            }
        )  # fmt: skip

    def idle(self) -> bool:
        mappings_idle = self.mappings is None or self.mappings.idle()
        return all(invoker.idle for invoker in self.invokers.values()) and mappings_idle

    def control(self, method: str, path: str, body: bytes, source: str) -> tuple[int, Any]:
        """The front door's ``/__local/`` API: state, invocations, invoke/<service>."""
        if method == "GET" and path == "state":
            return 200, self.state()
        if method == "GET" and path == "invocations":
            return 200, self.invocations
        if method == "POST" and path.startswith("invoke/"):
            service = path.removeprefix("invoke/")
            if service not in self.workers:
                return 404, {"message": f"no service {service!r} runs in this system"}
            return 200, self.invoke(service, json.loads(body or b"{}"), source=source)
        return 404, {"message": "Not Found"}

    def state(self) -> dict[str, Any]:
        assert self.provisioned
        assert self.front_door
        return {
            "pid": os.getpid(),
            "http_url": f"http://{HOST}:{self.front_door.port}",
            "http_port": self.front_door.port,
            "token_key_file": str(self.state_dir / tokens.KEY_FILE),
            "endpoint_url": self.endpoint_url,
            "moto_pid": self.moto.pid if self.moto else 0,
            "workers": {
                name: {
                    "pid": pool.workers[0].pid if pool.workers else 0,
                    "pids": [w.pid for w in pool.workers],
                    "cold_start_ms": pool.workers[0].cold_start_ms if pool.workers else 0.0,
                    "concurrency": pool.concurrency,
                }
                for name, pool in self.workers.items()
            },
            "topic_arns": self.provisioned.topic_arns,
            "tables": self.provisioned.tables,
            "dead_letter_queues": self.provisioned.dead_letter_queues,
            "subscription_endpoints": self.subscription_endpoints,
            "traces": str(self.traces.path) if self.traces else "",
            "backoff_s": self.options.backoff_s,
            "fail_services": sorted(self.options.fail_services),
            "started": self.started_at,
        }

    def _write_state(self) -> None:
        path = self.state_dir / "state.json"
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(self.state(), indent=2))
        partial.replace(path)

    def stop(self) -> None:
        """Stop everything this system started; safe to call twice and after a failed start."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        with contextlib.suppress(FileNotFoundError):
            state = json.loads((self.state_dir / "state.json").read_text())
            if state.get("pid") == os.getpid():
                (self.state_dir / "state.json").unlink()
        if self.front_door:
            self.front_door.stop()
        for worker in self.workers.values():
            worker.close()  # every worker sees EOF at once, then each is waited for
        for worker in self.workers.values():
            worker.stop()
        if self.delivery:
            self.delivery.stop()
        for thread in self.delivery.threads if self.delivery else []:
            thread.join(timeout=1.5)
        for thread in self.mappings.threads if self.mappings else []:
            thread.join(timeout=1.5)
        if self.traces:
            self.traces.stop()
        if self.moto:
            stop_process(self.moto)
