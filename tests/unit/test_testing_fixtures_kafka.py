"""The Kafka test doubles users get from ``lambdakit.testing``: what ``RecordingProducer`` says
about itself and returns, and ``MockKafkaCluster`` refusing early, by name, without its backend.
"""

from __future__ import annotations

import importlib
import sys
import typing

import pytest

from lambdakit.errors import LambdakitError, MissingDependencyError
from lambdakit.testing import RecordingProducer
from lambdakit.testing.kafka import Message


class TestRecordingProducer:
    def test_values_are_typed_as_the_bytes_recorded(self) -> None:
        hints = typing.get_type_hints(RecordingProducer.values)
        assert hints["return"] == list[bytes | None]

    def test_messages_are_typed_as_recorded_messages(self) -> None:
        producer = RecordingProducer()
        producer.produce("orders", {"n": 1}, key="k", headers={"h": "v"})
        assert producer.messages == [Message("orders", b'{"n":1}', b"k", {"h": b"v"}, None)]
        assert producer.messages[0].offset is None  # nothing was written to a partition log

    def test_repr_says_what_it_recorded(self) -> None:
        producer = RecordingProducer()
        for topic in ("a", "b", "a"):
            producer.produce(topic, b"x")
        assert repr(producer) == "<RecordingProducer: 3 messages recorded, topics ['a', 'b']>"

    def test_repr_of_a_fresh_producer(self) -> None:
        assert repr(RecordingProducer()) == "<RecordingProducer: 0 messages recorded, topics []>"

    def test_repr_counts_one_message_in_the_singular(self) -> None:
        producer = RecordingProducer()
        producer.produce("a", b"x")
        assert repr(producer) == "<RecordingProducer: 1 message recorded, topics ['a']>"

    def test_repr_says_which_deliveries_it_will_refuse(self) -> None:
        producer = RecordingProducer()
        producer.fail_topic("audit")
        producer.fail_next(2)
        assert repr(producer) == (
            "<RecordingProducer: 0 messages recorded, topics [], "
            "refusing topics ['audit'] and the next 2 messages>"
        )
        producer.recover()
        assert repr(producer) == "<RecordingProducer: 0 messages recorded, topics []>"


class TestMockKafkaClusterWithoutConfluentKafka:
    """MockKafkaCluster drives librdkafka's mock cluster, which only confluent-kafka's wheel
    bundles: without it, creating one fails at once, naming the extra to install."""

    @pytest.fixture
    def without_confluent_kafka(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "confluent_kafka", None)  # `import` now fails
        # Import the module afresh under that condition; monkeypatch puts the original back.
        monkeypatch.delitem(sys.modules, "lambdakit.testing.kafka_cluster", raising=False)

    @pytest.mark.usefixtures("without_confluent_kafka")
    def test_the_module_imports(self) -> None:
        module = importlib.import_module("lambdakit.testing.kafka_cluster")
        assert module.MockKafkaCluster is not None

    @pytest.mark.usefixtures("without_confluent_kafka")
    def test_construction_raises_missing_dependency_naming_the_extra(self) -> None:
        module = importlib.import_module("lambdakit.testing.kafka_cluster")
        with pytest.raises(MissingDependencyError) as caught:
            module.MockKafkaCluster()
        assert isinstance(caught.value, ImportError)
        assert "pip install 'lambdakit[kafka]'" in str(caught.value)
        assert "MockKafkaCluster" in str(caught.value)
        assert "confluent-kafka" in str(caught.value)


def test_kafka_cluster_errors_are_lambdakit_errors() -> None:
    from lambdakit.testing.kafka_cluster import KafkaClusterError

    assert issubclass(KafkaClusterError, LambdakitError)
    assert issubclass(KafkaClusterError, RuntimeError)  # as before


@pytest.mark.integration
def test_messages_reads_back_every_message_of_every_partition_in_order() -> None:
    from confluent_kafka import Producer

    from lambdakit.testing.kafka_cluster import MockKafkaCluster

    with MockKafkaCluster() as cluster:
        topic = cluster.create_topic(partitions=2)
        assert cluster.messages(topic) == []
        producer = Producer({"bootstrap.servers": cluster.bootstrap})
        for i in range(4):
            producer.produce(
                topic, f"v{i}".encode(), key=f"k{i}", partition=i % 2, headers=[("h", b"x")]
            )
        assert producer.flush(10) == 0
        messages = cluster.messages(topic)
    assert [(m.partition, m.offset, m.key, m.value) for m in messages] == [
        (0, 0, b"k0", b"v0"),
        (0, 1, b"k2", b"v2"),
        (1, 0, b"k1", b"v1"),
        (1, 1, b"k3", b"v3"),
    ]
    assert all(m.topic == topic and m.headers == {"h": b"x"} for m in messages)
