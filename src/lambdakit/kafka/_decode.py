"""Record-level decoding for :meth:`KafkaRecord.value_as` / :meth:`~KafkaRecord.key_as`.

Kept apart from :mod:`lambdakit.events.kafka` so that ``import lambdakit.events`` loads none
of the schema machinery: the record view imports this module on the first decode. Here the
schema's own error (framing, schema id, payload) becomes a :class:`KafkaDecodeError` that names
the record and field (``orders-0@15.value``), as every record error does.
"""

from __future__ import annotations

from lambdakit.errors import KafkaConfigurationError, KafkaDecodeError
from lambdakit.events._base import where
from lambdakit.events.kafka import is_schema

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lambdakit.events.kafka import KafkaRecord


def decode_field(record: KafkaRecord, field: str, schema: Any) -> Any:
    """Record ``field`` (``"value"`` or ``"key"``, present and not null: the record view
    answers ``None`` itself otherwise) decoded with ``schema``, using the ESM's
    ``<field>SchemaMetadata`` when the record has it."""
    if not is_schema(schema):  # the message (naming the record) is built only when needed
        raise KafkaConfigurationError(
            f"{where(record, field)}: {field}_as(): expected an AvroSchema, ProtobufSchema or "
            f"JsonSchema from lambdakit.kafka, got {type(schema).__name__}"
        )
    data = record.value if field == "value" else record.key
    metadata = record.raw.get(f"{field}SchemaMetadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise KafkaDecodeError(
            where(record, f"{field}SchemaMetadata"),
            f"expected an object, got {type(metadata).__name__}",
        )
    try:
        return schema.decode(data, metadata=metadata)
    except ValueError as exc:
        raise KafkaDecodeError(where(record, field), f"{type(schema).__name__}: {exc}") from None
