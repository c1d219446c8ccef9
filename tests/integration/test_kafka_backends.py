"""One behavioural suite for ``Producer`` and ``flush_kafka``, run against both backends.

Every test takes the ``kafka`` fixture, parametrised over ``confluent`` (confluent-kafka) and
``kafka-python``, each configured as its users would (nothing but the bootstrap address, plus
``api_version`` for kafka-python), and proves the contract on librdkafka's mock cluster, a real
Kafka protocol peer: what a handler produced is read back from the broker by one consumer, the
same for both backends. Faults (a topic rejecting writes, a broker down) are injected in the
cluster and undone in a ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import inspect
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lambdakit.errors import KafkaDeliveryError
from lambdakit.kafka import Producer, flush_kafka
from lambdakit.testing import FakeClock, LambdaContext
from lambdakit.testing.kafka_cluster import TOPIC_AUTHORIZATION_FAILED, MockKafkaCluster
from tests.integration.kafka_backend_children import BACKENDS, producer_config

ROOT = Path(__file__).resolve().parents[2]
CHILDREN = "tests.integration.kafka_backend_children"
READ_DEADLINE = 20.0  # upper bound for reading back what should be on the broker
CHILD_DEADLINE = 60.0  # upper bound for a child process to report
FORK_DEADLINE = 8.0  # a forked child does in under 2 s what it is asked to


# --- the backend under test -------------------------------------------------------------------


@dataclass
class Kafka:
    """The mock cluster and the backend under test: producers, topics, and reading back."""

    cluster: MockKafkaCluster
    backend: str
    producers: list[Producer] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return self.cluster.bootstrap

    def producer(self) -> Producer:
        producer = Producer(producer_config(self.backend, self.bootstrap), backend=self.backend)
        self.producers.append(producer)  # closed after the test, not left reconnecting
        return producer

    def topic(self, partitions: int = 1) -> str:
        return self.cluster.create_topic(f"backends-{uuid.uuid4().hex[:12]}", partitions)

    def read(self, topic: str, expected: int, partitions: int = 1) -> list[Record]:
        return read_topic(self.bootstrap, topic, expected, partitions)


@pytest.fixture(params=BACKENDS)
def kafka(request: pytest.FixtureRequest, kafka_cluster: MockKafkaCluster) -> Iterator[Kafka]:
    kafka = Kafka(kafka_cluster, request.param)
    yield kafka
    for producer in kafka.producers:
        producer.close(timeout=1)


# --- reading back: one consumer for both backends ---------------------------------------------


@dataclass(frozen=True)
class Record:
    partition: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes | None]

    def json(self) -> Any:
        assert self.value is not None
        return json.loads(self.value)


def read_topic(bootstrap: str, topic: str, expected: int, partitions: int = 1) -> list[Record]:
    """Every message of ``topic``, in (partition, offset) order, read from the start until
    ``expected`` arrived (bounded); the broker must hold exactly that many, no duplicates."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{topic}",
            "enable.auto.commit": False,
            # Short fetch waits: the watermark query below would queue behind a long one.
            "fetch.wait.max.ms": 10,
        }
    )
    found: list[tuple[int, int, Record]] = []
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        deadline = time.monotonic() + READ_DEADLINE
        while len(found) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            record = Record(
                partition=message.partition(),
                key=message.key(),
                value=message.value(),
                headers=dict(message.headers() or []),
            )
            found.append((message.partition(), message.offset(), record))
        on_broker = sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        )
    finally:
        consumer.close()
    assert len(found) == expected, f"read {len(found)} of {expected} messages from {topic}"
    assert on_broker == expected, f"{topic} holds {on_broker} messages, expected {expected}"
    return [record for _, _, record in sorted(found, key=lambda item: item[:2])]


def context(timeout: float = 30.0) -> LambdaContext:
    return LambdaContext(timeout=timeout)


def counts(error: KafkaDeliveryError) -> tuple[int, int, int, int]:
    return error.produced, error.delivered, error.failed, error.undelivered


# --- what is produced is what is read back ----------------------------------------------------


def test_values_keys_headers_and_partitions_are_read_back_as_produced(kafka: Kafka) -> None:
    topic = kafka.topic(partitions=3)
    producer = kafka.producer()

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> str:
        producer.produce(topic, b"\x00raw\xffbytes", key=b"\x01key", partition=0)
        producer.produce(topic, "texte accentué", key="clé", headers={"h": "é"}, partition=1)
        producer.produce(
            topic,
            {"order": 7, "name": "Zoë", "lines": [1, 2.5, None, True]},
            key={"id": 7},
            headers={"content-type": "application/json", "trace": b"\x00\xff"},
            partition=2,
        )
        producer.produce(topic, [1, "two", {"three": 3}], partition=2)
        producer.produce(topic, 42, key=42, partition=2)
        producer.produce(topic, b"", partition=1)
        producer.produce(topic, "no key, no headers", partition=0)
        return "sent"

    assert handler({}, context()) == "sent"
    assert kafka.read(topic, 7, partitions=3) == [
        Record(0, b"\x01key", b"\x00raw\xffbytes", {}),
        Record(0, None, b"no key, no headers", {}),
        Record(1, "clé".encode(), "texte accentué".encode(), {"h": "é".encode()}),
        Record(1, None, b"", {}),
        Record(
            2,
            b'{"id":7}',
            '{"order":7,"name":"Zoë","lines":[1,2.5,null,true]}'.encode(),
            {"content-type": b"application/json", "trace": b"\x00\xff"},
        ),
        Record(2, None, b'[1,"two",{"three":3}]', {}),
        Record(2, b"42", b"42", {}),
    ]


# --- delivered before the handler returns -----------------------------------------------------


@contextlib.contextmanager
def frozen_child(kafka: Kafka, tmp_path: Path, **arguments: Any) -> Iterator[dict[str, Any]]:
    """Start the ``freeze`` child; yield its report once it has frozen itself; kill it after."""
    arguments = {"backend": kafka.backend, "bootstrap": kafka.bootstrap, **arguments}
    stderr_path = tmp_path / "child-stderr.txt"
    with stderr_path.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", CHILDREN, "freeze", json.dumps(arguments)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], CHILD_DEADLINE)
        line = child.stdout.readline() if ready else b""
        assert line, f"the child reported nothing:\n{stderr_path.read_text()}"
        _, status = os.waitpid(child.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), f"the child did not freeze:\n{stderr_path.read_text()}"
        yield json.loads(line)
    finally:
        child.kill()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()


def test_every_message_is_on_the_broker_when_the_handler_returns(
    kafka: Kafka, tmp_path: Path
) -> None:
    topic = kafka.topic(partitions=3)
    with frozen_child(kafka, tmp_path, topic=topic, count=100, fail=False) as report:
        assert report == {"outcome": "returned", "result": {"produced": 100}, "created": 1}
        # The child is frozen: only what was acknowledged before the handler returned is here.
        records = kafka.read(topic, 100, partitions=3)
        assert sorted(record.json()["n"] for record in records) == list(range(100))


def test_a_raising_handler_is_flushed_and_its_own_exception_propagates(
    kafka: Kafka, tmp_path: Path
) -> None:
    topic = kafka.topic(partitions=3)
    with frozen_child(kafka, tmp_path, topic=topic, count=50, fail=True) as report:
        assert report == {
            "outcome": "raised",
            "type": "HandlerFailed",
            "message": "the handler's own error",
            "same_object": True,
            "created": 1,
        }
        records = kafka.read(topic, 50, partitions=3)
        assert sorted(record.json()["n"] for record in records) == list(range(50))


# --- undelivered messages fail the call, within the bound -------------------------------------


def test_a_topic_that_rejects_writes_fails_the_call_with_exact_counts(kafka: Kafka) -> None:
    accepted, refusing = kafka.topic(), kafka.topic()
    kafka.cluster.topic_error(refusing, TOPIC_AUTHORIZATION_FAILED)
    try:
        producer = kafka.producer()

        @flush_kafka(producer, timeout=10)
        def handler(event: Any, context: Any) -> str:
            for n in range(2):
                producer.produce(accepted, {"n": n})
            for n in range(3):
                producer.produce(refusing, {"n": n})
            return "claimed success"

        started = time.monotonic()
        with pytest.raises(KafkaDeliveryError) as caught:
            handler({}, context())
        elapsed = time.monotonic() - started
    finally:
        kafka.cluster.clear_topic_error(refusing)
    assert counts(caught.value) == (5, 2, 3, 0)
    assert len(caught.value.errors) == 3
    assert all("authorization" in error.lower() for error in caught.value.errors)
    assert all(refusing in error for error in caught.value.errors)  # which topic refused
    assert elapsed < 10
    assert [record.json() for record in kafka.read(accepted, 2)] == [{"n": 0}, {"n": 1}]


def test_a_broker_that_is_down_fails_the_first_call_before_the_invocation_times_out(
    kafka: Kafka,
) -> None:
    """A new execution environment (the client not built yet) meets a broker that is down:
    the call must fail with KafkaDeliveryError within flush_kafka's bound, the invocation's
    remaining time minus the margin, not hang until Lambda kills it."""
    topic = kafka.topic()
    producer = kafka.producer()

    @flush_kafka(producer, margin_ms=500)
    def handler(event: Any, context: Any) -> str:
        producer.produce(topic, b"never acknowledged")
        return "claimed success"

    kafka.cluster.broker_down(1)
    try:
        invocation = context(timeout=3.0)
        started = time.monotonic()
        with pytest.raises(KafkaDeliveryError) as caught:
            handler({}, invocation)
        elapsed = time.monotonic() - started
    finally:
        kafka.cluster.broker_up(1)
    assert caught.value.produced == 1
    assert caught.value.delivered == 0
    assert caught.value.failed + caught.value.undelivered == 1
    assert elapsed < 3.0 - 0.5 + 0.3, f"failed after {elapsed:.1f} s, the bound was 2.5 s"


def test_the_flush_bound_is_the_remaining_time_minus_the_margin(kafka: Kafka) -> None:
    """A warm producer, a broker that went down: the message stays queued, and the flush gives
    up when the invocation's *remaining* time minus ``margin_ms`` runs out (here 14 min 57.5 s
    into a 15 min invocation: 2.5 s left, 1.5 s of them for the flush)."""
    topic = kafka.topic()
    producer = kafka.producer()

    @flush_kafka(producer, margin_ms=1000)
    def handler(event: Any, context: Any) -> str:
        producer.produce(topic, event)
        return "ok"

    assert handler("while the broker is up", context()) == "ok"
    clock = FakeClock()
    invocation = LambdaContext(timeout=900, clock=clock)
    clock.advance(900 - 2.5)
    kafka.cluster.broker_down(1)
    try:
        started = time.monotonic()
        with pytest.raises(KafkaDeliveryError) as caught:
            handler("while the broker is down", invocation)
        elapsed = time.monotonic() - started
    finally:
        kafka.cluster.broker_up(1)
    assert counts(caught.value) == (1, 0, 0, 1)  # still queued, not refused
    assert 1.4 <= elapsed < 1.9, f"the flush gave up after {elapsed:.2f} s, not 1.5 s"


def test_close_keeps_to_its_timeout_while_messages_are_still_queued(kafka: Kafka) -> None:
    """``close(timeout)`` flushes for at most ``timeout`` and drops the client, even when the
    broker is gone and a message is still queued (in a shutdown hook, time is short)."""
    topic = kafka.topic()
    producer = kafka.producer()

    @flush_kafka(producer, timeout=0.5)
    def handler(event: Any, context: Any) -> None:
        producer.produce(topic, event)

    handler("while the broker is up", context())
    closing = threading.Thread(target=producer.close, kwargs={"timeout": 1.0}, daemon=True)
    kafka.cluster.broker_down(1)
    try:
        with pytest.raises(KafkaDeliveryError):
            handler("still queued at close", context())
        started = time.monotonic()
        closing.start()
        closing.join(3.0)
        elapsed = time.monotonic() - started
        blocked = closing.is_alive()
    finally:
        kafka.cluster.broker_up(1)
        if closing.ident is not None:
            closing.join(CHILD_DEADLINE)  # once the broker is back, a blocked close ends
    assert not blocked, f"close(timeout=1.0) was still blocked after {elapsed:.1f} s"
    assert elapsed < 1.5


# --- stacked decorators, async handlers -------------------------------------------------------


@pytest.mark.parametrize("outermost", ["failing", "healthy"])
def test_stacked_decorators_keep_a_ledger_per_producer(kafka: Kafka, outermost: str) -> None:
    accepted, refusing = kafka.topic(), kafka.topic()
    kafka.cluster.topic_error(refusing, TOPIC_AUTHORIZATION_FAILED)
    try:
        healthy, failing = kafka.producer(), kafka.producer()
        outer, inner = (failing, healthy) if outermost == "failing" else (healthy, failing)

        @flush_kafka(outer, timeout=10)
        @flush_kafka(inner, timeout=10)
        def handler(event: Any, context: Any) -> str:
            healthy.produce(accepted, "first")
            failing.produce(refusing, "lost 1")
            healthy.produce(accepted, "second")
            failing.produce(refusing, "lost 2")
            healthy.produce(accepted, "third")
            return "claimed success"

        with pytest.raises(KafkaDeliveryError) as caught:
            handler({}, context())
    finally:
        kafka.cluster.clear_topic_error(refusing)
    # Only the failing producer's two messages are counted, whichever decorator raised; the
    # healthy producer's three were flushed and delivered.
    assert counts(caught.value) == (2, 0, 2, 0)
    assert [record.value for record in kafka.read(accepted, 3)] == [b"first", b"second", b"third"]
    assert (healthy.created, failing.created) == (1, 1)


def test_an_async_handler_is_flushed_and_checked_the_same_way(kafka: Kafka) -> None:
    accepted, refusing = kafka.topic(partitions=2), kafka.topic()
    producer = kafka.producer()
    failure = RuntimeError("the async handler's own error")

    @flush_kafka(producer, timeout=10)
    async def handler(event: dict[str, Any], context: Any) -> int:
        async def publish(n: int) -> None:
            producer.produce(event["topic"], {"run": event["run"], "n": n}, key=str(n))

        await asyncio.gather(*(publish(n) for n in range(event["count"])))
        if event.get("fail"):
            raise failure
        return event["count"]

    assert inspect.iscoroutinefunction(handler)
    event = {"topic": accepted, "count": 20}
    # Refused before the producer's first metadata (a new confluent client asks for the whole
    # cluster's at once): the mock refuses a topic in metadata responses only.
    kafka.cluster.topic_error(refusing, TOPIC_AUTHORIZATION_FAILED)
    try:
        assert asyncio.run(handler({**event, "run": "returns"}, context())) == 20
        with pytest.raises(RuntimeError) as raised:
            asyncio.run(handler({**event, "run": "raises", "fail": True}, context()))
        assert raised.value is failure
        with pytest.raises(KafkaDeliveryError) as caught:
            asyncio.run(handler({"topic": refusing, "run": "refused", "count": 4}, context()))
    finally:
        kafka.cluster.clear_topic_error(refusing)
    assert counts(caught.value) == (4, 0, 4, 0)
    records = kafka.read(accepted, 40, partitions=2)
    assert sorted((r.json()["run"], r.json()["n"]) for r in records) == sorted(
        (run, n) for run in ("returns", "raises") for n in range(20)
    )


# --- one client per execution environment -----------------------------------------------------


def test_the_client_is_built_on_the_first_message_and_serves_a_thousand_invocations(
    kafka: Kafka,
) -> None:
    topic = kafka.topic(partitions=2)
    producer = kafka.producer()
    assert producer.created == 0  # module level: no client, no connection

    @flush_kafka(producer)
    def handler(event: dict[str, Any], context: Any) -> None:
        if "n" in event:
            producer.produce(topic, {"n": event["n"]})

    handler({}, context())  # an invocation that produces nothing builds nothing
    assert producer.created == 0
    for n in range(1000):
        handler({"n": n}, context())
    assert producer.created == 1
    records = kafka.read(topic, 1000, partitions=2)
    assert sorted(record.json()["n"] for record in records) == list(range(1000))


def in_forked_child(body: Callable[[], dict[str, Any]], stderr_path: Path) -> dict[str, Any]:
    """Run ``body`` in a child made with ``os.fork()``, its stderr in a file; its report.

    The child never returns into pytest: it leaves with ``os._exit`` whatever happens. One that
    has not reported within ``FORK_DEADLINE`` first dumps its Python stack to its stderr file,
    then is killed.
    """
    read_end, write_end = os.pipe()
    import gc

    gc.collect()  # an earlier test's confluent client collected in the child would crash it
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read_end)
            stderr = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(stderr, 2)
            faulthandler.dump_traceback_later(FORK_DEADLINE - 2, file=2)
            try:
                report = body()
                code = 0
            except BaseException:
                report = {"error": traceback.format_exc()}
            os.write(write_end, json.dumps(report).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    try:
        ready, _, _ = select.select([read_end], [], [], FORK_DEADLINE)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        while ready and (chunk := os.read(read_end, 65536)):
            chunks.append(chunk)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    stderr_text = stderr_path.read_text()
    assert chunks, f"the forked child hung for {FORK_DEADLINE} s; its stderr:\n{stderr_text[:2500]}"
    report: dict[str, Any] = json.loads(b"".join(chunks))
    assert "error" not in report, report["error"]
    assert os.waitstatus_to_exitcode(status) == 0, stderr_text
    return report


def test_a_forked_child_builds_its_own_client_and_leaves_the_parents_alone(
    kafka: Kafka, tmp_path: Path
) -> None:
    """A client's threads do not survive ``fork``: the child must build its own client, and
    must neither use nor tear down the one it inherited (for librdkafka, ``rd_kafka_destroy``
    in the child joins a thread that does not exist there: it logs "was process forked?" after
    a 1 s stall, or blocks for ever). The parent's client goes on serving the parent."""
    topic = kafka.topic()
    producer = kafka.producer()

    @flush_kafka(producer, timeout=5)
    def handler(event: dict[str, Any], context: Any) -> None:
        producer.produce(topic, event)

    handler({"by": "parent", "n": 0}, context())
    assert producer.created == 1  # the parent's client is live: its threads and sockets run

    def child() -> dict[str, Any]:
        inherited = producer.created
        for n in range(3):
            handler({"by": "child", "n": n}, context())
        return {"inherited": inherited, "created": producer.created}

    stderr_path = tmp_path / "child-stderr.txt"
    assert in_forked_child(child, stderr_path) == {"inherited": 1, "created": 2}
    assert producer.created == 1
    handler({"by": "parent", "n": 1}, context())  # the parent's client still delivers
    assert producer.created == 1
    found = sorted((r.json()["by"], r.json()["n"]) for r in kafka.read(topic, 5))
    assert found == [("child", 0), ("child", 1), ("child", 2), ("parent", 0), ("parent", 1)]
    # The child destroyed nothing it inherited (librdkafka says so when it is made to).
    child_stderr = stderr_path.read_text()
    assert "was process forked" not in child_stderr, child_stderr


def test_a_snapstart_restore_rebuilds_the_client(kafka: Kafka) -> None:
    """The Lambda runtime's ``snapshot_restore_py`` is simulated in a fresh interpreter: the
    producer's after-restore hook must make the next message build a new client."""
    topic = kafka.topic()
    arguments = {"backend": kafka.backend, "bootstrap": kafka.bootstrap, "topic": topic}
    child = subprocess.run(
        [sys.executable, "-m", CHILDREN, "snapstart", json.dumps(arguments)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_DEADLINE,
    )
    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout.splitlines()[-1]) == {
        "created_at_init": 0,
        "hooks_registered": 1,
        "backend_imported_before_first_produce": False,
        "created_before_snapshot": 1,
        "hooks_run": 1,
        "created_right_after_restore": 1,
        "created_after_restore": 2,
    }
    found = [(r.json()["phase"], r.json()["n"]) for r in kafka.read(topic, 7)]
    assert found == [
        ("before", 0),
        ("before", 1),
        ("before", 2),
        ("after", 0),
        ("after", 1),
        ("after", 2),
        ("after-again", 0),
    ]
