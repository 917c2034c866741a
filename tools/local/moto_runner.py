"""``python moto_runner.py HOST PORT PARENT_PID [--fan-out-after-answer]``: moto's server.

It is tied to the local system (or the benchmark) that starts it. With
``--fan-out-after-answer`` SNS delivers to subscriptions after Publish has answered
(``FanOutAfterAnswer``), as AWS does; without it moto delivers inside the request.

Like the workers, it asks Linux to kill it when the process that started it dies, so a
crashed or killed ``make local`` leaves no server holding the port.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import io
import json
import logging
import os
import queue
import signal
import sys
import threading
import time
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


def write_dynamodb_items_atomically(backend: Any = None) -> None:
    """Check each DynamoDB write's condition and make the write under one lock.

    DynamoDB applies a conditional write atomically; moto's backend checks the condition
    and then writes with no lock, and its server runs each connection on its own thread.
    Two claims of one event (a delivery and its duplicate) both passed
    ``attribute_not_exists(id)`` that way and the email went out twice. A lock per
    process is coarser than DynamoDB's per item, and cheap: the writes are short.
    """
    if backend is None:
        from moto.dynamodb.models import DynamoDBBackend as backend

    lock = threading.RLock()  # a transaction's writes may call put_item inside it
    for name in WRITES:
        setattr(backend, name, _under(lock, getattr(backend, name)))


def _under(lock: threading.RLock, method: Any) -> Any:
    """``method`` (of a moto class) called while holding ``lock``."""

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(self, *args, **kwargs)

    return call


def sign_with_one_certificate_per_key(subscription: Any = None) -> None:
    """Sign each notification with the subscription's key, under a certificate made once.

    moto (5.x) builds and signs a new X.509 certificate for every notification and keeps
    each one's PEM for its ``SigningCertURL``: 5% of moto's samples on the two-hop chain,
    and a certificate more in memory per delivery. SNS serves one signing certificate for
    many messages, so the certificate is made once per key and its PEM stored once; each
    message is still signed (``SignatureVersion`` 2, SHA256), with moto's fields.
    """
    import base64
    from datetime import timedelta

    import cryptography.x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.core.utils import iso_8601_datetime_with_milliseconds, utcnow
    from moto.moto_api._internal import mock_random
    from moto.sns.models import sns_backends

    if subscription is None:
        from moto.sns.models import Subscription as subscription

    certificates: dict[tuple[int, str], str] = {}  # (id of the key, region) -> PEM's name
    lock = threading.Lock()

    def certificate_name(key: Any, region: str) -> str:
        with lock:
            name = certificates.get((id(key), region))
            if name is None:
                name = f"SimpleNotificationService-{mock_random.uuid4().hex}.pem"
                certificate = (
                    cryptography.x509.CertificateBuilder()
                    .subject_name(_name(("COMMON_NAME", "sns.amazonaws.com")))
                    .issuer_name(_name(*SNS_CERTIFICATE_ISSUER))
                    .public_key(key.public_key())
                    .serial_number(cryptography.x509.random_serial_number())
                    .not_valid_before(utcnow())
                    .not_valid_after(utcnow() + timedelta(days=365))
                    .sign(key, hashes.SHA256())
                )
                # moto serves the PEM from its default account's backend (an unsigned GET)
                keys = sns_backends[DEFAULT_ACCOUNT_ID][region]._message_public_keys
                keys[name] = certificate.public_bytes(serialization.Encoding.PEM)
                certificates[(id(key), region)] = name
            return name

    def get_post_data(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None,
        message_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        key = self.private_key()
        region = self.topic.sns_backend.region_name
        timestamp = iso_8601_datetime_with_milliseconds()
        signed = (
            f"Message\n{message}\nMessageId\n{message_id}\nTimestamp\n{timestamp}\n"
            f"TopicArn\n{self.topic.arn}\nType\nNotification\n"
        )
        signature = key.sign(signed.encode("UTF-8"), padding.PKCS1v15(), hashes.SHA256())
        post_data: dict[str, Any] = {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": self.topic.arn,
            "Message": message,
            "Timestamp": timestamp,
            "SignatureVersion": "2",
            "Signature": base64.b64encode(signature).decode("utf-8"),
            "SigningCertURL": f"https://sns.{region}.amazonaws.com/{certificate_name(key, region)}",
            "UnsubscribeURL": (  # moto's, as moto writes it
                "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                f"arn:aws:sns:us-east-1:{self.account_id}:{self.topic.name}"
                ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
            ),
        }
        if subject:
            post_data["Subject"] = subject
        if message_attributes:
            post_data["MessageAttributes"] = message_attributes
        return post_data

    subscription.get_post_data = get_post_data


SNS_CERTIFICATE_ISSUER = (("COUNTRY_NAME", "US"), ("ORGANIZATION_NAME", "Amazon"),
                          ("COMMON_NAME", "Amazon RSA 2048 M01"))  # fmt: skip


def _name(*attributes: tuple[str, str]) -> Any:
    """An X.509 name from (``NameOID`` attribute, value) pairs."""
    from cryptography.x509 import Name, NameAttribute
    from cryptography.x509.oid import NameOID

    return Name([NameAttribute(getattr(NameOID, oid), value) for oid, value in attributes])


def name_response_methods_once(responses: Any = None) -> None:
    """List a service's response methods once per class, not on every request.

    moto's ``call_action`` asks ``inspect.getmembers`` for the response class's functions
    on each request to check the action is one (2% of moto's samples on the two-hop
    chain); a class's methods do not change while the server runs.
    """
    import functools

    if responses is None:
        from moto.core import responses
    listed = responses.method_names_from_class
    responses.method_names_from_class = functools.cache(lambda clazz: frozenset(listed(clazz)))


SWITCH_INTERVAL_S = 0.0005  # CPython's default is 0.005


def hand_over_the_interpreter_lock_sooner() -> None:
    """Let a thread waiting for the interpreter lock have it after 0.5 ms, not 5 ms.

    moto answers each connection on its own thread under one interpreter lock. A thread
    whose answer's ``send`` returned, or whose request just arrived, waits for the lock
    while another thread parses a DynamoDB expression, up to the switch interval: on the
    two-hop chain its hops' calls overlap ``order_status``'s and ``order_confirmation``'s,
    so each call could wait 5 ms. A shorter interval costs a few more switches.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)


PARSED_CONDITIONS_KEPT = 1024  # distinct (expression, names, values); then the cache starts over


def parse_each_condition_once(comparisons: Any = None) -> None:
    """Parse a DynamoDB condition expression once per expression, names and values.

    moto parses a write's ``ConditionExpression`` twice per call (its response class
    checks the names it uses, its model evaluates it), a lexer and six passes each
    time: 11% of moto's CPU on the two-hop chain, where every call of a kind sends the
    same expression. The parsed condition is only read afterwards (its operators keep
    what ``__init__`` gave them), so one parse serves every call with the same three
    inputs, with the names and values it found. An expression that fails to parse is
    parsed (and fails) again each time.
    """
    if comparisons is None:
        from moto.dynamodb import comparisons

    parser = comparisons.ConditionExpressionParser
    parsed: dict[tuple[str, str], tuple[Any, list[str], list[str]]] = {}
    lock = threading.Lock()

    class ParseOnce(parser):  # type: ignore[misc,valid-type]
        def parse(self) -> Any:
            values: Any = getattr(self, "expression_attribute_values")  # noqa: B009 - untyped in moto
            key = (
                self.condition_expression or "",
                json.dumps([self.expression_attribute_names, values], sort_keys=True, default=repr),
            )
            found = parsed.get(key)
            if found is None:
                # the cached condition must own its values: moto stores a set value
                # without copying it and a later ADD appends to it in place
                self.expression_attribute_values = copy.deepcopy(values)
                condition = super().parse()
                found = (
                    condition,
                    list(self.expr_attr_names_found),
                    list(self.expr_attr_values_found),
                )
                with lock:
                    if len(parsed) >= PARSED_CONDITIONS_KEPT:
                        parsed.clear()
                    parsed[key] = found
                return condition
            condition, names, values = found
            self.expr_attr_names_found.extend(names)
            self.expr_attr_values_found.extend(values)
            return condition

    comparisons.ConditionExpressionParser = ParseOnce


def read_the_clock_once_per_sqs_check(models: Any = None) -> None:
    """Read the time in moto's SQS from ``time.time()``, not through a naive ``datetime``.

    moto's SQS asks whether each message is visible or delayed by building two naive UTC
    datetimes and subtracting them, on every message of a queue, several times per
    request: with 1,000 messages queued those calls were half of moto's CPU. Both give the
    seconds since the epoch; a call with a ``datetime`` still goes to moto's own.
    """
    if models is None:
        from moto.sqs import models

    seconds, milliseconds = models.unix_time, models.unix_time_millis

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else float(seconds(dt))

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else float(milliseconds(dt))

    models.unix_time, models.unix_time_millis = unix_time, unix_time_millis


SQS_COUNTS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_not_visible",
    "approximate_number_of_messages_delayed",
)


def count_an_sqs_queue_once_per_call(backend: Any = None, queue_class: Any = None) -> None:
    """Count a queue's messages once per ``GetQueueAttributes``, and never to send or receive.

    moto computes every attribute of a queue (three counts, each a pass over its
    messages) three times for each attribute asked; ``ReceiveMessage`` asks for the
    retention period of each message it returns, and ``SendMessage`` (SNS's delivery to
    a queue too) for the deduplication setting of each message it adds: with 1,000
    messages queued a receive of ten made ninety passes over them, and a deep queue
    slowed every publish behind it. The answers are the same: one pass per call, the
    retention period read from the queue itself, and a send's attributes without counts
    (it reads none of them).
    """
    if backend is None:
        from moto.sqs.models import Queue as queue_class
        from moto.sqs.models import SQSBackend as backend
    from moto.sqs.exceptions import InvalidAttributeName

    sending = threading.local()  # this thread is inside a send: no count is read

    def counted_unless_sending(count: Any) -> property:
        return property(lambda queue: 0 if getattr(sending, "on", False) else count.fget(queue))

    for name in SQS_COUNTS:
        setattr(queue_class, name, counted_unless_sending(getattr(queue_class, name)))
    send = backend.send_message

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        sending.on = True
        try:
            return send(self, *args, **kwargs)
        finally:
            sending.on = False

    def get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> Any:
        queue = self.get_queue(queue_name)
        if not attribute_names:
            return {}
        valid = ["All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES]
        invalid = next((name for name in attribute_names if name not in valid), None)
        if invalid or invalid == "":
            raise InvalidAttributeName(invalid)
        every = queue.attributes
        if "All" in attribute_names:
            return every
        return {name: every[name] for name in attribute_names if every.get(name) is not None}

    def is_message_valid_based_on_retention_period(
        self: Any, queue_name: str, message: Any
    ) -> bool:
        retention_s = self.get_queue(queue_name).message_retention_period
        return bool(retention_s + message.sent_timestamp / 1000 > time.time())

    backend.get_queue_attributes = get_queue_attributes
    backend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
    backend.send_message = send_message


def change_sqs_queues_one_request_at_a_time(backend: Any = None, queue_class: Any = None) -> None:
    """Receive, delete, change visibility and add messages under one lock.

    SQS applies each of these atomically; moto's server runs every request on its own
    thread and its queue has no lock of its own: a receive iterating the in-flight set
    while another request changed it failed with ``Set changed size during iteration``
    after it had marked its messages received (they stayed invisible for the queue's
    visibility timeout, 180 s, with no receipt handle anywhere), and a delete that
    rebuilds the message list could drop a message added meanwhile. A long poll waits
    outside the lock, as SQS's does, and looks again whenever a message arrives.
    """
    if backend is None:
        from moto.sqs.models import Queue as queue_class
        from moto.sqs.models import SQSBackend as backend

    lock = threading.RLock()  # a receive may redrive to a dead-letter queue: add_message
    receive = backend.receive_message

    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> Any:
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with lock:
                found = receive(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            left = deadline - time.monotonic()
            if found or left <= 0:
                return found
            self.get_queue(queue_name).wait_for_messages(min(1.0, left))

    backend.receive_message = receive_message
    backend.change_message_visibility = _under(lock, backend.change_message_visibility)
    queue_class.delete_message = _under(lock, queue_class.delete_message)
    queue_class.add_message = _under(lock, queue_class.add_message)


# The services the local system calls at volume, whose responses moto's Flask view only wraps
PAST_FLASK = frozenset({"dynamodb", "sns", "sqs", "ses", "sesv2", "sts"})


def dispatch_past_flask(server: Any) -> None:
    """Hand a request to moto's response class without Flask's request machinery.

    For each request moto's dispatcher picks the service's Flask app, whose one view
    (``convert_to_flask_response``) calls the response class and wraps what it returns in
    a ``Response``. Flask's context push, signals and teardown around it were 12% of
    moto's CPU on the two-hop chain. For ``PAST_FLASK`` the same rule is matched, the
    same view's callback called with the same request class, and the same ``Response``
    built, with the headers Flask-CORS adds; anything else (another service, a CORS
    request, a method other than GET and POST, a path no rule matches) goes through Flask.
    """
    from botocore.exceptions import ClientError
    from flask import Response
    from flask_cors.core import ACL_ORIGIN
    from moto.core.utils import convert_to_flask_response
    from moto.moto_api import recorder
    from werkzeug.exceptions import HTTPException

    dispatcher = server.DomainDispatcherApplication
    through_flask = dispatcher.__call__

    def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        app = self.get_application(environ)
        if (
            getattr(app, "service", None) not in PAST_FLASK
            or environ.get("REQUEST_METHOD") not in ("GET", "POST")
            or "HTTP_ORIGIN" in environ
        ):
            return through_flask(self, environ, start_response)
        try:
            endpoint, _ = app.url_map.bind_to_environ(environ).match()
        except HTTPException:
            return through_flask(self, environ, start_response)
        view = app.view_functions[endpoint]
        if not isinstance(view, convert_to_flask_response):
            return through_flask(self, environ, start_response)
        request = app.request_class(environ)
        try:
            recorder._record_request(request)
            try:
                result = view.callback(request, request.raw_url, dict(request.headers))
            except ClientError as error:  # as the view: moto's own error, answered 400
                result = 400, {}, error.response["Error"]["Message"]
            status, headers, content = result if len(result) == 3 else (200, {}, result)
            response: Any = Response(response=content, status=status, headers=headers)
        except HTTPException as error:  # moto's errors: Flask answers with their response
            response = error.get_response(environ)
        if ACL_ORIGIN not in response.headers:  # what Flask-CORS adds for a request without
            response.headers[ACL_ORIGIN] = "*"  # an Origin, moto's app allowing every origin
        return response(environ, start_response)

    dispatcher.__call__ = call


def parse_headers_without_the_email_parser(client: Any = None) -> None:
    """Parse a request's (and the fan-out's answers') header lines without ``email.parser``.

    ``http.server`` and ``http.client`` hand the header block to the email package's feed
    parser: 8% of moto's CPU on the two-hop chain. A block whose every line is a plain
    ``Name: value`` gets the same ``HTTPMessage`` (names and values as the parser keeps
    them) from a split per line; any other block (a folded line, a line without a colon)
    goes to the email parser as before.
    """
    import email.parser
    import re

    if client is None:
        import http.client as client

    read_header_lines = client._read_headers  # the size and count limits, as before
    field_name = re.compile(r"[\x21-\x39\x3b-\x7e]+")  # what the feed parser takes for one

    def parse_headers(fp: Any, _class: Any = client.HTTPMessage) -> Any:
        lines = read_header_lines(fp)
        message = _class()
        for raw in lines[:-1]:  # the last is the blank line (or the end of the stream)
            name, colon, value = raw.decode("iso-8859-1").rstrip("\r\n").partition(":")
            if not colon or not field_name.fullmatch(name) or "\r" in value:
                text = b"".join(lines).decode("iso-8859-1")
                return email.parser.Parser(_class=_class).parsestr(text)
            message[name] = value.lstrip(" \t")
        return message

    client.parse_headers = parse_headers


def log_requests_only_when_logged(server: Any) -> None:
    """Build werkzeug's line per request only when its logger would write it.

    The local moto logs werkzeug's errors alone (``main``), yet werkzeug formats every
    request's line (the path decoded, control characters escaped, colours) before the
    logger drops it: 3% of moto's CPU on the two-hop chain.
    """
    base = server.MotoRequestHandler
    werkzeug_log = logging.getLogger("werkzeug")

    class QuietRequestHandler(base):  # type: ignore[misc,valid-type]
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            # werkzeug sets an unset level to INFO on its first line, so unset logs too
            if not werkzeug_log.level or werkzeug_log.isEnabledFor(logging.INFO):
                super().log_request(code, size)

    server.MotoRequestHandler = QuietRequestHandler


FAN_OUT_AFTER_ANSWER = "--fan-out-after-answer"
DRAIN_PATH = "/moto-runner/fan-out/drain"  # answers once every pending delivery is made

# DynamoDBBackend's methods behind PutItem, UpdateItem, DeleteItem, BatchWriteItem and
# TransactWriteItems
WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")


def keep_connections_alive(server: Any) -> None:
    """Keep a client's connection open between requests (HTTP/1.1), as AWS endpoints do.

    moto's server (werkzeug's) ends every answer with ``Connection: close``, so each boto3
    call opens a new connection and moto starts a new thread for it: 28% of the
    functions' samples on the two-hop chain were connecting. werkzeug closes because
    ``http.server`` cannot tell where an unread body ends; this handler reads the body
    (by its ``Content-Length``) before moto sees the request, so the next request starts
    where this one ended. A chunked request body keeps werkzeug's behaviour.
    """
    base = server.MotoRequestHandler

    class KeepAliveRequestHandler(base):  # type: ignore[misc,valid-type]
        _keep_alive = False
        # werkzeug sends the headers and the body apart: on a kept connection Nagle's
        # algorithm would hold the body until the client's delayed ACK (40 ms)
        disable_nagle_algorithm = True

        def run_wsgi(self) -> None:
            encoding = self.headers.get("Transfer-Encoding", "")
            self._keep_alive = "chunked" not in encoding.lower()
            if not self._keep_alive:
                super().run_wsgi()
                return
            length = int(self.headers.get("Content-Length") or 0)
            connection: Any = vars(self)["rfile"]
            body = connection.read(length) if length > 0 else b""
            setattr(self, "rfile", io.BytesIO(body))  # noqa: B010 - what werkzeug reads
            try:
                super().run_wsgi()
            finally:
                setattr(self, "rfile", connection)  # noqa: B010

        def send_header(self, keyword: str, value: str) -> None:
            if self._keep_alive and (keyword.lower(), value.lower()) == ("connection", "close"):
                return
            super().send_header(keyword, value)

    server.MotoRequestHandler = KeepAliveRequestHandler


class RequestsInFlight:
    """How many requests moto is answering (``with`` each), so the fan-out can wait for quiet."""

    def __init__(self) -> None:
        self._count = 0
        self._last_answered = 0.0
        self._changed = threading.Condition()

    def __enter__(self) -> None:
        with self._changed:
            self._count += 1

    def __exit__(self, *_: object) -> None:
        with self._changed:
            self._count -= 1
            self._last_answered = time.monotonic()
            self._changed.notify_all()

    def wait_quiet(self, quiet_s: float, until: float) -> None:
        """Return once no request has been in flight for ``quiet_s``, or at ``until``."""
        with self._changed:
            while True:
                now = time.monotonic()
                if now >= until:
                    return
                if not self._count:
                    quiet_for = now - self._last_answered
                    if quiet_for >= quiet_s:
                        return
                    self._changed.wait(min(quiet_s - quiet_for, until - now))
                else:
                    self._changed.wait(until - now)


class FanOutAfterAnswer:
    """SNS's delivery to subscriptions after Publish and PublishBatch have answered, as in AWS.

    moto delivers inside the request: per message and per subscription it matches the
    filter policy, signs the notification and writes the SQS message (or POSTs, or
    invokes), all on the publisher's clock. SNS answers once the message is stored and
    delivers afterwards. Here moto still does everything up to the delivery in the
    request (its validation and errors, the message ids, ``sent_notifications``, the
    list of subscriptions, a JSON ``MessageStructure`` checked per subscription); the
    deliveries of a message are queued when its publish succeeds (none when it fails)
    and one thread makes them in publish order, so FIFO topics keep their order.

    In AWS the deliveries run on other machines; here they share the publisher's cores,
    and a thread busy delivering makes the next request wait for the interpreter lock.
    So each delivery waits until moto has answered no request for ``QUIET_S`` (a long
    poll waits without working, so it does not count), ``MAX_DELAY_S`` after its publish
    at most. A subscription removed before its delivery gets nothing, as SNS does; a
    delivery that fails is logged. ``drain()`` (``DRAIN_PATH``, and when the server
    stops) makes every pending delivery at once.
    """

    QUIET_S = 0.005
    MAX_DELAY_S = 5.0

    def __init__(self, requests: RequestsInFlight) -> None:
        self._requests = requests
        self._pending: queue.Queue[tuple[float, list[tuple[Any, Any, Any]]]] = queue.Queue()
        self._collecting = threading.local()
        self._draining = 0  # drain() calls waiting; while any does, nothing waits for quiet
        self._draining_lock = threading.Lock()
        self._log = logging.getLogger("moto_runner.fan_out")
        threading.Thread(target=self._deliver, name="sns-fan-out", daemon=True).start()

    def install(self) -> None:
        from moto.sns.models import Subscription, Topic

        deliver = Subscription.publish  # with what ``deliver_http_message_attributes`` adds
        publish_to_topic = Topic.publish
        collecting = self._collecting

        def collect(subscription: Any, message: str, *args: Any, **kwargs: Any) -> None:
            if kwargs.get("message_structure") == "json":  # raises what moto raises
                subscription._parse_message_structure(message, subscription.protocol)
            collecting.deliveries.append((subscription, (message, *args), kwargs))

        def publish(topic: Any, *args: Any, **kwargs: Any) -> str:
            collecting.deliveries = []
            try:
                message_id: str = publish_to_topic(topic, *args, **kwargs)
                self._pending.put((time.monotonic(), collecting.deliveries))
                return message_id
            finally:
                collecting.deliveries = None

        self._deliver_one = deliver
        Subscription.publish = collect  # type: ignore[method-assign,assignment]
        Topic.publish = publish  # type: ignore[method-assign,assignment]

    def _deliver(self) -> None:
        while True:
            published, deliveries = self._pending.get()
            try:
                for subscription, args, kwargs in deliveries:
                    if subscription.arn not in subscription.topic.sns_backend.subscriptions:
                        continue
                    if not self._draining:
                        self._requests.wait_quiet(self.QUIET_S, published + self.MAX_DELAY_S)
                    try:
                        self._deliver_one(subscription, *args, **kwargs)
                    except Exception:
                        self._log.exception("SNS delivery to %s failed", subscription.arn)
            finally:
                self._pending.task_done()

    def drain(self) -> None:
        """Return once every delivery queued so far (and while waiting) has been made."""
        with self._draining_lock:
            self._draining += 1
        try:
            self._pending.join()
        finally:
            with self._draining_lock:
                self._draining -= 1


def fan_out_after_answer(server: Any) -> FanOutAfterAnswer:
    """Install ``FanOutAfterAnswer`` on moto's SNS, counting ``server``'s requests for it."""
    requests = RequestsInFlight()
    fan_out = FanOutAfterAnswer(requests)
    dispatcher = server.DomainDispatcherApplication
    answer = dispatcher.__call__

    def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == DRAIN_PATH:
            fan_out.drain()
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "8")])
            return [b"drained\n"]
        if environ.get("HTTP_X_AMZ_TARGET", "").endswith(".ReceiveMessage"):
            return answer(self, environ, start_response)  # a long poll mostly waits
        with requests:
            return answer(self, environ, start_response)

    dispatcher.__call__ = call
    fan_out.install()
    return fan_out


def answer_in_one_write(server: Any) -> None:
    """Send each answer's status line, headers and body in one write.

    werkzeug writes the headers and then the body, each a ``send`` of its own: two
    system calls and two TCP segments per AWS call, about a quarter of moto's active
    samples on the two-hop chain. Writes are gathered until werkzeug flushes (after each
    piece of the body), so the answer leaves as early as before, byte for byte the same.
    """
    base = server.MotoRequestHandler

    class OneWriteRequestHandler(base):  # type: ignore[misc,valid-type]
        def run_wsgi(self) -> None:
            connection: Any = vars(self)["wfile"]
            gathered = GatheredWrites(connection)
            setattr(self, "wfile", gathered)  # noqa: B010 - what werkzeug writes to
            try:
                super().run_wsgi()
            finally:
                setattr(self, "wfile", connection)  # noqa: B010
                gathered.flush()

    server.MotoRequestHandler = OneWriteRequestHandler


class GatheredWrites:
    """A writer that passes what was written to ``out`` in one write on each flush."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.pending: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pending.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        if self.pending:
            data, self.pending = b"".join(self.pending), []
            self.out.write(data)
        self.out.flush()


def main() -> None:
    host, port, parent = sys.argv[1], sys.argv[2], int(sys.argv[3])
    after_answer = FAN_OUT_AFTER_ANSWER in sys.argv[4:]
    with contextlib.suppress(OSError, AttributeError):  # PR_SET_PDEATHSIG
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
    from moto import backends, server

    hand_over_the_interpreter_lock_sooner()
    route_without_listing_moto(backends)
    keep_connections_alive(server)
    answer_in_one_write(server)
    write_dynamodb_items_atomically()
    sign_with_one_certificate_per_key()
    name_response_methods_once()
    parse_headers_without_the_email_parser()
    parse_each_condition_once()
    read_the_clock_once_per_sqs_check()
    count_an_sqs_queue_once_per_call()
    change_sqs_queues_one_request_at_a_time()
    log_requests_only_when_logged(server)
    dispatch_past_flask(server)  # before the fan-out, which counts what it answers
    deliver_http_message_attributes()
    fan_out = fan_out_after_answer(server) if after_answer else None
    # werkzeug logs a line per request under one handler lock: a sixth of moto's CPU under
    # load, with threads queueing on the lock. Errors are still logged.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    try:
        server.main(["-H", host, "-p", port])
    finally:  # SIGTERM ends moto's server with SystemExit; pending deliveries are made first
        if fan_out is not None:
            fan_out.drain()


if __name__ == "__main__":
    main()
