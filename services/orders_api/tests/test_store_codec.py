"""The order store's DynamoDB codec agrees with boto3's own serializer."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from orders_api.store import _deserialize, _serialize

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(VALUES)
def test_round_trips_and_matches_boto3(value: Any) -> None:
    encoded = _serialize(value)
    assert encoded == TypeSerializer().serialize(value)
    assert _deserialize(encoded) == value
