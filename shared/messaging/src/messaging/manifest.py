"""What this function's own manifest declares that the package needs while handling.

Read on every event handled, so kept apart from the converters in ``versions``: a
consumer that receives only versions it accepts never loads them.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from .errors import ConfigurationError

__all__ = ["accepted_versions"]


def _manifest_path(service: str) -> Path:
    # A built artifact carries its manifest beside the package; a checkout has it in services/.
    bundled = Path(__file__).with_name("_service.json")
    if bundled.is_file():
        return bundled
    return Path(__file__).resolve().parents[4] / "services" / service / "service.json"


@lru_cache(maxsize=8)
def _declared(path: Path) -> dict[str, tuple[int, ...]]:
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"cannot read the service manifest at {path}: {error}") from error
    return {
        str(entry["event_type"]): tuple(int(v) for v in entry["versions"])
        for entry in manifest.get("subscribes", [])
        if entry.get("versions")
    }


def accepted_versions(service: str, event_type: str, current: int) -> tuple[int, ...]:
    """The versions of ``event_type`` that ``service`` accepts: its manifest's, else current."""
    declared = _declared(_manifest_path(service))
    return declared.get(event_type, (current,))
