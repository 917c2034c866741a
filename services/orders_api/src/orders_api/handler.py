"""The critical path: ``POST /orders`` stores the order, publishes ``order.placed``, answers 202.

Everything slow (the email, the stock reservation) happens in consumers of the event,
so the caller waits for one DynamoDB write and one SNS publish, nothing more.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from messaging import Envelope, get_logger, log_context, new_event, publish

from . import store
from .errors import HttpError
from .http import Request, error_response, parse_request, response
from .orders import event_data, new_order

log = get_logger()

_ORDER_PATH = re.compile(r"^/orders/(?P<order_id>[A-Za-z0-9-]{1,64})(?P<receipt>/receipt)?$")
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")


# What anyone holding an order id may read: no e-mail address, nothing about the customer.
PUBLIC_FIELDS = (
    "order_id",
    "status",
    "status_detail",
    "items",
    "total_cents",
    "currency",
    "fulfilment",
    "placed_at",
)
RETRY_AFTER_S = 1


def _public(order: dict[str, Any]) -> dict[str, Any]:
    return {key: order[key] for key in PUBLIC_FIELDS if key in order}


def _publish_pending(order: dict[str, Any]) -> None:
    """Send the order's stored event (same id on every attempt); its delivery clears it."""
    pending = order.get("pending_event")
    if pending:
        publish(Envelope.from_json(pending))


def place_order(request: Request) -> dict[str, Any]:
    key = request.headers.get("idempotency-key")
    if key is not None and not _KEY_PATTERN.match(key):
        raise HttpError(
            400, "the Idempotency-Key header must be 8-128 characters of [A-Za-z0-9_.:-]"
        )
    if key:
        existing = store.order_for_key(key)
        if existing is not None:
            # Same answer as the first attempt; if that attempt's publish failed, the
            # republish schedule delivers its event.
            return response(202, {"order_id": existing["order_id"], "status": "accepted"})
    order = new_order(request.json())
    event = new_event("order.placed", event_data(order), correlation_id=request.request_id or None)
    with log_context(order_id=order["order_id"], event_id=event.id):
        try:
            store.put_order(order, event.to_json(), key)
        except store.StoreUnavailableError as error:
            log.warning("order not stored, the client may retry", extra={"reason": str(error)})
            raise HttpError(
                503, "the order could not be stored now; retry", retry_after_s=RETRY_AFTER_S
            ) from None
        except store.KeyAlreadyUsedError:
            raced = store.order_for_key(str(key))
            if raced is None:
                raise
            return response(202, {"order_id": raced["order_id"], "status": "accepted"})
        try:
            # No third call to clear pending_event: delivery clears it (order_status),
            # so the caller waits for one write and one publish.
            publish(event)
        except Exception:
            # The order and its event are stored: the scheduled republish (or the
            # client's retry with the same Idempotency-Key) delivers it. Failing the
            # request here would only invite a duplicate order without a key.
            log.exception("order stored, publish deferred to the republish schedule")
        log.info("order placed", extra={"total_cents": order["total_cents"]})
    return response(
        202,
        {"order_id": order["order_id"], "status": "accepted"},
        {"location": f"/orders/{order['order_id']}"},
    )


def get_order(order_id: str) -> dict[str, Any]:
    order = store.get_order(order_id)
    if order is None or "customer_email" not in order:
        raise HttpError(404, f"no order {order_id!r}")
    return response(200, _public(order))


def get_receipt(order_id: str, claims: dict[str, str]) -> dict[str, Any]:
    """The order with its e-mail address, for the customer who placed it.

    The route is declared ``"auth": "jwt"``, so API Gateway has verified the token; the
    caller is the customer when the token's verified ``email`` is the order's.
    """
    if not claims:
        raise HttpError(401, "this route needs a bearer token")
    email = claims.get("email", "")
    if not email or claims.get("email_verified") != "true":
        raise HttpError(403, "the token carries no verified email claim")
    order = store.get_order(order_id)
    if order is None or "customer_email" not in order:
        raise HttpError(404, f"no order {order_id!r}")
    # Addresses are compared case-insensitively, as identity providers store them.
    if str(order["customer_email"]).casefold() != email.casefold():
        raise HttpError(403, f"order {order_id!r} was placed with another e-mail address")
    return response(200, {**_public(order), "customer_email": order["customer_email"]})


def route(request: Request) -> dict[str, Any]:
    if request.path == "/orders":
        if request.method == "POST":
            return place_order(request)
        raise HttpError(405, f"{request.method} is not allowed on /orders", allowed=["POST"])
    match = _ORDER_PATH.match(request.path)
    if match:
        if request.method == "GET":
            if match["receipt"]:
                return get_receipt(match["order_id"], request.claims)
            return get_order(match["order_id"])
        raise HttpError(405, f"{request.method} is not allowed on {request.path}", allowed=["GET"])
    raise HttpError(404, f"no route for {request.method} {request.path}")


def handle(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point: the HTTP API routes in the manifest, and the republish schedule."""
    if isinstance(event, dict) and event.get("source") == "aws.events":
        return republish_pending(event, context)
    try:
        return route(parse_request(event))
    except HttpError as error:
        return error_response(error)


def republish_pending(event: Any = None, context: Any = None) -> dict[str, Any]:
    """Recovery: publish the events of orders stored while SNS was unreachable.

    Only orders older than ``REPUBLISH_GRACE_S`` (120 s by default) are considered, so
    events still on their way to ``order_status`` are left alone. Safe at any time: the
    events keep their ids, so consumers that already handled one skip it.
    """
    grace = float(os.environ.get("REPUBLISH_GRACE_S", "120"))
    cutoff = datetime.now(UTC) - timedelta(seconds=grace)
    sent = []
    for order in store.pending_orders(cutoff.isoformat(timespec="seconds").replace("+00:00", "Z")):
        _publish_pending(order)
        sent.append(order["order_id"])
    log.info("republished pending order events", extra={"count": len(sent)})
    return {"republished": sent}
