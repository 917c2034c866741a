"""Converters between neighbouring versions of an event type, beside the catalog they serve.

``UPCASTERS[(type, N)]`` turns the data of version N into version N+1; ``DOWNCASTERS[(type,
N)]`` turns version N into N-1. Each is a pure function of the data, so the router can
chain them; the contract tests check each one's output against the target schema.
Keep this module free of imports beyond the standard library: it ships in every artifact.
"""

from __future__ import annotations

from typing import Any


def order_placed_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v2 adds ``item_count``, which v1 data already implies: the sum of the quantities."""
    return {**data, "item_count": sum(int(item["quantity"]) for item in data["items"])}


def order_placed_v2_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    """v1 consumers never saw ``item_count``; everything else is unchanged."""
    return {key: value for key, value in data.items() if key != "item_count"}


UPCASTERS = {("order.placed", 1): order_placed_v1_to_v2}
DOWNCASTERS = {("order.placed", 2): order_placed_v2_to_v1}
