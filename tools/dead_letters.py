"""Dead letters: list them and redrive them, in AWS (boto3) or on the local system.

In AWS a function's dead letters are in its on-failure queue,
``<env>-<function>-on-failure`` (Terraform's name). A dead letter is Lambda's
on-failure record (or the router's, for a poison message): the original
``requestPayload`` with the error, the condition and the attempt count.
Redriving invokes the function with that payload synchronously and deletes the
letter only after the invocation succeeded; a letter that fails again stays.

    python -m tools.dead_letters list --env dev [SERVICE]
    python -m tools.dead_letters redrive SERVICE --env dev [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from . import declarations
from .contract import names

# payload -> None when handled, else the error ({"errorType", "errorMessage"})
Invoke = Callable[[Any], dict[str, Any] | None]


def receive_all(sqs: Any, url: str, visibility: int) -> list[dict[str, Any]]:
    """Every message now in the queue, each hidden for ``visibility`` seconds."""
    seen: dict[str, dict[str, Any]] = {}
    while True:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return list(seen.values())
        for message in fresh:
            seen[message["MessageId"]] = message


def describe(record: dict[str, Any]) -> str:
    """One line: condition, attempts, error type and message."""
    context = record.get("requestContext", {})
    error = record.get("responsePayload") or {}
    return (
        f"{context.get('condition', '?')} after {context.get('approximateInvokeCount', '?')} "
        f"attempt(s): {error.get('errorType')}: {error.get('errorMessage')}"
    )


def redrive_queue(
    sqs: Any, url: str, service: str, invoke: Invoke, *, dry_run: bool = False
) -> dict[str, Any]:
    """Replay every dead letter in ``url`` through ``invoke``; delete each one handled."""
    lines: list[str] = []
    handled = failed = 0
    for message in receive_all(sqs, url, visibility=300):
        record = json.loads(message["Body"])
        release = True
        if dry_run:
            lines.append(f"would redrive {message['MessageId']}: {describe(record)}")
        else:
            error = invoke(record.get("requestPayload"))
            if error is None:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                handled += 1
                release = False
                lines.append(f"redriven and deleted {message['MessageId']}")
            else:
                failed += 1
                lines.append(
                    f"still failing, kept {message['MessageId']}: {error.get('errorType')}: "
                    f"{error.get('errorMessage')}"
                )
        if release:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    lines.append(f"{service}: {handled} redriven, {failed} still failing")
    return {"handled": handled, "failed": failed, "lines": lines}


def aws_invoker(lambda_client: Any, function_name: str) -> Invoke:
    """Invoke the deployed function synchronously; a function error keeps the letter."""

    def invoke(payload: Any) -> dict[str, Any] | None:
        response = lambda_client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(payload).encode(),
        )
        body = response["Payload"].read()
        if response.get("FunctionError"):
            try:
                error: dict[str, Any] = json.loads(body)
            except ValueError:
                error = {"errorType": response["FunctionError"], "errorMessage": body.decode()}
            return error
        return None

    return invoke


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list dead letters")
    listing.add_argument("service", nargs="?")
    again = commands.add_parser("redrive", help="replay a service's dead letters")
    again.add_argument("service")
    again.add_argument("--dry-run", action="store_true")
    for sub in (listing, again):
        sub.add_argument("--env", required=True, help="dev, staging or prod")
    args = parser.parse_args(argv)
    import boto3

    known = declarations.services()
    wanted = [args.service] if args.service else list(known)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        print(f"error: unknown service {unknown[0]!r}; valid: {', '.join(known)}", file=sys.stderr)
        return 2
    sqs = boto3.client("sqs")
    for name in wanted:
        queue = names.on_failure_queue_name(name, args.env)
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        if args.command == "list":
            for message in receive_all(sqs, url, visibility=30):
                record = json.loads(message["Body"])
                print(f"{name} {message['MessageId']} {describe(record)}")
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        else:
            invoke = aws_invoker(boto3.client("lambda"), names.function_name(name, args.env))
            outcome = redrive_queue(sqs, url, name, invoke, dry_run=args.dry_run)
            print("\n".join(outcome["lines"]))
            if outcome["failed"]:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
