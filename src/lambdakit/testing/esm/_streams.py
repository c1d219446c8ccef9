"""``KinesisStream`` and ``DynamoDBStream``: in-memory streams that an
:class:`EventSourceMapping` reads as Lambda's Kinesis and DynamoDB Streams pollers do.

A stream is a set of shards, each an append-only log of records in sequence-number order.
Reading never removes anything: records stay until the stream's retention period passes (24
hours by default, as both services keep them), so several mappings can read one stream, each
with its own checkpoints, and ``len(stream)`` / ``stream.records()`` say what is retained.

Records are stored already in the shape Lambda delivers them, built with the same builders as
:func:`lambdakit.testing.kinesis_event` and :func:`lambdakit.testing.dynamodb_stream_event`
(timestamps from the stream's clock), so a handler receives from the model what it receives
from a hand-built event and from Lambda.

- Kinesis: the shard of a record is the one whose hash-key range holds the MD5 hash of its
  partition key, read as a 128-bit integer; a stream made with ``shards=n`` splits the hash-key
  space into ``n`` equal ranges, as CreateStream does. Sequence numbers are 56-digit decimals,
  increasing per shard (and here across the stream, in put order).
- DynamoDB Streams: one shard (DynamoDB decides the real count and exposes no control over
  it), ``StreamViewType`` ``NEW_AND_OLD_IMAGES``, plain Python images typed as DynamoDB's JSON.

The poller, shared by both, lives in :mod:`lambdakit.testing.esm._stream_poller`.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import zlib
from collections import deque
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any

from lambdakit.errors import EventBuilderError, EventSourceMappingError
from lambdakit.testing.builders._common import DEFAULT_ACCOUNT, region_or_default
from lambdakit.testing.builders.dynamodb import _SEQUENCE_BASE as _DYNAMODB_SEQUENCE_BASE
from lambdakit.testing.builders.dynamodb import dynamodb_stream_event
from lambdakit.testing.builders.kinesis import _SEQUENCE_BASE as _KINESIS_SEQUENCE_BASE
from lambdakit.testing.builders.kinesis import _SEQUENCE_STEP as _KINESIS_SEQUENCE_STEP
from lambdakit.testing.builders.kinesis import kinesis_event
from lambdakit.testing.clock import FakeClock
from lambdakit.testing.esm._mapping import epoch_ms

if TYPE_CHECKING:
    from lambdakit.testing.esm._mapping import EventSourceMapping
    from lambdakit.testing.esm._stream_poller import StreamPoller

HASH_KEY_SPACE = 1 << 128  # MD5 hashes, read as 128-bit integers
DAY = 86_400.0

# Kinesis: stream names (CreateStream's StreamName pattern), retention from 24 hours to 365 days
# (IncreaseStreamRetentionPeriod). DynamoDB: table names (CreateTable's TableName pattern).
_STREAM_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
_TABLE_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}")
_MAX_RETENTION_HOURS = 8760


def md5_hash_key(text: str) -> int:
    """The hash key Kinesis computes for a partition key: its MD5, a 128-bit integer."""
    return int.from_bytes(hashlib.md5(text.encode()).digest(), "big")


class StoredRecord:
    """One record of a shard: Lambda's shape, its sequence number, where it hashes, when it
    arrived (the stream's clock) and its size in an event."""

    __slots__ = ("arrival", "event", "hash_key", "order", "sequence", "shard", "size")

    def __init__(
        self,
        event: dict[str, Any],
        sequence: str,
        shard: Shard,
        hash_key: int,
        arrival: float,
        order: int,
    ) -> None:
        self.event = event
        self.sequence = sequence
        self.shard = shard
        self.hash_key = hash_key
        self.arrival = arrival
        self.order = order  # put order across the stream's shards
        self.size = len(json.dumps(event, separators=(",", ":")))

    def lane(self, lanes: int) -> int:
        """Which of ``lanes`` equal slices of its shard's hash-key range the record falls in
        (the parallelized shard that reads it, for a parallelization factor of ``lanes``)."""
        shard = self.shard
        return (self.hash_key - shard.start_hash) * lanes // shard.width


class Shard:
    """A shard: its id, its hash-key range, and its retained records (oldest first).

    ``first`` is the absolute position of the oldest retained record, so a reader's position
    survives records being trimmed from the front."""

    __slots__ = ("first", "records", "shard_id", "start_hash", "width")

    def __init__(self, shard_id: str, start_hash: int, end_hash: int) -> None:
        self.shard_id = shard_id
        self.start_hash = start_hash
        self.width = end_hash - start_hash + 1
        self.records: deque[StoredRecord] = deque()
        self.first = 0

    @property
    def end_hash(self) -> int:
        return self.start_hash + self.width - 1

    @property
    def end(self) -> int:
        """The absolute position the next record will take."""
        return self.first + len(self.records)

    def trim(self, oldest_kept: float) -> None:
        """Drop the records that arrived before ``oldest_kept`` (the retention period ended)."""
        records = self.records
        while records and records[0].arrival <= oldest_kept:
            records.popleft()
            self.first += 1

    def read(self, position: int) -> Iterator[StoredRecord]:
        """The retained records from absolute ``position`` on."""
        return islice(self.records, max(0, position - self.first), None)


class _Stream:
    """What both streams share: clock, shards, retention, and what the mapping uses."""

    # Set by each stream: the name lambdakit.filtering knows the source by, the key of the
    # batch description in an on-failure record, the starting positions it accepts, and how
    # often Lambda polls a shard (the model retries a failed batch at the next poll).
    _SOURCE = ""
    _BATCH_INFO = ""
    _STARTING_POSITIONS: tuple[str, ...] = ()
    _POLL_INTERVAL = 1.0

    def __init__(self, clock: FakeClock | None, retention_seconds: float) -> None:
        self._clock_was_given = clock is not None
        self.clock: FakeClock = clock if clock is not None else FakeClock()
        self.region = region_or_default(None)
        self._retention = retention_seconds
        self._shards: list[Shard] = []
        self._puts = 0

    # --- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        """How many records the stream retains (reading removes none; retention does)."""
        self._trim()
        return sum(len(shard.records) for shard in self._shards)

    def records(self) -> list[dict[str, Any]]:
        """The retained records (copies, in Lambda's shape), in the order they were put."""
        self._trim()
        stored = sorted(
            (record for shard in self._shards for record in shard.records),
            key=lambda record: record.order,
        )
        return [json.loads(json.dumps(record.event)) for record in stored]

    @property
    def shard_ids(self) -> list[str]:
        return [shard.shard_id for shard in self._shards]

    # --- what the mapping and its poller use ---------------------------------------------------

    def _adopt_clock(self, clock: FakeClock) -> None:
        """Move to ``clock`` (the mapping's), keeping each record as old as it was on the old
        clock (its arrival timestamp, already written in the event, stays)."""
        shift = clock() - self.clock()
        for shard in self._shards:
            for record in shard.records:
                record.arrival += shift
        self.clock = clock

    def _clock_given(self) -> bool:
        return self._clock_was_given

    def _poller(self, mapping: EventSourceMapping) -> StreamPoller:
        from lambdakit.testing.esm._stream_poller import StreamPoller

        return StreamPoller(self, mapping)

    @property
    def arn(self) -> str:
        """The stream's ARN, as records' ``eventSourceARN`` and on-failure records state it."""
        raise NotImplementedError

    def _expired(self, record: StoredRecord, now: float) -> bool:
        """Whether the stream no longer holds ``record`` (its retention period has passed)."""
        return now - record.arrival >= self._retention

    def _trim(self) -> None:
        oldest_kept = self.clock() - self._retention
        for shard in self._shards:
            shard.trim(oldest_kept)

    def _arrival_text(self, record: StoredRecord) -> str:
        """A record's arrival as an on-failure record states it."""
        raise NotImplementedError

    def _append(self, shard: Shard, event: dict[str, Any], sequence: str, hash_key: int) -> None:
        shard.records.append(
            StoredRecord(event, sequence, shard, hash_key, self.clock(), self._puts)
        )
        self._puts += 1


class KinesisStream(_Stream):
    """An in-memory Kinesis data stream, for :class:`~lambdakit.testing.esm.EventSourceMapping`.

    ``shards`` shards own equal ranges of the 128-bit hash-key space; a record goes to the shard
    whose range holds the MD5 of its partition key. Records are kept
    ``retention_period_hours`` (24 to 8760, Kinesis's default and limits), then trimmed.
    ``clock`` stamps ``approximateArrivalTimestamp``; without one the stream makes its own,
    which a mapping created without a clock shares.
    """

    _SOURCE = "kinesis"
    _BATCH_INFO = "KinesisBatchInfo"
    _STARTING_POSITIONS = ("LATEST", "TRIM_HORIZON")
    _POLL_INTERVAL = 1.0  # a standard iterator polls each shard once per second

    def __init__(
        self,
        name: str,
        *,
        shards: int = 1,
        retention_period_hours: int = 24,
        clock: FakeClock | None = None,
    ) -> None:
        if not isinstance(name, str) or not _STREAM_NAME.fullmatch(name):
            raise EventSourceMappingError(
                f"KinesisStream(name={name!r}): a stream name is 1 to 128 characters of "
                "letters, digits, '_', '.' and '-'"
            )
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise EventSourceMappingError(
                f"KinesisStream({name!r}, shards={shards!r}): expected a whole number >= 1"
            )
        hours = retention_period_hours
        if (
            isinstance(hours, bool)
            or not isinstance(hours, int)
            or not 24 <= hours <= _MAX_RETENTION_HOURS
        ):
            raise EventSourceMappingError(
                f"KinesisStream({name!r}, retention_period_hours={hours!r}): Kinesis keeps "
                f"records from 24 to {_MAX_RETENTION_HOURS} hours"
            )
        super().__init__(clock, hours * 3600.0)
        self.name = name
        self.account_id = DEFAULT_ACCOUNT
        for index in range(shards):
            start = index * HASH_KEY_SPACE // shards
            end = (index + 1) * HASH_KEY_SPACE // shards - 1
            self._shards.append(Shard(f"shardId-{index:012d}", start, end))

    @property
    def arn(self) -> str:
        return f"arn:aws:kinesis:{self.region}:{self.account_id}:stream/{self.name}"

    def shard_id(self, partition_key: str) -> str:
        """The id of the shard a record with ``partition_key`` goes to."""
        return self._shard_for(partition_key, f"{self!r}.shard_id").shard_id

    def put(self, data: bytes, *, partition_key: str) -> str:
        """Append a record (PutRecord) and return its sequence number.

        ``data`` is the record's blob (delivered base64-encoded); ``partition_key`` (1 to 256
        characters) chooses the shard: :meth:`shard_id` says which. The sequence number is what
        the record's ``kinesis.sequenceNumber`` and a partial batch response's
        ``itemIdentifier`` carry.
        """
        where = f"{self!r}.put"
        if not isinstance(data, bytes | bytearray):
            raise EventSourceMappingError(
                f"{where}: data is {type(data).__name__}, expected bytes (a Kinesis record is a "
                "blob; encode text or JSON first, e.g. json.dumps(value).encode())"
            )
        shard = self._shard_for(partition_key, where)
        sequence = str(_KINESIS_SEQUENCE_BASE + self._puts * _KINESIS_SEQUENCE_STEP)
        event = kinesis_event(
            [bytes(data)],
            partition_keys=[partition_key],
            shard_id=shard.shard_id,
            stream_name=self.name,
            first_sequence_number=int(sequence),
            region=self.region,
            account_id=self.account_id,
        )["Records"][0]
        event["kinesis"]["approximateArrivalTimestamp"] = epoch_ms(self.clock()) / 1000
        self._append(shard, event, sequence, md5_hash_key(partition_key))
        return sequence

    def _shard_for(self, partition_key: Any, where: str) -> Shard:
        if not isinstance(partition_key, str) or not 1 <= len(partition_key) <= 256:
            raise EventSourceMappingError(
                f"{where}: partition_key={partition_key!r}: expected a string of 1 to 256 "
                "characters"
            )
        return self._shards[md5_hash_key(partition_key) * len(self._shards) // HASH_KEY_SPACE]

    def _arrival_text(self, record: StoredRecord) -> str:
        return iso_time(round(record.event["kinesis"]["approximateArrivalTimestamp"] * 1000))

    def __repr__(self) -> str:
        return f"KinesisStream({self.name!r}, shards={len(self._shards)}, records={len(self)})"


class DynamoDBStream(_Stream):
    """The DynamoDB stream of table ``table`` (``NEW_AND_OLD_IMAGES``), in memory, for
    :class:`~lambdakit.testing.esm.EventSourceMapping`.

    One shard; records are kept 24 hours (DynamoDB Streams' fixed retention). ``clock`` stamps
    ``ApproximateCreationDateTime``; without one the stream makes its own, which a mapping
    created without a clock shares.
    """

    _SOURCE = "dynamodb"
    _BATCH_INFO = "DDBStreamBatchInfo"
    _STARTING_POSITIONS = ("LATEST", "TRIM_HORIZON")
    _POLL_INTERVAL = 0.25  # Lambda polls DynamoDB stream shards four times per second

    def __init__(self, table: str, *, clock: FakeClock | None = None) -> None:
        if not isinstance(table, str) or not _TABLE_NAME.fullmatch(table):
            raise EventSourceMappingError(
                f"DynamoDBStream(table={table!r}): a table name is 3 to 255 characters of "
                "letters, digits, '_', '.' and '-'"
            )
        super().__init__(clock, DAY)
        self.table = table
        self.account_id = DEFAULT_ACCOUNT
        # DynamoDB's shard ids read "shardId-<20 digits>-<8 hex digits>".
        suffix = zlib.crc32(table.encode()) & 0xFFFFFFFF
        self._shards.append(
            Shard(f"shardId-{epoch_ms(0):020d}-{suffix:08x}", 0, HASH_KEY_SPACE - 1)
        )

    @property
    def arn(self) -> str:
        return (
            f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{self.table}"
            "/stream/2026-01-01T00:00:00.000"
        )

    def put(
        self,
        new_image: Mapping[str, Any] | None = None,
        old_image: Mapping[str, Any] | None = None,
        *,
        keys: Mapping[str, Any],
    ) -> str:
        """Record a change to the item with primary key ``keys`` and return its sequence
        number.

        ``eventName`` follows from the images given, as DynamoDB writes it: ``new_image`` alone
        is an INSERT, both a MODIFY, ``old_image`` alone a REMOVE. Images and keys are plain
        Python values (``str``, numbers, ``bytes``, sets, lists, dicts, ``None``), typed as
        DynamoDB's JSON (``{"S": ...}``, ``{"N": ...}`` ...) in the record.
        """
        where = f"{self!r}.put"
        if not isinstance(keys, Mapping) or not keys or not all(isinstance(k, str) for k in keys):
            raise EventSourceMappingError(
                f"{where}: keys={keys!r}: expected the item's primary key, a mapping of "
                "attribute name to value"
            )
        for name, image in (("new_image", new_image), ("old_image", old_image)):
            if image is not None and not isinstance(image, Mapping):
                raise EventSourceMappingError(
                    f"{where}: {name}={image!r}: expected an item, a mapping of attribute name "
                    "to value"
                )
        if new_image is None and old_image is None:
            raise EventSourceMappingError(
                f"{where}: give new_image (INSERT), old_image (REMOVE) or both (MODIFY)"
            )
        sequence = str(_DYNAMODB_SEQUENCE_BASE + self._puts * 100)
        change = {"new_image": new_image, "old_image": old_image, "keys": keys}
        try:
            event = dynamodb_stream_event(
                [change],
                table_name=self.table,
                first_sequence_number=int(sequence),
                region=self.region,
                account_id=self.account_id,
            )["Records"][0]
        except EventBuilderError as exc:
            raise EventSourceMappingError(
                f"{where}: {str(exc).removeprefix('changes[0].')}"
            ) from None
        event["eventSourceARN"] = self.arn
        event["dynamodb"]["ApproximateCreationDateTime"] = epoch_ms(self.clock()) // 1000
        item_key = json.dumps(event["dynamodb"]["Keys"], sort_keys=True, separators=(",", ":"))
        self._append(self._shards[0], event, sequence, md5_hash_key(item_key))
        return sequence

    def _arrival_text(self, record: StoredRecord) -> str:
        seconds = int(record.event["dynamodb"]["ApproximateCreationDateTime"])
        return iso_time(seconds * 1000, milliseconds=False)

    def __repr__(self) -> str:
        return f"DynamoDBStream({self.table!r}, records={len(self)})"


def iso_time(epoch_milliseconds: int, *, milliseconds: bool = True) -> str:
    """``2026-01-01T00:00:05.250Z`` (or without the fraction), as on-failure records write
    times."""
    seconds, millis = divmod(epoch_milliseconds, 1000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{text}.{millis:03d}Z" if milliseconds else f"{text}Z"
