"""The event sources ``process_batch`` understands, and how each is identified and ordered.

A source decides three things: which field identifies a record in ``batchItemFailures``, which
record view the handler receives, and which records must run in order (a *lane*). Everything
else, running records and reporting failures, is the same for all sources and lives in
``_run.py``.

Validation reads every record before any runs, so it is written as C-speed passes (``map`` with
``itemgetter``) with a slow, per-record path used only to word the error precisely.
"""

from __future__ import annotations

from operator import itemgetter

from lambdakit.errors import (
    EventSourceMismatchError,
    InvalidRecordError,
    NotABatchEventError,
    UnknownEventSourceError,
)
from lambdakit.events.dynamodb import DynamoDBRecord
from lambdakit.events.kafka import KafkaRecord, whole_number
from lambdakit.events.kinesis import KinesisRecord
from lambdakit.events.sqs import SQSRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from lambdakit.events import RecordView


class EventSource:
    """The event sources ``process_batch`` supports (pass one as ``source=`` to skip detection).

    Plain strings, so ``source="sqs"`` and ``source=EventSource.SQS`` are the same thing.
    """

    SQS = "sqs"
    KINESIS = "kinesis"
    DYNAMODB = "dynamodb"
    KAFKA = "kafka"  # Amazon MSK and self-managed Apache Kafka
    ALL = (SQS, KINESIS, DYNAMODB, KAFKA)


# How records are ordered.
INDEPENDENT = "independent"  # SQS standard: every record on its own
GROUPED = "grouped"  # SQS FIFO: in order within a message group
STREAM = "stream"  # Kinesis, DynamoDB Streams: checkpoint at the lowest failure

# eventSource values Lambda puts on records.
_EVENT_SOURCES = {
    "aws:sqs": EventSource.SQS,
    "aws:kinesis": EventSource.KINESIS,
    "aws:dynamodb": EventSource.DYNAMODB,
}
_ALIASES = {
    **_EVENT_SOURCES,
    "sqs": EventSource.SQS,
    "kinesis": EventSource.KINESIS,
    "dynamodb": EventSource.DYNAMODB,
    "dynamodbstreams": EventSource.DYNAMODB,
    "dynamodb_streams": EventSource.DYNAMODB,
    "dynamodb-streams": EventSource.DYNAMODB,
    "kafka": EventSource.KAFKA,
    "msk": EventSource.KAFKA,
    "aws:kafka": EventSource.KAFKA,
    "selfmanagedkafka": EventSource.KAFKA,
    "aws:selfmanagedkafka": EventSource.KAFKA,
}
# eventSource values Lambda puts on Kafka events (on the event, not on each record); older
# samples of self-managed Kafka events (AWS SAM's among them) spell it "aws:SelfManagedKafka".
_KAFKA_SOURCES = ("aws:kafka", "SelfManagedKafka", "aws:SelfManagedKafka")


def parse_source(value: str) -> str:
    """An explicit ``source=`` option to one of :attr:`EventSource.ALL`, or a typed error."""
    found = _ALIASES.get(str(value).lower())
    if found is None:
        raise UnknownEventSourceError(
            f"source={value!r} is not supported; use one of {list(EventSource.ALL)}"
        )
    return found


class Batch:
    """A validated batch: what to run, how to identify each record, which lane it is in."""

    __slots__ = (
        "_lane_keys",
        "_sequence",
        "identifiers",
        "ordering",
        "records",
        "source",
        "view",
    )

    def __init__(
        self,
        source: str,
        ordering: str,
        records: list[dict[str, Any]],
        identifiers: list[Any],
        lane_keys: list[Any] | Callable[[], list[Any]] | None,
        view: type[RecordView],
    ) -> None:
        self.source = source
        self.ordering = ordering
        self.records = records
        self.identifiers = identifiers
        self._lane_keys = lane_keys
        self.view = view
        self._sequence: list[int] | None = None

    @property
    def sequence(self) -> list[int]:
        """Stream sources: the sequence numbers as integers (they exceed 64 bits and must never
        be compared as strings: "9" > "10"). Converted on first use, which is the first failure
        or a concurrent batch: a batch whose records all succeed never pays for the 56-digit
        conversions (the digits were checked by :func:`read_batch`)."""
        found = self._sequence
        if found is None:
            found = self._sequence = list(map(int, self.identifiers))
        return found

    def label(self, index: int) -> str:
        """Record ``index`` as a log line names it: ``SQS message <messageId> at Records[3]``,
        or for Kafka, whose events have no ``Records``, ``Kafka record orders-0@15``. Built only
        for the failures that are logged."""
        identifier = self.identifiers[index]
        if self.source == EventSource.KAFKA:
            return f"Kafka record {identifier['partition']}@{identifier['offset']}"
        return f"{_NOUNS[self.source]} {identifier} at Records[{index}]"

    def attempt(self, index: int) -> int | None:
        """How many times record ``index`` has been delivered, when the source says: SQS's
        ``ApproximateReceiveCount`` (``None`` for other sources, or when it is not a number)."""
        if self.source != EventSource.SQS:
            return None
        count = _field(self.records[index], ("attributes", "ApproximateReceiveCount"))
        if isinstance(count, int) and not isinstance(count, bool):
            return count
        if isinstance(count, str) and count.isascii() and count.isdigit():
            return int(count)
        return None

    @property
    def lane_keys(self) -> list[Any] | None:
        """What orders records: the FIFO group or the stream's partition / item key (computed
        on first use, since sequential stream processing never needs it); ``None`` when every
        record is independent."""
        keys = self._lane_keys
        if callable(keys):
            keys = self._lane_keys = keys()
        return keys

    def lanes(self) -> list[list[int]]:
        """Indices that must run in order, each lane in batch order."""
        if self.lane_keys is None:
            return [[i] for i in range(len(self.records))]
        by_key: dict[Any, list[int]] = {}
        for index, key in enumerate(self.lane_keys):
            by_key.setdefault(key, []).append(index)
        return list(by_key.values())


# How a log line names a record of each source (Kafka records are named by partition@offset).
_NOUNS = {
    EventSource.SQS: "SQS message",
    EventSource.KINESIS: "Kinesis record",
    EventSource.DYNAMODB: "DynamoDB Streams record",
}


def _records_of(event: Any) -> list[Any]:
    if not isinstance(event, dict):
        raise NotABatchEventError(
            f"event: expected a batch event (a dict with 'Records'), got {type(event).__name__}"
        )
    records = event.get("Records")
    if records is None:
        present = sorted(map(str, event))[:8]
        raise NotABatchEventError(
            f"event: not a batch event, no 'Records' key (keys present: {present})"
        )
    if not isinstance(records, list):
        raise NotABatchEventError(
            f"event.Records: expected a list of records, got {type(records).__name__}"
        )
    return records


_event_source = itemgetter("eventSource")


def _detect(records: list[Any], explicit: str | None) -> str:
    """The batch's source: one C-speed pass when every record names the same one."""
    try:
        seen = set(map(_event_source, records))
    except (KeyError, TypeError, AttributeError):
        seen = set()
    if len(seen) == 1:
        found = _EVENT_SOURCES.get(next(iter(seen)))
        if found is not None and explicit in (None, found):
            return found
    return _detect_slowly(records, explicit)


def _detect_slowly(records: list[Any], explicit: str | None) -> str:
    """Record by record, to name the first one that is wrong."""
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
        found = _EVENT_SOURCES.get(raw) if isinstance(raw, str) else None
        if found is None:
            raise UnknownEventSourceError(
                f"Records[{index}].eventSource: {raw!r} is not a supported source "
                f"({', '.join(_EVENT_SOURCES)})"
            )
        if source is None:
            source = found
        elif found != source:
            raise EventSourceMismatchError(
                f"Records[{index}].eventSource: {raw!r} in a batch of {source} records"
            )
    assert source is not None  # records is not empty here
    return source


def _field(value: Any, path: Sequence[str]) -> Any:
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _identifiers(records: list[dict[str, Any]], path: tuple[str, ...]) -> list[str]:
    """The identifier of every record; :class:`InvalidRecordError` names the first bad one.

    One C-speed pass per level of ``path`` (``map`` with ``itemgetter``, no Python function
    per record); the per-record walk runs only to word the error."""
    found: Any = records
    try:
        for part in path:
            found = map(itemgetter(part), found)
        found = list(found)
        "".join(found)  # the cheapest C-speed proof that every identifier is a str
    except (KeyError, TypeError):
        found = []
    if len(found) == len(records) and "" not in found:
        return found  # type: ignore[no-any-return]
    for index, record in enumerate(records):
        value = _field(record, path)
        if value is None:
            raise InvalidRecordError(index, ".".join(path), "missing")
        if not isinstance(value, str) or not value:
            raise InvalidRecordError(
                index, ".".join(path), f"expected a non-empty string, got {value!r}"
            )
    raise AssertionError("unreachable: a bad identifier was not found twice")


# Kinesis's API documents sequence numbers as ``0|([1-9]\d{0,128})``; DynamoDB Streams' are 21
# to 40 digits. A longer value is no sequence number (and past 4,300 digits ``int()`` refuses it).
_MAX_SEQUENCE_DIGITS = 129
_DIGITS_CHUNK = 512  # identifiers checked per join: about 28 KB of Kinesis sequence numbers


def _check_sequence_numbers(identifiers: list[str], field: str) -> None:
    """Sequence numbers must be ASCII decimal digits (``str.isdigit`` alone admits ``"²"``,
    which ``int()`` refuses, and Arabic-Indic digits, which it reads as numbers) of a length a
    stream issues. Checked before any record runs, but not converted: :attr:`Batch.sequence`
    converts them when a failure needs them.

    The common case is C-speed passes: ``bytes.isdigit`` on the UTF-8 of the identifiers joined
    a few hundred at a time (a table lookup per byte, ten times faster than ``str.isdigit``; in
    chunks of tens of kilobytes, which the allocator reuses, where one joined copy of a large
    batch costs a fresh mapping and its page faults), and the longest length. The per-record
    pass names the culprit."""
    step = _DIGITS_CHUNK
    try:
        digits = all(
            "".join(identifiers[start : start + step]).encode().isdigit()
            for start in range(0, len(identifiers), step)
        )
    except UnicodeEncodeError:  # a lone surrogate
        digits = False
    if digits and max(map(len, identifiers)) <= _MAX_SEQUENCE_DIGITS:
        return
    for index, value in enumerate(identifiers):
        if not (value.isascii() and value.isdigit()):
            raise InvalidRecordError(index, field, f"not a decimal sequence number: {value!r}")
        if len(value) > _MAX_SEQUENCE_DIGITS:
            raise InvalidRecordError(
                index,
                field,
                f"longer than any sequence number Kinesis or DynamoDB Streams issues "
                f"({len(value)} digits, at most {_MAX_SEQUENCE_DIGITS})",
            )
    raise AssertionError("unreachable: a bad sequence number was not found twice")


def _sqs_is_fifo(records: list[dict[str, Any]]) -> bool:
    """A FIFO queue's ARN ends in ``.fifo``; a batch comes from one queue.

    ``MessageGroupId`` alone does not make a queue FIFO: standard queues accept it too (fair
    queues) without any ordering. Only records without an ARN (hand-built events) are judged by
    their attributes, where FIFO messages also carry a ``SequenceNumber``.
    """
    arn = records[0].get("eventSourceARN")
    if isinstance(arn, str):
        return arn.endswith(".fifo")
    attributes = records[0].get("attributes")
    return (
        isinstance(attributes, dict)
        and "MessageGroupId" in attributes
        and "SequenceNumber" in attributes
    )


def _sqs(records: list[dict[str, Any]]) -> Batch:
    ids = _identifiers(records, ("messageId",))
    if not _sqs_is_fifo(records):
        return Batch(EventSource.SQS, INDEPENDENT, records, ids, None, SQSRecord)
    groups = _identifiers(records, ("attributes", "MessageGroupId"))
    return Batch(EventSource.SQS, GROUPED, records, ids, groups, SQSRecord)


def _kinesis(records: list[dict[str, Any]]) -> Batch:
    ids = _identifiers(records, ("kinesis", "sequenceNumber"))
    _check_sequence_numbers(ids, "kinesis.sequenceNumber")
    keys = lambda: [_field(r, ("kinesis", "partitionKey")) for r in records]  # noqa: E731
    return Batch(EventSource.KINESIS, STREAM, records, ids, keys, KinesisRecord)


def _item_key(record: dict[str, Any]) -> str:
    import json

    return json.dumps(_field(record, ("dynamodb", "Keys")), sort_keys=True, separators=(",", ":"))


def _dynamodb(records: list[dict[str, Any]]) -> Batch:
    ids = _identifiers(records, ("dynamodb", "SequenceNumber"))
    _check_sequence_numbers(ids, "dynamodb.SequenceNumber")
    keys = lambda: [_item_key(r) for r in records]  # noqa: E731
    return Batch(EventSource.DYNAMODB, STREAM, records, ids, keys, DynamoDBRecord)


_BUILDERS: dict[str, Callable[[list[dict[str, Any]]], Batch]] = {
    EventSource.SQS: _sqs,
    EventSource.KINESIS: _kinesis,
    EventSource.DYNAMODB: _dynamodb,
}


def read_batch(event: Any, explicit: str | None) -> Batch | None:
    """Validate ``event`` as a batch; ``None`` for an empty one.

    Every record's identifier is checked before any record runs: a record that could not be
    reported must fail the whole invocation, and it must do so before any side effect.
    """
    kafka = _kafka_records(event, explicit)
    if kafka is not None:
        return _kafka(*kafka) if kafka[0] else None
    records = _records_of(event)
    if not records:
        return None
    return _BUILDERS[_detect(records, explicit)](records)


def source_of(event: Any, explicit: str | None) -> str:
    """The source of a batch event as far as it says, for reporting one without records (all
    filtered out): ``explicit``, else the event's (Kafka) or its first record's
    ``eventSource``; ``"unknown"`` when neither names one."""
    if explicit is not None:
        return explicit
    if isinstance(event, dict):
        if event.get("eventSource") in _KAFKA_SOURCES:
            return EventSource.KAFKA
        records = event.get("Records")
        if isinstance(records, list) and records and isinstance(records[0], dict):
            found = _EVENT_SOURCES.get(records[0].get("eventSource"))  # type: ignore[arg-type]
            if found is not None:
                return found
    return "unknown"


def _kafka_records(event: Any, explicit: str | None) -> tuple[list[Any], dict[str, Any]] | None:
    """A Kafka event's records in order (partition by partition, as Lambda lists them), and the
    records grouped as the event has them (to name a bad record's place); ``None`` when
    ``event`` is not a Kafka event."""
    if explicit not in (None, EventSource.KAFKA) or not isinstance(event, dict):
        return None
    partitions = event.get("records")
    if explicit is None and (event.get("eventSource") not in _KAFKA_SOURCES or "Records" in event):
        return None
    if not isinstance(partitions, dict):
        raise NotABatchEventError(
            "event.records: expected Kafka records grouped by topic-partition, got "
            f"{type(partitions).__name__}"
        )
    records: list[Any] = []
    for name, batch in partitions.items():
        if not isinstance(batch, list):
            raise NotABatchEventError(
                f"event.records[{name!r}]: expected a list of records, got {type(batch).__name__}"
            )
        records.extend(batch)
    return records, partitions


def _place(partitions: dict[str, list[Any]], index: int) -> str:
    """Where the ``index``-th record of a Kafka event sits: ``records['orders-0'][2]``."""
    for name, batch in partitions.items():
        if index < len(batch):
            return f"records[{name!r}][{index}]"
        index -= len(batch)
    raise IndexError(index)


def _kafka(records: list[Any], where: dict[str, list[Any]]) -> Batch:
    """Kafka: a record is identified by its topic-partition and offset, as Lambda's partial
    batch response for Kafka takes it (``{"partition": "<topic>-<n>", "offset": n}``); records
    of one partition run in order, and a failure stops its partition (the rest is reported).
    Errors name a record by its place in the event, and logs by ``<topic>-<n>@<offset>``.
    Partitions and offsets are JSON numbers, or digit strings as in the Lambda guide's sample of
    a self-managed event; the identifier reports them as numbers."""
    identifiers: list[dict[str, Any]] = []
    partitions: list[str] = []
    for index, record in enumerate(records):
        try:
            topic, partition, offset = _kafka_position(record)
        except _Refused as bad:
            raise InvalidRecordError(
                index, bad.field, bad.problem, location=_place(where, index)
            ) from None
        name = f"{topic}-{partition}"
        identifiers.append({"partition": name, "offset": offset})
        partitions.append(name)
    return Batch(EventSource.KAFKA, GROUPED, records, identifiers, partitions, KafkaRecord)


class _Refused(Exception):
    """What is wrong with a Kafka record's position (the caller says where the record is)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(field, problem)
        self.field, self.problem = field, problem


def _kafka_position(record: Any) -> tuple[str, int, int]:
    """A Kafka record's topic, partition and offset, or :class:`_Refused`."""
    if not isinstance(record, dict):
        raise _Refused("", f"expected an object, got {type(record).__name__}")
    topic = record.get("topic")
    if topic is None:
        raise _Refused("topic", "missing")
    if not isinstance(topic, str):
        raise _Refused("topic", f"expected str, got {topic!r}")
    numbers = []
    for field in ("partition", "offset"):
        value = record.get(field)
        if value is None:
            raise _Refused(field, "missing")
        number = whole_number(value)
        if number is None:
            raise _Refused(field, f"expected a whole number >= 0, got {value!r}")
        numbers.append(number)
    return topic, numbers[0], numbers[1]
