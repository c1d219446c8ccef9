"""Device telemetry from a Kinesis stream, aggregated per device in DynamoDB: counted once per
reading, in order per device, with partial batch responses.

Deployed with ``template.yaml``. Devices put one JSON record per reading on the stream, with the
device id as partition key::

    {"device_id": "d-17", "kind": "reading", "ts": 1767225600123, "temperature": 21.5}

and the table ``AGGREGATES_TABLE`` keeps one item per device: ``readings`` (how many),
``temperature_sum`` (their sum; the mean is the quotient), ``last_reading_at`` (the latest
``ts`` seen, epoch milliseconds), and ``shard_id`` / ``sequence_number``, the stream position of
the last reading counted.

How the decorators stack, outermost first, and why::

    filter_records      the template's FilterCriteria: heartbeats never run here, as on Lambda
      handler           raises BatchMadeNoProgress when the batch's first reading failed
        process_batch   (count_reading) concurrency=8, in order per device; answers the
                        sequence number of the first reading that failed
          count_reading validate one reading, add it to its device's item

``@filter_records`` must be over ``process_batch`` (Lambda filters before it forms a batch);
under it, the module would refuse to load with ``DecoratorOrderError``.

Order
-----
Kinesis keeps the records of one partition key in one shard, in sequence-number order, and
Lambda runs one invocation per shard at a time. ``process_batch(concurrency=8)`` keeps that
order per partition key: the readings of one device run one after the other, different devices
run in parallel (eight UpdateItem calls in flight instead of one). When a reading fails, no
reading with a higher sequence number starts, and the response names the lowest sequence
number that failed or did not run: Lambda checkpoints just before it and redelivers the rest.

Counted once
------------
Redelivery is routine, not an edge case. Readings of *other* devices that ran in parallel with
a failed one, and have higher sequence numbers, succeeded but are delivered again from the
checkpoint; a batch that times out or raises is delivered again whole; a bisected batch's
halves repeat what already ran. A plain ``ADD readings :1`` would count each of them twice.

So every update is conditional on the reading being newer than the last one counted for its
device: ``sequence_number < :seq`` (the item's position, stored zero-padded to Kinesis's 129
digits so DynamoDB's string order is numeric order), or a different ``shard_id``. That is exact,
with one stored position per device and no read, because of the order above: a device's
readings are counted strictly in sequence order and a failure stops its later ones, so every
reading at or below the stored position was counted (or discarded, below), and none above
it. A redelivered reading is at or below the stored position: the condition fails, and the
reading succeeds without counting again. After a reshard, a device's new readings go to a
child shard, which Lambda reads once the parent is finished, so a new ``shard_id`` only ever
means newer readings.

``last_reading_at`` is a maximum, which needs no guard (applying it twice changes nothing), but
DynamoDB has no ``max()``: the first UpdateItem also requires ``last_reading_at < :ts`` (or no
``last_reading_at`` yet). When a device's clock went backwards that condition fails and a second
UpdateItem counts the reading without touching ``last_reading_at``. A reading in order costs one
write; a reading older than the latest, or a redelivered one, two.

The guarantee is therefore: *every reading is counted at most once*, and exactly once unless
Lambda discards its batch. Concretely:

- A reading that fails (a bad ``temperature``, a ``device_id`` that is not its partition key,
  DynamoDB throttling) is retried with everything after it in its shard, up to
  ``MaximumRetryAttempts`` (3) times; a record that is not a JSON reading never gets here.
- A discarded batch (retries exhausted, or readings older than ``MaximumRecordAgeInSeconds``)
  is described to the ``TelemetryFailures`` queue: shard id, first and last sequence number.
  Its readings stay uncounted. Replaying them through this function does not help: the device
  has moved past them, and the guard that stops double counting refuses them too. Correct the
  device's item from the stream records the message names (README).

Bisect
------
After a partial response Lambda retries from the failed reading, so the retried batch starts
with it. If it fails again, a partial response naming it would checkpoint nowhere, and once
the retries run out Lambda would discard the whole batch: the poison reading *and every reading
behind it*, counted or not. ``BisectBatchOnFunctionError`` only helps when the invocation
fails, and a partial response is a success; ``raise_on_all_failed=True`` is not enough either,
because the other devices' readings run beside the poison one (or are redeliveries, which
succeed without counting), so rarely does *no* reading succeed. Hence the rule in
:func:`handler`: when the batch's first reading failed, the response would make no progress,
and the invocation raises instead. Lambda splits the batch in two and retries each half; the
half with the poison reading splits again, until it is alone. Only that reading is retried to
exhaustion and discarded, and the readings behind it are counted. Raising costs nothing: the
readings that succeeded in that invocation were counted and are skipped when redelivered.
"""

from __future__ import annotations

import math
import os
import threading
from decimal import Decimal, InvalidOperation
from typing import Any

from lambdakit.batch import KinesisRecord, process_batch
from lambdakit.filtering import FilterCriteria, filter_records

AGGREGATES_TABLE = os.environ.get("AGGREGATES_TABLE", "telemetry-aggregates")
# Kinesis sequence numbers are up to 129 decimal digits (the API's pattern 0|([1-9]\d{0,128})).
SEQUENCE_DIGITS = 129


class BatchMadeNoProgress(Exception):
    """The batch's first reading failed: raised so that Lambda bisects the batch."""


class InvalidReading(ValueError):
    """A reading this function cannot count: it fails its record, which Lambda retries and, once
    the retries are exhausted, describes to the on-failure queue."""


class Reading:
    """One reading, validated, with its place in the stream. A plain class: ``dataclasses``
    would add milliseconds to every cold start for five fields."""

    __slots__ = ("device_id", "sequence_number", "shard_id", "temperature", "ts")

    def __init__(
        self,
        *,
        device_id: str,
        ts: int,  # epoch milliseconds, the device's clock
        temperature: Decimal,
        shard_id: str,
        sequence_number: str,  # zero-padded to SEQUENCE_DIGITS: DynamoDB compares bytewise
    ) -> None:
        self.device_id = device_id
        self.ts = ts
        self.temperature = temperature
        self.shard_id = shard_id
        self.sequence_number = sequence_number


def parse_reading(record: KinesisRecord) -> Reading:
    """The reading a record carries, or :class:`InvalidReading` naming the record and field."""
    where = f"{record.shard_id}@{record.sequence_number}"
    data = record.json()
    if not isinstance(data, dict):
        raise InvalidReading(f"{where}: data is not a JSON object")
    device = data.get("device_id")
    if device != record.partition_key:
        # Per-device order, and so the guard against double counting, rest on this.
        raise InvalidReading(
            f"{where}.data.device_id: {device!r} is not the record's partition key "
            f"{record.partition_key!r}; producers must key each reading by its device"
        )
    ts = data.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        raise InvalidReading(f"{where}.data.ts: expected epoch milliseconds, got {ts!r}")
    raw = data.get("temperature")
    try:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise InvalidOperation
        temperature = Decimal(str(raw))
    except InvalidOperation:
        raise InvalidReading(f"{where}.data.temperature: expected a number, got {raw!r}") from None
    if isinstance(raw, float) and not math.isfinite(raw):
        raise InvalidReading(f"{where}.data.temperature: expected a number, got {raw!r}")
    return Reading(
        device_id=device,
        ts=ts,
        temperature=temperature,
        shard_id=record.shard_id or "",  # from eventID, which Lambda always sends
        sequence_number=record.sequence_number.zfill(SEQUENCE_DIGITS),
    )


# Newer than the last reading counted for the device (see the module docstring).
_NEWER = "attribute_not_exists(sequence_number) OR shard_id <> :shard OR sequence_number < :seq"
_COUNT = "ADD readings :one, temperature_sum :temperature"
_POSITION = "shard_id = :shard, sequence_number = :seq"


class Aggregates:
    """The per-device aggregates table. ``client`` is a boto3 DynamoDB client; without one, it
    is created on first use, so importing this module makes no request and imports no boto3."""

    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self._client = client
        self._lock = threading.Lock()  # process_batch's threads may all ask for it first

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3

                    self._client = boto3.client("dynamodb")
        return self._client

    def add(self, reading: Reading) -> bool:
        """Count ``reading`` in its device's item: true when counted now, false when it already
        was (a redelivery). One UpdateItem when the reading is the device's latest, two when it
        is older than ``last_reading_at`` or a redelivery."""
        if self._update(reading, latest=True):
            return True
        return self._update(reading, latest=False)

    def _update(self, reading: Reading, *, latest: bool) -> bool:
        """One conditional UpdateItem; false when its condition failed. ``latest`` also moves
        ``last_reading_at`` to the reading's ``ts``, on condition that this is later."""
        values: dict[str, Any] = {
            ":one": {"N": "1"},
            ":temperature": {"N": str(reading.temperature)},
            ":shard": {"S": reading.shard_id},
            ":seq": {"S": reading.sequence_number},
        }
        update, condition = f"{_COUNT} SET {_POSITION}", _NEWER
        if latest:
            update += ", last_reading_at = :ts"
            condition = (
                f"({_NEWER}) AND (attribute_not_exists(last_reading_at) OR last_reading_at < :ts)"
            )
            values[":ts"] = {"N": str(reading.ts)}
        client = self.client
        try:
            client.update_item(
                TableName=self.table,
                Key={"device_id": {"S": reading.device_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True


aggregates = Aggregates(AGGREGATES_TABLE)

# The criteria the template deploys on the stream, read from the template packaged beside this file
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "template.yaml")


@process_batch(concurrency=8)
def count_reading(record: KinesisRecord) -> bool:
    """Count one reading; whether it was new (false: a redelivery, already counted)."""
    return aggregates.add(parse_reading(record))


@filter_records(FilterCriteria.from_template(TEMPLATE, "TelemetryFunction"))  # what Lambda drops
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The batch's partial response, or :class:`BatchMadeNoProgress` when it would name the
    batch's first reading (see "Bisect" in the module docstring)."""
    response: dict[str, Any] = count_reading(event, context)
    failures = response["batchItemFailures"]
    if failures:
        first = event["Records"][0]["kinesis"]["sequenceNumber"]
        if failures[0]["itemIdentifier"] == first:
            raise BatchMadeNoProgress(
                f"Records[0] (sequence number {first}) failed: a partial response would "
                "checkpoint nowhere; failing the invocation so that Lambda bisects the batch"
            )
    return response
