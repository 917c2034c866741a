"""Figures 5 and 6: cold start from each built artifact, and the artifacts' sizes.

Each service's zip (``tools.build``, rebuilt only when stale) is unpacked to a temporary
directory that stands in for ``/var/task``: first on ``sys.path`` and the working
directory, with the function's Lambda environment (including ``LAMBDA_TASK_ROOT``).
A fresh interpreter then imports the handler module, creates its first client and
opens and closes its first span, once per tracing backend (``MESSAGING_TRACING`` off,
xray, otel, with a sampled X-Ray header as Lambda sets it; otel exports to a collector
on loopback, as to the ADOT layer's). The baseline is a bare interpreter that imports
boto3 and creates one SNS client. Runs are interleaved, and ``-X importtime`` names the
most expensive modules. Each backend's tracing dependencies are sized as a zip too.
"""

from __future__ import annotations

import io
import json
import os
import re
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
from .stats import Samples

# Goals of issue 13 for import + first client + first span, against bare boto3.
TARGETS = {"off": 1.10, "otel": 1.3}
# What each backend needs beyond the Lambda runtime (which provides boto3 and its
# dependencies); with the ADOT layer, the layer brings the otel set instead of the zip.
BACKEND_DEPENDENCIES = {
    "off": [],
    "xray": ["aws-xray-sdk"],
    "otel": ["opentelemetry-sdk"],  # OTLP/HTTP JSON goes out through the stdlib
}
# The protobuf exporter, for OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf only; its
# variant runs beside the others so the two encodings are compared within each round.
PROTOBUF = "otel, http/protobuf"
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
_XRAY_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

_PROBE = """
import json, sys, time
started = time.perf_counter()
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
done = time.perf_counter()
print(json.dumps({{"import_ms": (imported - started) * 1000,
    "client_ms": (client - imported) * 1000, "span_ms": (done - client) * 1000,
    "total_ms": (done - started) * 1000,
    "messaging": messaging.__file__, "xray_loaded": "aws_xray_sdk" in sys.modules,
    "otel_loaded": "opentelemetry.sdk.trace" in sys.modules}}))
"""

_BARE = """
import json, time
started = time.perf_counter()
import boto3
boto3.client("sns")
done = time.perf_counter()
print(json.dumps({"import_ms": 0, "client_ms": 0, "total_ms": (done - started) * 1000}))
"""

_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def _run(
    code: str, env: dict[str, str], cwd: str, python: str, *flags: str
) -> tuple[dict[str, Any], float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [python, "-I", *flags, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    wall_ms = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"cold-start probe failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1]), wall_ms, result.stderr


def _unused_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def cold_start(*, rounds: int, services: list[str] | None = None) -> tuple[Group, Group]:
    start = Group(
        "coldstart",
        "5. Cold start per tracing backend: handler import + first client + first span "
        "vs bare boto3 + SNS client",
    )
    sizes = Group("artifacts", "6. Artifacts: zip and unpacked size")
    known = declarations.services()
    names = services or sorted(known)
    samples = Samples()
    wall = Samples()
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
                _PROBE.format(task=tasks[name], module=module[name]),
                _lambda_env(name, tasks[name], backend, collector.endpoint),
                tasks[name],
                python[name],
            )
            for name in names
            for backend in TRACING_BACKENDS
        }
        for name in names:  # the protobuf exporter beside the default JSON one, paired
            env = _lambda_env(name, tasks[name], "otel", collector.endpoint)
            probes[f"{name} [{PROTOBUF}]"] = (
                _PROBE.format(task=tasks[name], module=module[name]),
                env | {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
                tasks[name],
                python[name],
            )
        bare_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        for name in names:
            probes[baseline[name]] = (_BARE, bare_env | FAKE_CREDENTIALS, scratch, python[name])
        variants = list(probes)
        try:
            for probe in probes.values():  # warm the page cache and any pyc writes
                _run(*probe)
            details: dict[str, dict[str, Any]] = {}
            for round_index in range(rounds):
                shift = round_index % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    answer, wall_ms, _ = _run(*probes[variant])
                    samples.add(variant, round_index, answer["total_ms"])
                    wall.add(variant, round_index, wall_ms)
                    details[variant] = answer
            importtime = {
                variant: _run(*probes[variant], "-X", "importtime")[2]
                for variant in variants
                if not variant.startswith("bare boto3") and not variant.endswith("[xray]")
            }
        finally:
            collector.stop()
        for variant, answer in details.items():
            origin = str(answer.get("messaging", ""))
            if not variant.startswith("bare boto3") and not origin.startswith(probes[variant][2]):
                raise RuntimeError(f"{variant}: messaging came from {answer['messaging']}")
        for bare in dict.fromkeys(baseline.values()):
            label = bare.replace("bare boto3", "bare", 1)
            start.rows.append(
                row(f"{label}: import boto3 + SNS client", samples.stat(bare, 50), "ms")
            )
            start.rows.append(row(f"{label}: whole process", wall.stat(bare, 50), "ms"))
        for name in names:
            for backend in TRACING_BACKENDS:
                variant = f"{name} [{backend}]"
                start.rows.append(
                    row(
                        f"{variant}: import + first client + first span",
                        samples.stat(variant, 50),
                        "ms",
                    )
                )
                start.rows.append(
                    ratio_row(
                        f"{variant} / bare",
                        samples.ratio(variant, baseline[name], 50),
                        TARGETS.get(backend),
                    )
                )
            start.rows.append(
                ratio_row(
                    f"{name} [{PROTOBUF}] / bare",
                    samples.ratio(f"{name} [{PROTOBUF}]", baseline[name], 50),
                )
            )
            start.rows.append(
                ratio_row(
                    f"{name} [off] / bare, whole process",
                    wall.ratio(f"{name} [off]", baseline[name], 50),
                )
            )
        for variant, stderr in importtime.items():
            cumulative, own = top_imports(stderr)
            start.notes.append(f"{variant} -X importtime top (cumulative): {', '.join(cumulative)}")
            start.notes.append(f"{variant} -X importtime top (self): {', '.join(own)}")
        for backend in (*TRACING_BACKENDS, PROTOBUF):
            loaded = [
                v for v, d in details.items()
                if v.endswith(f"[{backend}]") and (d.get("xray_loaded") or d.get("otel_loaded"))
            ]  # fmt: skip
            spans = [d["span_ms"] for v, d in details.items() if v.endswith(f"[{backend}]")]
            start.notes.append(
                f"{backend}: tracing SDK loaded by {len(loaded)} of {len(names)} services, "
                f"first span {sorted(spans)[len(spans) // 2]:.1f} ms (median of the last round)"
            )
        for interpreter in sorted(set(python.values())):
            runs = ", ".join(name for name in names if python[name] == interpreter)
            shown = os.path.relpath(interpreter, declarations.ROOT)
            start.notes.append(f"{runs} and their bare baseline ran on {shown}")
        start.notes.append(
            "first client = messaging.aws_client('sns'), first span = tracing.span(...) for every "
            f"service; {rounds} interleaved runs each"
        )
        for backend in TRACING_BACKENDS:
            needs = BACKEND_DEPENDENCIES[backend]
            size = dependency_zip_bytes(needs)
            text = f"{size / 1024:,.0f} KiB ({', '.join(needs) or 'none'})"
            start.rows.append(fact(f"{backend}: tracing dependencies zipped", text))
        size = dependency_zip_bytes(PROTOBUF_EXPORTER)
        start.rows.append(
            fact(
                "otel with http/protobuf: tracing dependencies zipped",
                f"{size / 1024:,.0f} KiB ({', '.join(PROTOBUF_EXPORTER)})",
            )
        )
    return start, sizes
