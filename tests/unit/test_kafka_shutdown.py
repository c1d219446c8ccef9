"""close_on_shutdown in this process: arguments, one installation, the main-thread rule, a
registration that fails, and what a real SIGTERM does (librdkafka's in-client mock cluster for
deliveries, a closed port for a broker or Extensions API that cannot be reached)."""

from __future__ import annotations

import re
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest

from lambdakit.errors import KafkaConfigurationError
from lambdakit.kafka import Producer, close_on_shutdown
from lambdakit.kafka import _shutdown as shutdown
from lambdakit.testing import FakeClock

MOCK = {"test.mock.num.brokers": 1, "linger.ms": 10_000, "log_level": 0}
UNREACHABLE = {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 2000, "log_level": 0}


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Off Lambda, no producers, and the SIGTERM handler of the test run restored after."""
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    saved = signal.getsignal(signal.SIGTERM)
    shutdown._reset()
    try:
        yield
    finally:
        shutdown._reset()
        signal.signal(signal.SIGTERM, saved)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


class Recorder:
    """A Python SIGTERM handler that records its calls."""

    def __init__(self, producer: Producer | None = None) -> None:
        self.producer = producer
        self.calls: list[tuple[int, bool]] = []  # (signum, producer already closed)

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        closed = self.producer is not None and self.producer._client is None
        self.calls.append((signum, closed))


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "lambdakit.kafka" and r.levelname == "WARNING"
    ]


# --- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("producers", "timeout", "message"),
    [
        ((), None, "expected at least one Producer"),
        (("orders",), None, "producers[0]: expected a Producer, got 'orders'"),
        ((Producer(), object()), None, "producers[1]: expected a Producer"),
        ((Producer(),), 0, "timeout=0: expected a positive number of seconds"),
        ((Producer(),), -1.0, "timeout=-1.0"),
        ((Producer(),), True, "timeout=True"),
        ((Producer(),), "0.4", "timeout='0.4'"),
        ((Producer(),), float("nan"), "timeout=nan"),
        ((Producer(),), float("inf"), "timeout=inf"),
    ],
)
def test_bad_arguments_raise_and_change_nothing(
    producers: tuple[Any, ...], timeout: Any, message: str
) -> None:
    with pytest.raises(KafkaConfigurationError, match=message.replace("[", r"\[")):
        close_on_shutdown(*producers, timeout=timeout)
    assert signal.getsignal(signal.SIGTERM) is not shutdown._on_sigterm
    assert shutdown._state.producers == []


# --- installation -----------------------------------------------------------------------------


def test_off_lambda_only_the_handler_is_installed(caplog: pytest.LogCaptureFixture) -> None:
    close_on_shutdown(Producer())
    assert signal.getsignal(signal.SIGTERM) is shutdown._on_sigterm
    assert shutdown._state.extension_id is None
    assert warnings_logged(caplog) == []


def test_later_calls_add_producers_and_install_nothing_again() -> None:
    original = signal.getsignal(signal.SIGTERM)
    first, second = Producer(), Producer()

    close_on_shutdown(first, timeout=0.3)
    close_on_shutdown(first, second)

    assert shutdown._state.producers == [first, second]
    assert shutdown._state.previous is original  # not our own handler: no loop
    assert shutdown._state.timeout == 0.3  # timeout=None keeps the budget
    close_on_shutdown(second, timeout=0.2)
    assert shutdown._state.timeout == 0.2


@pytest.mark.parametrize(
    ("address", "reason"),
    [("127.0.0.1:{port}", "ConnectionRefusedError"), ("127.0.0.1:port", "InvalidURL")],
)
def test_an_extensions_api_out_of_reach_is_one_warning_and_init_carries_on(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    closed_port: int,
    address: str,
    reason: str,
) -> None:
    api = address.format(port=closed_port)
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", api)

    close_on_shutdown(Producer())
    close_on_shutdown(Producer())  # registration is attempted once per process

    [warning] = warnings_logged(caplog)
    assert "could not register the lambdakit-shutdown extension" in warning
    assert f"at {api} ({reason}" in warning
    assert "will not send SIGTERM" in warning
    assert signal.getsignal(signal.SIGTERM) is shutdown._on_sigterm
    assert shutdown._state.extension_id is None


def test_outside_the_main_thread_nothing_is_installed_until_the_main_thread_calls(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, closed_port: int
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", f"127.0.0.1:{closed_port}")
    early, late = Producer(), Producer()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            close_on_shutdown(early)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    thread.join()

    assert errors == []
    [warning] = warnings_logged(caplog)  # and no registration attempted yet
    assert "no SIGTERM handler installed" in warning
    assert "main thread" in warning
    assert signal.getsignal(signal.SIGTERM) is not shutdown._on_sigterm

    close_on_shutdown(late)

    assert signal.getsignal(signal.SIGTERM) is shutdown._on_sigterm
    assert shutdown._state.producers == [early, late]
    assert "could not register" in warnings_logged(caplog)[1]


# --- SIGTERM ----------------------------------------------------------------------------------


def test_sigterm_delivers_what_is_queued_closes_then_calls_the_previous_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    delivered: list[bytes] = []  # the user's own delivery callback watches the reports

    def on_delivery(error: Any, message: Any) -> None:
        if error is None:
            delivered.append(message.value())

    producer = Producer({**MOCK, "on_delivery": on_delivery})
    previous = Recorder(producer)
    signal.signal(signal.SIGTERM, previous)
    close_on_shutdown(producer, timeout=10)
    for n in range(20):
        producer.produce("orders", {"n": n})
    assert len(producer.client) == 20  # linger.ms keeps them in the buffer
    assert delivered == []

    signal.raise_signal(signal.SIGTERM)

    assert len(delivered) == 20
    assert previous.calls == [(signal.SIGTERM, True)]  # once, after the producer was closed
    assert producer._client is None
    assert warnings_logged(caplog) == []


def test_what_cannot_be_delivered_is_counted_in_a_warning_and_the_client_left_open(
    caplog: pytest.LogCaptureFixture,
) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # chained: the signal stays ignored
    producer = Producer(UNREACHABLE)
    close_on_shutdown(producer, timeout=0.1)
    for n in range(3):
        producer.produce("orders", {"n": n})

    signal.raise_signal(signal.SIGTERM)  # returns: ours ran, then SIG_IGN did nothing

    [warning] = warnings_logged(caplog)
    counted = re.search(
        r"(\d+) message\(s\) still undelivered after the 0\.100 s shutdown", warning
    )
    assert counted is not None, warning
    assert int(counted.group(1)) >= 3  # librdkafka may count an error report not yet served
    assert "bootstrap='127.0.0.1:1'" in warning
    assert producer._client is not None  # closing would block or drop them


class ClockedProducer(Producer):
    """A real client (to an unreachable broker: what it holds stays queued) whose flush takes,
    on a fake clock, the time ``takes(timeout)``, and records the timeouts it was given."""

    def __init__(self, clock: FakeClock, takes: Callable[[float], float]) -> None:
        super().__init__(UNREACHABLE)
        self.clock = clock
        self.takes = takes
        self.timeouts: list[float] = []

    def flush(self, timeout: float) -> int:
        self.timeouts.append(timeout)
        self.clock.advance(self.takes(timeout))
        return len(self._client)  # nothing is ever acknowledged


@pytest.mark.parametrize(
    ("first_takes", "shares"),
    [
        (lambda timeout: timeout, [0.1, 0.1, 0.1]),  # each uses its whole share
        (lambda timeout: 0.0, [0.1, 0.15, 0.15]),  # what the first leaves goes to the others
        (lambda timeout: 0.25, [0.1, 0.025, 0.025]),  # a flush that overruns its share...
        (lambda timeout: 0.5, [0.1, 0.0, 0.0]),  # ...past the deadline leaves nothing
    ],
)
def test_the_budget_is_shared_out_in_turn_and_never_exceeded(
    first_takes: Callable[[float], float], shares: list[float]
) -> None:
    clock = FakeClock()
    producers = [ClockedProducer(clock, first_takes)]
    producers += [ClockedProducer(clock, lambda timeout: timeout) for _ in range(2)]
    for producer in producers:
        producer.produce("orders", b"never acknowledged")  # builds the client
    entries = [(producer, producer._client) for producer in producers]
    results: list[object] = [None] * 3
    start = clock()

    shutdown._flush_all(entries, start + 0.3, results, clock)

    assert [p.timeouts for p in producers] == [[pytest.approx(s)] for s in shares]
    assert clock() - start == pytest.approx(max(0.3, first_takes(0.1)))
    assert all(isinstance(n, int) and n >= 1 for n in results)  # counted...
    assert all(producer._client is not None for producer in producers)  # ...and left open


def test_a_producer_that_never_produced_builds_no_client_at_sigterm(
    caplog: pytest.LogCaptureFixture,
) -> None:
    producer = Producer(UNREACHABLE)
    previous = Recorder()
    signal.signal(signal.SIGTERM, previous)
    close_on_shutdown(producer)

    signal.raise_signal(signal.SIGTERM)

    assert previous.calls == [(signal.SIGTERM, False)]
    assert producer.created == 0
    assert warnings_logged(caplog) == []


class ResignallingProducer(Producer):
    """Raises SIGTERM again while it is being flushed."""

    def flush(self, timeout: float) -> int:
        signal.raise_signal(signal.SIGTERM)
        return super().flush(timeout)


def test_a_second_sigterm_during_the_flush_is_ignored() -> None:
    producer = ResignallingProducer(MOCK)
    previous = Recorder(producer)
    signal.signal(signal.SIGTERM, previous)
    close_on_shutdown(producer, timeout=10)
    producer.produce("orders", b"one")

    signal.raise_signal(signal.SIGTERM)

    assert previous.calls == [(signal.SIGTERM, True)]


def test_a_later_sigterm_is_handled_again() -> None:
    producer = Producer(MOCK)
    previous = Recorder(producer)
    signal.signal(signal.SIGTERM, previous)
    close_on_shutdown(producer, timeout=10)

    producer.produce("orders", b"one")
    signal.raise_signal(signal.SIGTERM)
    producer.produce("orders", b"two")  # the previous handler let the process live on
    signal.raise_signal(signal.SIGTERM)

    assert previous.calls == [(signal.SIGTERM, True), (signal.SIGTERM, True)]
    assert producer.created == 2
