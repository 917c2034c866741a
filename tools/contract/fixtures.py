"""``tests/events/``: the fixtures producers and consumers are both checked against."""

from __future__ import annotations

import json
from typing import Any

from tools.declarations import ROOT

__all__ = ["EVENTS_DIR", "load_fixture"]

EVENTS_DIR = ROOT / "tests" / "events"


def load_fixture(name: str) -> Any:
    """The parsed ``tests/events/<name>.json``."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
