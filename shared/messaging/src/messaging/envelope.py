"""The envelope every event travels in, and how it maps to an SNS message.

On the wire the SNS ``Message`` is the envelope as JSON; the event type, version,
source, correlation id and trace context are also message attributes, so that
subscription filter policies can route on them without parsing the body.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import MalformedMessageError

__all__ = ["Envelope"]

_FIELDS = ("id", "type", "version", "source", "time", "correlation_id", "traceparent", "data")
_OPTIONAL_FIELDS = ("claim_check",)
# One encoder for the process: ``json.dumps`` with non-default options builds a new one per
# call, which was a fifth of the envelope's encoding time on every publish.
_WIRE_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event: who sent what, when, in which conversation, with its data.

    ``id`` is assigned by the publisher and survives republishing (redrive, retries),
    which is why idempotency keys on it rather than on the SNS ``MessageId``.
    """

    type: str
    data: dict[str, Any]
    version: int = 1
    source: str = ""
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: str = field(default_factory=_now)
    correlation_id: str = ""
    traceparent: str | None = None
    # Set on the wire only, when ``data`` was too large for SNS and waits in S3
    # (see ``claim_check``); consumers get the envelope back with its data.
    claim_check: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        wire = {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "source": self.source,
            "time": self.time,
            "correlation_id": self.correlation_id,
            "traceparent": self.traceparent,
            "data": self.data,
        }
        if self.claim_check is not None:
            wire["claim_check"] = self.claim_check
        return wire

    def to_json(self) -> str:
        return _WIRE_ENCODER.encode(self.to_dict())

    @classmethod
    def from_dict(cls, raw: Any) -> Envelope:
        """Rebuild an envelope, naming the first field that is missing or of the wrong type."""
        if not isinstance(raw, dict):
            raise MalformedMessageError(f"envelope must be a JSON object, got {type(raw).__name__}")
        expectations: tuple[tuple[str, type | tuple[type, ...]], ...] = (
            ("id", str),
            ("type", str),
            ("version", int),
            ("source", str),
            ("time", str),
            ("correlation_id", str),
            ("data", dict),
        )
        for name, kind in expectations:
            if name not in raw:
                raise MalformedMessageError(f"envelope field {name!r} is missing")
            value = raw[name]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise MalformedMessageError(
                    f"envelope field {name!r} must be {getattr(kind, '__name__', kind)}, "
                    f"got {type(value).__name__}"
                )
        if not raw["id"] or not raw["type"]:
            raise MalformedMessageError("envelope fields 'id' and 'type' must not be empty")
        traceparent = raw.get("traceparent")
        if traceparent is not None and not isinstance(traceparent, str):
            raise MalformedMessageError("envelope field 'traceparent' must be a string or null")
        unknown = set(raw) - set(_FIELDS) - set(_OPTIONAL_FIELDS)
        if unknown:
            raise MalformedMessageError(f"envelope has unknown field(s) {sorted(unknown)}")
        claim_check = raw.get("claim_check")
        if claim_check is not None and not (
            isinstance(claim_check, dict)
            and all(isinstance(claim_check.get(k), str) for k in ("bucket", "key", "sha256"))
        ):
            raise MalformedMessageError(
                "envelope field 'claim_check' must be an object with string bucket, key, sha256"
            )
        return cls(
            id=raw["id"],
            type=raw["type"],
            version=raw["version"],
            source=raw["source"],
            time=raw["time"],
            correlation_id=raw["correlation_id"],
            traceparent=traceparent,
            data=raw["data"],
            claim_check=claim_check,
        )

    @classmethod
    def from_json(cls, text: str) -> Envelope:
        try:
            raw = json.loads(text)
        except (TypeError, ValueError) as error:
            raise MalformedMessageError(f"message is not valid JSON: {error}") from None
        return cls.from_dict(raw)
