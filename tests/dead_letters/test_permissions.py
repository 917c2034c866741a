"""The redrive policy (``tools/dead_letters/permissions.py``) held to AWS's data, since moto
enforces no IAM: parliament (AWS's authorization reference) finds nothing in it, and
every call ``list`` and ``redrive`` make for every kind — with what AWS authorizes behind
each (a move task's reads, deletes and sends; the queue key) — is allowed by it, while
every action it grants is one of those calls."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from messaging import Envelope
from tools import dead_letters, declarations
from tools.contract import load_fixture, names, on_failure_record, sns_event, sns_notification
from tools.dead_letters import of_service, permissions
from tools.iam import reference
from tools.iam.actions import iam_action
from tools.iam.policy import Request, allows, as_list

ENV = "dev"
SERVICE = "order_confirmation"
QUEUES = {q.kind: q for q in of_service(SERVICE, ENV)}
KEY_ARN = f"arn:aws:kms:{names.REGION}:{names.ACCOUNT_ID}:key/1234abcd-0000-0000-0000-000000000000"
KEY = {
    "kms:ResourceAliases": [names.queue_key_alias(SERVICE, ENV)],
    "kms:ViaService": f"sqs.{names.REGION}.amazonaws.com",
}


def justified(issue: str, detail: Any) -> bool:
    """A finding parliament makes that AWS's reference itself answers."""
    # The reference lists kms:ResourceAliases under the key resource type, not under each
    # action; parliament looks only at the action's own keys. AWS evaluates it for every
    # operation on a key ("kms:ResourceAliases", AWS KMS condition keys).
    return issue == "UNKNOWN_CONDITION_FOR_ACTION" and "kms:ResourceAliases" in str(detail)


def _resource(params: dict[str, Any]) -> str:
    if "FunctionName" in params:
        return names.function_arn(SERVICE, ENV)
    if "SourceArn" in params:
        return str(params["SourceArn"])
    name = params.get("QueueName") or str(params["QueueUrl"]).rsplit("/", 1)[1]
    return names.queue_arn(name)


def requests_of(service: str, operation: str, params: dict[str, Any]) -> list[Request]:
    """The authorization requests one API call makes, as AWS's documentation lists them."""
    action = iam_action(service, operation)
    found = [Request(action, _resource(params), {})]
    if action == "sqs:StartMessageMoveTask":
        # The task acts as its caller on both queues (StartMessageMoveTask, "permissions").
        found += [
            Request(a, params["SourceArn"], {})
            for a in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
        ]
        found.append(Request("sqs:SendMessage", params["DestinationArn"], {}))
        found += [Request(a, KEY_ARN, KEY) for a in ("kms:Decrypt", "kms:GenerateDataKey")]
    if action == "sqs:ReceiveMessage":
        found.append(Request("kms:Decrypt", KEY_ARN, KEY))  # the queues are encrypted
    if action == "sqs:SendMessage":
        found.append(Request("kms:GenerateDataKey", KEY_ARN, KEY))
    return found


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.service_model.signing_name, model.name, dict(params)))

    def watch(self, events: Any) -> None:
        events.register("before-parameter-build", self)


@pytest.fixture
def recorded(fake_aws: None, deploy_function: Callable[..., str]) -> Iterator[Recorder]:
    recorder = Recorder()
    deploy_function(SERVICE)
    sqs = boto3.client("sqs")
    urls = {kind: sqs.create_queue(QueueName=q.name)["QueueUrl"] for kind, q in QUEUES.items()}
    envelope = Envelope(type="order.placed", data=load_fixture("order.placed"))
    error = {"errorType": "LookupError", "errorMessage": "x"}
    record = on_failure_record(
        sns_event(envelope), error, service=SERVICE, attempts=3, request_id="r", environment=ENV
    )
    sqs.send_message(QueueUrl=urls["on-failure"], MessageBody=json.dumps(record))
    notification = json.dumps(sns_notification(envelope))
    sqs.send_message(QueueUrl=urls["delivery"], MessageBody=notification)
    boto3.setup_default_session()  # the clients the command creates report their calls
    recorder.watch(boto3.DEFAULT_SESSION.events)
    try:
        yield recorder
    finally:
        boto3.DEFAULT_SESSION = None


def _move_task_calls(recorder: Recorder) -> None:
    """The AWS path of a queue's dead letters (moto has no move task: botocore's Stubber)."""
    queue = QUEUES["queue"]
    assert queue.source is not None
    client = boto3.client("sqs", region_name=names.REGION)
    recorder.watch(client.meta.events)
    dlq_arn, source_arn = names.queue_arn(queue.name), names.queue_arn(queue.source)
    with Stubber(client) as stub:
        stub.add_response("get_queue_url", {"QueueUrl": f"https://q/{queue.name}"})
        stub.add_response("get_queue_url", {"QueueUrl": f"https://q/{queue.source}"})
        stub.add_response(
            "get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": "1"}}
        )
        stub.add_response("get_queue_attributes", {"Attributes": {"QueueArn": dlq_arn}})
        stub.add_response("get_queue_attributes", {"Attributes": {"QueueArn": source_arn}})
        policy = json.dumps({"deadLetterTargetArn": dlq_arn})
        stub.add_response("get_queue_attributes", {"Attributes": {"RedrivePolicy": policy}})
        stub.add_response("list_message_move_tasks", {"Results": []})
        stub.add_response("start_message_move_task", {"TaskHandle": "t"})
        stub.add_response("list_message_move_tasks", {"Results": []})
        outcome = dead_letters.redrive(
            client, [queue], lambda event: None, dead_letters.start_move_task
        )
    assert outcome.moving == 1


def test_the_redrive_policy_passes_parliament() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports the deprecated pkg_resources
        import parliament

    key_conditions = reference._privileges()["kms:decrypt"][0]["arns"]
    assert key_conditions["key"].startswith("arn:${Partition}:kms:")
    for service in declarations.services():
        document = permissions.policy(service, ENV)
        analysed = parliament.analyze_policy_string(
            json.dumps(document), ignore_private_auditors=True
        )
        found = [
            f"{f.issue} {f.detail}" for f in analysed.findings if not justified(f.issue, f.detail)
        ]
        assert found == [], service
        for statement in document["Statement"]:
            for action in statement["Action"]:
                assert reference.exists(action), action


def test_every_call_of_list_and_redrive_is_allowed_and_every_grant_is_used(
    recorded: Recorder,
) -> None:
    # when the commands run against every kind of the service's dead letters
    assert dead_letters.main(["list", SERVICE, "--env", ENV]) == 0
    for kind in ("on-failure", "delivery"):
        assert dead_letters.main(["redrive", SERVICE, "--env", ENV, "--kind", kind]) == 0
    _move_task_calls(recorded)
    # then the policy allows each request, and grants nothing no request needs
    document = permissions.policy(SERVICE, ENV)
    requests = [r for call in recorded.calls for r in requests_of(*call)]
    denied = sorted(
        {f"{r.action} on {r.resource}" for r in requests if not allows([document], None, r)}
    )
    assert denied == []
    granted = {a for s in document["Statement"] for a in as_list(s["Action"])}
    assert granted == {r.action for r in requests}
    for operation in ("StartMessageMoveTask", "Invoke", "DeleteMessage", "ReceiveMessage"):
        assert operation in {name for _, name, _ in recorded.calls}
