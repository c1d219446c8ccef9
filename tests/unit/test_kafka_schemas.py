"""AvroSchema / ProtobufSchema / JsonSchema: the bytes they write are Confluent's and Glue's,
byte for byte, and they read only what their schema says (never a corrupt value).

Expected frames are written out by hand from the specs (FACTS 1.1, 1.4, 2.1, 2.3): magic
``00`` + big-endian id; ``03`` + compression byte + UUID bytes; Confluent zigzag indexes;
Glue's one plain varint. Payloads come from the real serializers (fastavro, protobuf).
"""

from __future__ import annotations

import json
import sys
import zlib
from typing import Any

import pytest

from lambdakit.errors import KafkaConfigurationError, MissingDependencyError
from lambdakit.kafka import AvroSchema, JsonSchema, ProtobufSchema
from lambdakit.kafka._wire import WireFormatError
from tests.unit.kafka_schema_fixtures import (
    GLUE_ID,
    ORDER,
    ORDER_AVRO,
    OTHER_GLUE_ID,
    avro_bytes,
    protobuf_classes,
)

CONFLUENT_7 = b"\x00\x00\x00\x00\x07"  # magic 0, schema id 7 big-endian
GLUE_HEADER = b"\x03\x00" + GLUE_ID.bytes
GLUE_ZLIB_HEADER = b"\x03\x05" + GLUE_ID.bytes


@pytest.fixture(scope="module")
def pb() -> dict[str, Any]:
    return protobuf_classes()


def _order(pb: dict[str, Any]) -> Any:
    order = pb["Order"](id="o-1", amount=1500)
    order.lines.add(sku="A", qty=2)
    return order


class TestAvroSerialize:
    def test_confluent_framing_is_magic_byte_big_endian_id_and_schemaless_avro(self) -> None:
        schema = AvroSchema(ORDER_AVRO, schema_id=7)
        assert schema.serialize(ORDER) == CONFLUENT_7 + avro_bytes(ORDER)

    def test_glue_framing_is_version_compression_and_uuid_bytes(self) -> None:
        schema = AvroSchema(ORDER_AVRO)
        got = schema.serialize(ORDER, schema_id=GLUE_ID, framing="glue")
        assert got == GLUE_HEADER + avro_bytes(ORDER)

    def test_glue_compressed_deflates_only_the_data_after_the_header(self) -> None:
        schema = AvroSchema(ORDER_AVRO, schema_id=str(GLUE_ID))
        got = schema.serialize(ORDER, framing="glue", compress=True)
        assert got[:18] == GLUE_ZLIB_HEADER
        assert zlib.decompress(got[18:]) == avro_bytes(ORDER)

    def test_plain_is_the_datum_alone(self) -> None:
        assert AvroSchema(ORDER_AVRO).serialize(ORDER, framing="plain") == avro_bytes(ORDER)

    def test_a_call_schema_id_overrides_the_pinned_one(self) -> None:
        got = AvroSchema(ORDER_AVRO, schema_id=7).serialize(ORDER, schema_id=258)
        assert got[:5] == b"\x00\x00\x00\x01\x02"

    def test_confluent_without_any_schema_id_is_refused(self) -> None:
        with pytest.raises(KafkaConfigurationError, match="integer schema_id"):
            AvroSchema(ORDER_AVRO).serialize(ORDER)

    def test_glue_with_an_integer_id_is_refused(self) -> None:
        with pytest.raises(KafkaConfigurationError, match="UUID"):
            AvroSchema(ORDER_AVRO, schema_id=7).serialize(ORDER, framing="glue")

    def test_a_value_the_schema_refuses_is_a_configuration_error_naming_the_problem(self) -> None:
        with pytest.raises(KafkaConfigurationError, match="does not fit the schema"):
            AvroSchema(ORDER_AVRO, schema_id=7).serialize({"id": "not a long", "name": "x"})

    def test_compress_outside_glue_and_unknown_framings_are_refused(self) -> None:
        schema = AvroSchema(ORDER_AVRO, schema_id=7)
        with pytest.raises(KafkaConfigurationError, match="only AWS Glue"):
            schema.serialize(ORDER, compress=True)
        with pytest.raises(KafkaConfigurationError, match="framing='auto'"):
            schema.serialize(ORDER, framing="auto")


class TestAvroDecode:
    def test_confluent_glue_zlib_and_plain_payloads_decode_to_the_record(self) -> None:
        schema = AvroSchema(ORDER_AVRO)
        body = avro_bytes(ORDER)
        for data in (
            CONFLUENT_7 + body,
            GLUE_HEADER + body,
            GLUE_ZLIB_HEADER + zlib.compress(body),
            body,  # auto on a plain payload whose first byte announces no header
        ):
            assert schema.decode(data) == ORDER

    def test_confluent_header_read_as_plain_is_an_error_not_a_corrupt_record(self) -> None:
        # Powertools #8385: "00 00 00 00 07" is legal Avro varint noise (id=0, name="").
        schema = AvroSchema(ORDER_AVRO, framing="plain")
        with pytest.raises(WireFormatError, match="left over"):
            schema.decode(CONFLUENT_7 + avro_bytes(ORDER))

    def test_a_truncated_payload_is_an_error(self) -> None:
        with pytest.raises(WireFormatError, match="ends before the record"):
            AvroSchema(ORDER_AVRO).decode(CONFLUENT_7 + avro_bytes(ORDER)[:-2])

    def test_a_corrupt_payload_is_an_error(self) -> None:
        with pytest.raises(WireFormatError):
            AvroSchema(ORDER_AVRO).decode(CONFLUENT_7 + b"\x54\x0c\xff\xfe\xfd\xfc\xfb\x06")

    def test_a_pinned_confluent_id_refuses_another(self) -> None:
        with pytest.raises(WireFormatError, match=r"expected '8'.*names '7'"):
            AvroSchema(ORDER_AVRO, schema_id=8).decode(CONFLUENT_7 + avro_bytes(ORDER))

    def test_a_pinned_glue_id_refuses_another(self) -> None:
        schema = AvroSchema(ORDER_AVRO, schema_id=OTHER_GLUE_ID)
        with pytest.raises(WireFormatError, match=str(GLUE_ID)):
            schema.decode(GLUE_HEADER + avro_bytes(ORDER))

    def test_pinned_framing_requires_its_header(self) -> None:
        with pytest.raises(WireFormatError, match="not Confluent framing"):
            AvroSchema(ORDER_AVRO, framing="confluent").decode(GLUE_HEADER + avro_bytes(ORDER))

    def test_the_schema_is_parsed_once_not_per_record(self, monkeypatch: Any) -> None:
        import fastavro

        data = CONFLUENT_7 + avro_bytes(ORDER)
        calls = []
        real = fastavro.parse_schema

        def counting(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            return real(*args, **kwargs)

        monkeypatch.setattr(fastavro, "parse_schema", counting)
        schema = AvroSchema(json.dumps(ORDER_AVRO))
        for _ in range(5):
            assert schema.decode(data) == ORDER
        assert len(calls) == 1


class TestProtobuf:
    @pytest.mark.parametrize(
        ("name", "confluent_indexes", "glue_index"),
        [
            ("Zeta", b"\x00", b"\x04"),  # [0] is the single byte 00
            ("Order", b"\x02\x02", b"\x01"),  # [1]: count 1 and index 1, zigzagged
            ("Order.Line", b"\x04\x02\x00", b"\x03"),  # [1, 0]
            ("Order.Audit", b"\x04\x02\x02", b"\x02"),  # [1, 1]
            ("Alpha", b"\x02\x04", b"\x00"),  # [2]; first in sorted full names
        ],
    )
    def test_each_message_type_is_framed_with_its_registry_index(
        self, pb: dict[str, Any], name: str, confluent_indexes: bytes, glue_index: bytes
    ) -> None:
        message = pb[name]()
        body = message.SerializeToString()
        schema = ProtobufSchema(pb[name])
        assert schema.serialize(message, schema_id=7) == CONFLUENT_7 + confluent_indexes + body
        glued = schema.serialize(message, schema_id=GLUE_ID, framing="glue")
        assert glued == GLUE_HEADER + glue_index + body
        assert schema.decode(CONFLUENT_7 + confluent_indexes + body) == message
        assert schema.decode(GLUE_HEADER + glue_index + body) == message

    def test_a_message_round_trips_through_every_framing(self, pb: dict[str, Any]) -> None:
        order = _order(pb)
        schema = ProtobufSchema(pb["Order"])
        for framing in ("confluent", "plain"):
            assert schema.decode(schema.serialize(order, schema_id=7, framing=framing)) == order
        zipped = schema.serialize(order, schema_id=GLUE_ID, framing="glue", compress=True)
        assert zipped[:18] == GLUE_ZLIB_HEADER
        assert zlib.decompress(zipped[18:]) == b"\x01" + order.SerializeToString()
        assert schema.decode(zipped) == order

    def test_confluent_indexes_naming_another_type_are_refused(self, pb: dict[str, Any]) -> None:
        body = _order(pb).SerializeToString()
        with pytest.raises(
            WireFormatError, match=r"indexes \[1, 0\].*lk.test.Order \(indexes \[1\]\)"
        ):
            ProtobufSchema(pb["Order"]).decode(CONFLUENT_7 + b"\x04\x02\x00" + body)

    def test_a_glue_index_naming_another_type_is_refused(self, pb: dict[str, Any]) -> None:
        body = _order(pb).SerializeToString()
        with pytest.raises(WireFormatError, match=r"index 3 .*lk.test.Order \(index 1\)"):
            ProtobufSchema(pb["Order"]).decode(GLUE_HEADER + b"\x03" + body)

    def test_a_truncated_message_is_an_error(self, pb: dict[str, Any]) -> None:
        body = _order(pb).SerializeToString()
        with pytest.raises(WireFormatError, match=r"not a valid lk\.test\.Order"):
            ProtobufSchema(pb["Order"]).decode(CONFLUENT_7 + b"\x02\x02" + body[:-1])

    def test_a_mapping_serializes_as_the_message_it_describes(self, pb: dict[str, Any]) -> None:
        schema = ProtobufSchema(pb["Order"], schema_id=7)
        got = schema.serialize({"id": "o-1", "amount": "1500", "lines": [{"sku": "A", "qty": 2}]})
        assert got == schema.serialize(_order(pb))

    def test_another_type_is_refused_at_serialize(self, pb: dict[str, Any]) -> None:
        with pytest.raises(KafkaConfigurationError, match="expected a Order"):
            ProtobufSchema(pb["Order"], schema_id=7).serialize(pb["Zeta"]())

    def test_a_class_that_is_not_a_message_is_refused_at_construction(self) -> None:
        with pytest.raises(KafkaConfigurationError, match="protobuf message class"):
            ProtobufSchema(dict)


class TestJson:
    def test_confluent_and_glue_frames_hold_the_json_text(self) -> None:
        schema = JsonSchema(schema_id=7)
        text = b'{"id":42,"name":"w"}'
        assert schema.serialize({"id": 42, "name": "w"}) == CONFLUENT_7 + text
        glued = schema.serialize({"id": 42, "name": "w"}, schema_id=GLUE_ID, framing="glue")
        assert glued == GLUE_HEADER + text
        assert schema.decode(CONFLUENT_7 + text) == {"id": 42, "name": "w"}
        assert schema.decode(text) == {"id": 42, "name": "w"}

    def test_a_schema_dict_validates_what_is_read_and_written(self) -> None:
        schema = JsonSchema({"type": "object", "required": ["id"]}, schema_id=7)
        with pytest.raises(WireFormatError, match="'id' is a required property"):
            schema.decode(CONFLUENT_7 + b'{"name":"w"}')
        with pytest.raises(KafkaConfigurationError, match="'id' is a required property"):
            schema.serialize({"name": "w"})

    def test_text_that_is_not_json_is_an_error(self) -> None:
        with pytest.raises(WireFormatError, match="not valid JSON"):
            JsonSchema().decode(CONFLUENT_7 + b"{nope")

    def test_an_invalid_json_schema_is_refused_at_construction(self) -> None:
        with pytest.raises(KafkaConfigurationError, match="not a valid JSON Schema"):
            JsonSchema({"type": 12})


class TestConstruction:
    def test_an_invalid_avro_schema_is_refused(self) -> None:
        with pytest.raises(KafkaConfigurationError, match="not a valid Avro schema"):
            AvroSchema({"type": "record", "name": "R", "fields": [{"name": "a", "type": "nope"}]})

    def test_a_schema_id_that_is_neither_int_nor_uuid_is_refused(self) -> None:
        with pytest.raises(KafkaConfigurationError, match="schema_id='v1'"):
            AvroSchema(ORDER_AVRO, schema_id="v1")
        with pytest.raises(KafkaConfigurationError, match="schema_id=True"):
            JsonSchema(schema_id=True)

    def test_an_unknown_framing_is_refused(self) -> None:
        with pytest.raises(KafkaConfigurationError, match="framing='confluence'"):
            JsonSchema(framing="confluence")

    @pytest.mark.parametrize(
        ("module", "build", "extra"),
        [
            ("fastavro", lambda pb: AvroSchema(ORDER_AVRO), "lambdakit[avro]"),
            ("google.protobuf", lambda pb: ProtobufSchema(pb["Order"]), "lambdakit[protobuf]"),
            ("jsonschema", lambda pb: JsonSchema({"type": "object"}), "lambdakit[jsonschema]"),
        ],
    )
    def test_a_missing_extra_is_named_when_the_schema_is_created(
        self, monkeypatch: Any, pb: dict[str, Any], module: str, build: Any, extra: str
    ) -> None:
        monkeypatch.setitem(sys.modules, module, None)
        with pytest.raises(MissingDependencyError, match=extra.replace("[", r"\[")):
            build(pb)

    def test_json_without_a_schema_dict_needs_no_extra(self, monkeypatch: Any) -> None:
        monkeypatch.setitem(sys.modules, "jsonschema", None)
        assert JsonSchema().decode(b"[1]") == [1]
