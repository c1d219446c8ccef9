"""``KafkaTopic``: an in-memory Kafka topic that an :class:`EventSourceMapping` reads as Lambda's
Amazon MSK / self-managed Apache Kafka poller does.

The topic is a log per partition: :meth:`KafkaTopic.produce` appends a record and returns its
offset, and consuming never removes anything (Kafka keeps records until its retention passes,
which the model does not simulate). Records are stored already in the shape Lambda delivers
them (``value`` and ``key`` base64, headers as Java's signed bytes), built with the same helpers
as :func:`lambdakit.testing.kafka_event`, so what a handler receives from the model is what it
receives from a hand-built event and from Lambda.

Which partition a record goes to, as a Kafka producer decides it:

- ``partition=`` given: that one;
- a key: ``toPositive(murmur2(key)) % partitions``, the Java client's default for keyed records
  (``BuiltInPartitioner.partitionForKey``; :func:`murmur2` is Kafka's ``Utils.murmur2``), so
  a key lands where a Java producer (or librdkafka with ``partitioner=murmur2_random``) puts it;
- no key: round-robin over the partitions. The Java client spreads keyless records with a
  "sticky" partitioner whose choice depends on its batching, which a model cannot reproduce;
  round-robin is the deterministic spread (and what Lambda itself uses when it writes a keyless
  record to a Kafka on-failure destination).

A record that keeps failing is retried until it succeeds (on-demand mode, or provisioned mode
with infinite retries and no destination), as Lambda retries it until the topic's retention drops
it; the model keeps records forever, so bound such a run with ``run(max_time=...)`` or
``until=``. The poller lives in :mod:`lambdakit.testing.esm._kafka_poller`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lambdakit.errors import EventBuilderError, EventSourceMappingError
from lambdakit.testing.builders._common import payload_bytes
from lambdakit.testing.builders.kafka import _headers, kafka_event
from lambdakit.testing.clock import FakeClock
from lambdakit.testing.esm._mapping import epoch_ms

if TYPE_CHECKING:
    from lambdakit.testing.esm._kafka_poller import KafkaPoller
    from lambdakit.testing.esm._mapping import EventSourceMapping

# Kafka's own rule for topic names (org.apache.kafka.common.internals.Topic.validate).
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
_MASK32 = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2``: the 32-bit hash the Java producer partitions keys with,
    returned as Java's signed ``int`` (Kafka's ``UtilsTest.testMurmur2`` vectors hold)."""
    m = 0x5BD1E995
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK32
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = (int.from_bytes(data[i : i + 4], "little") * m) & _MASK32
        k ^= k >> 24
        k = (k * m) & _MASK32
        h = ((h * m) & _MASK32) ^ k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h = ((h ^ data[whole]) * m) & _MASK32
    h ^= h >> 13
    h = (h * m) & _MASK32
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition the Java producer's default partitioner chooses for ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class _Entry:
    """One record of the log: Lambda's shape, when it was produced, its size in an event."""

    __slots__ = ("arrival", "record", "size")

    def __init__(self, record: dict[str, Any], arrival: float) -> None:
        self.record = record
        self.arrival = arrival
        self.size = len(json.dumps(record, separators=(",", ":")))


class KafkaTopic:
    """An in-memory Kafka topic (Amazon MSK by default; ``self_managed=True``: self-managed
    Apache Kafka), for :class:`~lambdakit.testing.esm.EventSourceMapping`.

    ``bootstrap_servers`` and ``cluster_name`` only shape the events (``bootstrapServers``,
    the MSK ``eventSourceArn``), with :func:`~lambdakit.testing.kafka_event`'s defaults.
    ``clock`` (a :class:`~lambdakit.testing.FakeClock`) stamps each record's ``timestamp``;
    without one the topic makes its own, which a mapping created without a clock shares.
    """

    def __init__(
        self,
        name: str,
        *,
        partitions: int = 1,
        self_managed: bool = False,
        bootstrap_servers: str | None = None,
        cluster_name: str = "test-cluster",
        clock: FakeClock | None = None,
    ) -> None:
        if not isinstance(name, str) or not _TOPIC_NAME.fullmatch(name) or name in (".", ".."):
            raise EventSourceMappingError(
                f"KafkaTopic(name={name!r}): a Kafka topic name is 1 to 249 characters of "
                "letters, digits, '.', '_' and '-'"
            )
        if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
            raise EventSourceMappingError(
                f"KafkaTopic({name!r}, partitions={partitions!r}): expected a whole number >= 1"
            )
        self.name = name
        self.partitions = partitions
        self.self_managed = bool(self_managed)
        self._clock_was_given = clock is not None
        self.clock: FakeClock = clock if clock is not None else FakeClock()
        self._log: list[list[_Entry]] = [[] for _ in range(partitions)]
        self._next_keyless = 0
        options: dict[str, Any] = {"topic": name, "self_managed": self.self_managed}
        if bootstrap_servers is not None:
            options["bootstrap_servers"] = bootstrap_servers
        options["cluster_name"] = cluster_name
        envelope = kafka_event([], **options)
        del envelope["records"]
        self._envelope = envelope

    # --- producing -----------------------------------------------------------------------------

    def produce(
        self,
        value: Any,
        *,
        key: Any = None,
        partition: int | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> int:
        """Append a record and return its offset in its partition.

        ``value`` and ``key``: bytes as they are, ``str`` as UTF-8, anything else as JSON
        (``key=None``: a record without a key). ``headers``: a mapping of name to value (bytes,
        ``str`` or JSON). The partition is ``partition`` when given, else the key's murmur2
        hash as the Java producer computes it, else the next one round-robin. The record's
        ``timestamp`` is the topic's clock (``CREATE_TIME``, as a producer stamps it).
        """
        where = f"{self!r}.produce"
        try:
            blob = payload_bytes(value, f"{where}: value")
            key_bytes = None if key is None else payload_bytes(key, f"{where}: key")
            if headers is not None and not isinstance(headers, Mapping):
                raise EventSourceMappingError(
                    f"{where}: headers={headers!r}: expected a mapping of name to value"
                )
            header_list = _headers(headers, f"{where}: headers")
        except EventBuilderError as exc:
            raise EventSourceMappingError(str(exc)) from None
        chosen = self._partition(partition, key_bytes, where)
        log = self._log[chosen]
        offset = len(log)
        record: dict[str, Any] = {
            "topic": self.name,
            "partition": chosen,
            "offset": offset,
            "timestamp": epoch_ms(self.clock()),
            "timestampType": "CREATE_TIME",
            "value": base64.b64encode(blob).decode("ascii"),
            "headers": header_list,
        }
        if key_bytes is not None:
            record["key"] = base64.b64encode(key_bytes).decode("ascii")
        log.append(_Entry(record, self.clock()))
        return offset

    def _partition(self, partition: Any, key: bytes | None, where: str) -> int:
        if partition is not None:
            if (
                isinstance(partition, bool)
                or not isinstance(partition, int)
                or not 0 <= partition < self.partitions
            ):
                raise EventSourceMappingError(
                    f"{where}: partition={partition!r}: the topic has partitions 0 to "
                    f"{self.partitions - 1}"
                )
            return partition
        if key is not None:
            return partition_for_key(key, self.partitions)
        chosen = self._next_keyless
        self._next_keyless = (chosen + 1) % self.partitions
        return chosen

    # --- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        """How many records the topic holds (consuming removes none, as in Kafka)."""
        return sum(len(log) for log in self._log)

    def records(self, partition: int | None = None) -> list[dict[str, Any]]:
        """The records (copies, in Lambda's shape), partition by partition in offset order, or
        only ``partition``'s."""
        if partition is not None:
            self._partition(partition, None, f"{self!r}.records")
            logs = [self._log[partition]]
        else:
            logs = self._log
        return [json.loads(json.dumps(entry.record)) for log in logs for entry in log]

    def __repr__(self) -> str:
        return f"KafkaTopic({self.name!r}, partitions={self.partitions}, records={len(self)})"

    # --- what the mapping and its poller use ---------------------------------------------------

    def _adopt_clock(self, clock: FakeClock) -> None:
        """Move to ``clock`` (the mapping's), keeping each record as old as it was on the old
        clock (its ``timestamp``, already written, stays)."""
        shift = clock() - self.clock()
        for log in self._log:
            for entry in log:
                entry.arrival += shift
        self.clock = clock

    def _clock_given(self) -> bool:
        return self._clock_was_given

    def _poller(self, mapping: EventSourceMapping) -> KafkaPoller:
        from lambdakit.testing.esm._kafka_poller import KafkaPoller

        return KafkaPoller(self, mapping)

    def _event(self, records: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        """A Lambda event with ``records`` grouped by ``"<topic>-<partition>"``."""
        return {**self._envelope, "records": records}

    @property
    def _source_arn(self) -> str | None:
        arn = self._envelope.get("eventSourceArn")
        return arn if isinstance(arn, str) else None

    @property
    def _bootstrap_servers(self) -> str:
        return str(self._envelope["bootstrapServers"])
