"""A Kafka producer managed for Lambda: created once per execution environment, tracked per call.

Creating a producer inside the handler reconnects (and, on MSK with IAM, re-authenticates) on
every invocation; brokers accept new connections at a limited rate. :class:`Producer` creates
its client on first use and keeps it, re-creating it only when it cannot be trusted: in a forked
child (a client's threads and sockets do not survive ``fork``), after a SnapStart restore
(connections in a snapshot are dead), and after a fatal client error.

With MSK IAM (:func:`~lambdakit.kafka.msk_iam`), a client whose token expired while the
environment was frozen is replaced too; it is *retired* rather than dropped, so whatever it still
holds is flushed with the producer.

Every message produced is recorded in the *ledger* of the call in progress for this producer
(a context variable that ``flush_kafka`` sets), and its delivery report settles it there. That
is how a flush knows which of the messages still queued or failed belong to this call, and
under ``process_batch`` to which record.
"""

from __future__ import annotations

import os
from _thread import allocate_lock
from contextvars import ContextVar

from lambdakit.errors import KafkaConfigurationError
from lambdakit.kafka._msk import credentials_in, prepare_kafka_python

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

BACKENDS = ("confluent", "kafka-python")
DEFAULT_MAX_BLOCK_MS = 10_000
MAX_ERRORS_KEPT = 5


class Ledger:
    """The messages one call produced: how many, how many settled, the first errors."""

    __slots__ = ("_lock", "delivered", "errors", "failed", "produced")

    def __init__(self) -> None:
        self.produced = 0
        self.delivered = 0
        self.failed = 0
        self.errors: list[str] = []
        self._lock = allocate_lock()

    def sent(self) -> None:
        with self._lock:
            self.produced += 1

    def settled(self, error: object | None) -> None:
        with self._lock:
            if error is None:
                self.delivered += 1
            else:
                self.failed += 1
                if len(self.errors) < MAX_ERRORS_KEPT:
                    self.errors.append(str(error))

    @property
    def pending(self) -> int:
        return self.produced - self.delivered - self.failed


# The ledgers of the calls in progress, one per producer (a flush_kafka for each producer may
# be stacked on one function): ``{id(producer): ledger}``.
current_ledgers: ContextVar[dict[int, Ledger]] = ContextVar("lambdakit_kafka_ledgers")


def encode(value: Any, what: str) -> bytes | None:
    """bytes as they are, str as UTF-8, anything else as compact JSON."""
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    import json

    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise KafkaConfigurationError(
            f"{what}: expected bytes, str or a JSON-serialisable value ({exc})"
        ) from None


class Producer:
    """A producer for the life of the execution environment.

    ``config``: the client's configuration (confluent-kafka's keys, e.g. ``bootstrap.servers``;
    for ``backend="kafka-python"``, ``KafkaProducer`` keyword arguments). ``factory(config)``
    builds the client instead (tests, custom clients). The backend library is imported only
    when the first message is produced.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        factory: Callable[[dict[str, Any]], Any] | None = None,
        backend: str = "confluent",
    ) -> None:
        if backend not in BACKENDS:
            raise KafkaConfigurationError(f"backend={backend!r}: expected one of {BACKENDS}")
        if factory is not None and not callable(factory):
            raise KafkaConfigurationError(f"factory={factory!r}: expected a callable")
        self.config = dict(config or {})
        self.backend = backend
        self._factory = factory
        self._client: Any = None
        self._retired: list[Any] = []  # replaced clients that may still hold messages
        self._credentials = credentials_in(self.config)
        self._pid = 0
        self._generation = 0
        self._broken = False
        self._lock = allocate_lock()
        self.created = 0  # how many clients were built (observable: once per environment)
        _register_snapstart(self)

    # --- the client ---------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The live client, built on first use and re-built when it cannot be trusted."""
        client = self._client
        credentials = self._credentials
        if (
            client is not None
            and self._pid == os.getpid()
            and not self._broken
            and (credentials is None or not credentials.expired())
        ):
            return client
        with self._lock:
            client = self._client
            if client is None or self._pid != os.getpid() or self._broken:
                self._client = self._build()
            elif credentials is not None and credentials.expired():
                # Its connections ended with its token; what it still queues is flushed later.
                self._retired.append(client)
                self._client = self._build()
            else:
                return client
            self._pid = os.getpid()
            self._broken = False
            self.created += 1
            return self._client

    def _build(self) -> Any:
        config = dict(self.config)
        if self._credentials is not None:
            self._credentials.prime()  # a fresh token for the new client
        if self._factory is not None:
            return self._factory(config)
        if self.backend == "confluent":
            from confluent_kafka import Producer as ConfluentProducer

            config.setdefault("error_cb", self._on_error)
            return ConfluentProducer(config)
        from kafka import KafkaProducer

        if self._credentials is not None:
            prepare_kafka_python(self._credentials)
        # kafka-python blocks send() up to max_block_ms (60 s) waiting for metadata; a Lambda
        # invocation should learn much sooner that the cluster is unreachable.
        config.setdefault("max_block_ms", DEFAULT_MAX_BLOCK_MS)
        return KafkaProducer(**config)

    def _on_error(self, error: Any) -> None:
        """confluent-kafka's error callback: a fatal error means the client must be rebuilt."""
        fatal = getattr(error, "fatal", None)
        if callable(fatal) and fatal():
            self._broken = True

    def reset(self) -> None:
        """Drop the client (the next message builds a new one): after a restore, or by hand."""
        with self._lock:
            self._client = None
            self._retired.clear()

    # --- producing ----------------------------------------------------------------------------

    def produce(
        self,
        topic: str,
        value: Any,
        key: Any = None,
        headers: Mapping[str, Any] | None = None,
        partition: int | None = None,
    ) -> None:
        """Queue one message; its delivery is settled in the current call's ledger."""
        if not isinstance(topic, str) or not topic:
            raise KafkaConfigurationError(f"topic={topic!r}: expected a topic name")
        payload = encode(value, "value")
        encoded_key = encode(key, "key")
        encoded_headers = [
            (str(name), encode(header, f"headers[{name!r}]"))
            for name, header in (headers or {}).items()
        ]
        ledger = current_ledgers.get({}).get(id(self))
        if self.backend == "confluent":
            self._produce_confluent(topic, payload, encoded_key, encoded_headers, partition, ledger)
        else:
            self._produce_kafka_python(
                topic, payload, encoded_key, encoded_headers, partition, ledger
            )

    def _produce_confluent(
        self,
        topic: str,
        payload: bytes | None,
        key: bytes | None,
        headers: list[tuple[str, bytes | None]],
        partition: int | None,
        ledger: Ledger | None,
    ) -> None:
        client = self.client
        options: dict[str, Any] = {"value": payload, "key": key}
        if headers:
            options["headers"] = headers
        if partition is not None:
            options["partition"] = partition
        if ledger is not None:
            options["on_delivery"] = lambda error, message: ledger.settled(error)
        while True:
            try:
                client.produce(topic, **options)
                break
            except BufferError:
                client.poll(0.1)  # the local queue is full: serve delivery reports, then retry
            except Exception as exc:
                _refused(ledger, topic, exc)
                return
        if ledger is not None:
            ledger.sent()
        client.poll(0)

    def _produce_kafka_python(
        self,
        topic: str,
        payload: bytes | None,
        key: bytes | None,
        headers: list[tuple[str, bytes | None]],
        partition: int | None,
        ledger: Ledger | None,
    ) -> None:
        try:
            future = self.client.send(
                topic, value=payload, key=key, headers=headers or None, partition=partition
            )
        except Exception as exc:
            # kafka-python refuses some messages synchronously (a broker it cannot reach for
            # metadata): a failed delivery of this call, not an error escaping the handler.
            _refused(ledger, topic, exc)
            return
        if ledger is not None:
            ledger.sent()
            future.add_callback(lambda metadata: ledger.settled(None))
            future.add_errback(lambda error: ledger.settled(error or "delivery failed"))

    def flush(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for every queued message to be acknowledged."""
        if self._retired:
            self._flush_retired(timeout)
        client = self._client
        if client is not None:
            self._flush_client(client, timeout)

    def _flush_client(self, client: Any, timeout: float) -> bool:
        """Flush one client; whether it holds nothing more."""
        if self.backend == "confluent":
            return client.flush(max(0.0, timeout)) == 0  # type: ignore[no-any-return]
        from kafka.errors import KafkaTimeoutError

        try:
            client.flush(timeout=max(0.0, timeout))
        except KafkaTimeoutError:  # what is still queued shows in the ledger
            return False
        return True

    def _flush_retired(self, timeout: float) -> None:
        """Flush replaced clients within the same budget; close those that are empty."""
        import time

        deadline = time.monotonic() + timeout
        for client in list(self._retired):
            if self._flush_client(client, deadline - time.monotonic()):
                self._retired.remove(client)
                _close_client(client)

    def close(self, timeout: float = 5.0) -> None:
        """Flush, then drop the client."""
        self.flush(timeout)
        client, self._client = self._client, None
        retired, self._retired = self._retired, []
        for each in (*retired, client):
            _close_client(each)

    def __repr__(self) -> str:
        servers = self.config.get("bootstrap.servers") or self.config.get("bootstrap_servers")
        return f"Producer(backend={self.backend!r}, bootstrap={servers!r}, created={self.created})"


def _close_client(client: Any) -> None:
    """kafka-python clients have ``close``; confluent-kafka's (before 2.5) do not."""
    closer = getattr(client, "close", None)
    if callable(closer):
        closer()


def _refused(ledger: Ledger | None, topic: str, error: Exception) -> None:
    """A message the client refused before queueing it: a failure of the current call, or,
    outside ``flush_kafka``, an error now (nothing else would ever report it)."""
    if ledger is not None:
        ledger.sent()
        ledger.settled(error)
        return
    from lambdakit.errors import KafkaDeliveryError

    raise KafkaDeliveryError(
        f"a message to {topic} was refused: {error}",
        produced=1,
        delivered=0,
        failed=1,
        errors=[str(error)],
    ) from error


_producers: list[Any] = []


def _register_snapstart(producer: Producer) -> None:
    """Under SnapStart, connections in the snapshot are dead: rebuild clients after a restore."""
    import weakref

    _producers.append(weakref.ref(producer))
    if len(_producers) == 1:
        from lambdakit._internal.snapstart import after_restore

        after_restore(_after_restore)


def _after_restore() -> None:
    for reference in list(_producers):
        producer = reference()
        if producer is not None:
            producer.reset()
