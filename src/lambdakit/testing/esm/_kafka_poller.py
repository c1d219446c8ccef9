"""The Kafka poller: how Lambda's Amazon MSK / self-managed Kafka event source mapping drives a
handler, as AWS documents it (each rule's page is cited where it is applied).

- Records are read in offset order per partition, from the starting position (``LATEST``: the
  end of each partition when the mapping is created; ``TRIM_HORIZON``: offset 0); one event may
  hold several partitions, grouped by ``"<topic>-<partition>"`` (with-msk-configure.html).
- A batch is invoked when ``batch_size`` records are ready, when the batching window has passed
  since the first of them was ready, or when the next record would take the event past Lambda's
  6 MB payload limit (invocation-eventsourcemapping.html#invocation-eventsourcemapping-batching).
- Offsets are committed per partition: the committed offset is the lowest record not finished
  (:attr:`Summary.deleted` counts the records committed past). Filtered-out records are never
  delivered and are committed with the records around them (invocation-eventfiltering.html:
  "Lambda commits offsets for matched and unmatched messages after successfully invoking").
- On-demand mode (``provisioned_mode=False``): a failure (the function raised or timed out)
  retries the whole batch until it succeeds (with-msk-configure.html). The error handling
  controls (``report_batch_item_failures``, ``bisect_batch_on_function_error``,
  ``maximum_retry_attempts``, ``maximum_record_age``) exist only in provisioned mode
  (kafka-retry-configurations.html), so asking for them without it is refused.
- Provisioned mode: a partial batch response names failed records as
  ``{"partition": "<topic>-<n>", "offset": n}``, and only those are retried
  (kafka-retry-configurations.html, "PartialBatchResponse"); maximum retry attempts and record
  age send records to the on-failure destination and move on; -1 retries with a destination
  means 10 (kafka-on-failure-destination.html).

Where AWS is silent the model decides, and says so: a retry comes :data:`RETRY_DELAY` seconds
after the failed invocation ended; every failed delivery of a record counts as one of its
retries (bisected halves too); a batch is bisected only when the whole invocation failed.
"""

from __future__ import annotations

import base64
import json
from collections import deque
from typing import TYPE_CHECKING, Any

from lambdakit.errors import EventSourceMappingError
from lambdakit.testing.builders._common import DEFAULT_ACCOUNT, region_or_default
from lambdakit.testing.esm._invoke import RAISED, Outcome
from lambdakit.testing.esm._invoke import TIMED_OUT as INVOCATION_TIMED_OUT
from lambdakit.testing.esm._mapping import MAX_PAYLOAD_BYTES, epoch_ms
from lambdakit.testing.esm._responses import EVERY_RECORD
from lambdakit.testing.esm._stream_poller import deliver, destination_kind
from lambdakit.testing.esm._streams import iso_time
from lambdakit.testing.esm._summary import FAILED, FILTERED, SUCCEEDED, TIMED_OUT

if TYPE_CHECKING:
    from lambdakit.testing.esm._kafka import KafkaTopic, _Entry
    from lambdakit.testing.esm._mapping import EventSourceMapping

RETRY_DELAY = 1.0  # seconds from a failed invocation to its retry (AWS does not document it)
MAX_FUNCTION_TIMEOUT = 840  # Kafka event source mappings support functions of up to 14 minutes
RETRIES_WITH_DESTINATION = 10  # -1 retries and an on-failure destination: Lambda applies 10
STARTING_POSITIONS = ("LATEST", "TRIM_HORIZON")

Position = tuple[int, int]  # (partition, offset)


class KafkaPoller:
    """Delivers a :class:`KafkaTopic`'s records to a mapping's handler (see the module)."""

    def __init__(self, topic: KafkaTopic, mapping: EventSourceMapping) -> None:
        self._validate(topic, mapping)
        self._topic = topic
        self._mapping = mapping
        self._destination = _Destination.parse(mapping.on_failure, topic, mapping)
        count = topic.partitions
        if mapping.starting_position == "LATEST":
            start = [len(log) for log in topic._log]
        else:
            start = [0] * count
        self._scan = list(start)  # next offset the filter has not looked at
        self._committed = list(start)
        self._ready: list[deque[int]] = [deque() for _ in range(count)]  # admitted, undelivered
        self._retry: list[list[int]] = [[] for _ in range(count)]  # failed, to redeliver
        self._pinned: list[list[Position]] = []  # bisected halves, delivered as they are
        self._failures: dict[Position, int] = {}
        self._deliveries: dict[Position, int] = {}
        self._not_before = float("-inf")  # no retry before this time
        self._idle_since = mapping.clock()
        self._discards = 0
        retries = mapping.maximum_retry_attempts
        if not mapping.provisioned_mode:
            retries = -1
        elif retries == -1 and self._destination is not None:
            retries = RETRIES_WITH_DESTINATION
        self._retry_limit = retries
        self._base_size = len(json.dumps(topic._event({}), separators=(",", ":")))

    # --- options, checked as CreateEventSourceMapping checks them -------------------------------

    @staticmethod
    def _validate(topic: KafkaTopic, mapping: EventSourceMapping) -> None:
        def refuse(option: str, value: Any, why: str) -> None:
            raise EventSourceMappingError(f"{option}={value!r} for {topic!r}: {why}")

        size = mapping.batch_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 10_000:
            refuse("batch_size", size, "a Kafka event source takes 1 to 10000 records a batch")
        if mapping.function_timeout > MAX_FUNCTION_TIMEOUT:
            refuse(
                "function_timeout",
                mapping.function_timeout,
                "Kafka event source mappings only support functions with a timeout of up to "
                "14 minutes (840 s)",
            )
        if mapping.maximum_concurrency is not None:
            refuse("maximum_concurrency", mapping.maximum_concurrency, "an SQS-only option")
        if mapping.parallelization_factor != 1:
            refuse(
                "parallelization_factor",
                mapping.parallelization_factor,
                "a Kinesis and DynamoDB Streams option; Kafka has no parallelization factor",
            )
        if mapping.starting_position not in STARTING_POSITIONS:
            refuse(
                "starting_position",
                mapping.starting_position,
                "expected 'LATEST' or 'TRIM_HORIZON' (AT_TIMESTAMP needs a timestamp the model "
                "does not take)",
            )
        retries = mapping.maximum_retry_attempts
        if isinstance(retries, bool) or not isinstance(retries, int) or not -1 <= retries <= 10_000:
            refuse("maximum_retry_attempts", retries, "expected -1 (infinite) or 0 to 10000")
        age = mapping.maximum_record_age
        if (
            isinstance(age, bool)
            or not isinstance(age, int | float)
            or not (age == -1 or 60 <= age <= 604_800)
        ):
            refuse("maximum_record_age", age, "expected -1 (infinite) or 60 to 604800 seconds")
        if mapping.provisioned_mode:
            return
        needs_provisioned = {
            "report_batch_item_failures": (mapping.report_batch_item_failures, False),
            "bisect_batch_on_function_error": (mapping.bisect_batch_on_function_error, False),
            "maximum_retry_attempts": (retries, -1),
            "maximum_record_age": (age, -1),
        }
        for option, (value, default) in needs_provisioned.items():
            if value != default:
                refuse(
                    option,
                    value,
                    "Kafka's error handling controls need provisioned mode (pass "
                    "provisioned_mode=True); without it Lambda retries a failed batch until it "
                    "succeeds",
                )

    # --- the Poller protocol -------------------------------------------------------------------

    def poll(self) -> bool:
        now = self._mapping.clock()
        progress = self._scan_new(now)
        progress = self._expire(now) or progress
        batch = self._next_batch(now)
        if batch:
            self._deliver(batch)
            progress = True
        if progress:
            self._commit()
        return progress

    def wake(self) -> float | None:
        moments: list[float] = []
        if self._pinned or any(self._retry):
            moments.append(self._not_before)
        elif any(self._ready):
            moments.append(self._window_end())
        if not moments:
            return None
        expiry = self._next_expiry()
        if expiry is not None:
            moments.append(expiry)
        return min(moments)

    # --- reading and batching ------------------------------------------------------------------

    def _entry(self, position: Position) -> _Entry:
        return self._topic._log[position[0]][position[1]]

    def _key(self, position: Position) -> str:
        return f"{self._topic.name}-{position[0]}@{position[1]}"

    def _scan_new(self, now: float) -> bool:
        """Run the filter over records produced since the last poll: admitted ones become ready,
        the others are dropped without invoking (and committed with their neighbours)."""
        dropped = False
        oversized: list[Position] = []
        for partition, log in enumerate(self._topic._log):
            offset = self._scan[partition]
            while offset < len(log):
                entry = log[offset]
                if not self._mapping.admits(entry.record, "kafka"):
                    self._mapping.summary.record(self._key((partition, offset)), now, 0, FILTERED)
                    dropped = True
                elif self._base_size + entry.size + len(self._topic.name) + 16 > MAX_PAYLOAD_BYTES:
                    oversized.append((partition, offset))
                else:
                    self._ready[partition].append(offset)
                offset += 1
            self._scan[partition] = offset
        if oversized:
            # A record that cannot fit in any event: Lambda reports it to the on-failure
            # destination as MaximumPayloadSizeExceeded (with-msk-on-failure.html).
            self._discard(oversized, "MaximumPayloadSizeExceeded", None, now)
        return dropped or bool(oversized)

    def _expire(self, now: float) -> bool:
        """Provisioned mode with a maximum record age: records that reached it are sent to the
        on-failure destination instead of the function (kafka-retry-configurations.html).
        Records of a partition wait in offset order, which is also their age order, so the
        expired ones are a prefix of each waiting list."""
        age = self._mapping.maximum_record_age
        if not self._mapping.provisioned_mode or age == -1:
            return False
        log = self._topic._log
        expired: list[Position] = []
        for partition in range(self._topic.partitions):
            retry, ready = self._retry[partition], self._ready[partition]
            while retry and now - log[partition][retry[0]].arrival >= age:
                expired.append((partition, retry.pop(0)))
            while not retry and ready and now - log[partition][ready[0]].arrival >= age:
                expired.append((partition, ready.popleft()))
        if not expired:
            return False
        gone = set(expired)
        pinned = [[p for p in batch if p not in gone] for batch in self._pinned]
        self._pinned = [batch for batch in pinned if batch]
        self._discard(sorted(expired), "RecordAgeExceeded", None, now)
        return True

    def _next_expiry(self) -> float | None:
        age = self._mapping.maximum_record_age
        if not self._mapping.provisioned_mode or age == -1:
            return None
        log = self._topic._log
        arrivals = [log[p][waiting[0]].arrival for p, waiting in enumerate(self._retry) if waiting]
        arrivals += [log[p][waiting[0]].arrival for p, waiting in enumerate(self._ready) if waiting]
        return min(arrivals) + age if arrivals else None

    def _window_end(self) -> float:
        """When the batching window of the ready records closes: it opens when the first of
        them was ready (produced, or the previous invocation ended, whichever is later)."""
        log = self._topic._log
        first = min(log[p][offsets[0]].arrival for p, offsets in enumerate(self._ready) if offsets)
        return max(first, self._idle_since) + self._mapping.maximum_batching_window

    def _next_batch(self, now: float) -> list[Position] | None:
        if self._pinned:
            if now < self._not_before:
                return None
            batch = self._pinned.pop(0)
            taken = set(batch)
            for partition, offsets in enumerate(self._retry):
                self._retry[partition] = [o for o in offsets if (partition, o) not in taken]
            return batch
        retrying = any(self._retry)
        if retrying and now < self._not_before:
            return None
        if not retrying:
            if not any(self._ready):
                return None
            if not self._full() and now < self._window_end():
                return None
        return self._compose()

    def _full(self) -> bool:
        """Whether the ready records fill a batch (by count, or by payload size)."""
        limit = self._mapping.batch_size
        count, size = 0, self._base_size
        for partition, offsets in enumerate(self._ready):
            for offset in offsets:
                count += 1
                size += self._topic._log[partition][offset].size + 1
                if count >= limit or size > MAX_PAYLOAD_BYTES:
                    return True
        return False

    def _compose(self) -> list[Position]:
        """The next batch: records to retry first, then ready ones, taken from the partitions in
        turn (so every partition progresses), up to the batch size and the payload limit."""
        limit = self._mapping.batch_size
        log = self._topic._log
        taken_retry = [0] * self._topic.partitions
        taken_ready = [0] * self._topic.partitions
        batch: list[Position] = []
        size = self._base_size
        full = False
        while not full:
            moved = False
            for partition in range(self._topic.partitions):
                retry, ready = self._retry[partition], self._ready[partition]
                if taken_retry[partition] < len(retry):
                    offset = retry[taken_retry[partition]]
                    from_retry = True
                elif taken_ready[partition] < len(ready):
                    offset = ready[taken_ready[partition]]
                    from_retry = False
                else:
                    continue
                grows = log[partition][offset].size + 1
                if taken_retry[partition] + taken_ready[partition] == 0:
                    grows += len(self._topic.name) + 16  # the partition's "<topic>-<n>":[...]
                if batch and size + grows > MAX_PAYLOAD_BYTES:
                    full = True
                    break
                size += grows
                batch.append((partition, offset))
                if from_retry:
                    taken_retry[partition] += 1
                else:
                    taken_ready[partition] += 1
                moved = True
                if len(batch) >= limit:
                    full = True
                    break
            if not moved:
                break
        for partition in range(self._topic.partitions):
            del self._retry[partition][: taken_retry[partition]]
            for _ in range(taken_ready[partition]):
                self._ready[partition].popleft()
        batch.sort()
        return batch

    # --- one invocation ------------------------------------------------------------------------

    def _deliver(self, batch: list[Position]) -> None:
        mapping, topic = self._mapping, self._topic
        summary = mapping.summary
        now = mapping.clock()
        grouped: dict[str, list[dict[str, Any]]] = {}
        identifiers: list[dict[str, Any]] = []
        for partition, offset in batch:
            name = f"{topic.name}-{partition}"
            grouped.setdefault(name, []).append(self._entry((partition, offset)).record)
            identifiers.append({"partition": name, "offset": offset})
        outcome, failed = mapping.call(topic._event(grouped), identifiers)
        invocation = summary.invocations
        if failed is EVERY_RECORD:
            failing = list(batch)
        else:
            named = {(item["partition"], item["offset"]) for item in failed}
            failing = [p for p in batch if (f"{topic.name}-{p[0]}", p[1]) in named]
        failed_outcome = TIMED_OUT if outcome.kind == INVOCATION_TIMED_OUT else FAILED
        failing_set = set(failing)
        for position in batch:
            self._deliveries[position] = self._deliveries.get(position, 0) + 1
            outcome_of = failed_outcome if position in failing_set else SUCCEEDED
            payload = str(self._entry(position).record["value"])
            summary.record(self._key(position), now, invocation, outcome_of, payload)
        self._idle_since = mapping.clock()
        if failing:
            self._failed(failing, failed is EVERY_RECORD, outcome, invocation)

    def _failed(
        self, failing: list[Position], whole: bool, outcome: Outcome, invocation: int
    ) -> None:
        """What follows a failure: retry after :data:`RETRY_DELAY`; in provisioned mode, records
        past their retry attempts go to the on-failure destination, and a batch whose whole
        invocation failed is bisected when asked."""
        mapping = self._mapping
        self._not_before = mapping.clock() + RETRY_DELAY
        for position in failing:
            self._failures[position] = self._failures.get(position, 0) + 1
        remaining = failing
        if self._retry_limit >= 0:
            exhausted = [p for p in failing if self._failures[p] > self._retry_limit]
            if exhausted:
                gone = set(exhausted)
                remaining = [p for p in failing if p not in gone]
                self._discard(
                    exhausted,
                    "RetryAttemptsExhausted",
                    _Invocation(outcome, invocation),
                    mapping.clock(),
                )
        for partition, offset in remaining:
            retry = self._retry[partition]
            retry.append(offset)
            retry.sort()
        # Bisecting needs provisioned mode (refused without it when the mapping was made).
        if mapping.bisect_batch_on_function_error and whole and len(remaining) >= 2:
            half = len(remaining) // 2
            self._pinned[0:0] = [remaining[:half], remaining[half:]]

    def _commit(self) -> None:
        """Advance each partition's committed offset to its lowest unfinished record."""
        moved = 0
        for partition in range(self._topic.partitions):
            low = self._scan[partition]
            if self._retry[partition]:
                low = min(low, self._retry[partition][0])
            if self._ready[partition]:
                low = min(low, self._ready[partition][0])
            moved += low - self._committed[partition]
            self._committed[partition] = low
        self._mapping.summary.deleted += moved

    # --- the on-failure destination ------------------------------------------------------------

    def _discard(
        self,
        positions: list[Position],
        condition: str,
        invocation: _Invocation | None,
        now: float,
    ) -> None:
        """Records the mapping gives up on: finished (committed past), and reported to the
        on-failure destination when there is one."""
        for position in positions:
            self._failures.pop(position, None)
        self._discards += 1
        if self._destination is None:
            return
        entries = [(p, self._entry(p)) for p in sorted(positions)]
        attempts = max(self._deliveries.get(p, 0) for p, _ in entries)
        request_id = (
            f"esm-invocation-{invocation.number}"
            if invocation is not None
            else f"esm-discard-{self._discards}"
        )
        context = {
            "requestId": request_id,
            "functionArn": self._function_arn(),
            "condition": condition,
            "approximateInvokeCount": attempts,
        }
        self._destination.send(self, entries, context, _response_context(invocation), now)

    def _function_arn(self) -> str:
        arn = self._topic._source_arn
        region = arn.split(":")[3] if arn else region_or_default(None)
        name = getattr(self._mapping.handler, "__name__", None) or "function"
        return f"arn:aws:lambda:{region}:{DEFAULT_ACCOUNT}:function:{name}"

    def _batch_info(
        self, entries: list[tuple[Position, _Entry]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``KafkaBatchInfo`` without its per-record part (batch size, source, payload size),
        and the event the records made."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for (partition, _offset), entry in entries:
            grouped.setdefault(f"{self._topic.name}-{partition}", []).append(entry.record)
        event = self._topic._event(grouped)
        info: dict[str, Any] = {"batchSize": len(entries)}
        if self._topic._source_arn is not None:
            info["eventSourceArn"] = self._topic._source_arn
        info["bootstrapServers"] = self._topic._bootstrap_servers
        info["payloadSize"] = len(json.dumps(event, separators=(",", ":")).encode())
        return info, event


class _Invocation:
    """The failed invocation behind a discard: its outcome and number."""

    __slots__ = ("number", "outcome")

    def __init__(self, outcome: Outcome, number: int) -> None:
        self.outcome = outcome
        self.number = number


def _response_context(invocation: _Invocation | None) -> dict[str, Any] | None:
    """``responseContext``: null when no invocation was made (with-msk-on-failure.html);
    ``functionError`` when the function raised or timed out (Lambda's ``Unhandled``)."""
    if invocation is None:
        return None
    context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if invocation.outcome.kind in (RAISED, INVOCATION_TIMED_OUT):
        context["functionError"] = "Unhandled"
    return context


class _Destination:
    """Where discarded records are reported, and in which of AWS's documented shapes.

    - a Kafka topic (``"kafka://<topic>"``, or a :class:`KafkaTopic`, which then receives the
      messages): one message per discarded record, with ``recordInfo`` and the record's event
      as ``payload``, produced with the record's key (kafka-on-failure-destination.html;
      provisioned mode only);
    - anything the stream sources take (:func:`~._stream_poller.destination_kind`): the ARN of
      an SQS queue or SNS topic, one invocation record per discarded batch with
      ``KafkaBatchInfo.recordsInfo`` by topic-partition (with-msk-on-failure.html); an S3
      bucket's ARN, the same with ``payload``, the whole event as JSON text; an ``SQSQueue``
      (or any object with ``send(body)``) or a list, which receive those records.
    """

    __slots__ = ("kind", "target")

    def __init__(self, kind: str, target: Any) -> None:
        self.kind = kind
        self.target = target

    @classmethod
    def parse(
        cls, value: Any, topic: KafkaTopic, mapping: EventSourceMapping
    ) -> _Destination | None:
        from lambdakit.testing.esm._kafka import KafkaTopic

        if isinstance(value, KafkaTopic):
            name = value.name
        elif isinstance(value, str) and value.startswith("kafka://"):
            name = value[len("kafka://") :]
        else:
            kind = destination_kind(value, repr(topic))
            return None if kind is None else cls(kind, value)
        if not mapping.provisioned_mode:
            raise EventSourceMappingError(
                f"on_failure={value!r} for {topic!r}: a Kafka on-failure destination is only "
                "available in provisioned mode (pass provisioned_mode=True)"
            )
        if name == topic.name:
            raise EventSourceMappingError(
                f"on_failure={value!r} for {topic!r}: the destination topic cannot be the "
                "source topic (Lambda refuses the loop)"
            )
        return cls("kafka", value if isinstance(value, KafkaTopic) else None)

    def send(
        self,
        poller: KafkaPoller,
        entries: list[tuple[Position, _Entry]],
        context: dict[str, Any],
        response: dict[str, Any] | None,
        now: float,
    ) -> None:
        summary = poller._mapping.summary
        if self.kind == "kafka":
            for position, entry in entries:
                info, event = poller._batch_info([(position, entry)])
                info["recordInfo"] = {
                    "offset": str(position[1]),
                    "timestamp": iso_time(entry.record["timestamp"]),
                }
                condition = context["condition"]
                message = {
                    # The Kafka destination page spells exhausted retries "RetriesExhausted".
                    "requestContext": {
                        **context,
                        "condition": "RetriesExhausted"
                        if condition == "RetryAttemptsExhausted"
                        else condition,
                    },
                    "responseContext": response,
                    "version": "1.0",
                    "timestamp": iso_time(epoch_ms(now)),
                    "KafkaBatchInfo": info,
                    "payload": event,
                }
                summary.on_failure.append(message)
                if self.target is not None:
                    key = entry.record.get("key")
                    self.target.produce(
                        json.dumps(message),
                        key=None if key is None else base64.b64decode(key),
                    )
            return
        info, event = poller._batch_info(entries)
        records_info: dict[str, dict[str, str]] = {}
        for (partition, _offset), entry in entries:
            name = f"{poller._topic.name}-{partition}"
            stamp = iso_time(entry.record["timestamp"])
            found = records_info.get(name)
            if found is None:
                records_info[name] = {
                    "firstRecordOffset": str(entry.record["offset"]),
                    "lastRecordOffset": str(entry.record["offset"]),
                    "firstRecordTimestamp": stamp,
                    "lastRecordTimestamp": stamp,
                }
            else:
                found["lastRecordOffset"] = str(entry.record["offset"])
                found["lastRecordTimestamp"] = stamp
        info["recordsInfo"] = records_info
        record: dict[str, Any] = {
            "requestContext": context,
            "responseContext": response,
            "version": "1.0",
            "timestamp": iso_time(epoch_ms(now)),
            "KafkaBatchInfo": info,
        }
        if self.kind == "s3":
            record["payload"] = json.dumps(event)
        summary.on_failure.append(record)
        deliver(self.target, record)
