"""One function's execution environment, as Lambda runs it: a worker process per service.

Run by the local system as ``python -I worker.py`` (isolated: neither this directory
nor the working directory lands on ``sys.path``), standard library only, so nothing of
the development checkout leaks into the function. It:

* puts the unpacked artifact (``LOCAL_TASK_ROOT``) first on ``sys.path``, preceded only
  by the natively built copies of locked compiled dependencies (``LOCAL_NATIVE_PATH``);
* imports the handler once and reports the cold start;
* then serves invocations: one JSON request per line on stdin, one JSON answer per line
  on the protocol pipe (the original stdout); the function's own output (prints, logs)
  goes to stderr, as Lambda sends it to CloudWatch;
* exits when stdin reaches EOF (the parent is gone or stopping) and, on Linux, asks the
  kernel to kill it if its parent dies (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib
import importlib.util
import json
import os
import signal
import sys
import time
import traceback
import uuid
from typing import Any

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent exits; exit now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: stdin EOF is the remaining safety
    if parent and os.getppid() != parent:
        os._exit(1)


class Context:
    """The attributes of Lambda's context object that code commonly reads."""

    def __init__(self, request_id: str, deadline: float) -> None:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = os.environ.get("LOCAL_FUNCTION_ARN", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class InjectedTransientFailure(Exception):
    """A fault the reliability suite injects once per chosen event."""


class InjectedPermanentFailure(Exception):
    """A fault the reliability suite injects on every attempt of a chosen event."""


class Faults:
    """Which events fail or arrive twice, decided by a hash of their id, so runs repeat.

    The reliability suite (tools/reliability.py) sets fractions of events whose handling
    fails once (``transient``) or always (``permanent``), whose worker is killed once in
    the middle of the invocation (``crash``: the process exits) or stalls once past the
    function's timeout (``timeout``: the host kills and replaces it), and of SNS
    notifications delivered twice (``duplicate``, decided by the local system's
    delivery or, for a queue, its event source mapping). The worker reads them from
    ``LOCAL_FAULTS``. Each once-only fault strikes half the time before the handler runs
    and half after it (its response lost), which the idempotency layer must absorb on
    the retry; in an SQS batch a failure is the record's own (``before_batch``). A fault
    that strikes once is marked in ``struck_dir`` (a file created exclusively), so it
    strikes once among all of a function's workers and survives the crash it causes.
    """

    FIELDS = ("transient", "permanent", "crash", "timeout", "duplicate", "seed", "struck_dir")

    def __init__(
        self,
        transient: float = 0.0,
        permanent: float = 0.0,
        duplicate: float = 0.0,
        seed: str = "faults",
        crash: float = 0.0,
        timeout: float = 0.0,
        struck_dir: str = "",
    ) -> None:
        self.transient = transient
        self.permanent = permanent
        self.crash = crash
        self.timeout = timeout
        self.duplicate = duplicate
        self.seed = seed
        # absolute where it is made: a worker runs in its task root
        self.struck_dir = os.path.abspath(struck_dir) if struck_dir else ""
        self.struck: set[str] = set()  # without a struck_dir: this process's memory

    @classmethod
    def from_json(cls, spec: str) -> Faults:
        given = json.loads(spec) if spec else {}
        return cls(**{name: given[name] for name in cls.FIELDS if name in given})

    def to_json(self) -> str:
        return json.dumps({name: getattr(self, name) for name in self.FIELDS})

    def draw(self, key: str) -> float:
        """A number in [0, 1) fixed by ``key`` and the seed."""
        digest = hashlib.sha256(f"{self.seed}:{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def duplicated(self, key: str | None) -> bool:
        """Whether the event of fault key ``key`` (``fault_key``) is delivered a second time:
        once at most, or a copy (same body, same key) would be copied again."""
        if key is None or self.draw(f"duplicate:{key}") >= self.duplicate:
            return False
        return self._first_strike(f"duplicate-{key}")

    def _first_strike(self, event_id: str) -> bool:
        if not self.struck_dir:
            if event_id in self.struck:
                return False
            self.struck.add(event_id)
            return True
        try:
            os.close(os.open(os.path.join(self.struck_dir, event_id), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return False
        return True

    def _decide(self, event_id: str) -> tuple[str, bool] | None:
        """The fault due on ``event_id`` and whether it strikes before the handler."""
        draw = self.draw(f"handle:{event_id}")
        if draw < self.permanent:
            return "permanent", True
        edge = self.permanent
        for kind, share in (("transient", self.transient), ("crash", self.crash),
                            ("timeout", self.timeout)):  # fmt: skip
            if edge <= draw < edge + share:
                if not self._first_strike(event_id):
                    return None
                return kind, draw < edge + share / 2
            edge += share
        return None

    def _armed(self) -> bool:
        return bool(self.transient or self.permanent or self.crash or self.timeout)

    def before(self, event: Any) -> str | None:
        """Strike a fault due before the handler; the one due after it (or ``None``)."""
        if not self._armed():
            return None
        try:
            event_id = fault_key(event["Records"][0]["Sns"]["Message"])
        except (KeyError, IndexError, TypeError):
            return None
        if event_id is None:
            return None
        decided = self._decide(event_id)
        if decided is None:
            return None
        kind, early = decided
        if kind == "permanent":
            raise InjectedPermanentFailure(f"injected: event {event_id} always fails")
        if early:
            strike(kind, f"event {event_id}", "before the handler ran")
        return kind

    def before_batch(self, event: Any) -> tuple[Any, list[str], str | None]:
        """For an SQS batch: the event the handler gets, the message ids to report failed,
        and the fault due after the handler (or ``None``); a fault due before it strikes.

        A failure is the record's own, as the router reports a record whose handler
        raised: one due before the handler leaves the record out of the batch, one due
        after it reports a record the handler did handle (its success lost). A crash or
        a stall takes the whole invocation, as it would in Lambda.
        """
        records = event["Records"]
        if not self._armed():
            return event, [], None
        kept: list[Any] = []
        failed: list[str] = []
        after: str | None = None
        for record in records:
            event_id = queued_fault_key(record.get("body")) if isinstance(record, dict) else None
            decided = self._decide(event_id) if event_id else None
            if decided is None:
                kept.append(record)
                continue
            kind, early = decided
            if kind in {"permanent", "transient"}:
                failed.append(str(record["messageId"]))
                if not early:
                    kept.append(record)
                continue
            kept.append(record)
            if early:
                strike(kind, f"event {event_id}", "before the handler ran")
            after = after or kind
        return {**event, "Records": kept}, failed, after


def is_queue_batch(event: Any) -> bool:
    """Whether ``event`` is an SQS event source mapping's batch."""
    records = event.get("Records") if isinstance(event, dict) else None
    first = records[0] if isinstance(records, list) and records else None
    return isinstance(first, dict) and first.get("eventSource") == "aws:sqs"


def fault_key(message: str) -> str | None:
    """What a fault is drawn on for the envelope in ``message``: its order id where it has
    one (the rig names orders after its seed, so a seed picks the same events every run),
    else its id (a fresh uuid per publish)."""
    try:
        envelope = json.loads(message)
        data = envelope.get("data")
        order_id = data.get("order_id") if isinstance(data, dict) else None
        return str(order_id or envelope["id"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def queued_fault_key(body: Any) -> str | None:
    """``fault_key`` of an SQS record's body: an SNS notification, or raw delivery's message."""
    # Read as the router reads it; imported here, where faults are armed, so the worker
    # itself still loads nothing of the package before the handler's cold start.
    from messaging.errors import MalformedMessageError
    from messaging.queue_records import SQS_EVENT_SOURCE, as_sns_record

    try:
        sns = as_sns_record({"eventSource": SQS_EVENT_SOURCE, "body": body}, 0)
    except MalformedMessageError:
        return None
    return fault_key(sns["Sns"]["Message"])


def strike(kind: str, what: str, when: str) -> None:
    """The fault ``kind`` on ``what`` (an event, a request): raise, exit, or stall."""
    if kind == "crash":
        os._exit(137)  # as if killed: no answer, no clean-up
    if kind == "timeout":
        time.sleep(float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "30")) + 60)
    raise InjectedTransientFailure(f"injected: {what} fails once, {when}")


def _error(error: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "stackTrace": traceback.format_exception(error)[-5:],
    }


def _call_log() -> Any:
    """tools/local/call_log.py, loaded by path: the worker runs isolated (``-I``)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "call_log.py")
    spec = importlib.util.spec_from_file_location("call_log", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    die_with_parent(int(os.environ.get("LOCAL_PARENT_PID", "0")))
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # the function's prints go where its logs go
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115

    task_root = os.environ["LOCAL_TASK_ROOT"]
    native = [p for p in os.environ.get("LOCAL_NATIVE_PATH", "").split(os.pathsep) if p]
    sys.path[:0] = [*native, task_root]
    os.chdir(task_root)
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    failing = os.environ.get("SERVICE_NAME", "") in {
        s.strip() for s in os.environ.get("LOCAL_FAIL_SERVICES", "").split(",") if s.strip()
    }
    timeout_s = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "30"))
    faults = Faults.from_json(os.environ.get("LOCAL_FAULTS", ""))

    call_log_dir = os.environ.get("LOCAL_CALL_LOG_DIR")
    if call_log_dir:  # the test session records every AWS call (tools/local/call_log.py)
        _call_log().install(call_log_dir, os.environ.get("SERVICE_NAME", "unknown"))

    started = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
        handler = getattr(module, function_name)
        origin = str(getattr(module, "__file__", ""))
        if not origin.startswith(task_root):
            raise ImportError(f"{module_name} was imported from {origin}, not from the artifact")
        messaging = sys.modules.get("messaging")
        if messaging is not None and not str(messaging.__file__).startswith(task_root):
            raise ImportError(f"messaging was imported from {messaging.__file__}")
    except BaseException as error:  # an init error: Lambda reports it on every invoke
        protocol.write(json.dumps({"ready": False, "error": _error(error)}) + "\n")
        return 1
    cold_ms = (time.perf_counter() - started) * 1000
    protocol.write(json.dumps({"ready": True, "cold_start_ms": round(cold_ms, 1)}) + "\n")

    for line in sys.stdin:
        request = json.loads(line)
        request_id = request.get("request_id") or str(uuid.uuid4())
        context = Context(request_id, time.time() + timeout_s)
        begun = time.perf_counter()
        try:
            if failing:
                raise RuntimeError(
                    f"LOCAL_FAIL_SERVICES: {os.environ.get('SERVICE_NAME')} made to fail"
                )
            event = request["event"]
            failed: list[str] = []
            if is_queue_batch(event):
                event, failed, fail_after = faults.before_batch(event)
            else:
                fail_after = faults.before(event)
            # a batch whose every record failed before the handler never reaches it
            result = handler(event, context) if not failed or event["Records"] else {}
            if fail_after:
                strike(fail_after, f"request {request_id}", "after the handler ran (response lost)")
            if failed:
                result = dict(result or {})
                result["batchItemFailures"] = [
                    *result.get("batchItemFailures", []),
                    *({"itemIdentifier": message_id} for message_id in failed),
                ]
            answer: dict[str, Any] = {"ok": True, "result": result}
            json.dumps(answer)  # a result Lambda could not serialise is a function error
        except Exception as error:
            answer = {"ok": False, "error": _error(error)}
        answer["duration_ms"] = round((time.perf_counter() - begun) * 1000, 2)
        protocol.write(json.dumps(answer, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
