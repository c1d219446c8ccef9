"""close_on_shutdown against a fake Lambda Runtime API (its Extensions part) and librdkafka's
mock cluster: the extension registers as documented and unblocks Init, and at SIGTERM every
queued message reaches the broker before the process ends as it would have."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

import pytest

from lambdakit.kafka import Producer, close_on_shutdown
from lambdakit.kafka import _shutdown as shutdown
from lambdakit.testing.kafka_cluster import MockKafkaCluster
from tests.integration import kafka_shutdown_children

EXTENSIONS = "/2020-01-01/extension"
EVENT_TYPES = ("INVOKE", "SHUTDOWN")


class Registration(NamedTuple):
    name: str
    events: list[str]
    identifier: str


class FakeRuntimeAPI:
    """The Extensions API of the Lambda Runtime API, as documented, on 127.0.0.1.

    - ``POST /2020-01-01/extension/register``: header ``Lambda-Extension-Name`` (required),
      body ``{"events": [...]}`` (optional; ``INVOKE``, ``SHUTDOWN``). Answers 200 with a new
      ``Lambda-Extension-Identifier`` header and the function's name, version and handler;
      403 once Init is over (``end_init``: the runtime asked for its first invocation).
    - ``GET /2020-01-01/extension/event/next``: header ``Lambda-Extension-Identifier`` of a
      registered extension (403 otherwise). The extension is then ready (Lambda completes Init
      only when every registered extension is); the request blocks until an event the
      extension registered for is sent (``send``), or answers 500 when the server stops (the
      documented "container error": the extension should exit).

    Error bodies are this fake's own. Requests are recorded in ``registrations`` and
    ``next_requests``.
    """

    def __init__(self) -> None:
        self.registrations: list[Registration] = []
        self.next_requests: list[str] = []  # the identifier each next request carried
        self._events: dict[str, list[dict[str, Any]]] = {}  # identifier -> queued events
        self._ready: set[str] = set()
        self._init_over = False
        self._stopping = False
        self._changed = threading.Condition()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def address(self) -> str:
        """What Lambda puts in ``AWS_LAMBDA_RUNTIME_API``: ``host:port``."""
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> FakeRuntimeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def end_init(self) -> None:
        with self._changed:
            self._init_over = True

    def wait_until_extensions_ready(self, timeout: float) -> bool:
        """Whether every registered extension (at least one) has asked for its next event."""
        with self._changed:
            return self._changed.wait_for(
                lambda: (
                    bool(self.registrations)
                    and all(r.identifier in self._ready for r in self.registrations)
                ),
                timeout,
            )

    def wait_for_next_requests(self, count: int, timeout: float) -> bool:
        """Whether ``count`` next requests have come."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.next_requests) >= count, timeout)

    def send(self, event: dict[str, Any], *, to_all: bool = False) -> None:
        """Queue ``event`` for every extension registered for its ``eventType`` (``to_all``: for
        every extension, which Lambda does not do: to test a client's resilience)."""
        with self._changed:
            for registration in self.registrations:
                if to_all or event["eventType"] in registration.events:
                    self._events[registration.identifier].append(event)
            self._changed.notify_all()

    # --- the API ------------------------------------------------------------------------------

    def _register(self, headers: dict[str, str], body: bytes) -> Answer:
        name = headers.get("lambda-extension-name")
        if not name:
            return _error(400, "InvalidRequest", "Lambda-Extension-Name header missing")
        try:
            document = json.loads(body or b"{}")
            events = list(document.get("events", []))
        except (ValueError, AttributeError, TypeError):
            return _error(400, "InvalidRequest", "body: expected a JSON object")
        if any(event not in EVENT_TYPES for event in events):
            return _error(400, "InvalidRequest", f"events: expected some of {EVENT_TYPES}")
        with self._changed:
            if self._init_over:
                return _error(403, "Forbidden", "registration is allowed only during Init")
            identifier = str(uuid.uuid4())
            self.registrations.append(Registration(name, events, identifier))
            self._events[identifier] = []
            self._changed.notify_all()
        document = {
            "functionName": "orders",
            "functionVersion": "$LATEST",
            "handler": "app.handler",
        }
        return 200, {"Lambda-Extension-Identifier": identifier}, json.dumps(document).encode()

    def _next(self, headers: dict[str, str]) -> Answer:
        identifier = headers.get("lambda-extension-identifier", "")
        with self._changed:
            self.next_requests.append(identifier)
            if identifier not in self._events:
                return _error(403, "Forbidden", "unknown Lambda-Extension-Identifier")
            self._ready.add(identifier)
            self._changed.notify_all()
            self._changed.wait_for(lambda: self._stopping or bool(self._events[identifier]))
            if not self._events[identifier]:
                return _error(500, "ContainerError", "shutting down")
            event = self._events[identifier].pop(0)
        return 200, {"Lambda-Extension-Identifier": identifier}, json.dumps(event).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the Runtime API

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == f"{EXTENSIONS}/register":
                    self._answer(api._register(self._lowered(), body))
                else:
                    self._answer(_error(404, "NotFound", self.path))

            def do_GET(self) -> None:
                if self.path == f"{EXTENSIONS}/event/next":
                    self._answer(api._next(self._lowered()))
                else:
                    self._answer(_error(404, "NotFound", self.path))

            def _lowered(self) -> dict[str, str]:
                return {name.lower(): value for name, value in self.headers.items()}

            def _answer(self, answer: Answer) -> None:
                status, headers, body = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


Answer = tuple[int, dict[str, str], bytes]


def _error(status: int, kind: str, message: str) -> Answer:
    return status, {}, json.dumps({"errorType": kind, "errorMessage": message}).encode()


@pytest.fixture
def runtime_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRuntimeAPI]:
    """A fake Runtime API in AWS_LAMBDA_RUNTIME_API, and close_on_shutdown's state undone."""
    saved = signal.getsignal(signal.SIGTERM)
    try:
        with FakeRuntimeAPI() as api:
            monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", api.address)
            yield api
    finally:
        shutdown._reset()
        signal.signal(signal.SIGTERM, saved)
        # The stopped API answered the extension's pending request with an error: let its
        # thread log that and end here rather than in the middle of a later test.
        for thread in threading.enumerate():
            if thread.name == "lambdakit-shutdown-extension":
                thread.join(10)


# --- registration, in this process ------------------------------------------------------------


@pytest.mark.integration
def test_the_extension_registers_once_for_no_events_and_asks_for_the_next_event(
    runtime_api: FakeRuntimeAPI,
) -> None:
    close_on_shutdown(Producer({"bootstrap.servers": "127.0.0.1:1"}))
    close_on_shutdown(Producer({"bootstrap.servers": "127.0.0.1:1"}))

    assert runtime_api.wait_until_extensions_ready(10)  # otherwise Lambda would not end Init
    [registration] = runtime_api.registrations
    assert registration.name == "lambdakit-shutdown"
    assert registration.events == []  # an internal extension may not register for SHUTDOWN
    assert runtime_api.next_requests == [registration.identifier]
    assert shutdown._state.extension_id == registration.identifier


@pytest.mark.integration
def test_an_event_is_answered_by_asking_for_the_next_one(runtime_api: FakeRuntimeAPI) -> None:
    # Registered for no events, none should come; if one did, Lambda would wait for the
    # extension's next request before completing the phase.
    close_on_shutdown(Producer({"bootstrap.servers": "127.0.0.1:1"}))
    assert runtime_api.wait_until_extensions_ready(10)
    runtime_api.send({"eventType": "INVOKE", "deadlineMs": 0, "requestId": "r-1"}, to_all=True)

    assert runtime_api.wait_for_next_requests(2, 10)
    [registration] = runtime_api.registrations
    assert runtime_api.next_requests == [registration.identifier] * 2


@pytest.mark.integration
def test_a_refused_registration_is_logged_and_init_carries_on(
    runtime_api: FakeRuntimeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    runtime_api.end_init()  # too late: the runtime already asked for its first invocation

    close_on_shutdown(Producer({"bootstrap.servers": "127.0.0.1:1"}))

    [record] = [r for r in caplog.records if r.name == "lambdakit.kafka"]
    assert record.levelname == "WARNING"
    assert "lambdakit-shutdown" in record.getMessage()
    assert "HTTP 403" in record.getMessage()
    assert "will not send SIGTERM" in record.getMessage()
    assert signal.getsignal(signal.SIGTERM) is shutdown._on_sigterm
    assert shutdown._state.extension_id is None
    assert runtime_api.registrations == []


# --- SIGTERM in a function's process ----------------------------------------------------------


def high_watermark(bootstrap: str, topic: str) -> int:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"watermark-{topic}"})
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    finally:
        consumer.close()
    return int(high)


def read_values(bootstrap: str, topic: str, expected: int) -> list[Any]:
    """The values of partition 0 of ``topic`` from the start (up to a 20 s deadline)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"read-{topic}", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    values: list[Any] = []
    deadline = time.monotonic() + 20
    try:
        while len(values) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(json.loads(message.value()))
    finally:
        consumer.close()
    return values


@pytest.mark.parametrize("previous", ["callable", "default"])
@pytest.mark.parametrize("backend", ["confluent", "kafka-python"])
def test_sigterm_delivers_every_queued_message_then_ends_as_the_previous_handler_would(
    kafka_cluster: MockKafkaCluster, runtime_api: FakeRuntimeAPI, backend: str, previous: str
) -> None:
    count = 100
    topic = kafka_cluster.create_topic(partitions=1)
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    child = spawn.Process(
        target=kafka_shutdown_children.produce_and_wait_for_sigterm,
        args=(runtime_api.address, kafka_cluster.bootstrap, topic, count, backend, previous),
        kwargs={"conn": theirs},
    )
    child.start()
    try:
        assert ours.poll(60), "the child did not get ready"
        assert ours.recv() == ("ready",)
        assert runtime_api.wait_until_extensions_ready(10)
        [registration] = runtime_api.registrations
        assert (registration.name, registration.events) == ("lambdakit-shutdown", [])
        assert high_watermark(kafka_cluster.bootstrap, topic) == 0  # all still in the child

        os.kill(child.pid or 0, signal.SIGTERM)
        child.join(30)

        if previous == "callable":
            assert child.exitcode == kafka_shutdown_children.PREVIOUS_EXIT_CODE
            # called once, after the producer was flushed and closed
            assert ours.recv() == ("previous", signal.SIGTERM, True)
        else:
            assert child.exitcode == -signal.SIGTERM  # ended by the signal, as by default
    finally:
        if child.is_alive():
            child.kill()
            child.join(10)
    values = read_values(kafka_cluster.bootstrap, topic, count)
    assert sorted(value["n"] for value in values) == list(range(count))
