"""``python -m tools.local``: run the system, the demo, and talk to a running system.

up                              the whole system in the foreground (what `make local` runs)
demo                            start, place an order, show the flow, check the outcomes
invoke SERVICE --event FILE     one invocation (running system, or a fresh one)
publish EVENT_TYPE --data JSON  publish as the declared publisher service would
events sample KIND              sns:<event-type> | http:<METHOD> <path>
dlq list [SERVICE] [--kind K]   every dead letter (on-failure, delivery, queue), by service
dlq redrive SERVICE [--dry-run] replay each, as tools.dead_letters says; delete it once handled
token --email ADDRESS           a bearer token of the local issuer, for routes declared jwt
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

from tools.dead_letters import KINDS, DeadLetterError

from . import client
from .artifacts import ArtifactError
from .reload import watch
from .samples import SampleError, sample
from .system import DEFAULT_CONCURRENCY, SEED_FILE, LocalError, Options, System


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    return float(raw) if raw.strip() else default


def _concurrency(text: str) -> tuple[int, dict[str, int]]:
    """``4,orders_api=8``: 4 workers per function, 8 for orders_api."""
    default, overrides = DEFAULT_CONCURRENCY, {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, value = part.rpartition("=")
        if not value.isdigit():
            raise argparse.ArgumentTypeError(
                f"concurrency {part!r}: give a whole number (0 throttles), or SERVICE=N"
            )
        if name:
            overrides[name] = int(value)
        else:
            default = int(value)
    return default, overrides


def _system_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=_env_int("LOCAL_PORT", 3000),
        help="HTTP front door port on 127.0.0.1 (LOCAL_PORT, default 3000; 0: any free port)",
    )  # fmt: skip
    parser.add_argument(
        "--moto-port", type=int, default=_env_int("LOCAL_MOTO_PORT", 4566),
        help="moto server port on 127.0.0.1 (LOCAL_MOTO_PORT, default 4566; 0: any free port)",
    )  # fmt: skip
    parser.add_argument(
        "--backoff", type=float, default=_env_float("LOCAL_RETRY_BACKOFF_S", 1.0),
        help="seconds before the first async retry, doubled for each next one "
        "(LOCAL_RETRY_BACKOFF_S, default 1; Lambda waits about 1 then 2 minutes)",
    )  # fmt: skip
    parser.add_argument(
        "--fail", default=os.environ.get("LOCAL_FAIL_SERVICES", ""),
        help="comma-separated services whose worker raises before calling the handler "
        "(LOCAL_FAIL_SERVICES): fault injection",
    )  # fmt: skip
    parser.add_argument(
        "--concurrency", type=_concurrency, default=os.environ.get("LOCAL_CONCURRENCY", ""),
        help="workers per function at most, e.g. 4 or 4,orders_api=8; 0 throttles "
        f"(LOCAL_CONCURRENCY, default {DEFAULT_CONCURRENCY}; in AWS the reserved concurrency)",
    )  # fmt: skip
    parser.add_argument("--no-build", action="store_true", help="use dist/ as it is")
    parser.add_argument("--no-seed", action="store_true", help=f"do not load {SEED_FILE.name}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the functions' logs")
    parser.add_argument(
        "--color", choices=["auto", "always", "never"], default="auto", help="coloured output"
    )


def _state_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir", type=Path, default=Path(os.environ.get("LOCAL_STATE_DIR", client.DEFAULT)),
        help="where the running system writes state.json, logs and invocations.jsonl",
    )  # fmt: skip


def options_from(args: argparse.Namespace, **overrides: Any) -> Options:
    color = {"auto": None, "always": True, "never": False}[args.color]
    concurrency = args.concurrency  # argparse runs the string default through _concurrency too
    values: dict[str, Any] = {
        "http_port": args.port,
        "moto_port": args.moto_port,
        "state_dir": args.state_dir,
        "backoff_s": args.backoff,
        "build": not args.no_build,
        "seed": None if args.no_seed else SEED_FILE,
        "fail_services": frozenset(s.strip() for s in args.fail.split(",") if s.strip()),
        "verbose": args.verbose,
        "color": color,
        "concurrency": concurrency[0],
        "concurrency_overrides": concurrency[1],
    }
    return Options(**(values | overrides))


def cmd_up(args: argparse.Namespace) -> int:
    system = System(options_from(args))
    done = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        system.start()
        if args.reload:
            watch(list(system.services), system.reload, system.stopping)
            system.console.system("watching services/ and shared/: a change reloads its service")
        system.console.system("Ctrl-C stops everything")
        while not done.wait(0.5):
            dead = [
                name
                for name, pool in system.workers.items()
                if any(w.process and w.process.poll() is not None for w in pool.workers)
            ]
            if system.moto and system.moto.poll() is not None:
                raise LocalError("the moto server exited; stopping")
            if dead and not system.stopping.is_set():
                system.console.system(f"worker(s) exited: {', '.join(dead)}")
    except LocalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        system.console.system("stopping")
        system.stop()
        system.console.system("stopped; no process left behind")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    options = options_from(args)
    if args.state_dir == client.DEFAULT:  # never clobber the state of a running `make local`
        options.state_dir = client.DEFAULT / "demo"
    return int(run_demo(options, timeout_s=args.timeout))


def cmd_invoke(args: argparse.Namespace) -> int:
    event = (
        json.loads(Path(args.event).read_text("utf-8"))
        if args.event != "-"
        else json.load(sys.stdin)
    )
    state = client.running(args.state_dir)
    if state is not None and not args.fresh:
        answer = client.invoke(state, args.service, event)
    else:
        options = options_from(args, services=[args.service], deliver=False)
        if state is not None:  # a fresh system beside the running one: any free ports
            options.http_port = options.moto_port = 0
        options.state_dir = args.state_dir / "invoke"
        system = System(options)
        try:
            system.start()
            answer = system.invoke(args.service, event)
        finally:
            system.stop()
    print(json.dumps(answer.get("result") if answer["ok"] else answer["error"], indent=2))
    return 0 if answer["ok"] else 1


def cmd_publish(args: argparse.Namespace) -> int:
    state = client.require(args.state_dir)
    data = json.loads(Path(args.data[1:]).read_text() if args.data.startswith("@") else args.data)
    event = client.publish(state, args.event_type, data, publisher=args.publisher)
    print(json.dumps({"published": event.id, "type": event.type, "source": event.source}))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    print(json.dumps(sample(args.kind), indent=2))
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    state = client.require(args.state_dir)
    if args.dlq_command == "list":
        print("\n".join(client.dead_letter_listing(state, args.service, args.kind)))
        return 0
    outcome = client.redrive(state, args.service, kind=args.kind, dry_run=args.dry_run)
    print("\n".join(outcome.lines))
    return 0 if not outcome.failed else 1


def cmd_token(args: argparse.Namespace) -> int:
    print(client.customer_token(client.require(args.state_dir), args.email))
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="python -m tools.local", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n")[1],
    )  # fmt: skip
    commands = main_parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the whole system in the foreground")
    _system_options(up)
    _state_dir_option(up)
    up.add_argument(
        "--no-reload", dest="reload", action="store_false",
        help="do not watch services/ and shared/ for changes",
    )  # fmt: skip
    up.set_defaults(run=cmd_up)

    demo = commands.add_parser("demo", help="place an order and show the flow")
    _system_options(demo)
    _state_dir_option(demo)
    demo.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the chain")
    demo.set_defaults(run=cmd_demo, port=0, moto_port=0)

    invoke = commands.add_parser("invoke", help="one invocation, like `sam local invoke`")
    invoke.add_argument("service")
    invoke.add_argument("--event", required=True, help="a JSON file ('-': stdin)")
    invoke.add_argument("--fresh", action="store_true", help="ignore a running system")
    _system_options(invoke)
    _state_dir_option(invoke)
    invoke.set_defaults(run=cmd_invoke)

    publish = commands.add_parser("publish", help="publish an event as its publisher would")
    publish.add_argument("event_type")
    publish.add_argument("--data", required=True, help="the event's data: JSON, or @file.json")
    publish.add_argument("--publisher", help="when several services publish the type")
    _state_dir_option(publish)
    publish.set_defaults(run=cmd_publish)

    events = commands.add_parser("events", help="sample events to start from")
    events_commands = events.add_subparsers(dest="events_command", required=True)
    sample = events_commands.add_parser(
        "sample", help="'sns:order.placed' or 'http:POST /orders' (or 'http:GET /orders/o-1')"
    )
    sample.add_argument("kind")
    _state_dir_option(sample)  # accepted for symmetry; samples need no running system
    sample.set_defaults(run=cmd_sample)

    dlq = commands.add_parser("dlq", help="every dead-letter queue: on-failure, delivery, queue")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = dlq_commands.add_parser("list", help="every dead letter, by service and kind")
    listing.add_argument("service", nargs="?")
    _state_dir_option(listing)
    listing.set_defaults(run=cmd_dlq)
    redrive = dlq_commands.add_parser("redrive", help="replay a service's dead letters")
    redrive.add_argument("service")
    redrive.add_argument("--dry-run", action="store_true", help="list what would be replayed")
    for sub in (listing, redrive):
        sub.add_argument("--kind", choices=KINDS, help="one kind of dead-letter queue only")
    _state_dir_option(redrive)
    redrive.set_defaults(run=cmd_dlq)

    token = commands.add_parser("token", help="a bearer token of the running system's issuer")
    token.add_argument("--email", required=True, help="the customer's (verified) address")
    _state_dir_option(token)
    token.set_defaults(run=cmd_token)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (
        LocalError,
        ArtifactError,
        SampleError,
        client.NotRunningError,
        DeadLetterError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"error: the local system did not answer: {error}", file=sys.stderr)
        return 1
