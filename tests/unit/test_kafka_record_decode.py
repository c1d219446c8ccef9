"""KafkaRecord.value_as / key_as: records as Lambda delivers them (FACTS 3.2, 3.3), decoded
lazily, and refused with KafkaDecodeError naming the record rather than returned corrupt."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import zlib
from typing import Any

import pytest

from lambdakit.errors import KafkaConfigurationError, KafkaDecodeError, RecordDecodeError
from lambdakit.events import KafkaRecord
from lambdakit.kafka import AvroSchema, JsonSchema, ProtobufSchema
from tests.unit.kafka_schema_fixtures import (
    GLUE_ID,
    ORDER,
    ORDER_AVRO,
    OTHER_GLUE_ID,
    avro_bytes,
    protobuf_classes,
)

CONFLUENT_1 = b"\x00\x00\x00\x00\x01"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def record(value: bytes | None = b"", *, absent: bool = False, **extra: Any) -> KafkaRecord:
    """A record shaped as Lambda delivers it (FACTS 3.2), at orders-0@15."""
    raw: dict[str, Any] = {
        "topic": "orders",
        "partition": 0,
        "offset": 15,
        "timestamp": 1545084650990,
        "timestampType": "CREATE_TIME",
        "headers": [{"headerKey": [104, 101, 97, 100, 101, 114, 86, 97, 108, 117, 101]}],
    }
    if not absent:
        raw["value"] = None if value is None else _b64(value)
    raw.update(extra)
    return KafkaRecord(raw)


@pytest.fixture(scope="module")
def pb() -> dict[str, Any]:
    return protobuf_classes()


def _order(pb: dict[str, Any]) -> Any:
    order = pb["Order"](id="o-1", amount=1500)
    order.lines.add(sku="A", qty=2)
    return order


class TestWithoutEsmRegistry:
    """No registry on the mapping: the value is the producer's bytes, header included."""

    def test_confluent_avro_protobuf_and_json_values_decode(self, pb: dict[str, Any]) -> None:
        assert record(CONFLUENT_1 + avro_bytes(ORDER)).value_as(AvroSchema(ORDER_AVRO)) == ORDER
        order = _order(pb)
        framed = CONFLUENT_1 + b"\x02\x02" + order.SerializeToString()
        assert record(framed).value_as(ProtobufSchema(pb["Order"])) == order
        assert record(CONFLUENT_1 + b'{"a":1}').value_as(JsonSchema()) == {"a": 1}

    def test_glue_uncompressed_zlib_and_plain_values_decode(self) -> None:
        body = avro_bytes(ORDER)
        schema = AvroSchema(ORDER_AVRO)
        glue = b"\x03\x00" + GLUE_ID.bytes + body
        zipped = b"\x03\x05" + GLUE_ID.bytes + zlib.compress(body)
        for data in (glue, zipped, body):
            assert record(data).value_as(schema) == ORDER

    def test_a_confluent_framed_avro_value_read_as_plain_fails_instead_of_decoding_noise(
        self,
    ) -> None:
        # Powertools #8385: the 5 header bytes read as Avro give id=0, name="" and bytes over.
        with pytest.raises(KafkaDecodeError, match=r"^orders-0@15\.value: .*left over"):
            record(CONFLUENT_1 + avro_bytes(ORDER)).value_as(
                AvroSchema(ORDER_AVRO, framing="plain")
            )

    def test_corrupt_and_truncated_values_fail_naming_record_and_field(self) -> None:
        schema = AvroSchema(ORDER_AVRO)
        with pytest.raises(KafkaDecodeError, match=r"orders-0@15\.value: AvroSchema: .*ends"):
            record(CONFLUENT_1 + avro_bytes(ORDER)[:-3]).value_as(schema)
        with pytest.raises(KafkaDecodeError, match=r"orders-0@15\.value: .*zlib"):
            record(b"\x03\x05" + GLUE_ID.bytes + b"not zlib").value_as(schema)

    def test_a_pinned_schema_id_refuses_another_confluent_id_or_glue_uuid(self) -> None:
        with pytest.raises(KafkaDecodeError, match=r"expected '2' \(pinned\).*names '1'"):
            record(CONFLUENT_1 + avro_bytes(ORDER)).value_as(AvroSchema(ORDER_AVRO, schema_id=2))
        glue = b"\x03\x00" + GLUE_ID.bytes + avro_bytes(ORDER)
        with pytest.raises(KafkaDecodeError, match=str(GLUE_ID)):
            record(glue).value_as(AvroSchema(ORDER_AVRO, schema_id=OTHER_GLUE_ID))

    def test_a_decode_error_is_also_a_record_decode_error(self) -> None:
        with pytest.raises(RecordDecodeError) as caught:
            record(b"\x00\x00").value_as(JsonSchema())
        assert caught.value.where == "orders-0@15.value"


class TestEsmSourceDelivery:
    """Registry on the mapping, SOURCE: header stripped, Protobuf index kept (FACTS 3.3)."""

    def test_confluent_protobuf_keeps_its_message_indexes(self, pb: dict[str, Any]) -> None:
        order = _order(pb)
        got = record(
            b"\x02\x02" + order.SerializeToString(),
            valueSchemaMetadata={"dataFormat": "PROTOBUF", "schemaId": "1"},
        ).value_as(ProtobufSchema(pb["Order"], schema_id=1))
        assert got == order

    def test_glue_protobuf_keeps_its_sorted_name_index(self, pb: dict[str, Any]) -> None:
        line = pb["Order.Line"](sku="B", qty=3)
        got = record(
            b"\x03" + line.SerializeToString(),
            valueSchemaMetadata={"dataFormat": "PROTOBUF", "schemaId": str(GLUE_ID)},
        ).value_as(ProtobufSchema(pb["Order.Line"], schema_id=GLUE_ID))
        assert got == line

    def test_a_protobuf_index_naming_another_message_fails(self, pb: dict[str, Any]) -> None:
        line = pb["Order.Line"](sku="B", qty=3)
        esm = record(
            b"\x04\x02\x00" + line.SerializeToString(),
            valueSchemaMetadata={"dataFormat": "PROTOBUF", "schemaId": "1"},
        )
        with pytest.raises(KafkaDecodeError, match=r"indexes \[1, 0\].*lk\.test\.Order "):
            esm.value_as(ProtobufSchema(pb["Order"]))

    def test_avro_arrives_as_the_bare_datum(self) -> None:
        esm = record(avro_bytes(ORDER), valueSchemaMetadata={"dataFormat": "AVRO", "schemaId": "1"})
        assert esm.value_as(AvroSchema(ORDER_AVRO, schema_id=1)) == ORDER

    def test_another_schema_id_than_the_pinned_one_fails(self) -> None:
        confluent = record(
            avro_bytes(ORDER), valueSchemaMetadata={"dataFormat": "AVRO", "schemaId": "3"}
        )
        with pytest.raises(KafkaDecodeError, match=r"expected '1' \(pinned\).*'3'"):
            confluent.value_as(AvroSchema(ORDER_AVRO, schema_id=1))
        glue = record(
            avro_bytes(ORDER),
            valueSchemaMetadata={"dataFormat": "AVRO", "schemaId": str(OTHER_GLUE_ID)},
        )
        with pytest.raises(KafkaDecodeError, match=str(OTHER_GLUE_ID)):
            glue.value_as(AvroSchema(ORDER_AVRO, schema_id=GLUE_ID))

    def test_a_data_format_the_schema_does_not_read_fails(self) -> None:
        esm = record(avro_bytes(ORDER), valueSchemaMetadata={"dataFormat": "JSON", "schemaId": "1"})
        with pytest.raises(KafkaDecodeError, match=r"dataFormat 'JSON'.*'AVRO'"):
            esm.value_as(AvroSchema(ORDER_AVRO))

    def test_a_protobuf_schema_id_of_no_known_registry_fails(self, pb: dict[str, Any]) -> None:
        esm = record(
            _order(pb).SerializeToString(),
            valueSchemaMetadata={"dataFormat": "PROTOBUF", "schemaId": "orders-v1"},
        )
        with pytest.raises(KafkaDecodeError, match="registry"):
            esm.value_as(ProtobufSchema(pb["Order"]))

    def test_the_key_uses_its_own_metadata(self) -> None:
        esm = record(
            b"{}",
            key=_b64(avro_bytes("k-42", "string")),
            keySchemaMetadata={"dataFormat": "AVRO", "schemaId": "9"},
        )
        assert esm.key_as(AvroSchema("string", schema_id=9)) == "k-42"


class TestEsmJsonDelivery:
    """Registry on the mapping, JSON: the value is the decoded record as JSON text."""

    def test_avro_json_returns_the_record_as_source_would(self) -> None:
        esm = record(
            json.dumps(ORDER).encode(),
            valueSchemaMetadata={"dataFormat": "AVRO", "schemaId": "1"},
        )
        assert esm.value_as(AvroSchema(ORDER_AVRO)) == ORDER

    def test_protobuf_json_returns_a_message(self, pb: dict[str, Any]) -> None:
        text = b'{"id": "o-1", "amount": "1500", "lines": [{"sku": "A", "qty": 2}]}'
        esm = record(text, valueSchemaMetadata={"dataFormat": "PROTOBUF", "schemaId": "1"})
        assert esm.value_as(ProtobufSchema(pb["Order"])) == _order(pb)

    def test_json_the_schema_refuses_is_not_taken_for_a_record(self) -> None:
        esm = record(b'{"id": "x"}', valueSchemaMetadata={"dataFormat": "AVRO", "schemaId": "1"})
        with pytest.raises(KafkaDecodeError, match=r"orders-0@15\.value"):
            esm.value_as(AvroSchema(ORDER_AVRO))

    def test_json_the_schema_refuses_is_refused_even_when_it_would_read_as_binary_avro(
        self,
    ) -> None:
        # {"id":1,"nm":"abc"} happens to be a valid Avro {id: long, name: string} in binary
        # (id -62, name 'id":1,...'): read as such it would be returned as garbage.
        schema = AvroSchema(
            {
                "type": "record",
                "name": "R",
                "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}],
            },
            schema_id=42,
        )
        esm = record(
            b'{"id":1,"nm":"abc"}', valueSchemaMetadata={"dataFormat": "AVRO", "schemaId": "42"}
        )
        with pytest.raises(KafkaDecodeError, match="JSON record that is not a record"):
            esm.value_as(schema)

    def test_avro_unions_in_avros_own_json_encoding_are_read(self) -> None:
        schema = AvroSchema(
            {"type": "record", "name": "P", "fields": [{"name": "p", "type": ["null", "double"]}]}
        )
        esm = record(
            b'{"p": {"double": 2.5}}', valueSchemaMetadata={"dataFormat": "AVRO", "schemaId": "1"}
        )
        assert esm.value_as(schema) == {"p": 2.5}
        plain = record(b'{"p": 2.5}', valueSchemaMetadata={"dataFormat": "AVRO", "schemaId": "1"})
        assert plain.value_as(schema) == {"p": 2.5}

    def test_protobuf_json_that_is_not_the_message_is_refused(self, pb: dict[str, Any]) -> None:
        esm = record(
            b'{"nope": 1}', valueSchemaMetadata={"dataFormat": "PROTOBUF", "schemaId": "1"}
        )
        with pytest.raises(KafkaDecodeError, match="JSON record that is not a"):
            esm.value_as(ProtobufSchema(pb["Order"]))


class TestTombstonesAndLaziness:
    def test_a_null_or_absent_value_is_none_never_an_error(self) -> None:
        schema = AvroSchema(ORDER_AVRO, framing="confluent")
        assert record(None).value_as(schema) is None
        assert record(absent=True).value_as(schema) is None

    def test_an_absent_key_is_none(self) -> None:
        assert record(b"x").key_as(JsonSchema()) is None

    def test_a_value_is_decoded_once_per_schema_object(self, monkeypatch: Any) -> None:
        schema = AvroSchema(ORDER_AVRO)
        other = AvroSchema(ORDER_AVRO)
        calls: list[bytes] = []
        real = AvroSchema.decode

        def counting(self: Any, data: bytes, **kwargs: Any) -> Any:
            calls.append(data)
            return real(self, data, **kwargs)

        monkeypatch.setattr(AvroSchema, "decode", counting)
        one = record(CONFLUENT_1 + avro_bytes(ORDER))
        assert one.value_as(schema) is one.value_as(schema)
        one.value_as(other)
        assert len(calls) == 2

    def test_without_a_schema_or_a_process_batch_default_value_as_is_refused(self) -> None:
        with pytest.raises(KafkaConfigurationError, match=r"value_as\(\) needs a schema"):
            record(b"x").value_as()

    def test_something_not_a_schema_is_refused(self) -> None:
        with pytest.raises(KafkaConfigurationError, match="got dict"):
            record(b"x").value_as({"type": "string"})

    def test_importing_the_events_package_imports_no_schema_machinery(self) -> None:
        code = (
            "import sys, lambdakit.events, lambdakit.events.kafka\n"
            "heavy = ['fastavro', 'google.protobuf', 'jsonschema', 'lambdakit.kafka._schemas',"
            " 'lambdakit.kafka._decode']\n"
            "print([m for m in heavy if m in sys.modules])\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "[]"


class TestBuilder:
    """kafka_event(value_schema_metadata=, key_schema_metadata=) builds ESM-registry events."""

    def test_one_metadata_for_all_records_is_written_as_lambda_does(self) -> None:
        from lambdakit.testing import kafka_event

        event = kafka_event(
            [avro_bytes(ORDER)] * 2,
            value_schema_metadata={"dataFormat": "AVRO", "schemaId": 1},
        )
        records = event["records"]["test-topic-0"]
        assert [r["valueSchemaMetadata"] for r in records] == [
            {"dataFormat": "AVRO", "schemaId": "1"}  # schemaId is a string on the wire
        ] * 2
        assert "keySchemaMetadata" not in records[0]
        view = KafkaRecord(records[0])
        assert view.value_as(AvroSchema(ORDER_AVRO, schema_id=1)) == ORDER

    def test_metadata_per_record_and_for_keys(self) -> None:
        from lambdakit.testing import kafka_event

        event = kafka_event(
            [b"{}", b"{}"],
            keys=[avro_bytes("k", "string"), None],
            key_schema_metadata=[{"dataFormat": "AVRO", "schemaId": GLUE_ID}, None],
        )
        first, second = event["records"]["test-topic-0"]
        assert first["keySchemaMetadata"] == {"dataFormat": "AVRO", "schemaId": str(GLUE_ID)}
        assert "keySchemaMetadata" not in second
        assert KafkaRecord(first).key_as(AvroSchema("string", schema_id=GLUE_ID)) == "k"

    def test_metadata_without_its_two_fields_is_refused(self) -> None:
        from lambdakit.errors import EventBuilderError
        from lambdakit.testing import kafka_event

        with pytest.raises(EventBuilderError, match=r"value_schema_metadata.*schemaId"):
            kafka_event([b"x"], value_schema_metadata={"dataFormat": "AVRO"})
