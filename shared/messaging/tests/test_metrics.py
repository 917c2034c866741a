"""EMF metrics: one line per event type per invocation, valid by AWS's specification."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import fastjsonschema
import pytest

from messaging import Envelope, Router, get_logger, invocation, new_event, publish, publish_many
from messaging.catalog import load_catalog
from messaging.metrics import emf_lines
from tools.contract import load_fixture, sns_event, sqs_event

AWS_SHAPED_EVENT = load_fixture("sns-lambda-event")
_check_schema = fastjsonschema.compile(
    json.loads((Path(__file__).parent / "cloudwatch_emf.schema.json").read_text("utf-8"))
)


def emf_problems(document: dict[str, Any]) -> list[str]:
    """What breaks the EMF specification, including the references JSON Schema cannot check."""
    try:
        _check_schema(document)
    except fastjsonschema.JsonSchemaException as error:
        return [error.message]
    problems = []
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                if not isinstance(document.get(name), str):
                    problems.append(f"dimension {name!r} is not a string member of the root")
        for metric in directive["Metrics"]:
            value = document.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            if not values or len(values) > 100:
                problems.append(f"metric {metric['Name']!r} has {len(values)} values (1..100)")
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                problems.append(f"metric {metric['Name']!r} is not numeric: {value!r}")
    return problems


def _metrics(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    found = [line for line in lines if "_aws" in line]
    for document in found:
        assert emf_problems(document) == [], document
    return found


@pytest.fixture
def quiet_logs() -> None:
    for name in ("app", "messaging"):
        get_logger(name).handlers[0].stream = sys.stderr  # stdout holds only the metrics


def test_a_handled_event_is_one_emf_line_with_its_count_and_duration(
    lambda_env: Any, quiet_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    lambda_env("order_confirmation")
    router = Router(dead_letter_poison=False)
    router.on("order.placed")(lambda event: None)
    # when
    router.handle(copy.deepcopy(AWS_SHAPED_EVENT), SimpleNamespace(aws_request_id="r-1"))
    # then
    [line] = _metrics(capsys)
    [directive] = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == load_catalog().metrics_namespace == "EventMessaging"
    assert directive["Dimensions"] == [["Service", "EventType"]]
    assert (line["Service"], line["EventType"]) == ("order_confirmation", "order.placed")
    assert line["Handled"] == 1
    [duration] = line["HandleDuration"]
    assert duration >= 0
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units == {"Handled": "Count", "HandleDuration": "Milliseconds"}


def test_a_failing_handler_is_counted_failed_and_the_line_still_written(
    lambda_env: Any, quiet_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    lambda_env("order_confirmation")
    router = Router(dead_letter_poison=False)

    @router.on("order.placed")
    def broken(event: Envelope) -> None:
        raise RuntimeError("SES is down")

    with pytest.raises(RuntimeError, match="SES is down"):
        router.handle(copy.deepcopy(AWS_SHAPED_EVENT), None)
    [line] = _metrics(capsys)
    assert line["Failed"] == 1
    assert "Handled" not in line
    assert len(line["HandleDuration"]) == 1


def test_poison_messages_are_counted_rejected_under_their_type(
    lambda_env: Any, quiet_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a consumer with a dead-letter queue and no handler for inventory.rejected
    lambda_env("order_confirmation")
    router = Router()
    router.on("order.placed")(lambda event: None)
    stranger = new_event(
        "inventory.rejected", {"order_id": "o", "reason": "unknown_sku", "skus": ["A"]}
    )
    garbage = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "not json"}}]}
    # when
    router.handle(sns_event(stranger), None)
    router.handle(garbage, None)
    # then
    first, second = _metrics(capsys)
    assert (first["EventType"], first["Rejected"]) == ("inventory.rejected", 1)
    assert (second["EventType"], second["Rejected"]) == ("unknown", 1)


def test_a_duplicate_delivery_is_counted_skipped(
    lambda_env: Any, quiet_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    lambda_env("order_status")  # its manifest's idempotency table is provisioned
    router = Router(dead_letter_poison=False)
    router.on("order.placed")(lambda event: None)
    router.handle(copy.deepcopy(AWS_SHAPED_EVENT), None)
    router.handle(copy.deepcopy(AWS_SHAPED_EVENT), None)
    first, second = _metrics(capsys)
    assert "DuplicateSkipped" not in first
    assert second["DuplicateSkipped"] == 1


def test_publishes_in_an_invocation_are_one_line_per_event_type(
    orders_api_env: dict[str, str],
    order: dict[str, object],
    quiet_logs: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with invocation(SimpleNamespace(aws_request_id="r-2")):
        publish(new_event("order.placed", order))
        publish_many(new_event("order.placed", order) for _ in range(12))
    [line] = _metrics(capsys)
    assert (line["Service"], line["EventType"], line["Published"]) == (
        "orders_api",
        "order.placed",
        13,
    )


def test_nothing_is_written_outside_an_invocation(
    orders_api_env: dict[str, str],
    order: dict[str, object],
    quiet_logs: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(new_event("order.placed", order))
    assert _metrics(capsys) == []


def test_more_durations_than_emf_allows_in_one_value_are_split_not_dropped(
    orders_api_env: dict[str, str],
) -> None:
    durations = [float(i) for i in range(250)]
    lines = [
        json.loads(line) for line in emf_lines("svc", {"t.x": {"Handled": 250}}, {"t.x": durations})
    ]
    assert [emf_problems(line) for line in lines] == [[], [], []]
    assert [v for line in lines for v in line["HandleDuration"]] == durations
    assert [line.get("Handled") for line in lines] == [250, None, None]


@pytest.mark.parametrize(
    ("breakage", "problem"),
    [
        (
            lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="Millisecond"),
            "must be one of",
        ),
        (lambda d: d["_aws"].pop("Timestamp"), "Timestamp"),
        (lambda d: d.pop("EventType"), "dimension 'EventType'"),
        (lambda d: d.update(Handled="1"), "not numeric"),
    ],
)
def test_the_specification_check_rejects_broken_documents(
    orders_api_env: dict[str, str], breakage: Any, problem: str
) -> None:
    [line] = emf_lines("svc", {"t.x": {"Handled": 1}}, {}, timestamp_ms=1)
    document = json.loads(line)
    assert emf_problems(document) == []
    breakage(document)
    assert any(problem in p for p in emf_problems(document)), emf_problems(document)


def test_a_queue_batch_counts_each_record_handled_or_failed_and_rejects_poison(
    lambda_env: Any, quiet_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a bulk handler that reports the second of three orders as failed, and a batch
    # that also carries an event type the consumer does not handle
    lambda_env("order_confirmation")
    router = Router()
    orders = [new_event("order.placed", load_fixture("order.placed")) for _ in range(3)]

    @router.batch("order.placed", idempotent=False)
    def confirm_all(events: list[Envelope]) -> list[str]:
        return [orders[1].id]

    stranger = new_event(
        "inventory.rejected", {"order_id": "o", "reason": "unknown_sku", "skus": ["A"]}
    )
    # when
    result = router.handle(sqs_event([*orders, stranger]), None)
    # then one line per event type: two handled and one failed, the stranger rejected
    assert len(result["batchItemFailures"]) == 1
    by_type = {line["EventType"]: line for line in _metrics(capsys)}
    assert (by_type["order.placed"]["Handled"], by_type["order.placed"]["Failed"]) == (2, 1)
    assert len(by_type["order.placed"]["HandleDuration"]) == 3
    assert by_type["inventory.rejected"]["Rejected"] == 1
