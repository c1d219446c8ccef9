"""lambdakit.kafka._wire: Confluent's and AWS Glue's framing, checked against bytes written out
by hand from their serializers' source (FACTS 1.1, 1.4, 2.1, 2.2, 2.3)."""

from __future__ import annotations

import uuid
import zlib

import pytest

from lambdakit.kafka._wire import (
    WireFormatError,
    confluent_indexes,
    frame_confluent,
    frame_glue,
    read_uvarint,
    unframe,
    write_confluent_indexes,
    write_uvarint,
)

GLUE_ID = uuid.UUID("12345678-1234-1234-1234-123456789012")
GLUE_ID_BYTES = bytes.fromhex("12345678123412341234123456789012")


class TestConfluent:
    def test_the_header_is_magic_zero_and_the_id_big_endian(self) -> None:
        assert frame_confluent(b"body", 0x01020304) == b"\x00\x01\x02\x03\x04body"
        framed = unframe(b"\x00\x01\x02\x03\x04body")
        assert (framed.framing, framed.schema_id, framed.payload) == (
            "confluent",
            0x01020304,
            b"body",
        )

    @pytest.mark.parametrize(
        ("indexes", "encoded"),
        [
            ([0], b"\x00"),  # the root message: one byte, no count
            ([1], b"\x02\x02"),  # zigzag(count 1) = 2, zigzag(1) = 2
            ([0, 0], b"\x04\x00\x00"),
            ([2], b"\x02\x04"),
            ([1, 0], b"\x04\x02\x00"),
            ([64], b"\x02\x80\x01"),  # zigzag(64) = 128: a two-byte varint
        ],
    )
    def test_message_indexes_are_zigzag_varints_with_a_count(
        self, indexes: list[int], encoded: bytes
    ) -> None:
        assert write_confluent_indexes(indexes) == encoded
        assert confluent_indexes(encoded + b"\x0a") == (indexes, len(encoded))
        assert frame_confluent(b"m", 7, indexes) == b"\x00\x00\x00\x00\x07" + encoded + b"m"

    def test_the_long_form_of_the_root_path_is_read_too(self) -> None:
        assert confluent_indexes(b"\x02\x00") == ([0], 2)

    def test_a_negative_index_is_refused_when_written(self) -> None:
        with pytest.raises(WireFormatError, match="-1"):
            write_confluent_indexes([1, -1])

    def test_a_short_header_is_an_error_naming_the_length(self) -> None:
        with pytest.raises(WireFormatError, match="got 3 bytes"):
            unframe(b"\x00\x00\x01", "confluent")


class TestGlue:
    def test_the_header_is_version_3_compression_and_the_uuid_most_significant_first(
        self,
    ) -> None:
        assert frame_glue(b"body", GLUE_ID) == b"\x03\x00" + GLUE_ID_BYTES + b"body"
        framed = unframe(b"\x03\x00" + GLUE_ID_BYTES + b"body")
        assert (framed.framing, framed.schema_id, framed.payload) == ("glue", GLUE_ID, b"body")

    def test_zlib_compresses_only_what_follows_the_header(self) -> None:
        framed = frame_glue(b"body" * 10, GLUE_ID, compress=True)
        assert framed[:18] == b"\x03\x05" + GLUE_ID_BYTES
        assert zlib.decompress(framed[18:]) == b"body" * 10
        assert unframe(framed).payload == b"body" * 10

    def test_bytes_after_the_zlib_stream_are_an_error_not_dropped(self) -> None:
        data = b"\x03\x05" + GLUE_ID_BYTES + zlib.compress(b"body") + b"junk"
        with pytest.raises(WireFormatError, match="4 bytes after the zlib stream"):
            unframe(data)

    def test_a_truncated_zlib_stream_is_an_error(self) -> None:
        data = b"\x03\x05" + GLUE_ID_BYTES + zlib.compress(b"body" * 10)[:-3]
        with pytest.raises(WireFormatError, match="does not inflate"):
            unframe(data)

    def test_a_zlib_bomb_is_refused_before_it_fills_memory(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import lambdakit.kafka._wire as wire

        monkeypatch.setattr(wire, "MAX_INFLATED_BYTES", 1000)
        small = b"\x03\x05" + GLUE_ID_BYTES + zlib.compress(b"x" * 1000)
        assert unframe(small).payload == b"x" * 1000
        bomb = b"\x03\x05" + GLUE_ID_BYTES + zlib.compress(b"x" * 1001)
        with pytest.raises(WireFormatError, match="more than 1000 bytes"):
            unframe(bomb)

    def test_an_unknown_compression_byte_is_an_error_when_glue_is_required(self) -> None:
        with pytest.raises(WireFormatError, match="0x07 is unknown"):
            unframe(b"\x03\x07" + GLUE_ID_BYTES, "glue")


class TestAutoAndPlain:
    def test_auto_takes_a_payload_announcing_no_header_as_plain(self) -> None:
        assert unframe(b"\x06abc").framing == "plain"
        assert unframe(b"\x03\x07rest").framing == "plain"  # 0x03 without a compression byte

    def test_plain_never_reads_a_header(self) -> None:
        assert unframe(b"\x00\x00\x00\x00\x07x", "plain").payload == b"\x00\x00\x00\x00\x07x"

    def test_uvarints_round_trip_and_a_cut_varint_is_an_error(self) -> None:
        for value in (0, 1, 127, 128, 300, 2**32):
            assert read_uvarint(write_uvarint(value)) == (value, len(write_uvarint(value)))
        with pytest.raises(WireFormatError, match="cut short"):
            read_uvarint(b"\x80")
