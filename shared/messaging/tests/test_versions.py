"""Versions side by side: the router hands each consumer a version it accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from messaging import Envelope, Router, UnknownEventVersionError, publish
from messaging import manifest as own_manifest
from messaging.versions import Converters, conversion_path
from tools.contract import load_fixture, sns_event

V2 = dict(load_fixture("order.placed"))
V1 = {key: value for key, value in V2.items() if key != "item_count"}


def _up(data: dict[str, Any]) -> dict[str, Any]:
    return data


CHAIN = Converters(
    upcasters={("e.t", 1): _up, ("e.t", 2): _up},
    downcasters={("e.t", 3): _up},
)


@pytest.mark.parametrize(
    ("version", "accepted", "steps"),
    [
        (2, [2], []),
        (1, [3], [(1, 2), (2, 3)]),
        (3, [2], [(3, 2)]),
        (3, [1], None),  # no downcaster 2 -> 1
        (1, [4], None),  # no upcaster 3 -> 4
        (2, [1, 3], [(2, 3)]),  # as near either way: the newer wins
    ],
)
def test_conversion_path_walks_registered_steps_only(
    version: int, accepted: list[int], steps: list[tuple[int, int]] | None
) -> None:
    assert conversion_path(CHAIN, "e.t", version, accepted) == steps


def _consumer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, versions: list[int]
) -> tuple[Router, list[Envelope]]:
    manifest = {"subscribes": [{"event_type": "order.placed", "versions": versions}]}
    (tmp_path / "service.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(own_manifest, "_manifest_path", lambda service: tmp_path / "service.json")
    seen: list[Envelope] = []
    router = Router(dead_letter_poison=False)
    router.on("order.placed", idempotent=False)(seen.append)
    return router, seen


def test_a_consumer_on_version_1_gets_the_current_version_downcast(
    lambda_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lambda_env("order_confirmation")
    router, seen = _consumer(tmp_path, monkeypatch, [1])
    router.handle(sns_event(Envelope(type="order.placed", version=2, data=V2)), None)
    [event] = seen
    assert (event.version, event.data) == (1, V1)


def test_a_consumer_on_version_2_gets_a_version_1_event_upcast(
    lambda_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lambda_env("order_confirmation")
    router, seen = _consumer(tmp_path, monkeypatch, [2])
    router.handle(sns_event(Envelope(type="order.placed", version=1, data=V1)), None)
    [event] = seen
    assert (event.version, event.data["item_count"]) == (2, 3)


def test_a_consumer_accepting_both_versions_gets_each_as_is(
    lambda_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lambda_env("order_confirmation")
    router, seen = _consumer(tmp_path, monkeypatch, [1, 2])
    router.handle(sns_event(Envelope(type="order.placed", version=1, data=V1)), None)
    router.handle(sns_event(Envelope(type="order.placed", version=2, data=V2)), None)
    assert [(e.version, e.data) for e in seen] == [(1, V1), (2, V2)]


def test_no_path_to_an_accepted_version_is_poison_naming_service_and_versions(
    lambda_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lambda_env("order_confirmation")
    router, seen = _consumer(tmp_path, monkeypatch, [7])
    with pytest.raises(
        UnknownEventVersionError, match=r"'order_confirmation' accepts order.placed"
    ):
        router.handle(sns_event(Envelope(type="order.placed", version=2, data=V2)), None)
    assert seen == []


def test_a_version_no_longer_published_is_refused_before_sending(
    blob_catalog: Path,
) -> None:
    catalog_file = blob_catalog / "catalog.json"
    catalog = json.loads(catalog_file.read_text())
    catalog["events"]["order.placed"]["published_versions"] = []
    catalog_file.write_text(json.dumps(catalog))
    with pytest.raises(UnknownEventVersionError, match="version 1 is no longer published"):
        publish(Envelope(type="order.placed", version=1, data=V1, source="orders_api"))
