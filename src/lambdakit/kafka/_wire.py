"""Schema-registry framing of Kafka payloads: Confluent's and AWS Glue's, read and written.

Both consumers (:meth:`KafkaRecord.value_as`) and the producer (``Producer.produce(schema=...)``)
use these functions, so a message lambdakit writes is framed exactly as lambdakit reads it, and
as Confluent's and AWS's own deserializers expect:

- **Confluent** (confluent-kafka-python, ``schema_registry/common/serde.py``): magic byte
  ``0x00``, the schema id as a big-endian unsigned 32-bit integer, then the payload. For
  Protobuf the payload starts with the *message indexes*, the path of the message type in its
  ``.proto`` file: a count and each index, every number zigzag-encoded as a varint, and the
  common path ``[0]`` written as the single byte ``0x00``.
- **AWS Glue** (awslabs/aws-glue-schema-registry, ``SerializationDataEncoder`` and
  ``GlueSchemaRegistryDeserializerDataParser``): header version byte ``0x03``, a compression
  byte (``0x00`` none, ``0x05`` zlib), the 16-byte schema version UUID (most significant half
  first, as :class:`uuid.UUID` ``.bytes``), then the payload, zlib-compressed as a whole when
  the compression byte says so. For Protobuf the payload starts with one plain (not zigzag)
  varint: the message's position among all messages of its file sorted by full name.
- **plain**: the payload alone.

Nothing here guesses: a header that is present but malformed (an unknown Glue compression byte,
a truncated schema id, a zlib stream that does not inflate) is an error, never a payload.
Errors are :class:`WireFormatError` with a message for the caller to attach to the record.
"""

from __future__ import annotations

import struct
from uuid import UUID

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

CONFLUENT_MAGIC = 0x00
CONFLUENT_HEADER = 5
GLUE_VERSION = 0x03
GLUE_UNCOMPRESSED = 0x00
GLUE_ZLIB = 0x05
GLUE_HEADER = 18
FRAMINGS = ("auto", "confluent", "glue", "plain")
# confluent-kafka refuses more (SchemaId._read_index_array); a path is a handful of levels.
_MAX_INDEXES = 100_000
# The most a Glue zlib payload may inflate to: far above a Kafka record Lambda can deliver (its
# event payload is at most 6 MB), far below what would exhaust a function's memory.
MAX_INFLATED_BYTES = 64 * 1024 * 1024
_MAX_VARINT_BYTES = 10
UINT32 = 0xFFFFFFFF


class WireFormatError(ValueError):
    """Framing that cannot be read; the message says what and at which byte."""


class Framed:
    """A payload taken out of its framing: ``framing`` (``"confluent"``, ``"glue"`` or
    ``"plain"``), the ``schema_id`` the header names (an ``int`` for Confluent, a
    :class:`~uuid.UUID` for Glue, ``None`` for plain), and the ``payload`` (Glue's inflated;
    Protobuf message indexes still at its start, read by :func:`confluent_indexes` or
    :func:`read_uvarint`)."""

    __slots__ = ("framing", "payload", "schema_id")

    def __init__(self, framing: str, schema_id: int | UUID | None, payload: bytes) -> None:
        self.framing = framing
        self.schema_id = schema_id
        self.payload = payload

    def __repr__(self) -> str:
        return (
            f"Framed({self.framing!r}, schema_id={self.schema_id!r}, "
            f"payload={len(self.payload)} bytes)"
        )


def unframe(data: bytes, framing: str = "auto") -> Framed:
    """Read ``data`` as ``framing`` says; ``"auto"`` reads the header its first byte announces
    (``0x00`` Confluent, ``0x03`` followed by a known compression byte Glue) and takes anything
    else as plain. Named framings are required to be present."""
    if framing == "plain":
        return Framed("plain", None, bytes(data))
    if framing == "confluent" or (framing == "auto" and data[:1] == b"\x00"):
        return _confluent(data)
    if framing == "glue" or (
        framing == "auto" and data[:1] == b"\x03" and data[1:2] in (b"\x00", b"\x05")
    ):
        return _glue(data)
    if framing == "auto":
        return Framed("plain", None, bytes(data))
    raise WireFormatError(f"framing={framing!r}: expected one of {', '.join(FRAMINGS)}")


def _confluent(data: bytes) -> Framed:
    if len(data) < CONFLUENT_HEADER:
        raise WireFormatError(
            f"Confluent framing needs {CONFLUENT_HEADER} header bytes (magic byte 0x00 and a "
            f"4-byte schema id), got {len(data)} bytes"
        )
    if data[0] != CONFLUENT_MAGIC:
        raise WireFormatError(
            f"not Confluent framing: magic byte is 0x{data[0]:02x}, expected 0x00"
        )
    (schema_id,) = struct.unpack_from(">I", data, 1)
    return Framed("confluent", schema_id, bytes(data[CONFLUENT_HEADER:]))


def _glue(data: bytes) -> Framed:
    if len(data) < GLUE_HEADER:
        raise WireFormatError(
            f"AWS Glue framing needs {GLUE_HEADER} header bytes (version, compression and a "
            f"16-byte schema version id), got {len(data)} bytes"
        )
    if data[0] != GLUE_VERSION:
        raise WireFormatError(
            f"not AWS Glue framing: header version byte is 0x{data[0]:02x}, expected 0x03"
        )
    compression = data[1]
    schema_id = UUID(bytes=bytes(data[2:GLUE_HEADER]))
    body = bytes(data[GLUE_HEADER:])
    if compression == GLUE_ZLIB:
        import zlib

        # One whole stream and nothing after it: zlib.decompress() silently drops bytes that
        # follow the end of the stream, which Glue's serializer never writes.
        # Bounded: a few kilobytes of zlib can inflate to gigabytes in a function's memory.
        inflater = zlib.decompressobj()
        try:
            inflated = inflater.decompress(body, MAX_INFLATED_BYTES)
            if inflater.unconsumed_tail:
                raise WireFormatError(
                    f"AWS Glue payload inflates to more than {MAX_INFLATED_BYTES} bytes "
                    f"({len(body)} compressed): refused"
                )
            inflated += inflater.flush()
        except zlib.error as exc:
            raise WireFormatError(
                f"AWS Glue payload marked zlib-compressed (byte 1 = 0x05) does not inflate: {exc}"
            ) from None
        if not inflater.eof:
            raise WireFormatError(
                "AWS Glue payload marked zlib-compressed (byte 1 = 0x05) does not inflate: "
                "the zlib stream is cut short"
            )
        if inflater.unused_data:
            raise WireFormatError(
                f"AWS Glue payload has {len(inflater.unused_data)} bytes after the zlib stream ends"
            )
        body = inflated
    elif compression != GLUE_UNCOMPRESSED:
        raise WireFormatError(
            f"AWS Glue compression byte 0x{compression:02x} is unknown (0x00: none, 0x05: zlib)"
        )
    return Framed("glue", schema_id, body)


def frame_confluent(
    payload: bytes, schema_id: int, message_indexes: Sequence[int] | None = None
) -> bytes:
    """``payload`` framed for Confluent's deserializers; ``message_indexes`` for Protobuf."""
    if (
        isinstance(schema_id, bool)
        or not isinstance(schema_id, int)
        or not 0 <= schema_id <= UINT32
    ):
        raise WireFormatError(
            f"schema_id={schema_id!r}: a Confluent schema id is an integer 0..{UINT32}"
        )
    header = struct.pack(">BI", CONFLUENT_MAGIC, schema_id)
    if message_indexes is None:
        return header + payload
    return header + write_confluent_indexes(message_indexes) + payload


def frame_glue(payload: bytes, schema_version_id: UUID, *, compress: bool = False) -> bytes:
    """``payload`` framed for AWS Glue's deserializers (zlib-compressed when ``compress``)."""
    if not isinstance(schema_version_id, UUID):
        raise WireFormatError(
            f"schema_id={schema_version_id!r}: an AWS Glue schema version id is a UUID"
        )
    if compress:
        import zlib

        return bytes((GLUE_VERSION, GLUE_ZLIB)) + schema_version_id.bytes + zlib.compress(payload)
    return bytes((GLUE_VERSION, GLUE_UNCOMPRESSED)) + schema_version_id.bytes + payload


def write_uvarint(value: int) -> bytes:
    """``value`` (>= 0) as an unsigned LEB128 varint."""
    if value < 0:
        raise WireFormatError(f"varint {value}: expected a number >= 0")
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def read_uvarint(data: bytes, start: int = 0) -> tuple[int, int]:
    """The unsigned varint at ``start`` and the offset after it."""
    value = 0
    shift = 0
    for offset in range(start, min(len(data), start + _MAX_VARINT_BYTES)):
        byte = data[offset]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset + 1
        shift += 7
    if len(data) - start >= _MAX_VARINT_BYTES:
        raise WireFormatError(f"varint at byte {start} is longer than {_MAX_VARINT_BYTES} bytes")
    raise WireFormatError(f"varint at byte {start} is cut short: the payload ends inside it")


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _unzigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def write_confluent_indexes(indexes: Sequence[int]) -> bytes:
    """Confluent's Protobuf message indexes: ``[0]`` as ``0x00``, otherwise the count and each
    index, zigzag varints."""
    if list(indexes) == [0]:
        return b"\x00"
    if not indexes:
        raise WireFormatError("message indexes: expected at least one index")
    negative = [n for n in indexes if n < 0]
    if negative:
        raise WireFormatError(f"message indexes {list(indexes)}: {negative[0]} is negative")
    return b"".join(write_uvarint(_zigzag(n)) for n in (len(indexes), *indexes))


def confluent_indexes(data: bytes, start: int = 0) -> tuple[list[int], int]:
    """The message indexes at ``start`` of a Confluent Protobuf payload and where the message
    itself begins (a count of 0 means ``[0]``, as Confluent writes it)."""
    raw, offset = read_uvarint(data, start)
    count = _unzigzag(raw)
    if count == 0:
        return [0], offset
    if not 0 < count <= _MAX_INDEXES:
        raise WireFormatError(f"message index count {count} at byte {start} is not valid")
    indexes = []
    for _ in range(count):
        raw, offset = read_uvarint(data, offset)
        index = _unzigzag(raw)
        if index < 0:
            raise WireFormatError(f"message index {index} before byte {offset} is negative")
        indexes.append(index)
    return indexes, offset
