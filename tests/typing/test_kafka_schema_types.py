"""What users' code sees of the Kafka schema API (issue 18), the HTTP event builders and the
simulator's SQS client faults, checked by ``mypy --strict`` with ``assert_type``; pytest runs
the same calls, so every line is also valid at run time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from typing_extensions import assert_type

from lambdakit.batch import BatchResponse, KafkaRecord, process_batch
from lambdakit.kafka import AvroSchema, JsonSchema, Producer, ProtobufSchema, flush_kafka
from lambdakit.testing import (
    RecordingProducer,
    SQSClient,
    SQSQueue,
    function_url_event,
    http_api_event,
    kafka_event,
)
from lambdakit.typing import LambdaContext

Handler = Callable[[Mapping[str, Any], LambdaContext | None], BatchResponse]
ORDER = {"type": "record", "name": "Order", "fields": [{"name": "id", "type": "long"}]}


def test_process_batch_with_schemas_is_still_a_lambda_handler() -> None:
    schema = AvroSchema(ORDER, schema_id=7)
    keys = JsonSchema()

    def record_handler(record: KafkaRecord) -> None:
        order: Any = record.value_as()
        key: Any = record.key_as(keys)
        assert order == {"id": 1}
        assert key == {"k": 1}

    handler = process_batch(value_schema=schema, key_schema=keys)(record_handler)
    event = kafka_event(
        [schema.serialize({"id": 1})], keys=[keys.serialize({"k": 1}, framing="plain")]
    )
    assert_type(handler(event, None), BatchResponse)
    assert handler(event, None) == {"batchItemFailures": []}


def test_producing_with_a_schema_and_in_bulk() -> None:
    schema = AvroSchema(ORDER, schema_id=7)
    producer: Producer = RecordingProducer()

    @flush_kafka(producer)
    def handler(event: Mapping[str, Any], context: object) -> int:
        producer.produce("orders", {"id": 1}, schema=schema)
        producer.produce("orders", {"id": 2}, schema=schema, framing="plain")
        producer.produce_many("orders", [{"id": 3}, {"id": 4}], schema=schema, keys=["a", "b"])
        return 4

    assert_type(schema.serialize({"id": 1}), bytes)
    assert handler({}, None) == 4


class OrderMessage:
    """Stands for a generated protobuf class in the annotations below (no protoc here)."""


def decoded_with_a_protobuf_schema(
    record: KafkaRecord, schema: ProtobufSchema[OrderMessage]
) -> None:
    # Never called: what mypy infers is the check.
    assert_type(record.value_as(schema), OrderMessage | None)
    assert_type(record.key_as(schema), OrderMessage | None)


def test_events_with_schema_metadata_and_http_events_are_dicts() -> None:
    event = kafka_event([b"x"], value_schema_metadata={"dataFormat": "AVRO", "schemaId": "7"})
    assert_type(event, dict[str, Any])
    assert_type(http_api_event({"id": 1}, route_key="POST /orders"), dict[str, Any])
    assert_type(function_url_event("hi", iam={}), dict[str, Any])


def test_the_simulators_sqs_client_can_be_told_to_fail() -> None:
    queue = SQSQueue("orders")
    client = SQSClient(queue)
    assert_type(client.fail("send_message_batch", code="InternalError", times=1), None)
    assert_type(client.heal(), None)
