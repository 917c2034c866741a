"""Versions side by side: handing a consumer an event at a version it accepts.

Publishers send the catalog's current version, but older versions stay in flight for a
while (an outbox republishing what it stored before an upgrade, a dead-letter redrive,
functions not yet redeployed). A consumer declares the versions it accepts in its
manifest; the router converts what arrives, one step at a time, with the converters
registered beside the catalog (``converters.py``): an upcaster turns version N into
N+1, a downcaster N+1 into N. The converters module is loaded on first need only, and
this module too: which versions a service accepts is in ``manifest``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .manifest import accepted_versions

__all__ = ["Converter", "Converters", "accepted_versions", "conversion_path", "load_converters"]

Converter = Callable[[dict[str, Any]], dict[str, Any]]


class Converters:
    """Upcasters keyed by (event type, N) for N -> N+1; downcasters by (type, N) for N -> N-1."""

    def __init__(
        self,
        upcasters: Mapping[tuple[str, int], Converter],
        downcasters: Mapping[tuple[str, int], Converter],
    ) -> None:
        self.upcasters = dict(upcasters)
        self.downcasters = dict(downcasters)

    def step(self, event_type: str, version: int, target: int) -> Converter | None:
        """The converter from ``version`` one step towards ``target``, if registered."""
        if target > version:
            return self.upcasters.get((event_type, version))
        return self.downcasters.get((event_type, version))


def conversion_path(
    converters: Converters, event_type: str, version: int, accepted: Iterable[int]
) -> list[tuple[int, int]] | None:
    """The steps (from, to) that bring ``version`` to the nearest accepted version.

    ``[]`` when the version is accepted as is; ``None`` when no chain of registered
    converters reaches an accepted version. Nearest wins; between two as near, the newer.
    """
    targets = sorted(set(accepted), key=lambda t: (abs(t - version), -t))
    for target in targets:
        steps = []
        current = version
        while current != target:
            following = current + (1 if target > current else -1)
            if converters.step(event_type, current, target) is None:
                break
            steps.append((current, following))
            current = following
        else:
            return steps
    return None


@lru_cache(maxsize=8)
def load_converters(directory: Path) -> Converters:
    """The ``UPCASTERS`` and ``DOWNCASTERS`` of ``<catalog>/converters.py`` (none if absent)."""
    path = directory / "converters.py"
    if not path.is_file():
        return Converters({}, {})
    spec = importlib.util.spec_from_file_location("messaging._event_converters", path)
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"cannot load the event converters at {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise ConfigurationError(f"cannot load the event converters at {path}: {error}") from error
    return Converters(getattr(module, "UPCASTERS", {}), getattr(module, "DOWNCASTERS", {}))
