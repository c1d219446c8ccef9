"""Benchmark ``lambdakit.kafka`` against confluent-kafka's ``Producer`` used directly.

Both run against librdkafka's mock cluster, a real Kafka protocol peer
(``lambdakit.testing.kafka_cluster.MockKafkaCluster(broker_count=1)``, a helper process serving
127.0.0.1, started by this script), side by side in one run. Every producer, lambdakit's and the
peers', gets the same configuration: ``bootstrap.servers`` and ``linger.ms=5`` (librdkafka's
default, written out), nothing else. Every message is a 100-byte value without a key; each side
writes to topics of its own, one partition each. Cases:

1. Latency of one invocation that produces one message and flushes. lambdakit: a ``Producer``
   built once (it stands for module scope) and a handler under ``@flush_kafka(producer)`` that
   calls ``producer.produce(topic, value)``, called with a ``lambdakit.testing.LambdaContext``.
   Floor, which is also the peer's fastest configuration (the raw client, reused; Powertools
   has no producer): a ``confluent_kafka.Producer`` built once, its handler calling ``produce``
   then ``flush()``. Beside it, the common mistake: a handler that creates a
   ``confluent_kafka.Producer``, produces, ``flush()``es and drops it (destroyed when the handler
   returns, inside the timing). One untimed warm-up call each, then rounds of one
   new-Producer call and five lambdakit and five floor calls (who goes first alternating):
   medians per invocation. Target (on the new-Producer row): lambdakit <= 0.1x its time.
2. Throughput of 10,000 messages produced in one invocation. lambdakit: a handler under
   ``@flush_kafka`` calling ``Producer.produce`` 10,000 times. Peer: a reused
   ``confluent_kafka.Producer``, ``produce`` 10,000 times (``poll(0)`` and retry on
   ``BufferError``), then ``flush()``. Both clients are warm (connected, topic metadata known)
   from an untimed run, so this measures the produce + flush path; runs alternate, medians
   shown as messages per second. The ratio and target are on time (lambdakit / peer): a
   throughput of at least 0.9x the peer's is a time ratio of at most 1/0.9.
3. Informational (no target): the same 10,000 messages against the reused peer producer with an
   ``on_delivery`` callback on every message that counts deliveries, which is what knowing each
   message's outcome costs in confluent-kafka itself (lambdakit's per-call ledger needs it).
4. ``Producer.produce_many`` of the same 10,000 messages in one invocation under ``@flush_kafka``
   (the list of values built inside the timing), its own warm ``Producer``, in the same
   alternation as case 2: against the bare reused-producer loop of case 2 (the floor; target:
   at least 0.95x its throughput, a time ratio of at most 1/0.95) and, informational, against
   lambdakit's ``produce`` called per message (case 2's lambdakit side).
5. Informational (no target): decoding 10,000 Kafka records whose values are Confluent-framed
   Avro (magic byte, 4-byte schema id, Avro binary; as Lambda delivers them from a topic with
   no registry integration on the event source mapping: base64 in the event). lambdakit:
   ``KafkaRecord(raw).value_as(AvroSchema(...))`` per record (a fresh view each, as
   ``process_batch`` makes them). Peers: Powertools' Kafka consumer in its fastest documented
   configuration (``@kafka_consumer`` with a ``SchemaConfig`` built once at module scope:
   ``value_schema_type="AVRO"``, the schema as a JSON string, no output serializer, and
   ``value_schema_wire_format="CONFLUENT"`` so that it strips the framing itself), whose handler
   reads every record's lazy ``.value``; and ``base64.b64decode``, the 5-byte header skipped,
   then ``fastavro.schemaless_reader`` with the schema parsed once (what confluent-kafka's
   deserializer calls; its own row). Floor: ``base64.b64decode`` only. No broker: CPU time
   (the machine is shared), medians of runs alternating the four sides; every side's results
   are checked (untimed) against the records written.

Checks (a failure stops the run with exit status 1): every lambdakit call returns
(``flush_kafka`` raises when a message of the call was not delivered); every peer flush leaves
nothing queued; the counting callback saw every message delivered; and at the end each topic's
high watermark, read back from the broker with a consumer, equals the number of messages sent to
it. The notes give lambdakit's Python-level calls per message, counted with cProfile on one
extra 10,000-message invocation (not timed).

Run with ``make bench`` or ``.venv/bin/python bench/kafka_bench.py`` from the project root;
``--quick`` is a smaller smoke run, ``--markdown`` prints the table as Markdown for the docs.
Exits non-zero only when a correctness check fails; a missed target is reported, not fatal.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import confluent_kafka
from _report import FloorRow, Row, arguments, check, powertools_defaults, print_header, render
from coldstart.lambda_env import lambda_logging

from lambdakit.events import KafkaRecord
from lambdakit.kafka import AvroSchema, Producer, flush_kafka
from lambdakit.testing import LambdaContext, kafka_event
from lambdakit.testing.kafka_cluster import MockKafkaCluster

HEADER = ["case", "floor", "lambdakit", "peer", "lk / floor", "lk / peer (time)", "target", "met?"]
VALUE = b"v" * 100
LK_CALLS_PER_ROUND = 5  # lambdakit invocations per peer invocation in case 1
FLUSH_TIMEOUT = 10.0  # seconds; the peers' flush bound (lambdakit's comes from the context)
THROUGHPUT_TARGET = 1 / 0.9
BULK_TARGET = 1 / 0.95  # produce_many: at least 0.95x the bare client loop's throughput

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Sizes:
    rounds: int  # case 1: rounds of one peer call, LK_CALLS_PER_ROUND lambdakit and floor calls
    messages: int  # case 2: messages per invocation
    reps: int  # case 2: timed runs per side


FULL = Sizes(rounds=100, messages=10_000, reps=25)
QUICK = Sizes(rounds=10, messages=10_000, reps=3)


@dataclass(frozen=True)
class PeerRow(Row):
    """lambdakit against one named peer (the ``powertools`` field holds the peer's figure), no
    floor: "-" in the floor columns, so that it shares :class:`NamedFloorRow`'s table.
    ``per_second``: the figures are seconds per message, shown as messages per second."""

    peer: str = ""
    per_second: bool = False

    def cells(self) -> list[str]:
        case, _, _, ratio, _, met = super().cells()
        show = rate if self.per_second else (lambda value: figure(value, self.unit))
        target = "n/a" if self.target is None else f"<= {self.target:.4g}x"
        peer = f"{show(self.powertools)} ({self.peer})"
        return [case, "-", show(self.lambdakit), peer, "-", ratio, target, met]

    def miss(self) -> str:
        """Why the row missed its target, for the list under the table."""
        assert self.target is not None
        ratio = self.lambdakit / self.powertools
        return (
            f"{self.case}: {ratio:.3f}x, target <= {self.target:.4g}x "
            f"(lambdakit needs to be {ratio / self.target:.2f}x as fast)"
        )


@dataclass(frozen=True)
class NamedFloorRow(FloorRow):
    """A :class:`FloorRow` in this script's one table, where the peer differs from row to row:
    the peer cell names it (``peer_name``)."""

    def cells(self) -> list[str]:
        cells = super().cells()
        cells[3] = f"{cells[3]} ({self.peer_name})"
        return cells

    def miss(self) -> str:
        """Why the row missed a target, for the list under the table."""
        _, _, _, _, floor, peer, target, _ = self.cells()
        return f"{self.case}: lk / floor {floor}, lk / peer {peer}; target {target}"


KafkaRow = PeerRow | NamedFloorRow  # this script's table holds both


def targets(row: KafkaRow) -> int:
    """How many targets ``row`` carries."""
    return len(row.targets) if isinstance(row, FloorRow) else int(row.target is not None)


def spread(what: str, times: dict[str, list[float]], unit: str = "ms") -> str:
    """A note: each side's median (min-max) of its ``times`` (seconds), in ``unit``."""
    scale = {"ms": 1e3, "µs": 1e6}[unit]
    return f"{what}: {unit} per run, median (min-max): " + "; ".join(
        f"{name} {statistics.median(t) * scale:,.1f} ({min(t) * scale:,.1f}-{max(t) * scale:,.1f})"
        for name, t in times.items()
    )


def figure(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"


def rate(seconds_per_message: float) -> str:
    return f"{1 / seconds_per_message:,.0f} msg/s" if seconds_per_message > 0 else "inf"


def timed(
    call: Callable[[], Any], clock: Callable[[], float] = time.perf_counter
) -> tuple[float, Any]:
    """Seconds ``call`` took by ``clock`` (garbage collection off while it runs) and what it
    returned. No ``gc.collect()`` first: a full collection right before a 100 µs call leaves it
    cold caches."""
    gc.disable()
    try:
        start = clock()
        result = call()
        return clock() - start, result
    finally:
        gc.enable()


class Sent:
    """How many messages each topic should hold, checked against the broker at the end."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def verify(self, bootstrap: str) -> None:
        consumer = confluent_kafka.Consumer(
            {"bootstrap.servers": bootstrap, "group.id": "kafka-bench-verify"}
        )
        try:
            for topic, expected in sorted(self.counts.items()):
                partition = confluent_kafka.TopicPartition(topic, 0)
                _, high = consumer.get_watermark_offsets(partition, timeout=FLUSH_TIMEOUT)
                check(high == expected, f"{topic}: the broker has {high} messages, not {expected}")
        finally:
            consumer.close()


class Bench:
    """The cluster, the one producer configuration, and the long-lived producers to close."""

    def __init__(self, cluster: MockKafkaCluster, sent: Sent) -> None:
        self.cluster = cluster
        self.sent = sent
        self.config: dict[str, Any] = {"bootstrap.servers": cluster.bootstrap, "linger.ms": 5}
        self._producers: list[Any] = []

    def keep(self, producer: Any) -> Any:
        self._producers.append(producer)
        return producer

    def close(self) -> None:
        """Flush and drop every producer kept (this list held the last references)."""
        while self._producers:
            producer = self._producers.pop()
            if isinstance(producer, Producer):
                producer.close(FLUSH_TIMEOUT)
            else:
                queued = producer.flush(FLUSH_TIMEOUT)
                check(queued == 0, f"a peer producer still had {queued} messages queued")
            del producer


# --- case 1: one message per invocation ----------------------------------------------------------


def latency_case(bench: Bench, sizes: Sizes) -> tuple[list[KafkaRow], list[str]]:
    config, sent = bench.config, bench.sent
    lk_topic = bench.cluster.create_topic("lambdakit-one-per-call")
    floor_topic = bench.cluster.create_topic("floor-one-per-call")
    peer_topic = bench.cluster.create_topic("peer-one-per-call")
    producer = bench.keep(Producer(config))  # module scope, in effect: built once
    client = bench.keep(confluent_kafka.Producer(config))  # the floor's, reused likewise

    @flush_kafka(producer)
    def lambdakit_handler(event: Any, context: Any) -> None:
        producer.produce(lk_topic, VALUE)

    def floor_handler(event: Any, context: Any) -> int:
        client.produce(floor_topic, VALUE)
        return int(client.flush(FLUSH_TIMEOUT))

    def peer_handler(event: Any, context: Any) -> int:
        fresh = confluent_kafka.Producer(config)  # per invocation: the mistake measured
        fresh.produce(peer_topic, VALUE)
        return int(fresh.flush(FLUSH_TIMEOUT))  # the client is destroyed on return

    def call(name: str) -> float:
        context = LambdaContext()
        if name == "lambdakit":
            seconds, _ = timed(lambda: lambdakit_handler({}, context))
            sent.counts[lk_topic] += 1
            return seconds
        handler, topic = (
            (floor_handler, floor_topic) if name == "floor" else (peer_handler, peer_topic)
        )
        seconds, queued = timed(lambda: handler({}, context))
        check(queued == 0, f"{name}: {queued} messages still queued after flush")
        sent.counts[topic] += 1
        return seconds

    # warm-up: builds lambdakit's client, connects, learns the topic; the floor's likewise; the
    # per-invocation peer's imports and first-use costs inside confluent-kafka
    times: dict[str, list[float]] = {"lambdakit": [], "floor": [], "new Producer per call": []}
    for name in times:
        call("peer" if name.startswith("new") else name)
    for _ in range(sizes.rounds):
        times["new Producer per call"].append(call("peer"))
        for i in range(LK_CALLS_PER_ROUND):  # who goes first alternates
            for name in ("lambdakit", "floor")[:: 1 if i % 2 else -1]:
                times[name].append(call(name))
    check(producer.created == 1, f"lambdakit built {producer.created} clients, expected 1")
    us = {name: statistics.median(t) * 1e6 for name, t in times.items()}
    case = "produce 1 message + flush, per invocation"
    rows: list[KafkaRow] = [
        NamedFloorRow(
            case,
            us["floor"],
            us["lambdakit"],
            None,
            "µs",
            peer_name="none: the reused confluent-kafka Producer is the floor",
        ),
        PeerRow(
            case,
            us["lambdakit"],
            us["new Producer per call"],
            "µs",
            0.1,
            peer="new confluent-kafka Producer per invocation, the common mistake",
        ),
    ]
    runs = ", ".join(f"{name} {len(t)}" for name, t in times.items())
    notes = [spread(f"per invocation (calls: {runs}; floor: reused Producer)", times, "µs")]
    return rows, notes


# --- case 2: 10,000 messages in one invocation ---------------------------------------------------


def throughput_case(bench: Bench, sizes: Sizes) -> tuple[list[KafkaRow], list[str]]:
    config, sent, n = bench.config, bench.sent, sizes.messages
    lk_topic = bench.cluster.create_topic("lambdakit-10k")
    peer_topic = bench.cluster.create_topic("peer-10k")
    callback_topic = bench.cluster.create_topic("peer-callback-10k")
    many_topic = bench.cluster.create_topic("lambdakit-many-10k")
    producer = bench.keep(Producer(config))
    bulk = bench.keep(Producer(config))  # produce_many's own client, warm as the others
    client = bench.keep(confluent_kafka.Producer(config))  # the peer's reused producer
    delivered = [0]

    @flush_kafka(producer)
    def lambdakit_handler(event: Any, context: Any) -> None:
        for _ in range(n):
            producer.produce(lk_topic, VALUE)

    @flush_kafka(bulk)
    def many_handler(event: Any, context: Any) -> None:
        bulk.produce_many(many_topic, [VALUE] * n)

    def peer_handler(event: Any, context: Any) -> int:
        for _ in range(n):
            while True:
                try:
                    client.produce(peer_topic, VALUE)
                    break
                except BufferError:  # the local queue is full: serve delivery reports
                    client.poll(0)
        return int(client.flush(FLUSH_TIMEOUT))

    def count(error: Any, message: Any) -> None:
        if error is None:
            delivered[0] += 1

    def callback_handler(event: Any, context: Any) -> int:
        for _ in range(n):
            while True:
                try:
                    client.produce(callback_topic, VALUE, on_delivery=count)
                    break
                except BufferError:
                    client.poll(0)
        return int(client.flush(FLUSH_TIMEOUT))

    def run(name: str) -> float:
        context = LambdaContext()
        if name == "lambdakit":
            seconds, _ = timed(lambda: lambdakit_handler({}, context))
            sent.counts[lk_topic] += n
            return seconds
        if name == "produce_many":
            seconds, _ = timed(lambda: many_handler({}, context))
            sent.counts[many_topic] += n
            return seconds
        if name == "peer":
            seconds, queued = timed(lambda: peer_handler({}, context))
            sent.counts[peer_topic] += n
        else:
            before = delivered[0]
            seconds, queued = timed(lambda: callback_handler({}, context))
            sent.counts[callback_topic] += n
            check(delivered[0] - before == n, f"{name}: {delivered[0] - before} of {n} delivered")
        check(queued == 0, f"{name}: {queued} messages still queued after flush")
        return seconds

    sides = ("lambdakit", "produce_many", "peer", "peer+callback")
    for name in sides:  # warm-up: connections and topic metadata
        run(name)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(sizes.reps):
        for name in sides:
            times[name].append(run(name))
    median = {name: statistics.median(times[name]) for name in sides}
    case = f"{n:,} messages in one invocation"
    rows: list[KafkaRow] = [
        PeerRow(
            case,
            median["lambdakit"] / n,
            median["peer"] / n,
            "s",
            THROUGHPUT_TARGET,
            peer="reused confluent-kafka Producer",
            per_second=True,
        ),
        PeerRow(
            case,
            median["lambdakit"] / n,
            median["peer+callback"] / n,
            "s",
            None,
            peer="reused Producer + on_delivery per message",
            per_second=True,
        ),
        PeerRow(
            f"produce_many {n:,} msgs",
            median["produce_many"] / n,
            median["peer"] / n,
            "s",
            BULK_TARGET,
            peer="floor: bare reused confluent-kafka Producer loop",
            per_second=True,
        ),
        PeerRow(
            f"produce_many {n:,} msgs",
            median["produce_many"] / n,
            median["lambdakit"] / n,
            "s",
            None,
            peer="lambdakit produce() per message",
            per_second=True,
        ),
    ]
    notes = [
        spread(f"{n:,} messages ({sizes.reps} runs each)", times),
        profile_note(lambdakit_handler, n),
        profile_note(many_handler, n, "produce_many"),
    ]
    sent.counts[lk_topic] += n  # the profiled invocations
    sent.counts[many_topic] += n
    return rows, notes


# --- case 5: decoding Avro records ---------------------------------------------------------------

ORDER_AVRO: dict[str, Any] = {
    "type": "record",
    "name": "Order",
    "namespace": "bench",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}
SCHEMA_ID = 7


def decode_case(sizes: Sizes) -> tuple[list[KafkaRow], list[str]]:
    import base64
    import io
    import json

    import fastavro
    from aws_lambda_powertools.utilities.kafka import SchemaConfig, kafka_consumer

    n = sizes.messages
    parsed = fastavro.parse_schema(ORDER_AVRO)
    orders = [
        {"id": i, "name": f"order-{i}", "amount": i * 1.5, "note": None if i % 2 else "gift"}
        for i in range(n)
    ]
    framed = []
    for order in orders:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, parsed, order)
        framed.append(b"\x00" + SCHEMA_ID.to_bytes(4, "big") + out.getvalue())
    event = kafka_event(framed, topic="orders")
    (raws,) = event["records"].values()
    context = LambdaContext()
    schema = AvroSchema(ORDER_AVRO, schema_id=SCHEMA_ID)
    b64decode, reader, stream = base64.b64decode, fastavro.schemaless_reader, io.BytesIO

    def lambdakit_side() -> list[Any]:
        return [KafkaRecord(raw).value_as(schema) for raw in raws]

    # Powertools' fastest documented configuration: one SchemaConfig (module scope, in effect),
    # the schema as the JSON string it expects, its own Confluent header stripping, no output
    # serializer. Its records are lazy: the handler reads every .value, or nothing is decoded.
    powertools_config = SchemaConfig(
        value_schema_type="AVRO",
        value_schema=json.dumps(ORDER_AVRO),
        value_schema_wire_format="CONFLUENT",
    )

    @kafka_consumer(schema_config=powertools_config)
    def powertools_handler(records: Any, context: Any) -> list[Any]:
        return [record.value for record in records.records]

    def powertools_side() -> list[Any]:
        return list(powertools_handler(event, context))

    def fastavro_side() -> list[Any]:
        return [reader(stream(b64decode(raw["value"])[5:]), parsed) for raw in raws]

    def floor_side() -> list[Any]:
        return [b64decode(raw["value"]) for raw in raws]

    sides = {
        "lambdakit": lambdakit_side,
        "powertools": powertools_side,
        "fastavro": fastavro_side,
        "floor": floor_side,
    }
    expected = {"lambdakit": orders, "powertools": orders, "fastavro": orders, "floor": framed}
    for name, side in sides.items():  # untimed: imports, first-use costs; and the checks
        check(side() == expected[name], f"decode case: {name} did not return the records")
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(sizes.reps):
        for name, side in sides.items():
            seconds, _ = timed(side, time.process_time)
            times[name].append(seconds)
    per_record = {name: statistics.median(times[name]) / n * 1e6 for name in sides}
    case = f"value_as(AvroSchema), {n:,} records"
    rows: list[KafkaRow] = [
        NamedFloorRow(
            f"{case} (floor: base64 decode only)",
            per_record["floor"],
            per_record["lambdakit"],
            per_record["powertools"],
            "µs",
            peer_name="Powertools kafka_consumer, AVRO, value_schema_wire_format=CONFLUENT",
        ),
        PeerRow(
            case,
            per_record["lambdakit"],
            per_record["fastavro"],
            "µs",
            None,
            peer="fastavro.schemaless_reader directly",
        ),
    ]
    notes = [spread(f"decode {n:,} records, CPU time ({sizes.reps} runs each)", times)]
    return rows, notes


def profile_note(handler: Handler, n: int, what: str = "lambdakit") -> str:
    """``what``'s function calls per message in one invocation of ``handler``, from cProfile (the
    calls, not the times: the profiler's own overhead per call distorts those)."""
    profiler = cProfile.Profile()
    context = LambdaContext()
    profiler.enable()
    handler({}, context)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    calls: Counter[str] = Counter()
    for (path, _, function), (_, total_calls, *_) in stats.items():
        if path == "~":  # built-ins: "<method 'poll' of 'cimpl.Producer' objects>" -> cimpl.P...
            method = re.fullmatch(r"<method '(.+)' of '(.+)' objects>", function)
            name = f"{method[2]}.{method[1]}" if method else function.strip("<>").split()[-1]
        else:
            name = f"{path.rsplit('/', 1)[-1]}:{function}"
        calls[name] += total_calls
    frequent = [(name, count) for name, count in calls.most_common() if count >= n // 2]
    listed = ", ".join(f"{name} {count / n:.2g}" for name, count in frequent)
    # cProfile sees calls made from Python code only: produce_many's map calls from C.
    listed = listed or "none at the Python level (the client's produce is called from C)"
    return f"{what} calls per message (cProfile, one {n:,}-message invocation): {listed}"


def main() -> int:
    parser = arguments(__doc__, "fewer invocations and runs, for a smoke test")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    powertools_defaults()  # the decode case's peer as users get it, not as this shell sets it
    lambda_logging()  # as Lambda sets it up: AWS_LAMBDA_LOG_FORMAT=JSON, root at WARNING

    started = time.perf_counter()
    sent = Sent()
    with MockKafkaCluster(broker_count=1) as cluster:
        bench = Bench(cluster, sent)
        latency_rows, latency_notes = latency_case(bench, sizes)
        rate_rows, rate_notes = throughput_case(bench, sizes)
        bench.close()  # before the cluster stops, or librdkafka logs the lost connections
        sent.verify(cluster.bootstrap)
        bootstrap = cluster.bootstrap
    decode_rows, decode_notes = decode_case(sizes)
    rows = [*latency_rows, *rate_rows, *decode_rows]

    print_header(
        f"confluent-kafka {version('confluent-kafka')} (librdkafka "
        f"{confluent_kafka.libversion()[0]}); librdkafka mock cluster, 1 broker at {bootstrap} "
        "(helper process, same machine)",
        f"every producer: linger.ms=5, 100-byte values, 1-partition topics; per invocation: "
        f"medians of {sizes.rounds * LK_CALLS_PER_ROUND} lambdakit and reused-Producer (floor) "
        f"calls and {sizes.rounds} new-Producer calls, interleaved; {sizes.messages:,} "
        f"messages: medians of {sizes.reps} alternating runs; GC off while timing; ratios = "
        "lambdakit time / floor or peer time; logging as Lambda's JSON "
        "format sets it up (awslambdaric's _setup_logging, root at WARNING, to /dev/null)",
        f"decode: Powertools' Avro deserializer is avro {version('avro')}; fastavro "
        f"{version('fastavro')}; CPU time, medians of {sizes.reps} runs alternating the sides"
        + (" [--quick]" if args.quick else ""),
    )
    print(render(rows, args.markdown, HEADER))
    missed = [row for row in rows if row.missed]
    print()
    print(f"targets missed: {len(missed)} of {sum(map(targets, rows))}")
    for row in missed:
        print(f"- {row.miss()}")
    print()
    print(
        "Notes (every message of every run was delivered; each topic's high watermark equals "
        f"the messages sent to it, {sum(sent.counts.values()):,} in all):"
    )
    for note in (*latency_notes, *rate_notes, *decode_notes):
        print(f"- {note}")
    print(f"- run time {time.perf_counter() - started:.1f} s, mock cluster start included")
    return 0


if __name__ == "__main__":
    sys.exit(main())
