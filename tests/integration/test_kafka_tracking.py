"""Which call a delivery belongs to, when calls overlap or outlive their flush (confluent-kafka).

A confluent-kafka client built by ``Producer`` reports only failures, to one producer-wide
callback, and a lone call's messages are not tagged one by one (that is what keeps tracking
cheap). These tests pin down that attribution stays exact anyway: across overlapping calls,
after a call whose flush ran out of time, with threads inside one call, and with the user's own
delivery and error callbacks, on librdkafka's mock cluster.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
from typing import Any

import pytest

from lambdakit.batch import process_batch
from lambdakit.errors import KafkaDeliveryError
from lambdakit.kafka import Producer, flush_kafka
from lambdakit.testing import LambdaContext, sqs_event
from lambdakit.testing.kafka_cluster import (
    TOPIC_AUTHORIZATION_FAILED,
    UNKNOWN_TOPIC_OR_PART,
    MockKafkaCluster,
)


def managed(cluster: MockKafkaCluster, **extra: Any) -> Producer:
    return Producer(
        {"bootstrap.servers": cluster.bootstrap, "message.timeout.ms": 5000, "log_level": 0} | extra
    )


@pytest.fixture
def refusing_topic(kafka_cluster: MockKafkaCluster) -> Any:
    topic = kafka_cluster.create_topic()
    kafka_cluster.topic_error(topic, TOPIC_AUTHORIZATION_FAILED)
    try:
        yield topic
    finally:
        kafka_cluster.clear_topic_error(topic)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_overlapping_record_calls_each_answer_for_their_own_messages(
    kafka_cluster: MockKafkaCluster, refusing_topic: str, concurrency: int
) -> None:
    good = kafka_cluster.create_topic(partitions=2)
    producer = managed(kafka_cluster)

    @process_batch(concurrency=concurrency)
    @flush_kafka(producer, timeout=10)
    def record_handler(record: Any) -> None:
        for n in range(50):  # the first message checks the client, the rest take the fast path
            producer.produce(good, f"{record.body}-{n}", key=str(n))
        if record.body.startswith("bad"):
            producer.produce(refusing_topic, record.body)
        for n in range(50):
            producer.produce(good, f"{record.body}-after-{n}")

    bodies = [f"{'bad' if n % 3 == 0 else 'good'}-{n}" for n in range(12)]
    event = sqs_event(bodies)
    response = record_handler(event, LambdaContext(timeout=60))

    reported = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    expected = {
        record["messageId"] for record in event["Records"] if record["body"].startswith("bad")
    }
    assert reported == expected


def test_a_late_failure_is_charged_to_the_call_that_produced_it_not_to_the_next(
    kafka_cluster: MockKafkaCluster,
) -> None:
    good, missing = kafka_cluster.create_topic(), kafka_cluster.create_topic()
    kafka_cluster.topic_error(missing, UNKNOWN_TOPIC_OR_PART)  # waits, then times out
    producer = managed(kafka_cluster, **{"message.timeout.ms": 300})

    @flush_kafka(producer, timeout=0.05)  # gives up before the message times out
    def hasty(event: Any, context: Any) -> None:
        producer.produce(missing, "fails later")

    @flush_kafka(producer, timeout=10)
    def patient(event: Any, context: Any) -> str:
        producer.produce(good, "fine")
        return "ok"

    try:
        with pytest.raises(KafkaDeliveryError) as caught:
            hasty({}, LambdaContext(timeout=30))
        assert (caught.value.produced, caught.value.failed, caught.value.undelivered) == (1, 0, 1)

        # The first call's message times out during this call's flush: not this call's failure.
        assert patient({}, LambdaContext(timeout=30)) == "ok"
        assert patient({}, LambdaContext(timeout=30)) == "ok"
    finally:
        kafka_cluster.clear_topic_error(missing)


def test_threads_of_one_call_are_all_counted(kafka_cluster: MockKafkaCluster) -> None:
    topic = kafka_cluster.create_topic(partitions=4)
    producer = managed(kafka_cluster)

    @flush_kafka(producer, timeout=20)
    def handler(event: Any, context: Any) -> None:
        def burst(worker: int) -> None:
            for n in range(2_500):
                producer.produce(topic, f"{worker}-{n}".encode())

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            contexts = [contextvars.copy_context() for _ in range(4)]
            list(pool.map(lambda w: contexts[w].run(burst, w), range(4)))
        producer.produce(topic, b"and one more")

    handler({}, LambdaContext(timeout=60))

    @flush_kafka(producer, timeout=0.001)
    def counted(event: Any, context: Any) -> None:
        def burst(worker: int) -> None:
            for n in range(2_500):
                producer.produce(topic, f"{worker}-{n}".encode())

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            contexts = [contextvars.copy_context() for _ in range(4)]
            list(pool.map(lambda w: contexts[w].run(burst, w), range(4)))

    kafka_cluster.broker_down(1)
    try:
        with pytest.raises(KafkaDeliveryError) as caught:
            counted({}, LambdaContext(timeout=60))
    finally:
        kafka_cluster.broker_up(1)
    assert caught.value.produced == 10_000
    producer.flush(10)


def test_the_users_own_delivery_and_error_callbacks_still_see_every_report(
    kafka_cluster: MockKafkaCluster, refusing_topic: str
) -> None:
    good = kafka_cluster.create_topic()
    reports: list[tuple[str, bool]] = []
    errors: list[Any] = []
    producer = managed(
        kafka_cluster,
        on_delivery=lambda error, message: reports.append((message.topic(), error is None)),
        error_cb=errors.append,
    )

    @flush_kafka(producer, timeout=10)
    def handler(event: Any, context: Any) -> None:
        for n in range(5):
            producer.produce(good, str(n))
        producer.produce(refusing_topic, "no")

    with pytest.raises(KafkaDeliveryError) as caught:
        handler({}, LambdaContext(timeout=30))
    assert (caught.value.produced, caught.value.delivered, caught.value.failed) == (6, 5, 1)
    assert sorted(reports) == sorted([(good, True)] * 5 + [(refusing_topic, False)])
    producer.produce(good, "outside any call")  # untracked, but the user still hears of it
    producer.flush(10)
    assert reports[-1] == (good, True)
