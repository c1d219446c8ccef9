"""Kafka events (Amazon MSK and self-managed Apache Kafka) as Lambda delivers them."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lambdakit.errors import EventBuilderError
from lambdakit.testing.builders._common import (
    DEFAULT_ACCOUNT,
    now_ms,
    payload_bytes,
    per_record,
    region_or_default,
)


def kafka_event(
    values: Iterable[Any],
    *,
    topic: str = "test-topic",
    partitions: int | Sequence[int] = 0,
    keys: Any = None,
    headers: Mapping[str, Any] | Sequence[Mapping[str, Any] | None] | None = None,
    value_schema_metadata: Mapping[str, Any] | Sequence[Mapping[str, Any] | None] | None = None,
    key_schema_metadata: Mapping[str, Any] | Sequence[Mapping[str, Any] | None] | None = None,
    first_offset: int = 0,
    self_managed: bool = False,
    bootstrap_servers: str = "b-1.test.kafka.us-east-1.amazonaws.com:9092",
    cluster_name: str = "test-cluster",
    region: str | None = None,
    account_id: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """An MSK event (``self_managed=True``: a self-managed Kafka event) with one record per value.

    ``bytes`` values are sent as they are, ``str`` as UTF-8, anything else as JSON, base64
    encoded as Lambda delivers them. Records are grouped by ``"<topic>-<partition>"``; offsets
    increase per partition from ``first_offset``. ``keys`` (one for all records, or one per
    record; ``None``: no key) are encoded the same way; ``headers`` (one mapping for all, or
    one per record) become Lambda's list of ``{name: [byte values]}``, written as Lambda writes
    them: Java's signed bytes, so 0x80..0xFF appear as -128..-1.

    ``value_schema_metadata`` / ``key_schema_metadata`` (one mapping for all records, or one
    per record, ``None`` for none) are what an event source mapping with a schema registry adds:
    ``{"dataFormat": "AVRO" | "PROTOBUF" | "JSON", "schemaId": ...}``, the id written as the
    string Lambda sends (a Confluent id as its digits, a Glue UUID as its text). Give the values
    as that mapping delivers them (SOURCE: without the registry's header, Protobuf message
    index kept), so that ``record.value_as(schema)`` is tested on what Lambda sends.
    """
    blobs = [payload_bytes(v, f"values[{i}]") for i, v in enumerate(values)]
    count = len(blobs)
    where_partitions = per_record(partitions, count, "partitions", 0)
    if keys is None or isinstance(keys, (str, bytes)) or not isinstance(keys, Sequence):
        record_keys = [keys] * count
    else:
        record_keys = per_record(keys, count, "keys", None)
    record_headers = per_record(headers, count, "headers", None)
    schema_metadata = {
        "valueSchemaMetadata": _metadata(value_schema_metadata, count, "value_schema_metadata"),
        "keySchemaMetadata": _metadata(key_schema_metadata, count, "key_schema_metadata"),
    }
    next_offset: dict[int, int] = {}
    timestamp = now_ms()
    grouped: dict[str, list[dict[str, Any]]] = {}
    for i, blob in enumerate(blobs):
        partition = where_partitions[i]
        if not isinstance(partition, int) or isinstance(partition, bool) or partition < 0:
            raise EventBuilderError(
                f"partitions[{i}]: expected a partition number, got {partition!r}"
            )
        offset = next_offset.get(partition, first_offset)
        next_offset[partition] = offset + 1
        record: dict[str, Any] = {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "timestamp": timestamp,
            "timestampType": "CREATE_TIME",
            "value": base64.b64encode(blob).decode("ascii"),
            "headers": _headers(record_headers[i], f"headers[{i}]"),
        }
        if record_keys[i] is not None:
            key = payload_bytes(record_keys[i], f"keys[{i}]")
            record["key"] = base64.b64encode(key).decode("ascii")
        for field, metadata in schema_metadata.items():
            if metadata[i] is not None:
                record[field] = metadata[i]
        grouped.setdefault(f"{topic}-{partition}", []).append(record)
    event: dict[str, Any] = {"bootstrapServers": bootstrap_servers, "records": grouped}
    if self_managed:
        event["eventSource"] = "SelfManagedKafka"
    else:
        region = region_or_default(region)
        event["eventSource"] = "aws:kafka"
        event["eventSourceArn"] = (
            f"arn:aws:kafka:{region}:{account_id}:cluster/{cluster_name}/"
            "a1b2c3d4-5678-90ab-cdef-11111111111b-1"
        )
    return event


def _headers(headers: Mapping[str, Any] | None, where: str) -> list[dict[str, list[int]]]:
    if headers is None:
        return []
    return [
        {str(name): [b - 256 if b > 127 else b for b in payload_bytes(value, f"{where}.{name}")]}
        for name, value in headers.items()
    ]


def _metadata(given: Any, count: int, name: str) -> list[dict[str, str] | None]:
    """Schema metadata per record, as Lambda writes it: both fields, as strings."""
    # One mapping for every record (a Mapping is not a Sequence), or one per record.
    one_for_all = given is None or isinstance(given, Mapping)
    found: list[dict[str, str] | None] = []
    for i, metadata in enumerate(per_record(given, count, name, None)):
        where = name if one_for_all else f"{name}[{i}]"
        if metadata is None:
            found.append(None)
            continue
        if not isinstance(metadata, Mapping) or not {"dataFormat", "schemaId"} <= set(metadata):
            raise EventBuilderError(
                f"{where}: expected a mapping with dataFormat and schemaId, got {metadata!r}"
            )
        found.append(
            {"dataFormat": str(metadata["dataFormat"]), "schemaId": str(metadata["schemaId"])}
        )
    return found
