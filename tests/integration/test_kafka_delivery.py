"""flush_kafka against a real Kafka protocol peer: nothing is left in the buffer at freeze,
undelivered messages fail the call, and one producer serves every invocation."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from typing import Any

import pytest

from lambdakit.batch import process_batch
from lambdakit.errors import KafkaDeliveryError
from lambdakit.kafka import Producer, flush_kafka
from lambdakit.testing import LambdaContext, sqs_event
from lambdakit.testing.kafka_cluster import TOPIC_AUTHORIZATION_FAILED, MockKafkaCluster
from tests.integration import kafka_children

BACKENDS = ["confluent", "kafka-python"]


def producer(backend: str, bootstrap: str, *, timeout_ms: int | None = None) -> Producer:
    """A managed producer on ``backend`` (one behavioural suite runs on both)."""
    if backend == "confluent":
        config: dict[str, Any] = {"bootstrap.servers": bootstrap, "log_level": 0}
        if timeout_ms is not None:
            config["message.timeout.ms"] = timeout_ms
    else:
        config = {"bootstrap_servers": bootstrap, "api_version": (2, 0), "linger_ms": 0}
        if timeout_ms is not None:
            config.update(
                delivery_timeout_ms=timeout_ms,
                request_timeout_ms=timeout_ms // 2,
                max_block_ms=timeout_ms,
            )
    return Producer(config, backend=backend)


def consume_all(bootstrap: str, topic: str, expected: int) -> list[Any]:
    """Every message of ``topic``, read from the start (bounded by a 20 s deadline)."""
    import time

    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"check-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    found: list[Any] = []
    deadline = time.monotonic() + 20
    try:
        while len(found) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append(json.loads(message.value()))
    finally:
        consumer.close()
    return found


def test_every_message_is_readable_while_the_environment_is_frozen(
    kafka_cluster: MockKafkaCluster,
) -> None:
    topic = kafka_cluster.create_topic(partitions=3)
    spawn = multiprocessing.get_context("spawn")
    child = spawn.Process(
        target=kafka_children.produce_then_freeze, args=(kafka_cluster.bootstrap, topic, 200)
    )
    child.start()
    try:
        pid = child.pid or 0
        _, status = os.waitpid(pid, os.WUNTRACED)  # returns once the child froze itself
        assert os.WIFSTOPPED(status)
        # The handler returned and the process is frozen: everything must already be on the
        # broker, since nothing in the child can run now.
        found = consume_all(kafka_cluster.bootstrap, topic, 200)
        assert sorted(m["n"] for m in found) == list(range(200))
    finally:
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_broker_that_is_down_fails_the_call_within_the_bound(
    kafka_cluster: MockKafkaCluster, backend: str
) -> None:
    topic = kafka_cluster.create_topic()
    managed = producer(backend, kafka_cluster.bootstrap, timeout_ms=2000)

    @flush_kafka(managed, timeout=10)
    def handler(event: Any, context: Any) -> str:
        managed.produce(topic, b"never acknowledged")
        return "claimed success"

    kafka_cluster.broker_down(1)
    try:
        with pytest.raises(KafkaDeliveryError) as caught:
            handler({}, LambdaContext(timeout=30))
    finally:
        kafka_cluster.broker_up(1)
    assert caught.value.delivered == 0
    assert caught.value.produced == 1


def test_under_process_batch_exactly_the_records_whose_topic_refused_are_reported(
    kafka_cluster: MockKafkaCluster,
) -> None:
    good, refused = kafka_cluster.create_topic(), kafka_cluster.create_topic()
    kafka_cluster.topic_error(refused, TOPIC_AUTHORIZATION_FAILED)
    try:
        producer = Producer(
            {"bootstrap.servers": kafka_cluster.bootstrap, "message.timeout.ms": 5000}
        )

        @process_batch
        @flush_kafka(producer, timeout=10)
        def record_handler(record: Any) -> None:
            producer.produce(good if record.body == "good" else refused, record.body)

        event = sqs_event(["good", "bad", "good", "bad"])
        response = record_handler(event, LambdaContext(timeout=30))
    finally:
        kafka_cluster.clear_topic_error(refused)
    records = event["Records"]
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": records[1]["messageId"]},
            {"itemIdentifier": records[3]["messageId"]},
        ]
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_client_serves_a_thousand_invocations(
    kafka_cluster: MockKafkaCluster, backend: str
) -> None:
    topic = kafka_cluster.create_topic()
    managed = producer(backend, kafka_cluster.bootstrap)

    @flush_kafka(managed)
    def handler(event: Any, context: Any) -> None:
        managed.produce(topic, {"n": event["n"]})

    for n in range(1000):
        handler({"n": n}, LambdaContext(timeout=30))
    assert managed.created == 1
    assert len(consume_all(kafka_cluster.bootstrap, topic, 1000)) == 1000
