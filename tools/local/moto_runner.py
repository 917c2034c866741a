"""``python moto_runner.py HOST PORT PARENT_PID``: moto's server, tied to the local system.

Like the workers, it asks Linux to kill it when the process that started it dies, so a
crashed or killed ``make local`` leaves no server holding the port.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
from typing import Any


def deliver_http_message_attributes() -> None:
    """Give HTTP endpoint subscriptions the notification SNS sends them, attributes included.

    SNS puts ``MessageAttributes`` in the JSON it POSTs to an HTTP/S endpoint; moto (5.x)
    leaves them out, and the local delivery (``tools/local/delivery.py``) routes on them.
    The POSTs share a pool of kept-alive connections (moto serves each request on a new
    thread, so a connection per thread would be a connection per publish).
    """
    import urllib3
    from moto.sns.models import Subscription

    original = Subscription.publish
    pool = urllib3.PoolManager(maxsize=16, retries=False)

    def publish(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        **rest: Any,
    ) -> None:
        if self.protocol not in ("http", "https"):
            original(self, message, message_id, subject, message_attributes, **rest)
            return
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        if rest.get("message_structure") == "json":
            message = self._parse_message_structure(message, self.protocol)
        body = self.get_post_data(message, message_id, subject, message_attributes)
        pool.request(
            "POST",
            self.endpoint,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "text/plain; charset=UTF-8"},
            timeout=30.0,
        )

    Subscription.publish = publish  # type: ignore[method-assign,assignment]


def route_without_listing_moto(backends: Any) -> None:
    """Route each request without listing moto's package directory.

    moto's server asks ``list_of_moto_modules()`` (a ``listdir`` and an ``isdir`` per
    entry, some 150 of them) on every request to match the host to a service: about 9%
    of its CPU on the local system's traffic. The directory does not change while it runs.
    """
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def main() -> None:
    host, port, parent = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with contextlib.suppress(OSError, AttributeError):  # PR_SET_PDEATHSIG
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
    from moto import backends
    from moto.server import main as moto_main

    route_without_listing_moto(backends)
    deliver_http_message_attributes()
    # werkzeug logs a line per request under one handler lock: a sixth of moto's CPU under
    # load, with threads queueing on the lock. Errors are still logged.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    moto_main(["-H", host, "-p", port])


if __name__ == "__main__":
    main()
