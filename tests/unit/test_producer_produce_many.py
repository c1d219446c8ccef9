"""``Producer.produce_many`` and ``produce(schema=...)``: bulk sending with the same delivery
accounting as ``produce`` (a failed message fails its call, or its record under
``process_batch``), arguments checked before anything is sent, a full local queue waited out
without losing or repeating a message; and values serialized by a schema object.

The confluent-kafka cases run on librdkafka's in-client mock cluster (``test.mock.num.brokers``);
a user ``on_delivery`` callback in the configuration hears every report, which is how these
tests see exactly what was delivered. Schema objects are stood in for by a double with the
``serialize`` signature the real ones have (the real ones: the integration round trip).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import pytest

from lambdakit.batch import process_batch
from lambdakit.errors import KafkaConfigurationError, KafkaDeliveryError
from lambdakit.kafka import Producer, flush_kafka
from lambdakit.testing import LambdaContext, RecordingProducer, sqs_event

MOCK = {"test.mock.num.brokers": 1, "message.timeout.ms": 5000, "log_level": 0}


def context() -> LambdaContext:
    return LambdaContext(timeout=20)


class Heard:
    """The user's ``on_delivery``: every report the client serves, as (error, value, key)."""

    def __init__(self) -> None:
        self.reports: list[tuple[Any, bytes | None, bytes | None]] = []
        self._lock = threading.Lock()

    def __call__(self, error: Any, message: Any) -> None:
        with self._lock:
            self.reports.append((error, message.value(), message.key()))

    def delivered(self) -> Counter[bytes | None]:
        """How many times each value was delivered (the mock's topics have several
        partitions: the order across them is not the order produced)."""
        return Counter(value for error, value, _ in self.reports if error is None)

    def failed(self) -> Counter[bytes | None]:
        return Counter(value for error, value, _ in self.reports if error is not None)


def heard_producer(**config: Any) -> tuple[Producer, Heard]:
    heard = Heard()
    return Producer({**MOCK, "on_delivery": heard, **config}), heard


class Client:
    """A client double (``factory``): records what reaches ``produce``, refuses with
    ``BufferError`` on the calls numbered in ``full_at``, and reports every queued message
    delivered when flushed."""

    def __init__(self, full_at: set[int] | None = None) -> None:
        self.produced: list[tuple[str, Any, Any, Any]] = []
        self.calls = 0
        self.polls = 0
        self.full_at = full_at or set()
        self._queued: list[Any] = []

    def produce(self, topic: str, value: Any = None, key: Any = None, **options: Any) -> None:
        self.calls += 1
        if self.calls in self.full_at:
            raise BufferError("Local: Queue full")
        self.produced.append((topic, value, key, options.get("headers")))
        self._queued.append(options.get("on_delivery"))

    def poll(self, timeout: float) -> int:
        self.polls += 1
        return self.flush(timeout)

    def flush(self, timeout: float) -> int:
        queued, self._queued = self._queued, []
        for callback in queued:
            if callback is not None:
                callback(None, None)
        return 0

    def __len__(self) -> int:
        return len(self._queued)


class Doubled:
    """A schema double: ``serialize`` as the real schema objects take it, recording each call;
    the value ``"invalid"`` does not fit the schema."""

    kind = "JSON"

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any, str, bool]] = []

    def serialize(
        self,
        value: Any,
        *,
        schema_id: Any = None,
        framing: str = "confluent",
        compress: bool = False,
    ) -> bytes:
        self.calls.append((value, schema_id, framing, compress))
        if value == "invalid":
            raise ValueError("'invalid' is not of type 'object'")
        return b"\x00\x00\x00\x00\x07" + json.dumps(value).encode()


# --- delivery -----------------------------------------------------------------------------


def test_every_value_is_delivered_once_with_its_key_and_the_shared_headers() -> None:
    producer, heard = heard_producer()
    values = [f"v{n}".encode() for n in range(300)]

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> str:
        producer.produce_many(
            "orders", values, keys=[str(n) for n in range(300)], headers={"source": "bulk"}
        )
        return "ok"

    assert handler({}, context()) == "ok"
    assert heard.delivered() == Counter(values)  # each once
    assert sorted(heard.reports, key=lambda report: report[1]) == sorted(
        (None, value, str(n).encode()) for n, value in enumerate(values)
    )


def test_str_json_and_tombstone_values_are_encoded_as_produce_encodes_them() -> None:
    producer, heard = heard_producer()

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce_many("orders", ["é", {"n": 1}, None, bytearray(b"raw")])

    handler({}, context())
    assert heard.delivered() == Counter(["é".encode(), b'{"n":1}', None, b"raw"])


def test_headers_may_be_given_per_message() -> None:
    client = Client()
    producer = Producer(factory=lambda config: client)
    producer.produce_many("t", [b"a", b"b"], headers=[{"n": "1"}, None])
    assert [headers for *_, headers in client.produced] == [[("n", b"1")], None]


def test_a_full_local_queue_is_waited_out_and_no_message_is_lost_or_repeated() -> None:
    producer, heard = heard_producer(**{"queue.buffering.max.messages": 10})
    values = [str(n).encode() for n in range(500)]

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> str:
        producer.produce_many("orders", values)
        return "ok"

    assert handler({}, context()) == "ok"
    assert heard.delivered() == Counter(values)  # each once


def test_the_message_refused_with_buffer_error_is_retried_once_it_fits() -> None:
    client = Client(full_at={3, 4, 7})  # calls 3, 4 and 7 find the queue full
    producer = Producer(factory=lambda config: client)

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> str:
        producer.produce_many("t", [b"0", b"1", b"2", b"3", b"4", b"5"])
        return "ok"

    assert handler({}, context()) == "ok"
    assert [value for _, value, _, _ in client.produced] == [b"0", b"1", b"2", b"3", b"4", b"5"]
    assert client.polls == 3  # each refusal served reports before the retry


def test_a_message_the_client_refuses_fails_the_call_with_the_counts() -> None:
    producer, heard = heard_producer(**{"message.max.bytes": 1000})

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce_many("orders", [b"a", b"b", b"x" * 2000, b"c", b"d"])

    with pytest.raises(KafkaDeliveryError, match="size too large") as caught:
        handler({}, context())
    error = caught.value
    assert (error.produced, error.delivered, error.failed, error.undelivered) == (5, 4, 1, 0)
    assert heard.delivered() == Counter([b"a", b"b", b"c", b"d"])  # the others were still sent


def test_messages_that_time_out_undelivered_fail_the_call() -> None:
    # Every request takes 2 s to answer; a message times out after 100 ms: reported failed.
    producer, heard = heard_producer(**{"test.mock.broker.rtt": 2000, "message.timeout.ms": 100})

    @flush_kafka(producer, timeout=10)
    def handler(event: Any, context: Any) -> None:
        producer.produce_many("orders", [b"a", b"b", b"c"])

    with pytest.raises(KafkaDeliveryError, match="timed out") as caught:
        handler({}, context())
    assert (caught.value.produced, caught.value.failed, caught.value.delivered) == (3, 3, 0)
    assert heard.failed() == Counter([b"a", b"b", b"c"])


def test_under_process_batch_only_the_record_whose_message_failed_is_reported() -> None:
    producer = Producer({**MOCK, "message.max.bytes": 1000})

    @process_batch(concurrency=4)
    @flush_kafka(producer)
    def record_handler(record: Any) -> None:
        big = b"x" * 2000 if record.body == "too-big" else b"fits"
        producer.produce_many("orders", [record.body.encode(), big, b"after"])

    bodies = ["fine", "too-big", "fine too", "also fine", "fine again", "fine still"]
    event = sqs_event(bodies)
    response = record_handler(event, context())
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}


def test_overlapping_calls_each_count_only_their_own_messages() -> None:
    producer, heard = heard_producer()
    counts: dict[str, int] = {}
    ready = threading.Barrier(3)

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        ready.wait()  # all three calls in progress at once
        producer.produce_many("orders", [event["name"].encode()] * event["n"])

    def call(name: str, n: int) -> None:
        handler({"name": name, "n": n}, context())
        counts[name] = n

    threads = [
        threading.Thread(target=call, args=(name, n))
        for name, n in [("a", 10), ("b", 200), ("c", 3000)]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts == {"a": 10, "b": 200, "c": 3000}  # every call returned: all delivered
    assert heard.delivered() == Counter({b"a": 10, b"b": 200, b"c": 3000})


def test_outside_a_call_messages_are_sent_untracked() -> None:
    producer, heard = heard_producer()
    producer.produce_many("orders", [b"a", b"b"])
    assert producer.flush(10) == 0
    assert heard.delivered() == Counter([b"a", b"b"])


def test_outside_a_call_refused_messages_raise_after_the_others_are_sent() -> None:
    producer, heard = heard_producer(**{"message.max.bytes": 1000})
    with pytest.raises(KafkaDeliveryError, match=r"values\[1\]") as caught:
        producer.produce_many("orders", [b"a", b"x" * 2000, b"b"])
    assert (caught.value.produced, caught.value.failed) == (3, 1)
    assert producer.flush(10) == 0
    assert heard.delivered() == Counter([b"a", b"b"])


def test_produce_after_produce_many_in_the_same_call_is_counted() -> None:
    producer = Producer({**MOCK, "message.max.bytes": 1000})

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce_many("orders", [b"a", b"b"])
        for _ in range(100):
            producer.produce("orders", b"c")
        producer.produce("orders", b"x" * 2000)

    with pytest.raises(KafkaDeliveryError) as caught:
        handler({}, context())
    assert (caught.value.produced, caught.value.failed) == (103, 1)


def test_a_subclass_that_overrides_produce_gets_every_message() -> None:
    producer = RecordingProducer()
    producer.fail_topic("audit")

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce_many("orders", [b"a", {"n": 1}], keys=["k1", None], headers={"h": "v"})
        producer.produce_many("audit", [b"refused"])

    with pytest.raises(KafkaDeliveryError) as caught:
        handler({}, context())
    assert (caught.value.produced, caught.value.failed) == (3, 1)
    assert producer.values("orders") == [b"a", b'{"n":1}']
    assert [m.key for m in producer.messages] == [b"k1", None]
    assert producer.messages[0].headers == {"h": b"v"}


class KafkaPythonClient:
    """A kafka-python ``KafkaProducer`` double: ``send`` returns a future settled at once;
    sends to ``refusing`` fail, one to ``unreachable`` raises as a metadata timeout does."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self.sent: list[tuple[str, Any, Any]] = []

    def send(self, topic: str, *, value: Any, key: Any, headers: Any, partition: Any) -> Any:
        if topic == "unreachable":
            raise TimeoutError("Failed to update metadata after 10.0 secs.")
        self.sent.append((topic, value, key))
        return _Settled(None if topic != "refusing" else "TopicAuthorizationFailedError")

    def flush(self, timeout: float | None = None) -> None:
        pass


class _Settled:
    def __init__(self, error: Any) -> None:
        self.error = error

    def add_callback(self, callback: Any) -> None:
        if self.error is None:
            callback("metadata")

    def add_errback(self, errback: Any) -> None:
        if self.error is not None:
            errback(self.error)


def test_the_kafka_python_backend_sends_each_message_and_counts_it() -> None:
    client = KafkaPythonClient()
    producer = Producer(factory=lambda config: client, backend="kafka-python")

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce_many(event["topic"], [b"a", b"b"], keys=["1", "2"])

    handler({"topic": "orders"}, context())
    assert client.sent == [("orders", b"a", b"1"), ("orders", b"b", b"2")]
    with pytest.raises(KafkaDeliveryError) as caught:
        handler({"topic": "refusing"}, context())
    assert (caught.value.produced, caught.value.failed) == (2, 2)
    with pytest.raises(KafkaDeliveryError, match="metadata") as caught:
        handler({"topic": "unreachable"}, context())
    assert (caught.value.produced, caught.value.failed) == (2, 2)
    with pytest.raises(KafkaDeliveryError, match=r"values\[0\].*values\[1\]"):
        producer.produce_many("unreachable", [b"a", b"b"])  # outside a call: raised at once


# --- arguments, checked before anything is sent --------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"topic": "", "values": [b"a"]}, r"topic=''"),
        ({"topic": 7, "values": [b"a"]}, r"topic=7"),
        ({"topic": "t", "values": b"abc"}, r"values: expected a sequence of values, got bytes"),
        ({"topic": "t", "values": "abc"}, r"values: expected a sequence"),
        ({"topic": "t", "values": {"a": 1}}, r"values: expected a sequence"),
        ({"topic": "t", "values": 3}, r"values: expected a sequence"),
        ({"topic": "t", "values": [b"a", b"b", b"c", object()]}, r"values\[3\]: expected bytes"),
        ({"topic": "t", "values": [b"a", b"b"], "keys": [b"k"]}, r"keys: 1 keys for 2 values"),
        ({"topic": "t", "values": [b"a"], "keys": b"k"}, r"keys: expected a sequence"),
        ({"topic": "t", "values": [b"a", b"b"], "keys": [b"k", object()]}, r"keys\[1\]"),
        ({"topic": "t", "values": [b"a"], "headers": [{}, {}]}, r"headers: 2 .* for 1 values"),
        ({"topic": "t", "values": [b"a"], "headers": [7]}, r"headers\[0\]: expected a mapping"),
        ({"topic": "t", "values": [b"a"], "headers": 7}, r"headers: expected a mapping"),
        ({"topic": "t", "values": [b"a"], "headers": {"h": object()}}, r"headers\['h'\]"),
        ({"topic": "t", "values": [b"a"], "headers": [{"h": object()}]}, r"headers\[0\]\['h'\]"),
        ({"topic": "t", "values": [b"a"], "schema_id": 7}, r"schema_id=7: .*without schema="),
        ({"topic": "t", "values": [b"a"], "framing": "glue"}, r"framing='glue': .*without"),
        ({"topic": "t", "values": [b"a"], "compress": True}, r"compress=True: .*without"),
        ({"topic": "t", "values": [b"a"], "schema": object()}, r"schema=<object .*: expected"),
    ],
)
def test_bad_arguments_are_refused_naming_them_before_anything_is_sent(
    arguments: dict[str, Any], message: str
) -> None:
    client = Client()
    producer = Producer(factory=lambda config: client)

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        topic, values = arguments.pop("topic"), arguments.pop("values")
        producer.produce_many(topic, values, **arguments)

    with pytest.raises(KafkaConfigurationError, match=message):
        handler({}, context())
    assert client.produced == []


def test_an_empty_sequence_sends_nothing() -> None:
    client = Client()
    producer = Producer(factory=lambda config: client)
    producer.produce_many("t", [])
    producer.produce_many("t", iter([]))
    assert client.produced == []


def test_any_iterable_of_values_is_accepted() -> None:
    client = Client()
    producer = Producer(factory=lambda config: client)
    producer.produce_many("t", (str(n) for n in range(3)), keys=("a", "b", "c"))  # encoded
    assert [(value, key) for _, value, key, _ in client.produced] == [
        (b"0", b"a"),
        (b"1", b"b"),
        (b"2", b"c"),
    ]


# --- schema= --------------------------------------------------------------------------------


def test_produce_serializes_the_value_with_the_schema() -> None:
    client = Client()
    producer = Producer(factory=lambda config: client)
    schema = Doubled()
    producer.produce("t", {"n": 1}, key="k", schema=schema, schema_id=7)
    producer.produce("t", {"n": 2}, schema=schema, framing="glue", compress=True)
    assert schema.calls == [({"n": 1}, 7, "confluent", False), ({"n": 2}, None, "glue", True)]
    assert [value for _, value, _, _ in client.produced] == [
        b'\x00\x00\x00\x00\x07{"n": 1}',
        b'\x00\x00\x00\x00\x07{"n": 2}',
    ]


def test_produce_many_serializes_every_value_and_keeps_tombstones() -> None:
    client = Client()
    producer = Producer(factory=lambda config: client)
    schema = Doubled()
    producer.produce_many("t", [{"n": 1}, None], schema=schema, schema_id=7, framing="glue")
    assert schema.calls == [({"n": 1}, 7, "glue", False)]  # a tombstone is not serialized
    assert [value for _, value, _, _ in client.produced] == [
        b'\x00\x00\x00\x00\x07{"n": 1}',
        None,
    ]


def test_a_value_the_schema_refuses_is_a_configuration_error_at_the_call() -> None:
    client = Client()
    producer = Producer(factory=lambda config: client)

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce_many("t", [{"n": 1}, "invalid"], schema=Doubled())

    with pytest.raises(KafkaConfigurationError, match=r"values\[1\]: .*'invalid' is not of"):
        handler({}, context())
    with pytest.raises(KafkaConfigurationError, match=r"value: .*'invalid' is not of"):
        producer.produce("t", "invalid", schema=Doubled())
    assert client.produced == []  # nothing sent, not a delivery failure


def test_schema_options_without_a_schema_are_refused_by_produce() -> None:
    producer = Producer(factory=lambda config: Client())
    with pytest.raises(KafkaConfigurationError, match=r"schema_id=7: .*without schema="):
        producer.produce("t", b"x", schema_id=7)
    with pytest.raises(KafkaConfigurationError, match=r"schema=.*: expected"):
        producer.produce("t", b"x", schema="avro")  # type: ignore[arg-type]


def test_the_fast_path_takes_schema_arguments_too() -> None:
    producer, heard = heard_producer()
    schema = Doubled()

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        for n in range(5):  # from the second message on, produce is the fast path's closure
            producer.produce("orders", {"n": n}, schema=schema, schema_id=7)
        with pytest.raises(KafkaConfigurationError, match="schema_id"):
            producer.produce("orders", b"x", schema_id=7)

    handler({}, context())
    assert heard.delivered() == Counter(b'\x00\x00\x00\x00\x07{"n": %d}' % n for n in range(5))


def test_a_value_lambdakits_schema_refuses_names_the_schema_once() -> None:
    from lambdakit.kafka import JsonSchema

    schema = JsonSchema({"type": "object", "required": ["id"]}, schema_id=7)
    producer = RecordingProducer()
    with pytest.raises(KafkaConfigurationError) as refused:
        producer.produce("t", {"n": 1}, schema=schema)
    assert str(refused.value).startswith("value: JsonSchema.serialize: ")
    assert str(refused.value).count("JsonSchema.serialize") == 1
    with pytest.raises(KafkaConfigurationError) as refused_many:
        producer.produce_many("t", [{"id": 1}, {"n": 1}], schema=schema)
    assert str(refused_many.value).count("JsonSchema.serialize") == 1
