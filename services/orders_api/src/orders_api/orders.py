"""What an order is: the request checked field by field, and the stored record."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from messaging.validation import compile_schema

from .body import MAX_PROBLEMS
from .errors import HttpError

_validate_request = compile_schema(
    json.loads(Path(__file__).with_name("request.schema.json").read_text(encoding="utf-8")),
    where="POST /orders body",
)


def _field(problem: str) -> dict[str, str]:
    path, _, message = problem.partition(": ")
    return {"field": path.removeprefix("$.").removeprefix("$"), "message": message}


def new_order(body: Any) -> dict[str, Any]:
    """An order from a request body; ``HttpError`` 400 naming each offending field."""
    problems = _validate_request(body)
    if problems:
        raise HttpError(
            400, "the order is invalid", problems=[_field(p) for p in problems[:MAX_PROBLEMS]]
        )
    items = [dict(item) for item in body["items"]]
    return {
        "order_id": str(uuid.uuid4()),
        "customer_email": body["customer_email"],
        "items": items,
        "total_cents": sum(item["quantity"] * item["unit_price_cents"] for item in items),
        "currency": body["currency"],
        "fulfilment": body.get("fulfilment", "physical"),
        "status": "placed",
        "placed_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def event_data(order: dict[str, Any]) -> dict[str, Any]:
    """The ``order.placed`` payload: the order without its storage-only fields."""
    keys = ("order_id", "customer_email", "items", "total_cents", "currency", "fulfilment")
    data = {key: order[key] for key in keys}
    data["item_count"] = sum(int(item["quantity"]) for item in order["items"])
    return data
