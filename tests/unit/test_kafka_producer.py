"""The managed producer and flush_kafka, on librdkafka's in-client mock cluster.

(`test.mock.num.brokers` makes the client host a mock Kafka cluster: a real protocol peer, no
network. The separate-process mock cluster and its fault injection serve the integration tests.)
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from lambdakit.batch import process_batch
from lambdakit.errors import KafkaConfigurationError, KafkaDeliveryError
from lambdakit.kafka import Producer, flush_kafka
from lambdakit.testing import LambdaContext, sqs_event

MOCK = {"test.mock.num.brokers": 1, "message.timeout.ms": 5000}
UNREACHABLE = {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 500, "log_level": 0}


def context() -> LambdaContext:
    return LambdaContext(timeout=20)


def test_one_client_for_a_thousand_invocations() -> None:
    producer = Producer(MOCK)

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> str:
        producer.produce("orders", {"n": event["n"]}, key=str(event["n"]))
        return "ok"

    for n in range(1000):
        assert handler({"n": n}, context()) == "ok"
    assert producer.created == 1


def test_a_forked_child_gets_its_own_client() -> None:
    built: list[int] = []
    producer = Producer(MOCK, factory=lambda config: built.append(os.getpid()) or _Null())
    producer.produce("t", b"x")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a client made before fork must not be reused
        producer.produce("t", b"y")
        os.write(write, str(producer.created).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 10) == b"2"
    assert producer.created == 1


def test_a_restore_rebuilds_the_client() -> None:
    producer = Producer(MOCK, factory=lambda config: _Null())
    producer.produce("t", b"x")
    producer.reset()  # what the SnapStart after-restore hook does
    producer.produce("t", b"x")
    assert producer.created == 2


def test_undelivered_messages_fail_the_call_within_the_bound() -> None:
    producer = Producer(UNREACHABLE)

    @flush_kafka(producer, timeout=5)
    def handler(event: Any, context: Any) -> None:
        producer.produce("orders", b"lost?")

    with pytest.raises(KafkaDeliveryError) as caught:
        handler({}, context())
    assert caught.value.produced == 1
    assert caught.value.delivered == 0
    assert caught.value.failed + caught.value.undelivered == 1


def test_a_raising_handler_still_flushes_and_its_exception_propagates() -> None:
    producer = Producer(MOCK)
    boom = ValueError("boom")
    seen: list[int] = []

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce("orders", b"before the error")
        raise boom

    with pytest.raises(ValueError, match="boom") as caught:
        handler({}, context())
    assert caught.value is boom
    producer.client.flush(0)
    seen.append(len(producer.client))
    assert seen == [0]  # nothing left queued


def test_under_process_batch_only_records_whose_messages_failed_are_reported() -> None:
    good = Producer(MOCK)
    bad = Producer(UNREACHABLE)

    @process_batch
    @flush_kafka(good, timeout=5)
    @flush_kafka(bad, timeout=5)
    def record_handler(record: Any) -> None:
        target = bad if record.body == "to-the-void" else good
        target.produce("orders", record.body)

    event = sqs_event(["fine", "to-the-void", "fine too"])
    response = record_handler(event, context())
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}


def test_values_keys_and_headers_are_encoded() -> None:
    from lambdakit.kafka._clients import encode

    assert encode(b"x", "v") == b"x"
    assert encode("é", "v") == "é".encode()
    assert encode({"a": 1}, "v") == b'{"a":1}'
    with pytest.raises(KafkaConfigurationError, match="value"):
        encode(object(), "value")


def test_bad_configuration_is_refused_when_applied() -> None:
    with pytest.raises(KafkaConfigurationError, match="backend"):
        Producer(MOCK, backend="nope")
    with pytest.raises(KafkaConfigurationError, match="Producer"):
        flush_kafka(object())  # type: ignore[arg-type]
    with pytest.raises(KafkaConfigurationError, match="timeout"):
        flush_kafka(Producer(MOCK), timeout=0)


class _Null:
    def produce(self, *args: Any, **kwargs: Any) -> None:
        pass

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return 0


class TestRecordingProducer:
    def test_records_messages_and_satisfies_flush_kafka(self) -> None:
        from lambdakit.testing import RecordingProducer

        producer = RecordingProducer()

        @flush_kafka(producer)
        def handler(event: Any, context: Any) -> str:
            producer.produce("orders", {"n": 1}, key="k", headers={"h": "v"})
            return "ok"

        assert handler({}, context()) == "ok"
        assert producer.values("orders") == [b'{"n":1}']
        assert producer.messages[0].key == b"k"
        assert producer.messages[0].headers == {"h": b"v"}

    def test_can_be_told_to_refuse_deliveries(self) -> None:
        from lambdakit.testing import RecordingProducer

        producer = RecordingProducer()
        producer.fail_topic("audit")

        @process_batch
        @flush_kafka(producer)
        def record_handler(record: Any) -> None:
            producer.produce(record.body, b"x")

        event = sqs_event(["orders", "audit"])
        assert record_handler(event, context()) == {
            "batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]
        }
        producer.recover()
        producer.fail_next()

        @flush_kafka(producer)
        def handler(event: Any, context: Any) -> None:
            producer.produce("orders", b"y")

        with pytest.raises(KafkaDeliveryError, match="refused"):
            handler({}, context())
