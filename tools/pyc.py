"""Compile a staged Lambda tree's ``.py`` files to ``.pyc`` reproducibly (stdlib only).

Run by the manifest's own interpreter when it is not the one building (bytecode is
specific to a Python minor version):  ``python3.13 -I tools/pyc.py STAGING /var/task``.
"""

from __future__ import annotations

import py_compile
import sys
from pathlib import Path


def compile_tree(staging: Path, task_root: str) -> None:
    """Hash-checked ``.pyc`` beside every source, naming the path Lambda will load it from."""
    for source in sorted(staging.rglob("*.py")):
        relative = source.relative_to(staging)
        py_compile.compile(
            str(source),
            cfile=str(
                source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
            ),
            dfile=f"{task_root}/{relative.as_posix()}",
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )


if __name__ == "__main__":
    compile_tree(Path(sys.argv[1]), sys.argv[2])
