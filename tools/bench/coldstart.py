"""Figures 5 and 6: cold start from each built artifact, and the artifacts' sizes.

Each service's zip (``tools.build``, rebuilt only when stale) is unpacked to a temporary
directory that stands in for ``/var/task``: first on ``sys.path`` and the working
directory, with the function's Lambda environment (including ``LAMBDA_TASK_ROOT``).
A fresh interpreter then imports the handler module, creates its first client and
opens and closes its first span, once per tracing backend (``MESSAGING_TRACING`` off,
xray, otel, with a sampled X-Ray header as Lambda sets it; otel exports to a collector
on loopback, as to the ADOT layer's). The baseline is a bare interpreter that imports
boto3 and creates one SNS client. Every variant run sits next to a bare run (before it
in one round, after it in the next) and each ratio is taken within its pair; the child
reports its CPU time beside its wall time, and the CPU ratio is the verdict, with a 95%
interval of its median. After the span, outside it, the probe times (CPU) the package's
side of the function's first event (``first_event``), reported beside it. ``-X
importtime`` names the most expensive modules. Each
backend's tracing dependencies are sized as a zip too.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import socket
import subprocess
import tempfile
import time
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

from messaging.config import TRACING_BACKENDS, TRACING_VARIABLE
from tools import declarations, runtimes
from tools.build import build
from tools.contract import FAKE_CREDENTIALS, lambda_environment, runtime_environment
from tools.local.traces import TraceCollector

from .report import Group, fact, ratio_row, row
from .stats import Figure, median_interval, paired_schedule

# Goals of issue 13 for import + first client + first span, against bare boto3.
TARGETS = {"off": 1.10, "otel": 1.3}
# What each backend needs beyond the Lambda runtime (which provides boto3 and its
# dependencies); with the ADOT layer, the layer brings the otel set instead of the zip.
BACKEND_DEPENDENCIES = {
    "off": [],
    "xray": ["aws-xray-sdk"],
    # The package's own tracer over the API; OTLP/HTTP JSON goes out through the stdlib.
    "otel": ["opentelemetry-api"],
}
# The protobuf exporter, for OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf only; its
# variant runs beside the others so the two encodings are compared within each round.
PROTOBUF = "otel, http/protobuf"
# What ``--backends`` names each variant by (a comma needs no quoting on a command line).
BACKEND_CHOICES = {**{backend: backend for backend in TRACING_BACKENDS}, "otel-protobuf": PROTOBUF}
PROTOBUF_EXPORTER = ["opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"]
_PROVIDED_BY_LAMBDA = {
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
}
# What each run reports, in ms: the probe's span on the wall clock and in CPU time (the
# verdict: docs/performance.md says why), then the whole process, both ways.
METRICS = ("total_ms", "cpu_ms", "process_ms", "process_cpu_ms")
_XRAY_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

# Both probes time the same span in the child, on the wall clock and as the process's CPU
# time (user + system, every thread): what the measured code itself took, which a core
# held by another process on a shared machine does not lengthen.
_PROBE = """
import json, sys, time
started, cpu_started = time.perf_counter(), time.process_time()
sys.path.insert(0, {task!r})
import importlib
importlib.import_module({module!r})
imported = time.perf_counter()
import messaging
messaging.aws_client("sns")
client = time.perf_counter()
from messaging import tracing
with tracing.span("cold-start probe"):
    pass
done, cpu_done = time.perf_counter(), time.process_time()
first = {first!r}  # outside the span: the package's side of the function's first event
if first["record"]:
    from messaging.consumer import decode_record, to_accepted_version
    to_accepted_version(decode_record(json.loads(first["record"])), first["service"])
else:
    from messaging.publisher import _prepare, new_event
    _prepare(new_event(first["type"], json.loads(first["data"])))
first_cpu_ms = (time.process_time() - cpu_done) * 1000
print(json.dumps({{"import_ms": (imported - started) * 1000,
    "first_event_cpu_ms": first_cpu_ms,
    "cpu_ms": (cpu_done - cpu_started) * 1000,
    "client_ms": (client - imported) * 1000, "span_ms": (done - client) * 1000,
    "total_ms": (done - started) * 1000,
    "messaging": messaging.__file__, "xray_loaded": "aws_xray_sdk" in sys.modules,
    "otel_loaded": "opentelemetry.trace" in sys.modules,
    "otel_sdk_loaded": "opentelemetry.sdk.trace" in sys.modules}}))
"""

_BARE = """
import json, time
started, cpu_started = time.perf_counter(), time.process_time()
import boto3
boto3.client("sns")
done, cpu_done = time.perf_counter(), time.process_time()
print(json.dumps({"import_ms": 0, "client_ms": 0, "total_ms": (done - started) * 1000,
    "cpu_ms": (cpu_done - cpu_started) * 1000}))
"""

_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(
    code: str, env: dict[str, str], cwd: str, python: str, *flags: str
) -> tuple[dict[str, Any], float, str]:
    """The probe's answer, with the whole process's wall and CPU time (ms) added, and its
    stderr. The children's rusage grows only by this one: runs never overlap."""
    started, cpu_started = time.perf_counter(), _children_cpu_s()
    result = subprocess.run(
        [python, "-I", *flags, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    wall_ms = (time.perf_counter() - started) * 1000
    process_cpu_ms = (_children_cpu_s() - cpu_started) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"cold-start probe failed:\n{result.stderr[-3000:]}")
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    answer |= {"process_ms": wall_ms, "process_cpu_ms": process_cpu_ms}
    return answer, wall_ms, result.stderr


def _unused_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def first_event(service: str) -> dict[str, str]:
    """What the probe's first event is: a consumer's first subscription, as SNS delivers it
    (decoded, validated, converted to a version it accepts), else the first type it
    publishes (validated and serialised as ``publish`` does before its call)."""
    from messaging import Envelope  # the checkout's: the event is made here, not in the probe
    from messaging.catalog import load_catalog
    from tools.contract import load_fixture, sns_record

    manifest = declarations.services()[service].manifest
    if manifest["subscribes"]:
        event_type = manifest["subscribes"][0]["event_type"]
        version = load_catalog().spec(event_type).version
        envelope = Envelope(type=event_type, version=version, data=dict(load_fixture(event_type)))
        return {"service": service, "record": json.dumps(sns_record(envelope))}
    event_type = manifest["publishes"][0]
    return {"service": service, "record": "", "type": event_type,
            "data": json.dumps(load_fixture(event_type))}  # fmt: skip


def _lambda_env(service: str, task: str, backend: str, collector: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    env |= FAKE_CREDENTIALS | lambda_environment(service, tracing=backend)
    env |= runtime_environment(service)
    env |= {
        "LAMBDA_TASK_ROOT": task,
        "_X_AMZN_TRACE_ID": _XRAY_HEADER,  # as Lambda sets it, sampled, for every invocation
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{_unused_udp_port()}",  # segments go nowhere
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector,
    }
    assert env[TRACING_VARIABLE] == backend
    return env


def dependency_zip_bytes(requirements: list[str]) -> int:
    """Deflated size of ``requirements`` and everything they need that Lambda does not ship."""
    seen: set[str] = set()
    pending = list(requirements)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        while pending:
            name = re.match(r"[A-Za-z0-9._-]+", pending.pop())[0].lower()  # type: ignore[index]
            if name in seen or name in _PROVIDED_BY_LAMBDA:
                continue
            seen.add(name)
            dist = metadata.distribution(name)
            pending += [r for r in dist.requires or [] if "extra ==" not in r]
            for file in dist.files or []:
                path = Path(str(dist.locate_file(file)))
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, str(file))
    return len(buffer.getvalue())


def _of(found: dict[tuple[str, str], list[float]], variant: str, metric: str) -> Figure:
    return Figure.of(found[(variant, metric)])


def verdict(pair_ratios: list[float], goal: float) -> str:
    """``met`` when the 95% confidence interval of the median ratio is within ``goal``,
    ``not met`` when it is entirely above, ``undecided`` when it straddles the goal."""
    low, high = median_interval(pair_ratios)
    found = "met" if high <= goal else "not met" if low > goal else "undecided"
    return f"{found}: 95% interval of the median {low:.3f}-{high:.3f} (n={len(pair_ratios)} pairs)"


def top_imports(stderr: str, *, count: int = 5) -> tuple[list[str], list[str]]:
    """The ``count`` most expensive imports by cumulative and by self time."""
    entries = []
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            entries.append((int(match[1]), int(match[2]), len(match[3]), match[4]))
    top_level = sorted((e for e in entries if e[2] <= 1), key=lambda e: -e[1])[:count]
    by_self = sorted(entries, key=lambda e: -e[0])[:count]
    return (
        [f"{name} {cumulative / 1000:.0f} ms" for _, cumulative, _, name in top_level],
        [f"{name} {own / 1000:.1f} ms" for own, _, _, name in by_self],
    )


def backend_list(text: str) -> list[str]:
    """``"off,otel"`` -> the variants' backends, in the order given; an error names a bad one."""
    found: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if part not in BACKEND_CHOICES:
            raise ValueError(
                f"unknown tracing backend {part!r}; valid: {', '.join(BACKEND_CHOICES)}"
            )
        if BACKEND_CHOICES[part] not in found:
            found.append(BACKEND_CHOICES[part])
    return found


def cold_start(
    *, rounds: int, services: list[str] | None = None, backends: list[str] | None = None
) -> tuple[Group, Group]:
    """Groups 5 and 6; ``rounds`` paired rounds of the ``backends`` variants (default all)."""
    chosen = backends or list(BACKEND_CHOICES.values())
    traced = [b for b in TRACING_BACKENDS if b in chosen]
    start = Group(
        "coldstart",
        "5. Cold start per tracing backend: handler import + first client + first span "
        "vs bare boto3 + SNS client",
    )
    sizes = Group("artifacts", "6. Artifacts: zip and unpacked size")
    known = declarations.services()
    names = services or sorted(known)
    values: dict[tuple[str, str], list[float]] = {}  # (variant, metric): one per run
    ratios: dict[tuple[str, str], list[float]] = {}  # (variant, metric): one per pair
    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as scratch:
        tasks: dict[str, str] = {}
        for name in names:
            archive = build(known[name], if_stale=True)
            task = Path(scratch) / name
            with zipfile.ZipFile(archive) as opened:
                opened.extractall(task)
                unpacked = sum(info.file_size for info in opened.infolist())
            tasks[name] = str(task)
            sizes.rows.append(
                fact(
                    name,
                    f"zip {archive.stat().st_size / 1024:,.0f} KiB, "
                    f"unpacked {unpacked / 1024:,.0f} KiB",
                )
            )
        module = {name: known[name].handler.rsplit(".", 1)[0] for name in names}
        first = {name: first_event(name) for name in names}
        # Each service starts on its manifest's Python, and is compared with bare boto3 on
        # that same interpreter: Lambda runs the zip's bytecode under the runtime it names.
        python = {name: str(runtimes.test_python(name)) for name in names}
        baseline = {
            name: "bare boto3" if len(set(python.values())) == 1 else f"bare boto3 [{python[name]}]"
            for name in names
        }
        collector = TraceCollector(Path(scratch) / "traces.jsonl").start()
        probes = {
            f"{name} [{backend}]": (
                _PROBE.format(task=tasks[name], module=module[name], first=first[name]),
                _lambda_env(name, tasks[name], backend, collector.endpoint),
                tasks[name],
                python[name],
            )
            for name in names
            for backend in traced
        }
        for name in names if PROTOBUF in chosen else ():  # beside the JSON one, paired
            env = _lambda_env(name, tasks[name], "otel", collector.endpoint)
            probes[f"{name} [{PROTOBUF}]"] = (
                _PROBE.format(task=tasks[name], module=module[name], first=first[name]),
                env | {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
                tasks[name],
                python[name],
            )
        bare_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        for name in names:
            probes[baseline[name]] = (_BARE, bare_env | FAKE_CREDENTIALS, scratch, python[name])
        variants = [v for v in probes if v not in baseline.values()]
        partner = {v: baseline[v.split(" [", 1)[0]] for v in variants}
        try:
            for probe in probes.values():  # warm the page cache and any pyc writes, alike
                _run(*probe)
            details: dict[str, dict[str, Any]] = {}
            for round_index in range(rounds):
                scheduled = paired_schedule(variants, partner, round_index)
                answers = [_run(*probes[name])[0] for name in scheduled.runs]
                for index, answer in enumerate(answers):
                    name = scheduled.runs[index]
                    details[name] = answer
                    for metric in (*METRICS, "first_event_cpu_ms"):
                        if metric in answer:  # the bare runs have no first event
                            values.setdefault((name, metric), []).append(answer[metric])
                for mine, theirs in scheduled.pairs:
                    name = scheduled.runs[mine]
                    for metric in METRICS:
                        ratio = answers[mine][metric] / answers[theirs][metric]
                        ratios.setdefault((name, metric), []).append(ratio)
            importtime = {
                variant: _run(*probes[variant], "-X", "importtime")[2]
                for variant in variants
                if not variant.endswith("[xray]")
            }
        finally:
            collector.stop()
        for variant, answer in details.items():
            origin = str(answer.get("messaging", ""))
            if variant in variants and not origin.startswith(probes[variant][2]):
                raise RuntimeError(f"{variant}: messaging came from {answer['messaging']}")
        for bare in dict.fromkeys(baseline.values()):
            label = bare.replace("bare boto3", "bare", 1)
            start.rows += [
                row(f"{label}: import boto3 + SNS client", _of(values, bare, "total_ms"), "ms"),
                row(f"{label}: import boto3 + SNS client, CPU", _of(values, bare, "cpu_ms"), "ms"),
                row(f"{label}: whole process", _of(values, bare, "process_ms"), "ms"),
                row(f"{label}: whole process, CPU", _of(values, bare, "process_cpu_ms"), "ms"),
            ]
        for name in names:
            for backend in chosen:
                variant = f"{name} [{backend}]"
                if backend != PROTOBUF:
                    what = f"{variant}: import + first client + first span"
                    start.rows.append(row(what, _of(values, variant, "total_ms"), "ms"))
                    start.rows.append(row(f"{what}, CPU", _of(values, variant, "cpu_ms"), "ms"))
                    start.rows.append(
                        row(f"{variant}: then its first event, CPU", _of(values, variant,
                            "first_event_cpu_ms"), "ms")
                    )  # fmt: skip
                start.rows.append(ratio_row(f"{variant} / bare", _of(ratios, variant, "total_ms")))
                cpu = ratios[(variant, "cpu_ms")]
                start.rows.append(
                    ratio_row(f"{variant} / bare, CPU", Figure.of(cpu), TARGETS.get(backend))
                )
                if backend in TARGETS:
                    start.rows.append(
                        fact(f"{variant} / bare, CPU: verdict", verdict(cpu, TARGETS[backend]))
                    )
            whole = {"process_ms": "whole process", "process_cpu_ms": "whole process, CPU"}
            for metric, label in whole.items() if "off" in chosen else ():
                start.rows.append(
                    ratio_row(f"{name} [off] / bare, {label}", _of(ratios, f"{name} [off]", metric))
                )
        start.raw = {
            "runs": {f"{v} {m}": found for (v, m), found in values.items()},
            "pair_ratios": {f"{v} {m}": found for (v, m), found in ratios.items()},
        }
        for variant, stderr in importtime.items():
            cumulative, own = top_imports(stderr)
            start.notes.append(f"{variant} -X importtime top (cumulative): {', '.join(cumulative)}")
            start.notes.append(f"{variant} -X importtime top (self): {', '.join(own)}")
        for backend in chosen:
            loaded = [
                v for v, d in details.items()
                if v.endswith(f"[{backend}]") and (d.get("xray_loaded") or d.get("otel_loaded"))
            ]  # fmt: skip
            sdk = [
                v
                for v, d in details.items()
                if v.endswith(f"[{backend}]") and d.get("otel_sdk_loaded")
            ]
            spans = [d["span_ms"] for v, d in details.items() if v.endswith(f"[{backend}]")]
            start.notes.append(
                f"{backend}: tracing loaded by {len(loaded)} of {len(names)} services "
                f"(the OpenTelemetry SDK by {len(sdk)}), "
                f"first span {sorted(spans)[len(spans) // 2]:.1f} ms (median of the last round)"
            )
        for interpreter in sorted(set(python.values())):
            runs = ", ".join(name for name in names if python[name] == interpreter)
            shown = os.path.relpath(interpreter, declarations.ROOT)
            start.notes.append(f"{runs} and their bare baseline ran on {shown}")
        start.notes.append(
            "first client = messaging.aws_client('sns'), first span = tracing.span(...) for every "
            f"service; {rounds} rounds, each variant run next to a bare run (before it in one "
            "round, after it in the next), the ratio taken per pair; the verdict is the CPU ratio's"
        )
        for backend in traced:
            needs = BACKEND_DEPENDENCIES[backend]
            size = dependency_zip_bytes(needs)
            text = f"{size / 1024:,.0f} KiB ({', '.join(needs) or 'none'})"
            start.rows.append(fact(f"{backend}: tracing dependencies zipped", text))
        if PROTOBUF in chosen:
            size = dependency_zip_bytes(PROTOBUF_EXPORTER)
            start.rows.append(
                fact(
                    "otel with http/protobuf: tracing dependencies zipped",
                    f"{size / 1024:,.0f} KiB ({', '.join(PROTOBUF_EXPORTER)})",
                )
            )
    return start, sizes
