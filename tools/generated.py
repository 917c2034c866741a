"""The command line of a document generated from the declarations: print it, write it,
or fail when the committed copy is stale (what the staleness tests and make call)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def main(
    argv: list[str] | None,
    *,
    what: str,
    render: Callable[[str], str],
    make_target: str,
) -> int:
    """``render`` turns a file's current text ("" when it does not exist) into what the
    file should hold, so a generated section can live inside a hand-written file."""
    parser = argparse.ArgumentParser(description=f"Render the {what}.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, help=f"write the {what} into this file")
    group.add_argument("--check", type=Path, help=f"exit 1 if this file's {what} is stale")
    args = parser.parse_args(argv)
    if args.write:
        current = args.write.read_text("utf-8") if args.write.is_file() else ""
        args.write.write_text(render(current), "utf-8")
    elif args.check:
        current = args.check.read_text("utf-8") if args.check.is_file() else ""
        if not current or render(current) != current:
            print(f"{args.check} is stale: run `make {make_target}`", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(render(""))
    return 0
