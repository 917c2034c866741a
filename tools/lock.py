"""Re-lock every ``.in`` file into its hash-pinned ``.txt`` with pip-compile.

Index and find-links lines are never written: a lock must install the same anywhere,
whatever the pip configuration of the machine that produced it.

    python -m tools.lock            # every lock
    python -m tools.lock --upgrade  # and move pins to the newest releases
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from .declarations import ROOT

FLAGS = [
    "--quiet", "--generate-hashes", "--allow-unsafe", "--strip-extras",
    "--no-emit-index-url", "--no-emit-find-links",
]  # fmt: skip


def lock_files() -> list[Path]:
    found = sorted((ROOT / "requirements").glob("*.in"))
    found += sorted((ROOT / "services").glob("*/requirements.in"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Re-lock requirements with pip-compile.")
    parser.add_argument("--upgrade", action="store_true")
    args = parser.parse_args(argv)
    compiler = Path(sys.executable).with_name("pip-compile")
    for source in lock_files():
        target = source.with_suffix(".txt")
        command = [str(compiler), *FLAGS, "--output-file", target.name, source.name]
        if args.upgrade:
            command.append("--upgrade")
        print(f"locking {target.relative_to(ROOT)}", flush=True)
        subprocess.run(command, cwd=source.parent, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
