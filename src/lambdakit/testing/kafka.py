"""``RecordingProducer``: a drop-in :class:`~lambdakit.kafka.Producer` for users' unit tests.

It records every message instead of sending it (``producer.messages``) and settles deliveries
at once, successfully unless told otherwise (``fail_topic``, ``fail_next``), so a handler under
``flush_kafka`` can be tested for both outcomes without a broker. For a real Kafka protocol peer
(what lambdakit's own tests use), see :class:`~lambdakit.testing.kafka_cluster.MockKafkaCluster`,
whose ``messages(topic)`` reads back the same :class:`Message` type, so one assertion serves
both.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lambdakit.kafka._clients import encode
from lambdakit.kafka._ledger import current_ledgers
from lambdakit.kafka._producer import Producer, serialized

TYPE_CHECKING = False
if TYPE_CHECKING:
    from uuid import UUID

    from lambdakit.kafka._schemas import Schema as Serializer


class Message(NamedTuple):
    """One Kafka message as produced: the bytes a broker would store.

    ``value`` and ``key`` are encoded as the producer encodes them (``bytes`` as they are,
    ``str`` as UTF-8, anything else as compact JSON; ``None`` stays ``None``: a tombstone, or
    no key). ``headers`` maps each header name to its bytes (a repeated name keeps its last
    value). ``partition`` is the partition asked for (``None``: the partitioner chooses) and
    ``offset`` is ``None``, except in messages read back from a broker
    (``MockKafkaCluster.messages``), where both say where the message was written.
    """

    topic: str
    value: bytes | None
    key: bytes | None
    headers: dict[str, bytes | None]
    partition: int | None
    offset: int | None = None


class RecordingProducer(Producer):
    """A :class:`~lambdakit.kafka.Producer` that records messages instead of sending them.

    ``messages`` is the list of :class:`Message` delivered, in order; ``values(topic)`` their
    values. Deliveries settle at once, in the ``flush_kafka`` call (or ``process_batch`` record)
    that produced them: successfully, unless ``fail_topic(name)`` or ``fail_next(n)`` made this
    one refused (a refused message is not recorded, and its call fails as with a real broker);
    ``recover()`` ends both. Its repr says what it recorded, e.g.
    ``<RecordingProducer: 3 messages recorded, topics ['orders']>``.
    """

    def __init__(self) -> None:
        super().__init__({}, factory=lambda config: None)
        self.messages: list[Message] = []
        self._failing_topics: set[str] = set()
        self._fail_count = 0

    def fail_topic(self, topic: str) -> None:
        """Every later message to ``topic`` is refused (as a topic rejecting writes would)."""
        self._failing_topics.add(topic)

    def fail_next(self, count: int = 1) -> None:
        """The next ``count`` messages are refused."""
        self._fail_count += count

    def recover(self) -> None:
        """Deliveries succeed again: forget ``fail_topic`` and any ``fail_next`` not used up."""
        self._failing_topics.clear()
        self._fail_count = 0

    def produce(
        self,
        topic: str,
        value: Any,
        key: Any = None,
        headers: Any = None,
        partition: int | None = None,
        *,
        schema: Serializer | None = None,
        schema_id: int | UUID | str | None = None,
        framing: str = "confluent",
        compress: bool = False,
    ) -> None:
        """Record the message (encoded, or serialized with ``schema``, as
        :class:`~lambdakit.kafka.Producer` does it, so the bytes recorded are the bytes a broker
        would get) and settle its delivery at once, refusing it when ``fail_topic`` /
        ``fail_next`` say so. ``produce_many`` comes through here once per message."""
        message = Message(
            topic,
            serialized(value, schema, schema_id, framing, compress),
            encode(key, "key"),
            {str(k): encode(v, f"headers[{k!r}]") for k, v in (headers or {}).items()},
            partition,
        )
        refused = topic in self._failing_topics or self._fail_count > 0
        if self._fail_count > 0:
            self._fail_count -= 1
        if not refused:
            self.messages.append(message)
        ledger = current_ledgers.get({}).get(id(self))
        if ledger is not None:
            ledger.sent()
            ledger.settled(f"delivery to {topic} refused (RecordingProducer)" if refused else None)

    def flush(self, timeout: float) -> int:
        """Nothing is ever queued."""
        return 0

    def values(self, topic: str | None = None) -> list[bytes | None]:
        """The values recorded, in order (for ``topic`` only, when given): bytes as a broker
        would store them, ``None`` for a tombstone. ``json.loads`` reads back a dict produced."""
        return [m.value for m in self.messages if topic is None or m.topic == topic]

    def __repr__(self) -> str:
        # A test failure shows this: say it is a recorder, and what it holds and will refuse.
        count = len(self.messages)
        topics = list(dict.fromkeys(m.topic for m in self.messages))
        text = f"{count} message{'' if count == 1 else 's'} recorded, topics {topics}"
        refusing = []
        if self._failing_topics:
            refusing.append(f"topics {sorted(self._failing_topics)}")
        if self._fail_count:
            refusing.append(f"the next {self._fail_count} message{'s' * (self._fail_count != 1)}")
        if refusing:
            text += ", refusing " + " and ".join(refusing)
        return f"<RecordingProducer: {text}>"
