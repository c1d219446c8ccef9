"""``RecordingProducer``: a drop-in :class:`~lambdakit.kafka.Producer` for users' unit tests.

It records every message instead of sending it (``producer.messages``) and settles deliveries
at once, successfully unless told otherwise (``fail_topic``, ``fail_next``), so a handler under
``flush_kafka`` can be tested for both outcomes without a broker. lambdakit's own tests use a
real Kafka protocol peer (librdkafka's mock cluster), not this.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lambdakit.kafka._clients import encode
from lambdakit.kafka._ledger import current_ledgers
from lambdakit.kafka._producer import Producer


class Message(NamedTuple):
    topic: str
    value: bytes | None
    key: bytes | None
    headers: dict[str, bytes | None]
    partition: int | None


class RecordingProducer(Producer):
    """Records messages; ``fail_topic(name)`` / ``fail_next(n)`` make deliveries fail."""

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
        self._failing_topics.clear()
        self._fail_count = 0

    def produce(
        self,
        topic: str,
        value: Any,
        key: Any = None,
        headers: Any = None,
        partition: int | None = None,
    ) -> None:
        message = Message(
            topic,
            encode(value, "value"),
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
        """The values recorded (for ``topic`` only, when given)."""
        return [m.value for m in self.messages if topic is None or m.topic == topic]
