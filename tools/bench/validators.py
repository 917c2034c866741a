"""The JSON Schema options side by side, as one order.placed event sees them.

    python -m tools.bench.validators [--rounds 5] [--events 3000] [--before REV]

Each option runs in fresh interpreters (the median of ``--rounds``), after ``boto3`` and
``messaging`` are imported, as in a function: the marginal import time of the validator,
its first validation (compile or load included) and the time per event afterwards. The
hand-written validator the package used before is read from git (``--before``).
"""

from __future__ import annotations

import argparse
import json
import py_compile
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from messaging import validation

from ..declarations import EVENTS_DIR, ROOT

SCHEMA = EVENTS_DIR / "schemas" / "order.placed.v2.json"
EVENT = ROOT / "tests" / "events" / "order.placed.json"

_PROBE = """
import json, sys, time
import boto3, messaging
schema = json.load(open({schema!r}))
event = json.load(open({event!r}))
sys.path.insert(0, {scratch!r})
t0 = time.perf_counter()
{imports}
t1 = time.perf_counter()
{build}
check(event)
t2 = time.perf_counter()
for _ in range({events}):
    check(event)
t3 = time.perf_counter()
print(json.dumps([(t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) / {events} * 1e6]))
"""

OPTIONS = {
    "fastjsonschema, code generated at build time": (
        "from messaging.validation import _load_module, _wrap",
        "check = _wrap(_load_module(__import__('pathlib').Path({scratch!r}) / 'generated.py'))",
    ),
    "fastjsonschema at run time": (
        "import fastjsonschema",
        "check = fastjsonschema.compile(schema)",
    ),
    "jsonschema": (
        "import jsonschema",
        "v = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())\n"
        "check = lambda e: list(v.iter_errors(e))",
    ),
    "hand-written subset (before)": (
        "import before_validation",
        "check = before_validation.compile_schema(schema)",
    ),
}


def _zipped_kib(paths: list[Path], root: Path) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "size.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, path.relative_to(root))
        return target.stat().st_size / 1024


def _packages_kib(names: list[str]) -> float:
    import importlib.util

    total = 0.0
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise SystemExit(f"{name} is not installed")
        package = Path(spec.origin).parent
        files = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        total += _zipped_kib(files, package.parent)
    return total


def sizes(scratch: Path) -> dict[str, str]:
    """What each option adds to a zip (deflated), for the order.placed schema alone."""
    generated = [scratch / "generated.py", *scratch.glob("__pycache__/generated*.pyc")]
    found = {
        "fastjsonschema, code generated at build time": _zipped_kib(generated, scratch),
        "fastjsonschema at run time": _packages_kib(["fastjsonschema"]),
        "jsonschema": _packages_kib(
            ["jsonschema", "jsonschema_specifications", "referencing", "rpds", "attrs", "attr"]
        ),
        "hand-written subset (before)": _zipped_kib([scratch / "before_validation.py"], scratch),
    }
    return {name: f"{kib:.0f}" for name, kib in found.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--before", default="main", help="git revision of the old validator")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        schema = json.loads(SCHEMA.read_text("utf-8"))
        (scratch / "generated.py").write_text(validation.generate_code(schema), "utf-8")
        py_compile.compile(str(scratch / "generated.py"), doraise=True)
        old = subprocess.run(
            ["git", "show", f"{args.before}:shared/messaging/src/messaging/validation.py"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        (scratch / "before_validation.py").write_text(old, "utf-8")
        rows = []
        for option, (imports, build) in OPTIONS.items():
            runs = []
            for _ in range(args.rounds):
                code = _PROBE.format(
                    schema=str(SCHEMA), event=str(EVENT), scratch=str(scratch),
                    imports=imports, build=build.format(scratch=str(scratch)), events=args.events,
                )  # fmt: skip
                result = subprocess.run(
                    [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
                )
                if result.returncode != 0:
                    raise SystemExit(f"{option}: {result.stderr}")
                runs.append(json.loads(result.stdout))
            rows.append([option, *(statistics.median(r[i] for r in runs) for i in range(3))])
        size = sizes(scratch)
    print("| option | import ms | first validation ms | µs/event | zip KiB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for option, imported, first, per_event in rows:
        print(f"| {option} | {imported:.1f} | {first:.1f} | {per_event:.1f} | {size[option]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
