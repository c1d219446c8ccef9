"""Typed, lazy view of a Kafka record as Lambda delivers it (Amazon MSK, self-managed Kafka).

Lambda groups Kafka records by ``"<topic>-<partition>"`` under the event's ``records``; each
record carries ``topic``, ``partition``, ``offset``, ``timestamp`` (ms), ``timestampType``,
``key`` and ``value`` base64-encoded (``key`` may be absent), and ``headers`` as a list of
one-entry objects whose value is a list of byte values. Those are Java's signed bytes: Lambda
serialises a ``byte[]``, so a byte of 0x80 or more arrives as -128..-1.

With a schema registry on the event source mapping, a record also carries
``valueSchemaMetadata`` / ``keySchemaMetadata`` (``dataFormat`` and ``schemaId``), which
:meth:`KafkaRecord.value_as` / :meth:`~KafkaRecord.key_as` read. The schema machinery (and
fastavro / protobuf) is imported on the first such call, never by ``import lambdakit.events``.
"""

from __future__ import annotations

from _contextvars import ContextVar  # the C module: contextvars only re-exports it

from lambdakit.errors import KafkaConfigurationError, RecordDecodeError
from lambdakit.events._base import RecordView, decode_base64, parse_json, where

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar, overload

    from lambdakit.kafka._schemas import ProtobufSchema

    M = TypeVar("M")
else:
    # typing.overload would import typing (milliseconds of cold start) for two annotations;
    # at run time the implementation defined last is the method either way.
    def overload(function: object) -> object:
        return function


# process_batch(value_schema=, key_schema=): the schemas value_as() / key_as() use when called
# without one, set for the duration of a batch (worker threads and tasks inherit it). A context
# variable rather than a per-record slot: the batch loop stores two slots per record and no more.
default_schemas: ContextVar[tuple[Any, Any] | None] = ContextVar(
    "lambdakit_kafka_default_schemas", default=None
)
_FIELDS = {"value": 0, "key": 1}


_decoder: Any = None  # lambdakit.kafka._decode.decode_field, once a record is first decoded


def _load_decoder() -> Any:
    """The record-level decoder, imported on first use (an import statement in the per-record
    path would cost more than the rest of the lookup)."""
    global _decoder
    from lambdakit.kafka._decode import decode_field

    _decoder = decode_field
    return decode_field


def is_schema(value: Any) -> bool:
    """Whether ``value`` is a :mod:`lambdakit.kafka` schema object, without importing the
    schema module: an object of it exists only once the user's code has imported it."""
    import sys

    module = sys.modules.get("lambdakit.kafka._schemas")
    return module is not None and isinstance(value, module.Schema)


class KafkaRecord(RecordView):
    """One Kafka record. ``value`` and ``key`` are the decoded bytes; ``json()`` parses the
    value; ``headers`` is a dict of bytes (a header repeated keeps its last value)."""

    __slots__ = ("_decoded", "_headers", "_json", "_key", "_value")

    @property
    def identifier(self) -> str | None:
        """``<topic>-<partition>@<offset>``: names the record in messages."""
        raw = self.raw
        topic = raw.get("topic")
        partition, offset = whole_number(raw.get("partition")), whole_number(raw.get("offset"))
        if not isinstance(topic, str) or partition is None or offset is None:
            return None
        return f"{topic}-{partition}@{offset}"

    @property
    def location(self) -> str:
        """How messages name this record: ``orders-0@15``, as Kafka tooling does (a Kafka
        event groups records by topic-partition and has no ``Records`` list)."""
        identifier = self.identifier
        if identifier is not None:
            return identifier
        return "record" if self.index is None else f"record #{self.index}"

    @property
    def topic(self) -> str:
        return str(self.raw["topic"])

    @property
    def partition(self) -> int:
        """The partition number (AWS's own sample of a self-managed event spells it ``"0"``)."""
        return int(self.raw["partition"])

    @property
    def offset(self) -> int:
        return int(self.raw["offset"])

    @property
    def timestamp(self) -> int | None:
        """Milliseconds since the epoch (``timestamp_type`` says whose clock)."""
        value = self.raw.get("timestamp")
        return int(value) if isinstance(value, (int, float)) else None

    @property
    def timestamp_type(self) -> str | None:
        value = self.raw.get("timestampType")
        return value if isinstance(value, str) else None

    @property
    def value(self) -> bytes:
        """The payload, base64-decoded once and cached (``b""`` for a record with none)."""
        try:
            return self._value
        except AttributeError:
            raw = self.raw.get("value")
            self._value: bytes = b"" if raw is None else decode_base64(raw, self, "value")
            return self._value

    @property
    def key(self) -> bytes | None:
        """The record key, decoded, or ``None`` when the record has none."""
        try:
            return self._key
        except AttributeError:
            raw = self.raw.get("key")
            self._key: bytes | None = None if raw is None else decode_base64(raw, self, "key")
            return self._key

    def json(self) -> Any:
        """The value parsed as JSON (cached); :class:`RecordDecodeError` if it is not JSON."""
        try:
            return self._json
        except AttributeError:
            self._json: Any = parse_json(self.value, self, "value")
            return self._json

    @overload
    def value_as(self, schema: ProtobufSchema[M]) -> M | None: ...
    @overload
    def value_as(self, schema: Any = None) -> Any: ...  # noqa: F811 (overload: see the imports)

    def value_as(self, schema: Any = None) -> Any:  # noqa: F811
        """The value decoded with ``schema`` (an ``AvroSchema``, ``ProtobufSchema`` or
        ``JsonSchema`` from :mod:`lambdakit.kafka`; by default ``process_batch``'s
        ``value_schema``). ``None`` for a tombstone (``value`` null or absent).

        Decoded on first call and cached per schema object, so a record whose handler never
        asks costs nothing. Raises :class:`~lambdakit.errors.KafkaDecodeError` naming the
        record, the field and the problem; a value that does not decode exactly is never
        returned."""
        return self._decoded_as("value", schema)

    @overload
    def key_as(self, schema: ProtobufSchema[M]) -> M | None: ...
    @overload
    def key_as(self, schema: Any = None) -> Any: ...  # noqa: F811 (overload: see the imports)

    def key_as(self, schema: Any = None) -> Any:  # noqa: F811
        """The key decoded with ``schema`` (by default ``process_batch``'s ``key_schema``);
        ``None`` when the record has no key. As :meth:`value_as` otherwise."""
        return self._decoded_as("key", schema)

    def _decoded_as(self, field: str, schema: Any) -> Any:
        if schema is None:
            defaults = default_schemas.get()
            schema = None if defaults is None else defaults[_FIELDS[field]]
            if schema is None:
                raise KafkaConfigurationError(
                    f"{where(self, field)}: {field}_as() needs a schema (or process_batch"
                    f"({field}_schema=...))"
                )
        # Keyed by the schema object's identity (schemas compare by identity; a user's wrong
        # argument may not even be hashable), holding the schema so that its id stays its own.
        # getattr with a default: half the cost of catching AttributeError on a fresh record.
        cache: dict[tuple[str, int], tuple[Any, Any]] | None = getattr(self, "_decoded", None)
        slot = (field, id(schema))
        if cache is None:
            self._decoded: dict[tuple[str, int], tuple[Any, Any]] = {}
            cache = self._decoded
        else:
            hit = cache.get(slot)
            if hit is not None:
                return hit[1]
        if self.raw.get(field) is None:  # a tombstone, or no key: nothing to import or decode
            found = None
        else:
            found = (_decoder or _load_decoder())(self, field, schema)
        cache[slot] = (schema, found)
        return found

    @property
    def headers(self) -> dict[str, bytes]:
        """Headers by name, values as bytes. Lambda sends each as a list of Java's signed bytes
        (-128..127); unsigned values (0..255), as hand-written events have them, are read too."""
        try:
            cached: dict[str, bytes] = self._headers
            return cached
        except AttributeError:
            pass
        self._headers: dict[str, bytes] = _headers(self.raw.get("headers"), self)
        return self._headers


def whole_number(value: Any) -> int | None:
    """A partition or offset as an ``int``: a JSON number, or a string of ASCII digits (the
    Lambda guide's self-managed Kafka sample has ``"partition": "0"``); ``None`` otherwise."""
    if type(value) is int:
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    return None


def _headers(entries: Any, record: KafkaRecord) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    if entries is None:
        return found
    if not isinstance(entries, list):
        raise RecordDecodeError(where(record, "headers"), "expected a list")
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise RecordDecodeError(where(record, f"headers[{position}]"), "expected an object")
        for name, octets in entry.items():
            value = _octets(octets)
            if value is None:
                raise RecordDecodeError(
                    where(record, f"headers[{position}].{name}"),
                    "expected a list of byte values (-128..127 as Lambda sends them, or 0..255)",
                )
            found[str(name)] = value
    return found


def _octets(octets: Any) -> bytes | None:
    """A header's list of byte values as bytes, or ``None`` when it is not one.

    ``bytes()`` takes the unsigned form at C speed; only a list holding negative (signed) values
    takes the slower path, which checks every value before folding it into 0..255.
    """
    if not isinstance(octets, list):
        return None
    try:
        value = bytes(octets)
    except (TypeError, ValueError):
        pass
    else:
        return None if bool in map(type, octets) else value  # bytes() takes True as 1
    if all(type(b) is int and -128 <= b <= 255 for b in octets):
        return bytes([b & 0xFF for b in octets])
    return None
