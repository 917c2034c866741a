"""Events larger than SNS accepts travel as a claim check: data in S3, a pointer on the topic.

The message keeps the envelope and every message attribute (so filter policies still
route it); only ``data`` moves to ``s3://<BUCKET_LARGE_EVENTS>/<service>/<type>/<id>.json``
and is replaced by ``claim_check`` {bucket, key, sha256, bytes}. Consumers resolve it
before validation, so handlers never see the difference. The bucket's lifecycle rule
expires the objects after the redrive window.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from . import aws
from .config import settings
from .envelope import Envelope
from .errors import ConfigurationError, MalformedMessageError

__all__ = ["check_in", "resolve", "threshold_bytes"]


def threshold_bytes(limit: int) -> int:
    """Wire size above which events are checked in (``LARGE_EVENT_THRESHOLD_BYTES``)."""
    threshold = settings().large_event_threshold_bytes
    if threshold is None:
        return limit
    if threshold > limit:
        raise ConfigurationError(
            f"LARGE_EVENT_THRESHOLD_BYTES must be an integer in 1..{limit}, got {threshold}"
        )
    return threshold


def check_in(envelope: Envelope, bucket: str) -> Envelope:
    """Store ``envelope.data`` in S3; the envelope to publish instead carries the pointer."""
    body = json.dumps(envelope.data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    key = f"{envelope.source or 'unknown'}/{envelope.type}/{envelope.id}.json"
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    pointer = {
        "bucket": bucket,
        "key": key,
        "sha256": hashlib.sha256(body).hexdigest(),
        "bytes": len(body),
    }
    return dataclasses.replace(envelope, data={}, claim_check=pointer)


def resolve(envelope: Envelope) -> Envelope:
    """The envelope with its data fetched back from S3 and checked against its digest."""
    pointer = envelope.claim_check
    if pointer is None:
        return envelope
    response = aws.client("s3").get_object(Bucket=pointer["bucket"], Key=pointer["key"])
    body = response["Body"].read()
    if hashlib.sha256(body).hexdigest() != pointer["sha256"]:
        raise MalformedMessageError(
            f"claim-checked data at s3://{pointer['bucket']}/{pointer['key']} does not match "
            "its sha256: refusing to handle altered data"
        )
    data = json.loads(body)
    if not isinstance(data, dict):
        raise MalformedMessageError("claim-checked data must be a JSON object")
    return dataclasses.replace(envelope, data=data, claim_check=None)
