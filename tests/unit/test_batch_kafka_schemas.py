"""process_batch(value_schema=, key_schema=): Kafka records decode with them on demand, a record
that does not decode fails like any other, and the options are refused where they cannot work."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lambdakit.batch import process_batch
from lambdakit.errors import BatchConfigurationError, KafkaDecodeError
from lambdakit.events import KafkaRecord
from lambdakit.kafka import AvroSchema, JsonSchema
from lambdakit.testing import kafka_event, sqs_event
from tests.unit.kafka_schema_fixtures import ORDER, ORDER_AVRO, avro_bytes

CONFLUENT_1 = b"\x00\x00\x00\x00\x01"
SCHEMA = AvroSchema(ORDER_AVRO)


def _failed(response: Any) -> list[Any]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


class TestDefaults:
    def test_value_as_and_key_as_without_argument_use_the_options(self) -> None:
        seen: list[Any] = []

        @process_batch(value_schema=SCHEMA, key_schema=JsonSchema())
        def handler(record: KafkaRecord) -> None:
            seen.append((record.value_as(), record.key_as()))

        event = kafka_event([CONFLUENT_1 + avro_bytes(ORDER)], keys=[b'{"k":1}'])
        assert handler(event, None) == {"batchItemFailures": []}
        assert seen == [(ORDER, {"k": 1})]

    @pytest.mark.parametrize("concurrency", [1, 3])
    def test_the_defaults_reach_worker_threads_and_async_handlers(self, concurrency: int) -> None:
        seen: list[Any] = []

        @process_batch(value_schema=SCHEMA, concurrency=concurrency)
        async def handler(record: KafkaRecord) -> None:
            await asyncio.sleep(0)
            seen.append(record.value_as())

        @process_batch(value_schema=SCHEMA, concurrency=concurrency)
        def threaded(record: KafkaRecord) -> None:
            seen.append(record.value_as())

        event = kafka_event([CONFLUENT_1 + avro_bytes(ORDER)] * 3, partitions=[0, 1, 2])
        handler(event, None)
        threaded(event, None)
        assert seen == [ORDER] * 6

    def test_the_defaults_end_with_the_batch(self) -> None:
        kept: list[KafkaRecord] = []
        process_batch(value_schema=SCHEMA)(kept.append)(kafka_event([b"x"]), None)
        with pytest.raises(ValueError, match="needs a schema"):
            kept[0].value_as()


class TestFailures:
    def test_a_value_that_does_not_decode_fails_its_record_and_stops_its_partition(
        self,
    ) -> None:
        good = CONFLUENT_1 + avro_bytes(ORDER)
        errors: list[BaseException] = []

        @process_batch(value_schema=SCHEMA)
        def handler(record: KafkaRecord) -> None:
            try:
                record.value_as()
            except KafkaDecodeError as exc:
                errors.append(exc)
                raise

        event = kafka_event([good, good[:-2], good, good], topic="orders", partitions=[0, 0, 0, 1])
        assert _failed(handler(event, None)) == [
            {"partition": "orders-0", "offset": 1},  # failed
            {"partition": "orders-0", "offset": 2},  # not run after it: its partition stopped
        ]
        assert str(errors[0]).startswith("orders-0@1.value: AvroSchema:")

    def test_a_record_whose_handler_never_reads_its_value_costs_nothing(self) -> None:
        @process_batch(value_schema=SCHEMA)
        def handler(record: KafkaRecord) -> None:
            if record.offset == 0:
                record.value_as()

        event = kafka_event([CONFLUENT_1 + avro_bytes(ORDER), b"\x00corrupt"])
        assert handler(event, None) == {"batchItemFailures": []}


class TestRefused:
    def test_something_not_a_schema_is_refused_at_decoration(self) -> None:
        with pytest.raises(BatchConfigurationError, match="value_schema"):
            process_batch(value_schema=ORDER_AVRO)  # type: ignore[call-overload]
        with pytest.raises(BatchConfigurationError, match="key_schema"):
            process_batch(key_schema="string")  # type: ignore[call-overload]

    def test_a_non_kafka_source_is_refused_at_decoration(self) -> None:
        with pytest.raises(BatchConfigurationError, match=r"value_schema.*source='sqs'"):
            process_batch(source="sqs", value_schema=SCHEMA)

    def test_a_non_kafka_event_fails_the_invocation_naming_the_option(self) -> None:
        ran: list[Any] = []
        handler = process_batch(key_schema=SCHEMA)(ran.append)
        with pytest.raises(BatchConfigurationError, match="key_schema"):
            handler(sqs_event(["a"]), None)
        assert ran == []
