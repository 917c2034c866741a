"""``python -m tools.dead_letters``: every kind of dead letter of a deployed environment."""

from __future__ import annotations

import argparse
import json
import sys

from tools import declarations
from tools.contract import names

from . import __doc__ as package_doc
from . import permissions
from .queues import KINDS, DeadLetterError, selected
from .replay import aws_invoker, listing, redrive, start_move_task


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="python -m tools.dead_letters",
        description=(package_doc or "").split("\n\n")[0],
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    listing_parser = commands.add_parser("list", help="every dead letter, by service and kind")
    listing_parser.add_argument("service", nargs="?")
    again = commands.add_parser("redrive", help="replay a service's dead letters")
    again.add_argument("service")
    again.add_argument("--dry-run", action="store_true", help="say what would be replayed")
    for sub in (listing_parser, again):
        sub.add_argument("--kind", choices=KINDS, help="one kind of dead-letter queue only")
    policy_parser = commands.add_parser(
        "policy", help="the IAM policy whoever runs list and redrive for SERVICE needs"
    )
    policy_parser.add_argument("service")
    policy_parser.add_argument("--account-id", default=names.ACCOUNT_ID)
    policy_parser.add_argument("--region", default=names.REGION)
    for sub in (listing_parser, again, policy_parser):
        sub.add_argument("--env", required=True, help="dev, staging or prod")
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import boto3

    wanted = [args.service] if args.service else list(declarations.services())
    try:
        if args.command == "policy":
            document = permissions.policy(
                args.service, args.env, account_id=args.account_id, region=args.region
            )
            print(json.dumps(document, indent=2))
            return 0
        queues = selected(wanted, args.env, args.kind)
        sqs = boto3.client("sqs")
        if args.command == "list":
            print("\n".join(listing(sqs, queues)))
            return 0
        invoke = aws_invoker(boto3.client("lambda"), names.function_name(args.service, args.env))
        outcome = redrive(sqs, queues, invoke, start_move_task, dry_run=args.dry_run)
    except DeadLetterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(outcome.lines))
    return 1 if outcome.failed else 0
