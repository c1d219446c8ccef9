"""Records out and back in, through a real Kafka protocol peer: values produced with
``schema=`` (Avro, Protobuf, JSON Schema; Confluent, AWS Glue and zlib-compressed Glue framing)
are read back with a confluent-kafka consumer, their bytes checked against the registries' wire
formats (FACTS 1 and 2), and decoded three ways: by the format's own library (fastavro,
protobuf, json), by the schema object, and by a ``KafkaRecord`` built as Lambda delivers the
message (with no registry: the framed bytes; with the ESM's registry integration, SOURCE: the
header stripped, Protobuf indexes kept, ``valueSchemaMetadata`` set).

Also here, ``produce_many`` against the cluster's fault injection and on both backends.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from lambdakit.batch import process_batch
from lambdakit.errors import KafkaConfigurationError, KafkaDeliveryError
from lambdakit.events import KafkaRecord
from lambdakit.kafka import AvroSchema, JsonSchema, Producer, ProtobufSchema, flush_kafka
from lambdakit.testing import LambdaContext, kafka_event, sqs_event
from lambdakit.testing.kafka_cluster import TOPIC_AUTHORIZATION_FAILED, MockKafkaCluster
from tests.unit.kafka_schema_fixtures import GLUE_ID, ORDER, ORDER_AVRO, protobuf_classes

CONFLUENT_ID = 7
ORDER_JSON_SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    "required": ["id", "name"],
}
LINE = protobuf_classes()["Order.Line"]  # nested: Confluent indexes [1, 0], Glue index 3


@dataclass(frozen=True)
class Format:
    """One schema format: its schema object, three values, what its own library reads from a
    payload, and the Protobuf message index each registry writes before the payload."""

    schema: Callable[[], Any]
    values: list[Any]
    read: Callable[[bytes], Any]
    confluent_indexes: bytes = b""  # after Confluent's 5-byte header
    glue_index: bytes = b""  # first in AWS Glue's (possibly compressed) data


def read_avro(payload: bytes) -> Any:
    import fastavro

    stream = io.BytesIO(payload)
    value = fastavro.schemaless_reader(stream, fastavro.parse_schema(ORDER_AVRO))
    assert stream.read() == b"", "fastavro left bytes unread"
    return value


FORMATS = {
    "avro": Format(
        lambda: AvroSchema(ORDER_AVRO),
        [ORDER, {**ORDER, "id": 43, "note": "gift"}, {"id": 0, "name": "", "note": None}],
        read_avro,
    ),
    "protobuf": Format(
        lambda: ProtobufSchema(LINE),
        [LINE(sku="a-1", qty=2), LINE(sku="b", qty=300), LINE()],
        LINE.FromString,
        confluent_indexes=bytes([0x04, 0x02, 0x00]),  # zigzag: count 2, then 1, 0
        glue_index=bytes([0x03]),  # position among the file's messages sorted by full name
    ),
    "json": Format(
        lambda: JsonSchema(ORDER_JSON_SCHEMA),
        [{"id": 1, "name": "a"}, {"id": 2, "name": "é"}, {"id": 3, "name": "c", "extra": [1]}],
        lambda payload: json.loads(payload.decode("utf-8")),
    ),
}
FRAMINGS = {  # name: (framing, compress, schema id)
    "confluent": ("confluent", False, CONFLUENT_ID),
    "glue": ("glue", False, GLUE_ID),
    "glue-zlib": ("glue", True, GLUE_ID),
}


def unframed(data: bytes, framing: str, compress: bool, schema_id: Any) -> bytes:
    """What follows the registry's header, after checking that header byte for byte (and
    inflating Glue's compressed data): as the ESM's SOURCE delivery hands it over."""
    if framing == "confluent":
        assert data[0] == 0x00  # magic byte
        assert data[1:5] == struct.pack(">I", schema_id)  # big-endian uint32
        return data[5:]
    assert data[0] == 0x03  # Glue's header version
    assert data[1] == (0x05 if compress else 0x00)  # zlib / none
    assert data[2:18] == schema_id.bytes  # the schema version id, RFC 4122 byte order
    return zlib.decompress(data[18:]) if compress else data[18:]


def as_delivered(data: bytes, metadata: dict[str, Any] | None = None) -> KafkaRecord:
    """``data`` as a record of the event Lambda's Kafka ESM would deliver."""
    event = kafka_event([data], value_schema_metadata=metadata)
    (records,) = event["records"].values()
    return KafkaRecord(records[0])


def managed(cluster: MockKafkaCluster, backend: str = "confluent") -> Producer:
    if backend == "confluent":
        return Producer(
            {"bootstrap.servers": cluster.bootstrap, "message.timeout.ms": 5000, "log_level": 0}
        )
    return Producer(
        {"bootstrap_servers": cluster.bootstrap, "api_version": (2, 0), "linger_ms": 0},
        backend="kafka-python",
    )


@pytest.mark.parametrize("framing_name", list(FRAMINGS))
@pytest.mark.parametrize("format_name", list(FORMATS))
def test_values_produced_with_a_schema_read_back_byte_for_byte_and_decode_everywhere(
    kafka_cluster: MockKafkaCluster, format_name: str, framing_name: str
) -> None:
    form = FORMATS[format_name]
    framing, compress, schema_id = FRAMINGS[framing_name]
    schema = form.schema()
    topic = kafka_cluster.create_topic()
    producer = managed(kafka_cluster)
    options = {"schema": schema, "schema_id": schema_id, "framing": framing, "compress": compress}

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce(topic, form.values[0], key="one", **options)
        producer.produce_many(topic, form.values[1:], keys=["two", "three"], **options)

    handler({}, LambdaContext(timeout=30))
    messages = kafka_cluster.messages(topic)

    assert [message.key for message in messages] == [b"one", b"two", b"three"]
    for message, value in zip(messages, form.values, strict=True):
        assert message.value is not None
        body = unframed(message.value, framing, compress, schema_id)
        index = form.confluent_indexes if framing == "confluent" else form.glue_index
        assert body.startswith(index)
        assert form.read(body[len(index) :]) == value  # the format's own library
        assert schema.decode(message.value) == value  # lambdakit, from the framed bytes
        assert as_delivered(message.value).value_as(schema) == value  # no registry in the ESM
        source = {"dataFormat": schema.kind, "schemaId": str(schema_id)}
        assert as_delivered(body, source).value_as(schema) == value  # ESM registry, SOURCE


def test_the_schema_id_pinned_on_the_schema_is_used_when_none_is_given(
    kafka_cluster: MockKafkaCluster,
) -> None:
    topic = kafka_cluster.create_topic()
    producer = managed(kafka_cluster)
    schema = AvroSchema(ORDER_AVRO, schema_id=CONFLUENT_ID)

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce(topic, ORDER, schema=schema)
        producer.produce_many(topic, [ORDER], schema=schema)
        producer.produce(topic, ORDER, schema=schema, schema_id=CONFLUENT_ID + 1)  # overrides

    handler({}, LambdaContext(timeout=30))
    ids = [struct.unpack(">I", m.value[1:5])[0] for m in kafka_cluster.messages(topic) if m.value]
    assert ids == [CONFLUENT_ID, CONFLUENT_ID, CONFLUENT_ID + 1]


@pytest.mark.parametrize("framing", ["confluent", "glue"])
def test_a_missing_schema_id_is_refused_at_the_call_and_nothing_is_sent(
    kafka_cluster: MockKafkaCluster, framing: str
) -> None:
    topic = kafka_cluster.create_topic()
    producer = managed(kafka_cluster)
    schema = AvroSchema(ORDER_AVRO)  # no id pinned

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce_many(topic, [ORDER, ORDER], schema=schema, framing=framing)

    with pytest.raises(KafkaConfigurationError, match=r"values\[0\]: .*schema_id"):
        handler({}, LambdaContext(timeout=30))
    with pytest.raises(KafkaConfigurationError, match=r"value: .*schema_id"):
        producer.produce(topic, ORDER, schema=schema, framing=framing)
    assert kafka_cluster.messages(topic) == []


# --- produce_many against the cluster -------------------------------------------------------


@pytest.fixture
def refusing_topic(kafka_cluster: MockKafkaCluster) -> Any:
    topic = kafka_cluster.create_topic()
    kafka_cluster.topic_error(topic, TOPIC_AUTHORIZATION_FAILED)
    try:
        yield topic
    finally:
        kafka_cluster.clear_topic_error(topic)


@pytest.mark.parametrize("backend", ["confluent", "kafka-python"])
def test_produce_many_delivers_every_message_once_on_both_backends(
    kafka_cluster: MockKafkaCluster, backend: str
) -> None:
    topic = kafka_cluster.create_topic(partitions=3)
    producer = managed(kafka_cluster, backend)
    values = [f"v{n}".encode() for n in range(500)]

    @flush_kafka(producer, timeout=20)
    def handler(event: Any, context: Any) -> str:
        producer.produce_many(topic, values, keys=[str(n % 7) for n in range(500)])
        return "ok"

    try:
        assert handler({}, LambdaContext(timeout=30)) == "ok"
    finally:
        producer.close(5)
    assert sorted(m.value or b"" for m in kafka_cluster.messages(topic)) == sorted(values)


def test_produce_many_to_a_topic_refusing_writes_fails_the_call_with_the_counts(
    kafka_cluster: MockKafkaCluster, refusing_topic: str
) -> None:
    producer = managed(kafka_cluster)
    good = kafka_cluster.create_topic()

    @flush_kafka(producer, timeout=10)
    def handler(event: Any, context: Any) -> None:
        producer.produce_many(good, [b"a"] * 20)
        producer.produce_many(refusing_topic, [b"b"] * 5)

    with pytest.raises(KafkaDeliveryError) as caught:
        handler({}, LambdaContext(timeout=30))
    error = caught.value
    assert (error.produced, error.delivered, error.failed, error.undelivered) == (25, 20, 5, 0)
    assert refusing_topic in error.errors[0]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_under_process_batch_only_records_whose_produce_many_failed_are_reported(
    kafka_cluster: MockKafkaCluster, refusing_topic: str, concurrency: int
) -> None:
    good = kafka_cluster.create_topic(partitions=2)
    producer = managed(kafka_cluster)

    @process_batch(concurrency=concurrency)
    @flush_kafka(producer, timeout=10)
    def record_handler(record: Any) -> None:
        producer.produce_many(good, [f"{record.body}-{n}" for n in range(100)])
        if record.body.startswith("bad"):
            producer.produce_many(refusing_topic, [record.body] * 3)
        producer.produce_many(good, [f"{record.body}-after"] * 50)

    bodies = [f"{'bad' if n % 3 == 0 else 'good'}-{n}" for n in range(12)]
    event = sqs_event(bodies)
    response = record_handler(event, LambdaContext(timeout=60))

    reported = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    expected = {r["messageId"] for r in event["Records"] if r["body"].startswith("bad")}
    assert reported == expected
