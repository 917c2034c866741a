"""Figures 5 and 6: cold start from each built artifact, and the artifacts' sizes.

Each service's zip (``tools.build``, rebuilt only when stale) is unpacked to a temporary
directory that stands in for ``/var/task``: first on ``sys.path`` and the working
directory, with the function's Lambda environment (including ``LAMBDA_TASK_ROOT``).
A fresh interpreter then imports the handler module and creates its first client; the
baseline is a bare interpreter that imports boto3 and creates one SNS client. Runs are
interleaved service by service, and ``-X importtime`` names the most expensive modules.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from tools import declarations
from tools.build import build
from tools.contract import FAKE_CREDENTIALS, lambda_environment, runtime_environment

from .report import Group, fact, ratio_row, row
from .stats import Samples

_PROBE = """
import json, sys, time
started = time.perf_counter()
sys.path.insert(0, {task!r})
import importlib
importlib.import_module({module!r})
imported = time.perf_counter()
import messaging
messaging.aws_client("sns")
done = time.perf_counter()
print(json.dumps({{"import_ms": (imported - started) * 1000, "client_ms": (done - imported) * 1000,
    "total_ms": (done - started) * 1000, "messaging": messaging.__file__,
    "xray_loaded": "aws_xray_sdk" in sys.modules}}))
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
    code: str, env: dict[str, str], cwd: str, *flags: str
) -> tuple[dict[str, Any], float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-I", *flags, "-c", code],
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


def _lambda_env(service: str, task: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    env |= FAKE_CREDENTIALS | lambda_environment(service) | runtime_environment(service)
    return env | {"LAMBDA_TASK_ROOT": task}


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
        "coldstart", "5. Cold start: handler import + first client vs bare boto3 + SNS client"
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
        probes = {
            name: (
                _PROBE.format(task=tasks[name], module=module[name]),
                _lambda_env(name, tasks[name]),
                tasks[name],
            )
            for name in names
        }
        bare_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        probes["bare boto3"] = (_BARE, bare_env | FAKE_CREDENTIALS, scratch)
        variants = list(probes)
        for code, env, cwd in probes.values():  # warm the page cache and any pyc writes
            _run(code, env, cwd)
        details: dict[str, dict[str, Any]] = {}
        for round_index in range(rounds):
            shift = round_index % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                code, env, cwd = probes[variant]
                answer, wall_ms, _ = _run(code, env, cwd)
                samples.add(variant, round_index, answer["total_ms"])
                wall.add(variant, round_index, wall_ms)
                details[variant] = answer
        for name in names:
            if not str(details[name].get("messaging", "")).startswith(tasks[name]):
                raise RuntimeError(f"{name}: messaging came from {details[name]['messaging']}")
        start.rows.append(
            row("bare: import boto3 + SNS client", samples.stat("bare boto3", 50), "ms")
        )
        start.rows.append(row("bare: whole process", wall.stat("bare boto3", 50), "ms"))
        for name in names:
            start.rows.append(row(f"{name}: import + first client", samples.stat(name, 50), "ms"))
            start.rows.append(
                ratio_row(f"{name} / bare", samples.ratio(name, "bare boto3", 50), 1.2)
            )
            start.rows.append(
                ratio_row(f"{name} / bare, whole process", wall.ratio(name, "bare boto3", 50))
            )
        for name in names:
            code, env, cwd = probes[name]
            _, _, stderr = _run(code, env, cwd, "-X", "importtime")
            cumulative, own = top_imports(stderr)
            start.notes.append(f"{name} -X importtime top (cumulative): {', '.join(cumulative)}")
            start.notes.append(f"{name} -X importtime top (self): {', '.join(own)}")
        loaded = [n for n in names if details[n].get("xray_loaded")]
        start.notes.append(
            "first client = messaging.aws_client('sns') for every service; aws_xray_sdk loaded "
            f"at import by: {', '.join(loaded) or 'none'}; {rounds} interleaved runs each"
        )
    return start, sizes
