"""The event sources ``process_batch`` understands, and how each is identified and ordered.

A source decides three things: which field identifies a record in ``batchItemFailures``, which
record view the handler receives, and which records must run in order (a *lane*). Everything
else, running records and reporting failures, is the same for all sources and lives in
``_run.py``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lambdakit.errors import (
    EventSourceMismatchError,
    InvalidRecordError,
    NotABatchEventError,
    UnknownEventSourceError,
)
from lambdakit.events import DynamoDBRecord, KinesisRecord, RecordView, SQSRecord


class EventSource(str, enum.Enum):
    """The event sources ``process_batch`` supports (pass one as ``source=`` to skip detection)."""

    SQS = "sqs"
    KINESIS = "kinesis"
    DYNAMODB = "dynamodb"


class Ordering(enum.Enum):
    INDEPENDENT = "independent"  # SQS standard: every record on its own
    GROUPED = "grouped"  # SQS FIFO: in order within a message group
    STREAM = "stream"  # Kinesis, DynamoDB Streams: checkpoint at the lowest failure


_ALIASES = {
    "sqs": EventSource.SQS,
    "aws:sqs": EventSource.SQS,
    "kinesis": EventSource.KINESIS,
    "aws:kinesis": EventSource.KINESIS,
    "dynamodb": EventSource.DYNAMODB,
    "dynamodbstreams": EventSource.DYNAMODB,
    "dynamodb_streams": EventSource.DYNAMODB,
    "dynamodb-streams": EventSource.DYNAMODB,
    "aws:dynamodb": EventSource.DYNAMODB,
}


def parse_source(value: EventSource | str) -> EventSource:
    """An explicit ``source=`` option to an :class:`EventSource`, or a typed error."""
    if isinstance(value, EventSource):
        return value
    found = _ALIASES.get(str(value).lower())
    if found is None:
        raise UnknownEventSourceError(
            f"source={value!r} is not supported; use one of {[s.value for s in EventSource]}"
        )
    return found


@dataclass(frozen=True)
class Batch:
    """A validated batch: what to run, how to identify each record, which lane it is in."""

    source: EventSource
    ordering: Ordering
    records: list[dict[str, Any]]
    identifiers: list[str]
    # What orders records: the FIFO group or the stream's partition/item key; ``None`` when
    # every record is independent.
    lane_keys: list[Any] | None
    view: Callable[[dict[str, Any], int], RecordView]
    # Stream sources only: sequence numbers as integers (they exceed 64 bits and must never be
    # compared as strings: "9" > "10").
    sequence: list[int] | None = None

    def lanes(self) -> list[list[int]]:
        """Indices that must run in order, each lane in batch order."""
        if self.lane_keys is None:
            return [[i] for i in range(len(self.records))]
        by_key: dict[Any, list[int]] = {}
        for index, key in enumerate(self.lane_keys):
            by_key.setdefault(key, []).append(index)
        return list(by_key.values())


def _records_of(event: Any) -> list[Any]:
    if not isinstance(event, dict):
        raise NotABatchEventError(
            f"event: expected a batch event (a dict with 'Records'), got {type(event).__name__}"
        )
    records = event.get("Records")
    if records is None:
        present = sorted(event)[:8]
        raise NotABatchEventError(
            f"event: not a batch event, no 'Records' key (keys present: {present})"
        )
    if not isinstance(records, list):
        raise NotABatchEventError(
            f"event.Records: expected a list of records, got {type(records).__name__}"
        )
    return records


def _detect(records: list[Any], explicit: EventSource | None) -> EventSource:
    source = explicit
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise InvalidRecordError(index, "", f"expected an object, got {type(record).__name__}")
        raw = record.get("eventSource")
        if raw is None:
            if source is None:
                raise UnknownEventSourceError(
                    f"Records[{index}].eventSource: missing; pass source= to process_batch"
                )
            continue
        found = _ALIASES.get(str(raw).lower()) if str(raw).startswith("aws:") else None
        if found is None:
            raise UnknownEventSourceError(
                f"Records[{index}].eventSource: {raw!r} is not a supported source "
                "(aws:sqs, aws:kinesis, aws:dynamodb)"
            )
        if source is None:
            source = found
        elif found is not source:
            raise EventSourceMismatchError(
                f"Records[{index}].eventSource: {raw!r} in a batch of {source.value} records"
            )
    assert source is not None  # records is not empty here
    return source


def _identifier(record: dict[str, Any], index: int, path: Sequence[str]) -> str:
    value: Any = record
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    field = ".".join(path)
    if value is None:
        raise InvalidRecordError(index, field, "missing")
    if not isinstance(value, str) or not value:
        raise InvalidRecordError(index, field, f"expected a non-empty string, got {value!r}")
    return value


def _sequence_number(value: str, index: int, field: str) -> int:
    if not value.isdigit():
        raise InvalidRecordError(index, field, f"not a decimal sequence number: {value!r}")
    return int(value)


def _sqs_is_fifo(records: list[dict[str, Any]]) -> bool:
    for record in records:
        arn = record.get("eventSourceARN")
        if isinstance(arn, str) and arn.endswith(".fifo"):
            return True
        attributes = record.get("attributes")
        if isinstance(attributes, dict) and "MessageGroupId" in attributes:
            return True
    return False


def _sqs(records: list[dict[str, Any]]) -> Batch:
    ids = [_identifier(r, i, ("messageId",)) for i, r in enumerate(records)]
    if not _sqs_is_fifo(records):
        return Batch(
            EventSource.SQS,
            Ordering.INDEPENDENT,
            records,
            ids,
            None,
            SQSRecord,
        )
    groups = [_identifier(r, i, ("attributes", "MessageGroupId")) for i, r in enumerate(records)]
    return Batch(EventSource.SQS, Ordering.GROUPED, records, ids, groups, SQSRecord)


def _kinesis(records: list[dict[str, Any]]) -> Batch:
    field = ("kinesis", "sequenceNumber")
    ids = [_identifier(r, i, field) for i, r in enumerate(records)]
    sequence = [_sequence_number(s, i, ".".join(field)) for i, s in enumerate(ids)]
    keys = [(r.get("kinesis") or {}).get("partitionKey") for r in records]
    return Batch(EventSource.KINESIS, Ordering.STREAM, records, ids, keys, KinesisRecord, sequence)


def _item_key(record: dict[str, Any]) -> str:
    keys = (record.get("dynamodb") or {}).get("Keys")
    return json.dumps(keys, sort_keys=True, separators=(",", ":"))


def _dynamodb(records: list[dict[str, Any]]) -> Batch:
    field = ("dynamodb", "SequenceNumber")
    ids = [_identifier(r, i, field) for i, r in enumerate(records)]
    sequence = [_sequence_number(s, i, ".".join(field)) for i, s in enumerate(ids)]
    keys = [_item_key(r) for r in records]
    return Batch(
        EventSource.DYNAMODB,
        Ordering.STREAM,
        records,
        ids,
        keys,
        DynamoDBRecord,
        sequence,
    )


_BUILDERS: dict[EventSource, Callable[[list[dict[str, Any]]], Batch]] = {
    EventSource.SQS: _sqs,
    EventSource.KINESIS: _kinesis,
    EventSource.DYNAMODB: _dynamodb,
}


def read_batch(event: Any, explicit: EventSource | None) -> Batch | None:
    """Validate ``event`` as a batch; ``None`` for an empty one.

    Every record's identifier is checked before any record runs: a record that could not be
    reported must fail the whole invocation, and it must do so before any side effect.
    """
    records = _records_of(event)
    if not records:
        return None
    source = _detect(records, explicit)
    return _BUILDERS[source](records)
