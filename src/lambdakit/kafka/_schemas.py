"""Avro, Protobuf and JSON Schema record formats: one object reads and writes each.

A schema object serves both directions, so that what :class:`~lambdakit.kafka.Producer` writes
is what :meth:`KafkaRecord.value_as` reads, and both match Confluent's and AWS Glue's own
serializers byte for byte (the framing lives in :mod:`lambdakit.kafka._wire`).

Reading takes the payload as Lambda hands it over, in any of the three ways it can arrive:

- **no registry on the event source mapping**: the bytes the producer wrote, framed or not;
  ``framing`` says which framing to expect (``"auto"``: the one the first byte announces).
- **ESM registry, SOURCE delivery**: the record carries ``valueSchemaMetadata`` and Lambda has
  stripped the Confluent or Glue header, but not the Protobuf message index that follows it;
  the ``schemaId`` says which registry wrote it (a number: Confluent, a UUID: Glue).
- **ESM registry, JSON delivery**: the value is the record already decoded, as JSON text; it is
  recognised (a JSON object the schema accepts) and returned as SOURCE delivery would return it.

Nothing is guessed into a value: an Avro payload must be consumed exactly (a header read as
data leaves bytes over or runs out, Powertools #8385), Protobuf message indexes must name the
class given, and a schema id pinned here must be the one the record names.

The format libraries are imported when a schema object is created (which checks the extra and
validates the schema once), never when :mod:`lambdakit.kafka` or :mod:`lambdakit.events` is.
"""

from __future__ import annotations

import io
import json
from typing import Generic, TypeVar
from uuid import UUID

from lambdakit._internal.extras import require
from lambdakit.errors import KafkaConfigurationError
from lambdakit.kafka._wire import (
    FRAMINGS,
    UINT32,
    WireFormatError,
    confluent_indexes,
    frame_confluent,
    frame_glue,
    read_uvarint,
    unframe,
    write_uvarint,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["AvroSchema", "JsonSchema", "ProtobufSchema", "Schema", "SchemaDecodeError"]

M = TypeVar("M")  # a ProtobufSchema's message class: what value_as() gives back
_READ_FRAMINGS = FRAMINGS
_WRITE_FRAMINGS = ("confluent", "glue", "plain")


class SchemaDecodeError(WireFormatError):
    """A payload that its schema cannot read (or that names another schema); the message says
    what, for the record layer to attach the record and field to."""


def _schema_id(value: Any, where: str) -> int | UUID | None:
    """A schema id as given by the user: a Confluent id (int) or a Glue schema version id (a
    UUID, or its text), checked once so that a typo fails where it is written."""
    if value is None or isinstance(value, UUID):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= UINT32:
            return value
    elif isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    raise KafkaConfigurationError(
        f"{where}: schema_id={value!r}: expected a Confluent schema id (an integer "
        f"0..{UINT32}) or an AWS Glue schema version id (a UUID or its text)"
    )


def _module(name: str) -> Any:
    """``name`` imported, typed ``Any``: protobuf and jsonschema ship no type stubs, and this
    module is their only boundary (no project-wide ignore for them)."""
    from importlib import import_module

    return import_module(name)


def _metadata_schema_id(text: Any) -> int | UUID | str:
    """The ``schemaId`` of an ESM schema metadata object: a numeric string is Confluent's id,
    a UUID string Glue's; anything else is kept as text (compared as text, registry unknown)."""
    if isinstance(text, int) and not isinstance(text, bool):
        return int(text)
    found = str(text)
    if found.isascii() and found.isdigit():
        return int(found)
    try:
        return UUID(found)
    except ValueError:
        return found


def _registry_of(schema_id: int | UUID | str) -> str | None:
    if isinstance(schema_id, int):
        return "confluent"
    if isinstance(schema_id, UUID):
        return "glue"
    return None


class Schema:
    """What the three formats share: the pinned id and framing, metadata and framing handling.

    Subclasses implement ``_read`` (a payload out of its header; ``registry`` says whose
    Protobuf index precedes it), ``_from_json`` (a JSON-delivered record as SOURCE delivery
    would give it, or :class:`SchemaDecodeError` when the schema refuses it) and ``_write`` (the
    value's bytes and, for Protobuf, its index prefix).
    """

    kind = ""
    __slots__ = ("framing", "schema_id")

    def __init__(self, schema_id: Any, framing: str) -> None:
        if framing not in _READ_FRAMINGS:
            raise KafkaConfigurationError(
                f"{type(self).__name__}(framing={framing!r}): expected one of "
                f"{', '.join(map(repr, _READ_FRAMINGS))}"
            )
        self.framing = framing
        self.schema_id = _schema_id(schema_id, type(self).__name__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(schema_id={self.schema_id!r}, framing={self.framing!r})"

    # --- reading ---------------------------------------------------------------------------

    def decode(self, data: bytes, *, metadata: Mapping[str, Any] | None = None) -> Any:
        """The value in ``data``; ``metadata`` is the record's ``valueSchemaMetadata`` (or
        ``keySchemaMetadata``) when the event source mapping has a schema registry.

        Raises :class:`SchemaDecodeError` / :class:`WireFormatError` (both ``ValueError``)."""
        if metadata:
            found_format = metadata.get("dataFormat")
            if found_format is not None and found_format != self.kind:
                raise SchemaDecodeError(
                    f"the event source mapping says dataFormat {found_format!r}, "
                    f"but {type(self).__name__} reads {self.kind!r}"
                )
            raw_id = metadata.get("schemaId")
            if raw_id is not None:
                return self._decode_delivered(data, _metadata_schema_id(raw_id))
        framed = unframe(data, self.framing)
        found = framed.schema_id
        if found is not None and found != self.schema_id and self.schema_id is not None:
            self._check_id(found, f"the {framed.framing} header")  # raises, naming both
        return self._read(framed.payload, framed.framing)

    def _decode_delivered(self, data: bytes, found_id: int | UUID | str) -> Any:
        """A record the ESM's registry integration delivered: header stripped (SOURCE) or
        decoded to JSON text (JSON)."""
        self._check_id(found_id, "the event source mapping's schema metadata")
        registry = _registry_of(found_id)
        if self.framing != "auto" and registry is not None and registry != self.framing:
            raise SchemaDecodeError(
                f"framing={self.framing!r} is pinned, but the event source mapping's schema "
                f"id {str(found_id)!r} is a {registry} one"
            )
        if self.kind != "JSON" and (data[:1] == b"{" or data[:1].isspace()):
            document = _json_object(data)
            if document is not None:
                # A whole JSON object: the JSON delivery. It is read as such or refused, never
                # re-read as binary (JSON text can happen to parse as Avro, into garbage).
                return self._from_json(document, data)
        return self._read(data, registry)

    def _check_id(self, found: int | UUID | str, where: str) -> None:
        pinned = self.schema_id
        if pinned is None or found == pinned:
            return
        if isinstance(found, str) and found == str(pinned):
            return
        raise SchemaDecodeError(
            f"schema id mismatch: expected {str(pinned)!r} (pinned), {where} names {str(found)!r}"
        )

    def _read(self, payload: bytes, registry: str | None) -> Any:
        raise NotImplementedError

    def _from_json(self, document: dict[str, Any], text: bytes) -> Any:
        raise NotImplementedError

    # --- writing ---------------------------------------------------------------------------

    def serialize(
        self,
        value: Any,
        *,
        schema_id: Any = None,
        framing: str = "confluent",
        compress: bool = False,
    ) -> bytes:
        """``value`` encoded and framed exactly as Confluent's (``framing="confluent"``) or
        AWS Glue's (``"glue"``, zlib when ``compress``) serializer writes it, or bare
        (``"plain"``). ``schema_id`` defaults to the one pinned on the schema.

        Raises :class:`KafkaConfigurationError` (a ``ValueError``): a value the schema refuses,
        or a framing / schema id that cannot work, is a bug in the calling code."""
        if framing not in _WRITE_FRAMINGS:
            raise KafkaConfigurationError(
                f"{type(self).__name__}.serialize(framing={framing!r}): expected one of "
                f"{', '.join(map(repr, _WRITE_FRAMINGS))}"
            )
        if compress and framing != "glue":
            raise KafkaConfigurationError(
                f"{type(self).__name__}.serialize(compress=True): only AWS Glue framing "
                f"compresses, not {framing!r}"
            )
        who = f"{type(self).__name__}.serialize"
        found = _schema_id(schema_id, who)
        sid = self.schema_id if found is None else found
        body = self._write(value)
        if framing == "plain":
            return body
        if framing == "confluent":
            if not isinstance(sid, int):
                raise KafkaConfigurationError(
                    f"{who}(framing='confluent'): needs an integer schema_id (Confluent's "
                    f"registry id), got {sid!r}; pass schema_id= or pin it on the schema"
                )
            # The id is in range (_schema_id) and the indexes come from a descriptor: framing
            # cannot fail here.
            return frame_confluent(body, sid, self._confluent_path())
        if not isinstance(sid, UUID):
            raise KafkaConfigurationError(
                f"{who}(framing='glue'): needs the AWS Glue schema version id (a UUID) as "
                f"schema_id, got {sid!r}; pass schema_id= or pin it on the schema"
            )
        return frame_glue(self._glue_prefix() + body, sid, compress=compress)

    def _write(self, value: Any) -> bytes:
        raise NotImplementedError

    def _confluent_path(self) -> list[int] | None:
        """Confluent's message indexes, written after its header (Protobuf only)."""
        return None

    def _glue_prefix(self) -> bytes:
        """What AWS Glue writes before the message (Protobuf: its index varint)."""
        return b""


def _json_object(data: bytes) -> dict[str, Any] | None:
    """``data`` parsed as a JSON object, or ``None`` if it is anything else."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return document if isinstance(document, dict) else None


class AvroSchema(Schema):
    """Avro records (Avro's binary encoding of one datum, as Confluent's and Glue's Avro
    serializers write it). ``schema`` is the writer's schema: JSON text, a dict or a list
    (a union). Decoded values are what :func:`fastavro.schemaless_reader` returns.

    Pin ``framing="plain"`` when records carry no header and can begin with ``0x00`` or
    ``0x03`` (a first field of 0, -2, or an empty string): ``"auto"`` would read a header.
    """

    kind = "AVRO"
    __slots__ = ("_fastavro", "_parsed")

    def __init__(
        self,
        schema: str | Mapping[str, Any] | list[Any],
        *,
        schema_id: Any = None,
        framing: str = "auto",
    ) -> None:
        require("avro", "AvroSchema")
        super().__init__(schema_id, framing)
        import fastavro

        self._fastavro: Any = fastavro
        definition: Any = schema
        if isinstance(schema, str):
            try:
                definition = json.loads(schema)
            except ValueError:
                definition = schema  # a bare named type, as fastavro takes "string"
        try:
            self._parsed: Any = fastavro.parse_schema(definition)
        except Exception as exc:  # fastavro raises ValueError subclasses, KeyError, TypeError
            raise KafkaConfigurationError(f"AvroSchema: not a valid Avro schema: {exc}") from None

    def _read(self, payload: bytes, registry: str | None) -> Any:
        stream = io.BytesIO(payload)
        try:
            value = self._fastavro.schemaless_reader(stream, self._parsed)
        except EOFError:
            raise SchemaDecodeError(
                f"Avro payload of {len(payload)} bytes ends before the record does"
            ) from None
        except Exception as exc:  # fastavro: IndexError, UnicodeDecodeError, ValueError ...
            raise SchemaDecodeError(
                f"Avro payload of {len(payload)} bytes is not a record of this schema "
                f"({type(exc).__name__}: {exc})"
            ) from None
        left = len(payload) - stream.tell()
        if left:
            raise SchemaDecodeError(
                f"Avro payload has {left} bytes left over after the record "
                f"(read {stream.tell()} of {len(payload)}): a header read as data, or another "
                "schema"
            )
        return value

    def _from_json(self, document: dict[str, Any], text: bytes) -> Any:
        """The record as plain JSON (what it decodes to), or in Avro's own JSON encoding (a
        union's branch named: ``{"price": {"double": 2.5}}``): AWS does not document which one
        Lambda's JSON delivery writes, so both are read; anything else is refused."""
        from fastavro.validation import validate

        try:
            if validate(document, self._parsed, raise_errors=False):
                return document
        except Exception:  # a document shaped nothing like the schema
            pass
        try:
            return next(iter(self._fastavro.json_reader(io.StringIO(text.decode()), self._parsed)))
        except Exception:
            raise SchemaDecodeError(
                "the event source mapping delivered a JSON record that is not a record of this "
                "schema (neither as plain JSON nor in Avro's JSON encoding)"
            ) from None

    def _write(self, value: Any) -> bytes:
        stream = io.BytesIO()
        try:
            self._fastavro.schemaless_writer(stream, self._parsed, value)
        except Exception as exc:  # fastavro: TypeError, ValueError, KeyError, AttributeError
            raise KafkaConfigurationError(
                f"AvroSchema.serialize: value does not fit the schema ({type(exc).__name__}: {exc})"
            ) from None
        return stream.getvalue()


class ProtobufSchema(Schema, Generic[M]):
    """Protobuf records of ``message_class`` (a generated :class:`google.protobuf.message.Message`
    subclass). Decoded values are instances of it; unknown fields are kept, as protobuf does.

    The message index that registries write before the message is checked against the class:
    Confluent's path (its position in the ``.proto`` file, nested levels included) and Glue's
    single number (its position among all the file's messages sorted by full name)."""

    kind = "PROTOBUF"
    __slots__ = ("_class", "_confluent", "_decode_error", "_glue", "_json_format", "message_class")

    def __init__(
        self, message_class: type[M], *, schema_id: Any = None, framing: str = "auto"
    ) -> None:
        require("protobuf", "ProtobufSchema")
        super().__init__(schema_id, framing)
        message_module = _module("google.protobuf.message")
        Message = message_module.Message
        # Looked up once: a per-record import_module would cost a fifth of a decode.
        self._decode_error: Any = message_module.DecodeError
        self._json_format: Any = _module("google.protobuf.json_format")

        if not (isinstance(message_class, type) and issubclass(message_class, Message)):
            raise KafkaConfigurationError(
                f"ProtobufSchema({message_class!r}): expected a generated protobuf message class"
            )
        descriptor = getattr(message_class, "DESCRIPTOR", None)
        if descriptor is None or getattr(descriptor, "file", None) is None:
            raise KafkaConfigurationError(
                f"ProtobufSchema({message_class.__name__}): the class has no message descriptor"
            )
        self.message_class: type[M] = message_class
        self._class: Any = message_class  # protobuf has no type stubs: used untyped inside
        self._confluent = _confluent_path(descriptor)
        self._glue = _glue_index(descriptor)

    def __repr__(self) -> str:
        return (
            f"ProtobufSchema({self.message_class.__name__}, schema_id={self.schema_id!r}, "
            f"framing={self.framing!r})"
        )

    def _read(self, payload: bytes, registry: str | None) -> Any:
        name = self._class.DESCRIPTOR.full_name
        start = 0
        if registry == "confluent":
            indexes, start = confluent_indexes(payload)
            if indexes != self._confluent:
                raise SchemaDecodeError(
                    f"Confluent message indexes {indexes} name another message type than "
                    f"{name} (indexes {self._confluent})"
                )
        elif registry == "glue":
            index, start = read_uvarint(payload)
            if index != self._glue:
                raise SchemaDecodeError(
                    f"AWS Glue message index {index} names another message type than {name} "
                    f"(index {self._glue})"
                )
        elif registry is None:
            raise SchemaDecodeError(
                "the event source mapping's schemaId is neither a Confluent id (a number) nor "
                "an AWS Glue schema version id (a UUID): which registry's message index "
                "precedes the message is unknown"
            )
        message = self._class()
        try:
            message.ParseFromString(payload[start:])
        except (self._decode_error, ValueError) as exc:
            raise SchemaDecodeError(f"not a valid {name} message: {exc}") from None
        return message

    def _from_json(self, document: dict[str, Any], text: bytes) -> Any:
        json_format = self._json_format
        try:
            return json_format.ParseDict(document, self._class())
        except (json_format.ParseError, ValueError, TypeError) as exc:
            raise SchemaDecodeError(
                "the event source mapping delivered a JSON record that is not a "
                f"{self._class.DESCRIPTOR.full_name}: {exc}"
            ) from None

    def _write(self, value: Any) -> bytes:
        if isinstance(value, self._class):
            return bytes(value.SerializeToString())
        name = self.message_class.__name__
        if hasattr(value, "keys"):
            json_format = self._json_format
            try:
                message = json_format.ParseDict(value, self._class())
            except (json_format.ParseError, ValueError, TypeError) as exc:
                raise KafkaConfigurationError(
                    f"ProtobufSchema.serialize: the mapping is not a {name}: {exc}"
                ) from None
            return bytes(message.SerializeToString())
        raise KafkaConfigurationError(
            f"ProtobufSchema.serialize: expected a {name} (or a mapping of its fields), "
            f"got {type(value).__name__}"
        )

    def _confluent_path(self) -> list[int] | None:
        return self._confluent

    def _glue_prefix(self) -> bytes:
        return write_uvarint(self._glue)


def _confluent_path(descriptor: Any) -> list[int]:
    """Confluent's message indexes of a message type: its position among its file's top-level
    messages, then among each enclosing message's nested types (``_create_index_array``)."""
    path: list[int] = []
    current = descriptor
    while current.containing_type is not None:
        parent = current.containing_type
        path.append([d.full_name for d in parent.nested_types].index(current.full_name))
        current = parent
    top = list(descriptor.file.message_types_by_name).index(current.name)
    path.append(top)
    path.reverse()
    return path


def _glue_index(descriptor: Any) -> int:
    """AWS Glue's message index: the position of the type among every message of its file,
    nested ones included, sorted by full name (``MessageIndexFinder``)."""
    names: list[str] = []
    pending = list(descriptor.file.message_types_by_name.values())
    while pending:
        current = pending.pop()
        names.append(current.full_name)
        pending.extend(current.nested_types)
    names.sort()
    return names.index(descriptor.full_name)


class JsonSchema(Schema):
    """JSON records (UTF-8 JSON text, as Confluent's and Glue's JSON Schema serializers write
    it). With ``schema_dict``, records are validated against it when read and written (that
    needs ``lambdakit[jsonschema]``); without it, any JSON is accepted."""

    kind = "JSON"
    __slots__ = ("_validator", "schema_dict")

    def __init__(
        self,
        schema_dict: Mapping[str, Any] | None = None,
        *,
        schema_id: Any = None,
        framing: str = "auto",
    ) -> None:
        super().__init__(schema_id, framing)
        self.schema_dict = schema_dict
        self._validator: Any = None
        if schema_dict is not None:
            require("jsonschema", "JsonSchema(schema_dict)")
            jsonschema = _module("jsonschema")

            try:
                cls = jsonschema.validators.validator_for(schema_dict)
                cls.check_schema(schema_dict)
            except jsonschema.SchemaError as exc:
                raise KafkaConfigurationError(
                    f"JsonSchema: not a valid JSON Schema: {exc.message}"
                ) from None
            self._validator = cls(schema_dict)

    def _problem(self, document: Any) -> str | None:
        if self._validator is None:
            return None
        error = next(iter(self._validator.iter_errors(document)), None)
        if error is None:
            return None
        at = "".join(f"[{p!r}]" for p in error.absolute_path) or "the document"
        return f"{at}: {error.message}"

    def _read(self, payload: bytes, registry: str | None) -> Any:
        try:
            document = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SchemaDecodeError(f"JSON payload is not valid JSON: {exc}") from None
        problem = self._problem(document)
        if problem is not None:
            raise SchemaDecodeError(f"JSON payload does not match the schema: {problem}")
        return document

    def _write(self, value: Any) -> bytes:
        problem = self._problem(value)
        if problem is not None:
            raise KafkaConfigurationError(
                f"JsonSchema.serialize: value does not match the schema: {problem}"
            )
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise KafkaConfigurationError(
                f"JsonSchema.serialize: value is not JSON-serializable: {exc}"
            ) from None
