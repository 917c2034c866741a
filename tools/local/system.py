"""The local system: moto provisioned from the declarations, one worker per service, SNS
delivery with Lambda's asynchronous semantics, and an HTTP front door.

Everything binds to 127.0.0.1. Child processes run in their own session (a terminal's
Ctrl-C reaches only this process, which then stops them in order) and die with it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import heapq
import itertools
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3

from messaging.dead_letters import dead_letter_record
from messaging.testing import ACCOUNT_ID, FAKE_CREDENTIALS, REGION, lambda_environment
from tools import declarations, topology
from tools.provision import Provisioned, provision

from . import artifacts
from .console import Console
from .frontdoor import FrontDoor

HOST = "127.0.0.1"
HERE = Path(__file__).resolve().parent
SEED_FILE = HERE / "seed.json"
ENVIRONMENT = "local"


class LocalError(RuntimeError):
    """The local system cannot start or do what was asked; the message says why."""


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
    # Fault injection for the reliability suite (tools/reliability.py): fractions of
    # events whose handling fails once (transient) or always (permanent), and of SNS
    # notifications delivered twice; decided by a hash of the id, so runs repeat.
    faults: Faults | None = None
    verbose: bool = False
    color: bool | None = None
    quiet: bool = False  # no line per invocation (thousands of them in the reliability suite)


@dataclass(frozen=True)
class Faults:
    transient: float = 0.0
    permanent: float = 0.0
    duplicate: float = 0.0
    seed: str = "faults"

    def draw(self, key: str) -> float:
        """A number in [0, 1) fixed by ``key`` and the seed."""
        digest = hashlib.sha256(f"{self.seed}:{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64


def function_name(service: str) -> str:
    return f"{ENVIRONMENT}-{service.replace('_', '-')}"


def function_arn(service: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name(service)}"


def free_port(port: int, what: str, option: str) -> int:
    """``port`` if nothing listens on it (0: any free port); a clear error otherwise."""
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            raise LocalError(
                f"port {port} on {HOST} ({what}) is in use: is another `make local` running? "
                f"Stop it or choose another port with {option}"
            ) from None
        return int(probe.getsockname()[1])


def start_moto(
    port: int, log_path: Path, timeout_s: float = 30
) -> tuple[subprocess.Popen[Any], str]:
    """moto's server on 127.0.0.1:``port``, killed by Linux if this process dies; its URL.

    Returns once it answers; ``LocalError`` (pointing at ``log_path``) if it does not.
    """
    with log_path.open("ab") as log:
        process = spawn(
            [sys.executable, "-I", str(HERE / "moto_runner.py"), HOST, str(port), str(os.getpid())],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://{HOST}:{port}"
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if process.poll() is not None:
            raise LocalError(
                f"the moto server exited with status {process.returncode}; see {log_path}"
            )
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    process.wait()
    raise LocalError(f"the moto server did not answer on {url} within {timeout_s:.0f} s")


def _client(name: str, endpoint_url: str) -> Any:
    return boto3.client(name, endpoint_url=endpoint_url, region_name=REGION)


# --- child processes are started from one long-lived thread ---------------------------


class _Spawner:
    """Starts every child process from one thread that lives as long as this process.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked a child exits, so a worker
    replaced from a short-lived thread (an HTTP request's) would be killed with it.
    """

    def __init__(self) -> None:
        self._requests: queue.Queue[tuple[Callable[[], Any], list[Any], threading.Event]] = (
            queue.Queue()
        )
        threading.Thread(target=self._run, daemon=True, name="spawner").start()

    def _run(self) -> None:
        while True:
            action, box, done = self._requests.get()
            try:
                box.append((True, action()))
            except BaseException as error:
                box.append((False, error))
            done.set()

    def call(self, action: Callable[[], Any]) -> Any:
        box: list[Any] = []
        done = threading.Event()
        self._requests.put((action, box, done))
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def spawn(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(*args, **kwargs)``, from the long-lived spawner thread."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()
    process: subprocess.Popen[Any] = _spawner.call(lambda: subprocess.Popen(*args, **kwargs))
    return process


# --- one worker process per service ----------------------------------------------------


class Worker:
    """A service's execution environment: the artifact imported once, invoked one at a time."""

    def __init__(
        self,
        service: declarations.Service,
        runnable: artifacts.Runnable,
        env: dict[str, str],
        log_file: Path,
        echo: Callable[[str, str], None] | None,
    ) -> None:
        self.service = service
        self.runnable = runnable
        self.env = env
        self.timeout_s = float(service.manifest["timeout_s"])
        self.log_file = log_file
        self.echo = echo
        self.process: subprocess.Popen[str] | None = None
        self.cold_start_ms = 0.0
        self.cold_starts: list[float] = []
        self.recent: deque[str] = deque(maxlen=200)
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def start(self) -> float:
        """Start the process and import the handler; the cold start in milliseconds."""
        started = time.perf_counter()
        self._answers = queue.Queue()
        self.process = spawn(
            [sys.executable, "-I", str(HERE / "worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env | {"LOCAL_PARENT_PID": str(os.getpid())},
            start_new_session=True,
        )
        assert self.process.stdout
        assert self.process.stderr
        for target, stream in (
            (self._read_answers, self.process.stdout),
            (self._read_logs, self.process.stderr),
        ):
            threading.Thread(target=target, args=(stream,), daemon=True).start()
        try:
            ready = self._answers.get(timeout=60)
        except queue.Empty:
            ready = None
        if not ready or not ready.get("ready"):
            self.stop()
            error = (ready or {}).get("error") or {
                "errorType": "Runtime.ExitError",
                "errorMessage": "the worker exited before its handler was imported",
            }
            tail = "\n".join(list(self.recent)[-15:])
            raise LocalError(
                f"{self.service.name} failed to initialise: {error['errorType']}: "
                f"{error['errorMessage']}\n{tail}"
            )
        self.cold_start_ms = float(ready["cold_start_ms"])
        self.cold_starts.append(self.cold_start_ms)
        self.process_start_ms = (time.perf_counter() - started) * 1000
        return self.cold_start_ms

    def _read_answers(self, stream: IO[str]) -> None:
        for line in stream:
            with contextlib.suppress(ValueError):
                self._answers.put(json.loads(line))
        self._answers.put(None)

    def _read_logs(self, stream: IO[str]) -> None:
        with self.log_file.open("a", encoding="utf-8") as out:
            for line in stream:
                out.write(line)
                out.flush()
                self.recent.append(line.rstrip("\n"))
                if self.echo:
                    self.echo(self.service.name, line.rstrip("\n"))

    def invoke(self, event: Any, request_id: str) -> dict[str, Any]:
        """One invocation: ``{"ok", "result" | "error", "duration_ms"}`` as Lambda reports it."""
        with self._lock:
            process = self.process
            if process is None or process.poll() is not None or process.stdin is None:
                return self._failure("Runtime.ExitError", "the worker is not running", 0.0)
            began = time.perf_counter()
            try:
                process.stdin.write(json.dumps({"event": event, "request_id": request_id}) + "\n")
                process.stdin.flush()
            except (BrokenPipeError, OSError):
                return self._failure("Runtime.ExitError", "the worker is gone", 0.0)
            try:
                answer = self._answers.get(timeout=self.timeout_s + 1)
            except queue.Empty:
                answer = None
                elapsed = time.perf_counter() - began
                self._restart()
                return self._failure(
                    "Sandbox.Timedout",
                    f"Task timed out after {self.timeout_s:.2f} seconds",
                    elapsed * 1000,
                )
            if answer is None:
                code = process.wait()
                self._restart()
                return self._failure(
                    "Runtime.ExitError", f"the worker exited with status {code}", 0.0
                )
            return answer

    @staticmethod
    def _failure(kind: str, message: str, duration_ms: float) -> dict[str, Any]:
        error = {"errorType": kind, "errorMessage": message, "stackTrace": []}
        return {"ok": False, "error": error, "duration_ms": round(duration_ms, 2)}

    def _restart(self) -> None:
        """A timed-out or crashed environment is replaced: the next invoke is a cold start."""
        self.stop(grace_s=0)
        with contextlib.suppress(LocalError):
            self.start()

    def close(self) -> None:
        """Close the worker's stdin: its loop ends after the current invocation."""
        if self.process and self.process.stdin:
            with contextlib.suppress(OSError):
                self.process.stdin.close()

    def stop(self, grace_s: float = 3.0) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(OSError):
                assert process.stdin
                process.stdin.close()  # EOF: the worker's loop ends
            try:
                process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            with contextlib.suppress(OSError, ValueError):
                if stream:
                    stream.close()


# --- Lambda's asynchronous invocation: retries with backoff, then the on-failure queue --


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    event: Any = field(compare=False)
    request_id: str = field(compare=False)
    attempt: int = field(compare=False, default=1)
    source: str = field(compare=False, default="sns")


class AsyncInvoker:
    """Lambda's internal queue for one function's asynchronous (SNS) invocations."""

    def __init__(self, system: System, service: declarations.Service) -> None:
        self.system = system
        self.service = service
        self.retries = int(service.retries["maximum_retry_attempts"])
        self._heap: list[_Pending] = []
        self._in_flight = False
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True, name=service.name)

    def start(self) -> None:
        self._thread.start()

    def submit(self, event: Any, source: str = "sns") -> str:
        request_id = str(uuid.uuid4())
        self._push(_Pending(time.time(), next(self._seq), event, request_id, 1, source))
        return request_id

    def _push(self, item: _Pending) -> None:
        with self._wake:
            heapq.heappush(self._heap, item)
            self._wake.notify()

    def _run(self) -> None:
        while not self.system.stopping.is_set():
            with self._wake:
                if not self._heap:
                    self._wake.wait(0.2)
                    continue
                wait = self._heap[0].due - time.time()
                if wait > 0:
                    self._wake.wait(min(wait, 0.2))
                    continue
                item = heapq.heappop(self._heap)
                self._in_flight = True
            answer = self.system.invoke(
                self.service.name, item.event, item.request_id, item.source, item.attempt,
                1 + self.retries,
            )  # fmt: skip
            if answer["ok"]:
                self._done()
                continue
            if item.attempt <= self.retries:
                delay = self.system.options.backoff_s * 2 ** (item.attempt - 1)
                self._push(
                    _Pending(
                        time.time() + delay,
                        next(self._seq),
                        item.event,
                        item.request_id,
                        item.attempt + 1,
                        item.source,
                    )
                )
            else:
                self.system.dead_letter(self.service.name, item, answer)
            self._done()

    def _done(self) -> None:
        with self._wake:
            self._in_flight = False

    @property
    def idle(self) -> bool:
        """Nothing queued for this function and nothing running."""
        with self._wake:
            return not self._heap and not self._in_flight


# --- the system --------------------------------------------------------------------------


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
        self.subscription_queues: dict[str, dict[str, str]] = {}
        self.front_door: FrontDoor | None = None
        self.invocations: list[dict[str, Any]] = []
        self._record_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.started_at = 0.0

    # -- start ---------------------------------------------------------------------------

    def start(self) -> None:
        """Build what is stale, start and provision moto, start the workers and delivery."""
        t0 = time.perf_counter()
        self.started_at = time.time()
        opts = self.options
        http_port = free_port(opts.http_port, "HTTP front door", "--port / LOCAL_PORT")
        moto_port = free_port(opts.moto_port, "moto server", "--moto-port / LOCAL_MOTO_PORT")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "logs").mkdir(exist_ok=True)
        (self.state_dir / "invocations.jsonl").write_text("")
        os.environ.update(FAKE_CREDENTIALS)
        os.environ.pop("AWS_PROFILE", None)
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
        self._start_moto(moto_port)
        self.provisioned = provision(ENVIRONMENT, endpoint_url=self.endpoint_url)
        self._seed()
        if opts.deliver:
            self._subscribe()
        for name, service in self.services.items():
            worker = Worker(
                service,
                runnables[name],
                self._worker_env(name, runnables[name]),
                self.state_dir / "logs" / f"{name}.log",
                self.console.function_output if opts.verbose else None,
            )
            self.workers[name] = worker
            cold = worker.start()
            tag = self.console.tag(name)
            self.console.system(f"{tag} cold start {cold:.0f} ms (handler import)")
        for name, service in self.services.items():
            invoker = AsyncInvoker(self, service)
            self.invokers[name] = invoker
            invoker.start()
        if opts.deliver:
            self._schedule()
            for name, topics in self.subscription_queues.items():
                for topic, url in topics.items():
                    thread = threading.Thread(
                        target=self._poll, args=(name, topic, url), daemon=True
                    )
                    thread.start()
                    self._threads.append(thread)
        self.front_door = FrontDoor(self, HOST, http_port)
        self.front_door.start()
        self._write_state()
        self.console.system(
            f"ready in {time.perf_counter() - t0:.1f} s: HTTP http://{HOST}:{http_port}  "
            f"moto {self.endpoint_url}  state {self.state_dir / 'state.json'}"
        )

    def _start_moto(self, port: int) -> None:
        self.moto, self.endpoint_url = start_moto(port, self.state_dir / "logs" / "moto.log")

    def _seed(self) -> None:
        if not self.options.seed:
            return
        seed = json.loads(self.options.seed.read_text("utf-8"))
        dynamodb = boto3.resource("dynamodb", endpoint_url=self.endpoint_url, region_name=REGION)
        assert self.provisioned
        for table, items in seed.get("tables", {}).items():
            target = dynamodb.Table(self.provisioned.tables[table])
            for item in items:
                target.put_item(Item=item)

    def _subscribe(self) -> None:
        assert self.provisioned
        sns = _client("sns", self.endpoint_url)
        sqs = _client("sqs", self.endpoint_url)
        for subscription in topology.subscriptions(self.all_services):
            if subscription.service not in self.services:
                continue
            kebab = subscription.service.replace("_", "-")
            url = sqs.create_queue(
                QueueName=f"{ENVIRONMENT}-sub-{kebab}-{subscription.topic.replace('_', '-')}"
            )["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            arn = attributes["Attributes"]["QueueArn"]
            sns.subscribe(
                TopicArn=self.provisioned.topic_arns[subscription.topic],
                Protocol="sqs",
                Endpoint=arn,
                Attributes={
                    "FilterPolicy": json.dumps(subscription.filter_policy),
                    "FilterPolicyScope": "MessageAttributes",
                },
            )
            self.subscription_queues.setdefault(subscription.service, {})[subscription.topic] = url

    def _worker_env(self, service: str, runnable: artifacts.Runnable) -> dict[str, str]:
        assert self.provisioned
        manifest = self.services[service].manifest
        runnable_env = lambda_environment(
            service,
            environment=ENVIRONMENT,
            topic_arns=self.provisioned.topic_arns,
            dead_letter_queue_url=self.provisioned.dead_letter_queues.get(service, ""),
        )
        passed = ("PATH", "LANG", "HOME", "TZ", "LOCAL_CALL_LOG_DIR")
        base = {k: os.environ[k] for k in passed if k in os.environ}
        return {
            **base,
            **FAKE_CREDENTIALS,
            **runnable_env,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_LAMBDA_FUNCTION_NAME": function_name(service),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(manifest["memory_mb"]),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(manifest["timeout_s"]),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{manifest['runtime']}",
            "LAMBDA_TASK_ROOT": str(runnable.task_root),
            "LOCAL_TASK_ROOT": str(runnable.task_root),
            "LOCAL_NATIVE_PATH": os.pathsep.join(str(p) for p in runnable.native),
            "LOCAL_FAIL_SERVICES": ",".join(sorted(self.options.fail_services)),
            "LOCAL_FAULTS": json.dumps(dataclasses.asdict(self.options.faults))
            if self.options.faults
            else "",
            "_HANDLER": self.services[service].handler,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }

    # -- EventBridge schedules -------------------------------------------------------------

    def _schedule(self) -> None:
        """Invoke each service with a ``rate(...)`` schedule asynchronously, as EventBridge does."""
        for name, service in self.services.items():
            expression = service.manifest.get("schedule")
            if not expression:
                continue
            period = rate_seconds(expression)
            if period is None:
                self.console.system(
                    f"{name}: {expression} is not run locally (only rate(...) is); "
                    f"use `python -m tools.local invoke {name} --event FILE`"
                )
                continue
            thread = threading.Thread(
                target=self._tick, args=(name, expression, period), daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _tick(self, service: str, expression: str, period: float) -> None:
        while not self.stopping.wait(period):
            self.invokers[service].submit(scheduled_event(service, expression), source="schedule")

    # -- SNS delivery ----------------------------------------------------------------------

    def _poll(self, service: str, topic: str, url: str) -> None:
        sqs = _client("sqs", self.endpoint_url)
        while not self.stopping.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
            except Exception as error:  # moto going away at shutdown
                if not self.stopping.is_set():
                    self.console.system(f"polling {service}/{topic} failed: {error}")
                    time.sleep(0.5)
                continue
            faults = self.options.faults
            for message in messages:
                notification = json.loads(message["Body"])
                record = {"Records": [lambda_record(notification)]}
                self.invokers[service].submit(record)
                if (
                    faults
                    and faults.draw(f"duplicate:{notification['MessageId']}") < faults.duplicate
                ):
                    self.invokers[service].submit(record, source="duplicate")
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    # -- invocations -------------------------------------------------------------------------

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
        self._record(record)
        return answer

    def _record(self, record: dict[str, Any]) -> None:
        with self._record_lock:
            self.invocations.append(record)
            with (self.state_dir / "invocations.jsonl").open("a", encoding="utf-8") as out:
                out.write(json.dumps(record, default=str) + "\n")
        if not self.options.quiet:
            self.console.invocation(record)

    def dead_letter(self, service: str, item: _Pending, answer: dict[str, Any]) -> None:
        """The on-failure destination record Lambda sends after the last retry."""
        assert self.provisioned
        error_info = answer["error"]
        error = _ReportedError(error_info["errorMessage"])
        record = dead_letter_record(
            item.event,
            error,
            condition="RetriesExhausted",
            attempts=item.attempt,
            function_arn=f"{function_arn(service)}:$LATEST",
            request_id=item.request_id,
        )
        record["responsePayload"] = {
            "errorMessage": error_info["errorMessage"],
            "errorType": error_info["errorType"],
            "stackTrace": error_info.get("stackTrace", []),
        }
        _client("sqs", self.endpoint_url).send_message(
            QueueUrl=self.provisioned.dead_letter_queues[service],
            MessageBody=json.dumps(record, default=str),
            MessageAttributes={
                "service": {"DataType": "String", "StringValue": service},
                "error_type": {"DataType": "String", "StringValue": error_info["errorType"]},
                "condition": {"DataType": "String", "StringValue": "RetriesExhausted"},
            },
        )
        self._record(
            {
                "service": service,
                "source": "dlq",
                "request_id": item.request_id,
                "start": time.time(),
                "end": time.time(),
                "ok": False,
                "attempts": item.attempt,
                "error_type": error_info["errorType"],
                "error_message": error_info["errorMessage"],
                **describe_event(item.event),
            }
        )

    def idle(self) -> bool:
        return all(invoker.idle for invoker in self.invokers.values())

    # -- state and stop ------------------------------------------------------------------

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
        for thread in self._threads:
            thread.join(timeout=1.5)
        if self.moto and self.moto.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.moto.pid, signal.SIGTERM)
            try:
                self.moto.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.moto.pid, signal.SIGKILL)
                self.moto.wait()


class _ReportedError(Exception):
    """An error raised in a worker, reported back by name and message."""


def lambda_record(notification: dict[str, Any]) -> dict[str, Any]:
    """An SNS notification (as SNS delivers it to SQS) in the shape SNS hands to Lambda."""
    topic_arn = notification["TopicArn"]
    attributes = notification.get("MessageAttributes") or {}
    return {
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid5(uuid.NAMESPACE_URL, topic_arn)}",
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": notification.get("SignatureVersion", "1"),
            "Timestamp": notification.get("Timestamp"),
            "Signature": notification.get("Signature", ""),
            "SigningCertUrl": notification.get("SigningCertURL", ""),
            "MessageId": notification["MessageId"],
            "Message": notification["Message"],
            "MessageAttributes": {
                name: {"Type": value.get("Type", "String"), "Value": value.get("Value")}
                for name, value in attributes.items()
            },
            "Type": notification.get("Type", "Notification"),
            "UnsubscribeUrl": notification.get("UnsubscribeURL", ""),
            "TopicArn": topic_arn,
            "Subject": notification.get("Subject"),
        },
    }


def rate_seconds(expression: str) -> float | None:
    """``rate(5 minutes)`` -> 300.0; ``None`` for cron expressions."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not match:
        return None
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match[2].rstrip("s")]
    return float(int(match[1]) * unit)


def scheduled_event(service: str, expression: str) -> dict[str, Any]:
    """The event an EventBridge schedule rule sends to its target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{function_name(service)}"],
        "detail": {},
    }


def describe_event(event: Any) -> dict[str, Any]:
    """What the logs and the demo's tree say about an event: its type, id, source, time."""
    if not isinstance(event, dict):
        return {"event_type": type(event).__name__}
    if event.get("version") == "2.0" and "routeKey" in event:
        return {"event_type": "http", "route": event["routeKey"], "path": event.get("rawPath")}
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        sns = records[0].get("Sns") or {}
        found: dict[str, Any] = {"event_type": "sns"}
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            envelope = json.loads(sns.get("Message", ""))
            found = {
                "event_type": envelope.get("type", "sns"),
                "event_id": envelope.get("id"),
                "event_source": envelope.get("source"),
                "event_time": envelope.get("time"),
                "correlation_id": envelope.get("correlation_id"),
                "order_id": (envelope.get("data") or {}).get("order_id"),
            }
        return found
    if event.get("source") == "aws.events":
        return {"event_type": "schedule"}
    return {"event_type": "custom"}
