"""The Kafka mock cluster helper (``lambdakit.testing.kafka_cluster``): real Kafka clients,
confluent-kafka and kafka-python, produce to and consume from it, and its fault injection makes
a producer's delivery reports fail within a bounded timeout."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer

from lambdakit.testing.kafka_cluster import (
    PRODUCE,
    TOPIC_AUTHORIZATION_FAILED,
    KafkaClusterError,
    MockKafkaCluster,
)

pytestmark = [
    pytest.mark.integration,
    # kafka-python 3.0 loads its protocol schemas through deprecated importlib.resources calls.
    pytest.mark.filterwarnings("ignore:(read|open)_text is deprecated:DeprecationWarning"),
]

WAIT = 10.0  # upper bound for anything that should succeed
# Fail fast: a message not delivered in 2 s is reported; reconnect quickly after `broker_up`.
FAST_FAIL = {
    "message.timeout.ms": 2000,
    "reconnect.backoff.ms": 20,
    "reconnect.backoff.max.ms": 200,
}


def _producer(cluster: MockKafkaCluster, **conf: Any) -> Producer:
    return Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 0, **conf})


def _produce(producer: Producer, topic: str, values: list[bytes]) -> list[Message]:
    """Produce ``values`` and return their delivery reports (``msg.error()`` None on success)."""
    reports: list[Message] = []
    for value in values:
        producer.produce(topic, value, on_delivery=lambda err, msg: reports.append(msg))
    remaining = producer.flush(WAIT)
    assert remaining == 0, f"{remaining} messages without a delivery report"
    assert len(reports) == len(values)
    return reports


def _errors(reports: list[Message]) -> list[int | None]:
    return [None if m.error() is None else m.error().code() for m in reports]


def test_confluent_producer_and_consumer_round_trip(kafka_cluster: MockKafkaCluster) -> None:
    topic = kafka_cluster.create_topic(partitions=3)
    values = [f"message-{i}".encode() for i in range(30)]
    reports = _produce(_producer(kafka_cluster), topic, values)
    assert _errors(reports) == [None] * len(values)
    assert {m.partition() for m in reports} <= {0, 1, 2}

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_cluster.bootstrap,
            "group.id": f"group-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
        }
    )
    received: list[bytes] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + WAIT
        while len(received) < len(values) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            received.append(msg.value())
    finally:
        consumer.close()
    assert sorted(received) == sorted(values)


def test_kafka_python_producer_and_consumer(kafka_cluster: MockKafkaCluster) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    topic = kafka_cluster.create_topic(partitions=2)
    values = [f"kp-{i}".encode() for i in range(10)]
    producer = KafkaProducer(bootstrap_servers=kafka_cluster.bootstrap, api_version=(2, 0))
    try:
        for value in values:
            metadata = producer.send(topic, value).get(timeout=WAIT)
            assert metadata.topic == topic
    finally:
        producer.close(timeout=WAIT)

    consumer = KafkaConsumer(
        bootstrap_servers=kafka_cluster.bootstrap,
        api_version=(2, 0),
        group_id=f"group-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        # The group leader may rejoin once, when the metadata its subscription asked for
        # arrives after its first assignment; the mock answers a rejoin of a stable group
        # only after session_timeout_ms - 1 s (29 s with kafka-python's default 30 s).
        session_timeout_ms=2000,
        heartbeat_interval_ms=250,
    )
    received: list[bytes] = []
    try:
        # Load the topic's metadata before subscribing: kafka-python 3.0.12 can lose the
        # metadata update a subscription requests while its bootstrap Metadata request (no
        # topics) is in flight, and the group leader then assigns nothing for 5 minutes.
        assert consumer.partitions_for_topic(topic) == {0, 1}
        consumer.subscribe([topic])
        deadline = time.monotonic() + WAIT
        while len(received) < len(values) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                received.extend(record.value for record in records)
    finally:
        consumer.close()
    assert sorted(received) == sorted(values)


def test_clients_in_another_process_reach_the_cluster(kafka_cluster: MockKafkaCluster) -> None:
    topic = kafka_cluster.create_topic()
    script = (
        "import sys\n"
        "from confluent_kafka import Producer\n"
        "p = Producer({'bootstrap.servers': sys.argv[1]})\n"
        "errors = []\n"
        "p.produce(sys.argv[2], b'from a child', on_delivery=lambda e, m: errors.append(e))\n"
        "assert p.flush(10) == 0 and errors == [None], errors\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, kafka_cluster.bootstrap, topic], check=True, timeout=30
    )


def test_broker_down_fails_delivery_within_message_timeout(
    kafka_cluster: MockKafkaCluster,
) -> None:
    topic = kafka_cluster.create_topic()
    producer = _producer(kafka_cluster, **FAST_FAIL)
    assert _errors(_produce(producer, topic, [b"before"])) == [None]

    kafka_cluster.broker_down(1)
    try:
        started = time.monotonic()
        reports = _produce(producer, topic, [b"while down"])
        elapsed = time.monotonic() - started
    finally:
        kafka_cluster.broker_up(1)
    assert _errors(reports) == [KafkaError._MSG_TIMED_OUT]
    assert elapsed < 5.0

    # The same producer delivers again once the broker is back.
    assert _errors(_produce(producer, topic, [b"after"])) == [None]


def test_topic_error_fails_delivery(kafka_cluster: MockKafkaCluster) -> None:
    topic = kafka_cluster.create_topic()
    kafka_cluster.topic_error(topic, TOPIC_AUTHORIZATION_FAILED)
    try:
        started = time.monotonic()
        reports = _produce(_producer(kafka_cluster, **FAST_FAIL), topic, [b"denied"])
        elapsed = time.monotonic() - started
    finally:
        kafka_cluster.clear_topic_error(topic)
    assert _errors(reports) == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    assert elapsed < 5.0

    assert _errors(_produce(_producer(kafka_cluster), topic, [b"allowed"])) == [None]


def test_request_errors_on_produce(kafka_cluster: MockKafkaCluster) -> None:
    topic = kafka_cluster.create_topic()
    producer = _producer(kafka_cluster, **FAST_FAIL)
    try:
        # A retriable error is retried by the producer, which then delivers...
        kafka_cluster.request_errors(PRODUCE, KafkaError.NOT_LEADER_FOR_PARTITION)
        assert _errors(_produce(producer, topic, [b"retried"])) == [None]
        # ...a permanent one is the delivery report's error.
        kafka_cluster.request_errors(PRODUCE, TOPIC_AUTHORIZATION_FAILED)
        reports = _produce(producer, topic, [b"denied"])
    finally:
        kafka_cluster.clear_request_errors(PRODUCE)
    assert _errors(reports) == [KafkaError.TOPIC_AUTHORIZATION_FAILED]


def test_commands_answer_errors(kafka_cluster: MockKafkaCluster) -> None:
    topic = kafka_cluster.create_topic()
    with pytest.raises(KafkaClusterError, match="TOPIC_ALREADY_EXISTS"):
        kafka_cluster.create_topic(topic)
    with pytest.raises(KafkaClusterError, match="no broker 9"):
        kafka_cluster.broker_down(9)
    with pytest.raises(KafkaClusterError, match="unknown command"):
        kafka_cluster.command("explode")
    kafka_cluster.command("ping")  # still serving


def test_context_manager_starts_and_stops_a_cluster() -> None:
    with MockKafkaCluster(broker_count=3) as cluster:
        assert len(cluster.bootstrap.split(",")) == 3
        assert all(b.startswith("127.0.0.1:") for b in cluster.bootstrap.split(","))
        proc = cluster._proc
        assert proc is not None
    assert proc.returncode == 0
    with pytest.raises(KafkaClusterError, match="not started"):
        cluster.bootstrap  # noqa: B018
