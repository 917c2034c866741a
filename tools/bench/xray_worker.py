"""orders_api with X-Ray active, driven line by line from the benchmark (figure 2).

Started by ``tools.bench.latency.TracedWorker`` with the function's Lambda environment
plus ``AWS_LAMBDA_FUNCTION_NAME``, ``LAMBDA_TASK_ROOT`` and ``AWS_XRAY_DAEMON_ADDRESS``.
Each ``run`` line gets a fresh sampled ``_X_AMZN_TRACE_ID`` (as Lambda sets one per
invocation, outside the timed region), handles one ``POST /orders`` and answers with
its duration in milliseconds as one JSON line.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time

from messaging import tracing
from tools.contract import http_event, load_fixture

from .harness import devnull, silence_logs
from .latency import trace_header


def main() -> int:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    # Nothing else may write on the protocol stream; metric lines go where the parent's do.
    sys.stdout = devnull
    handler = importlib.import_module("orders_api.handler")
    silence_logs()
    body = load_fixture("post-orders.body")
    out.write(json.dumps({"tracing_active": tracing.tracing_active()}) + "\n")
    for line in sys.stdin:
        if line.strip() != "run":
            continue
        os.environ["_X_AMZN_TRACE_ID"] = trace_header()
        event = http_event("POST", "/orders", body=body)
        started = time.perf_counter()
        try:
            answer = handler.handle(event)
        except Exception as error:
            out.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\n")
            continue
        elapsed = (time.perf_counter() - started) * 1000
        if answer["statusCode"] != 202:
            out.write(json.dumps({"error": f"POST /orders answered {answer}"}) + "\n")
            continue
        out.write(json.dumps({"ms": elapsed}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
