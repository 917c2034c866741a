"""The local system: moto provisioned from the declarations, one worker per service, SNS
delivery with Lambda's asynchronous semantics, and an HTTP front door.

Everything binds to 127.0.0.1. Child processes run in their own session (a terminal's
Ctrl-C reaches only this process, which then stops them in order) and die with it.
The parts: ``processes`` (ports, moto, children), ``worker_host`` (a function's
execution environment), ``invoker`` (retries, on-failure), ``delivery`` (SNS fan-out,
schedules), ``frontdoor`` (HTTP), ``invocations`` (the log).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tools import declarations
from tools.contract import REGION, Provisioned, on_failure_record, provision, use_endpoint

from . import artifacts
from .console import Console
from .delivery import Delivery
from .event_source_mapping import EventSourceMappings
from .frontdoor import FrontDoor, routes
from .invocations import Recorder, describe_event
from .invoker import AsyncInvoker, Pending
from .processes import ENVIRONMENT, HERE, HOST, LocalError, free_port, start_moto, stop_process
from .worker import Faults
from .worker_host import Worker, worker_environment

__all__ = ["SEED_FILE", "Faults", "LocalError", "Options", "System"]

SEED_FILE = HERE / "seed.json"


@dataclass
class Options:
    http_port: int = 3000
    moto_port: int = 4566
    state_dir: Path = artifacts.LOCAL
    services: list[str] | None = None  # None: every service
    backoff_s: float = 1.0  # first retry delay, doubled each retry (AWS: about 1, then 2 min)
    deliver: bool = True  # subscribe the services to their topics and deliver
    build: bool = True
    seed: Path | None = SEED_FILE
    fail_services: frozenset[str] = frozenset()
    faults: Faults | None = None  # fault injection for the reliability suite
    verbose: bool = False
    color: bool | None = None
    quiet: bool = False  # no line per invocation (thousands of them in the reliability suite)


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
        self.workers: dict[str, Worker] = {}
        self.invokers: dict[str, AsyncInvoker] = {}
        self.delivery: Delivery | None = None
        self.mappings: EventSourceMappings | None = None
        self.front_door: FrontDoor | None = None
        self.recorder: Recorder | None = None
        self.started_at = 0.0

    @property
    def invocations(self) -> list[dict[str, Any]]:
        return self.recorder.invocations if self.recorder else []

    @property
    def subscription_queues(self) -> dict[str, dict[str, str]]:
        return self.delivery.queues if self.delivery else {}

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
        )
        if opts.deliver:
            self.delivery.subscribe(self.services, self.all_services, self.provisioned.topic_arns)
            self.mappings.create(self.services, self.all_services, self.provisioned.topic_arns)
        for name, service in self.services.items():
            env = worker_environment(
                name, runnables[name], self.endpoint_url, self.provisioned,
                fail_services=opts.fail_services, faults=opts.faults,
            )  # fmt: skip
            worker = Worker(
                service,
                runnables[name],
                env,
                self.state_dir / "logs" / f"{name}.log",
                self.console.function_output if opts.verbose else None,
            )
            self.workers[name] = worker
            cold = worker.start()
            self.console.system(
                f"{self.console.tag(name)} cold start {cold:.0f} ms (handler import)"
            )
        for name, service in self.services.items():
            self.invokers[name] = AsyncInvoker(
                service, self.invoke, self.dead_letter,
                backoff_s=opts.backoff_s, stopping=self.stopping,
            )  # fmt: skip
            self.invokers[name].start()
        if opts.deliver:
            self.delivery.start(self.services)
            self.mappings.start()
        self.front_door = FrontDoor(
            routes(self.services.values()), self.invoke, HOST, http_port, control=self.control
        )
        self.front_door.start()
        self._write_state()
        self.console.system(
            f"ready in {time.perf_counter() - t0:.1f} s: HTTP http://{HOST}:{http_port}  "
            f"moto {self.endpoint_url}  state {self.state_dir / 'state.json'}"
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

    def dead_letter(self, service: str, item: Pending, answer: dict[str, Any]) -> None:
        """The on-failure destination record Lambda sends after the last retry."""
        assert self.provisioned
        assert self.recorder
        error = answer["error"]
        record = on_failure_record(
            item.event, error, service=service, attempts=item.attempt,
            request_id=item.request_id, environment=ENVIRONMENT,
        )  # fmt: skip
        condition = record["requestContext"]["condition"]
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
                "start": now, "end": now, "ok": False, "attempts": item.attempt,
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
            "endpoint_url": self.endpoint_url,
            "moto_pid": self.moto.pid if self.moto else 0,
            "workers": {
                name: {"pid": w.pid, "cold_start_ms": w.cold_start_ms}
                for name, w in self.workers.items()
            },
            "topic_arns": self.provisioned.topic_arns,
            "tables": self.provisioned.tables,
            "dead_letter_queues": self.provisioned.dead_letter_queues,
            "subscription_queues": self.subscription_queues,
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
        for thread in self.delivery.threads if self.delivery else []:
            thread.join(timeout=1.5)
        for thread in self.mappings.threads if self.mappings else []:
            thread.join(timeout=1.5)
        if self.moto:
            stop_process(self.moto)
