"""A Kafka producer managed for Lambda: created once per execution environment, tracked per call.

Creating a producer inside the handler reconnects (and, on MSK with IAM, re-authenticates) on
every invocation; brokers accept new connections at a limited rate. :class:`Producer` creates
its client on first use and keeps it, re-creating it only when it cannot be trusted: in a forked
child (a client's threads and sockets do not survive ``fork``), after a SnapStart restore
(connections in a snapshot are dead), and after a fatal client error.

With MSK IAM (:func:`~lambdakit.kafka.msk_iam`), a client whose token expired while the
environment was frozen is replaced too; it is *retired* rather than dropped, so whatever it still
holds is flushed with the producer.

Every message produced during a call of a ``flush_kafka``-wrapped function is counted in that
call's *ledger*; failed deliveries are settled there. That is how a flush knows whether the
messages of this call (under ``process_batch``: of this record) all got through.

Tracking must cost next to nothing per message (a function producing 10,000 messages should not
pay for lambdakit's bookkeeping). confluent-kafka clients built here therefore report only
failed deliveries (``delivery.report.only.error``) to one producer-wide callback, and while a
single call is in progress its messages go straight to the client: a failure reported to that
callback belongs to the one call whose messages are outstanding (the *owner*). Success needs no
report: librdkafka's ``flush`` returns 0 only once every message is delivered or failed and every
report has been served. When calls overlap (``process_batch(concurrency=N)``, async tasks), the
others tag each message with their ledger's callback instead, so attribution stays exact.
"""

from __future__ import annotations

import sys
from _thread import allocate_lock
from time import monotonic as _monotonic

from lambdakit._internal.extras import require
from lambdakit._internal.logs import get_logger
from lambdakit._internal.metrics import KAFKA_DELIVERY_FAILURES, count
from lambdakit.errors import KafkaConfigurationError
from lambdakit.kafka._clients import abandon, close_client, encode, is_fatal, register
from lambdakit.kafka._ledger import Ledger, current_ledgers, described, refused
from lambdakit.kafka._msk import credentials_in, prepare_kafka_python

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

BACKENDS = ("confluent", "kafka-python")
BACKEND_EXTRAS = {"confluent": "kafka", "kafka-python": "kafka-python"}  # pip install extras
DEFAULT_MAX_BLOCK_MS = 10_000


class Producer:
    """A producer for the life of the execution environment.

    ``config``: the client's configuration (confluent-kafka's keys, e.g. ``bootstrap.servers``;
    for ``backend="kafka-python"``, ``KafkaProducer`` keyword arguments). ``factory(config)``
    builds the client instead (tests, custom clients). The backend library is imported only
    when the first message is produced, but without a factory its absence is refused here
    (:class:`~lambdakit.errors.MissingDependencyError` naming the extra to install), at import
    of the function's module rather than in its first invocation.
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
        if factory is None:
            require(BACKEND_EXTRAS[backend], f"Producer(backend={backend!r})")
        self.config = dict(config or {})
        self.backend = backend
        self._factory = factory
        self._client: Any = None
        self._retired: list[Any] = []  # replaced clients that may still hold messages
        self._credentials = credentials_in(self.config)
        self._broken = False
        self._lock = allocate_lock()
        self.created = 0  # how many clients were built (observable: once per environment)
        # Call tracking (see the module docstring). Only clients built here from confluent-kafka
        # report failures to _on_report, so only they take the fast path.
        self._infers = backend == "confluent" and factory is None
        # The user's own callbacks in the config are chained, not replaced.
        self._user_report: Callable[[Any, Any], None] | None = self.config.get("on_delivery")
        self._user_error: Callable[[Any], None] | None = self.config.get("error_cb")
        self._calls = 0  # calls in progress
        self._active: set[Ledger] = set()  # their ledgers
        self._sole: Ledger | None = None  # the only call in progress, when fast
        self._owner: Ledger | None = None  # whose fast messages may be outstanding
        # While one call is in progress and its first message has checked the client, the
        # instance attribute ``produce`` is a closure over that client and ledger (see _fast).
        self._may_specialise = type(self).produce is Producer.produce
        self._max_block_ms = DEFAULT_MAX_BLOCK_MS  # kafka-python: send()'s own bound
        register(self)

    # --- the client ---------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The live client, built on first use and re-built when it cannot be trusted."""
        client = self._client
        credentials = self._credentials
        if (
            client is not None
            and not self._broken
            and (credentials is None or not credentials.expired())
        ):
            return client
        with self._lock:
            client = self._client
            if (
                client is not None
                and not self._broken
                and not (credentials is not None and credentials.expired())
            ):
                return client
            if client is not None:
                # A client with a fatal error, or whose token expired with its connections, is
                # replaced but kept until flushed: what it holds is delivered or reported failed.
                self._retired.append(client)
            self._client = self._build()
            self._broken = False
            self._unspecialise()
            self.created += 1
            if self.backend == "confluent" and self._factory is None:
                _connect_soon(self._client)
            return self._client

    def _build(self) -> Any:
        config = dict(self.config)
        if self._credentials is not None:
            self._credentials.prime()  # a fresh token for the new client
        if self._factory is not None:
            return self._factory(config)
        if self.backend == "confluent":
            from confluent_kafka import Producer as ConfluentProducer

            config["error_cb"] = self._on_error
            config["on_delivery"] = self._on_report
            # Successes need no report (an empty queue proves them), unless the user asked.
            config.setdefault("delivery.report.only.error", self._user_report is None)
            return ConfluentProducer(config)
        from kafka import KafkaProducer

        if self._credentials is not None:
            prepare_kafka_python(self._credentials)
        # kafka-python blocks send() up to max_block_ms (60 s) waiting for metadata; a Lambda
        # invocation should learn much sooner that the cluster is unreachable.
        config.setdefault("max_block_ms", DEFAULT_MAX_BLOCK_MS)
        self._max_block_ms = int(config["max_block_ms"])
        return KafkaProducer(**config)

    def warm(self, timeout: float = 5.0, topics: Iterable[str] = ()) -> None:
        """Connect now, so the first message does not wait for it: at init, where
        ``lambdakit.warm_up`` calls it.

        Builds the client (making its MSK IAM token, when configured) and asks the cluster
        for its metadata twice, each bounded by what is left of ``timeout`` seconds: the
        first request goes through a bootstrap server; librdkafka then drops its bootstrap
        connections, so the second goes through a broker it learned, and that connection is
        the one the first message (and an idempotent producer's request for its producer id,
        which waits for a broker connection) uses. ``topics``: topics to fetch the metadata
        of as well, so their partitions and leaders are known. With kafka-python, the topics'
        metadata (what the first ``send`` waits for) and an idempotent producer's id are
        awaited; without ``topics`` a non-idempotent kafka-python client is only built.
        Connections to brokers leading other partitions are still opened by the first message
        sent there.

        Raises :class:`~lambdakit.errors.KafkaError` naming the bootstrap servers when the
        cluster does not answer in time; the client is kept, and reconnects by itself, so a
        producer that could not be warmed still works lazily. After a SnapStart restore the
        client is replaced (its connections died with the snapshot) and ``warm_up`` warms the
        new one; provisioned concurrency needs nothing special (init, and so this, runs before
        an environment's first request).
        """
        deadline = _monotonic() + max(0.0, timeout)
        names = [topics] if isinstance(topics, str) else list(topics)
        client = self.client
        try:
            if callable(getattr(client, "list_topics", None)):
                _metadata_twice(client, names, deadline)
            elif callable(getattr(client, "partitions_for", None)):
                _kafka_python_metadata(client, names, deadline, self._max_block_ms)
        except Exception as exc:
            from lambdakit.errors import KafkaError

            raise KafkaError(
                f"{self.describe()} could not be warmed within {timeout:.3g} s: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _on_error(self, error: Any) -> None:
        """confluent-kafka's error callback: a fatal error means the client must be rebuilt."""
        try:
            self._notice(error)
        finally:
            if self._user_error is not None:
                self._user_error(error)

    def _notice(self, error: Any) -> None:
        """Mark the client broken if ``error`` is fatal: the next message builds a new client
        and this one is flushed as retired."""
        if is_fatal(error):
            self._broken = True
            self._unspecialise()

    def _on_report(self, error: Any, message: Any) -> None:
        """The client-wide delivery callback: reports of messages sent on the fast path."""
        owner = self._owner
        if owner is not None:
            owner.settled(error if error is None else described(error, message))
        if self._user_report is not None:
            self._user_report(error, message)

    def _untracked(self, error: Any, message: Any) -> None:
        """The delivery callback of messages produced outside any call: not the owner's (a
        failure is counted where it is served, by whoever polls or flushes)."""
        if error is not None:
            count(KAFKA_DELIVERY_FAILURES)
        if self._user_report is not None:
            self._user_report(error, message)

    # --- calls (flush_kafka) ------------------------------------------------------------------

    def begin(self, ledger: Ledger) -> Any:
        """A call starts: its messages are counted in ``ledger``. Returns the token for ``end``."""
        ledgers = {**current_ledgers.get({}), id(self): ledger}
        ledger.scope = ledgers  # what the call's context holds: the fast path checks it
        token = current_ledgers.set(ledgers)
        with self._lock:
            self._calls += 1
            self._active.add(ledger)
            ledger.infers = self._infers
            ledger.chain = self._user_report
            self._unspecialise()  # the call's first message checks the client
            if self._calls == 1 and self._owner is None and self._infers:
                self._sole = self._owner = ledger
            else:
                self._sole = None  # overlapping calls tag their messages
        return token

    def end(self, ledger: Ledger, token: Any, complete: bool) -> None:
        """The call's flush is over (``complete``: nothing of it is outstanding)."""
        current_ledgers.reset(token)
        ledger.conclude(complete)
        ledger.ended = True
        with self._lock:
            self._calls -= 1
            self._active.discard(ledger)
            if self._sole is ledger:
                self._sole = None
                self._unspecialise()
            if self._owner is ledger and complete:
                self._owner = None

    def reset(self) -> None:
        """Replace the client (the next message builds a new one): after a SnapStart restore,
        or by hand. The old one is retired: what it holds is flushed, or reported failed."""
        with self._lock:
            if self._client is not None:
                self._retired.append(self._client)
            self._client = None
            self._unspecialise()

    # --- producing ----------------------------------------------------------------------------

    def produce(
        self,
        topic: str,
        value: Any,
        key: Any = None,
        headers: Mapping[str, Any] | None = None,
        partition: int | None = None,
    ) -> None:
        """Queue one message; a failed delivery is settled in the current call's ledger."""
        self._produce(topic, value, key, headers, partition)

    def _specialise(self, client: Any, ledger: Ledger) -> None:
        """The fast path for the rest of a lone call: ``produce`` becomes a closure over the
        checked client and the call's ledger, which skips every lookup a message does not need
        (10,000 messages should cost what the bare client costs). Anything unusual (headers, a
        partition, a value to encode, a full local queue, an error) takes the full path."""
        client_produce = client.produce
        tick = ledger.tick
        scope = ledger.scope
        in_call = current_ledgers.get
        full = self._produce

        def produce(
            topic: str,
            value: Any,
            key: Any = None,
            headers: Mapping[str, Any] | None = None,
            partition: int | None = None,
        ) -> None:
            if (
                headers is None
                and partition is None
                and ((kind := value.__class__) is bytes or kind is str)
                and (key is None or (kind := key.__class__) is bytes or kind is str)
                and in_call(None) is scope  # this call's context (its threads included)
            ):
                try:
                    client_produce(topic, value, key)
                except Exception:
                    pass  # the full path validates, retries on BufferError, records refusals
                else:
                    tick(None)
                    return
            full(topic, value, key, headers, partition)

        with self._lock:
            if self._sole is ledger and self._client is client:
                self.__dict__["produce"] = produce

    def _unspecialise(self) -> None:
        self.__dict__.pop("produce", None)

    def _produce(
        self,
        topic: str,
        value: Any,
        key: Any,
        headers: Mapping[str, Any] | None,
        partition: int | None,
    ) -> None:
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
        if ledger is None:
            if self._infers:
                options["on_delivery"] = self._untracked
        elif ledger is not self._owner or not self._infers:
            options["on_delivery"] = ledger.report
        while True:
            try:
                client.produce(topic, **options)
                break
            except BufferError:
                client.poll(0.1)  # the local queue is full: serve delivery reports, then retry
            except Exception as exc:
                self._notice(exc)
                refused(ledger, topic, exc)
                return
        if ledger is not None:
            ledger.sent()
            # From the call's second message on (a call of one message need not pay for it).
            if ledger is self._sole and self._may_specialise and ledger.produced == 2:
                self._specialise(client, ledger)

    def _produce_kafka_python(
        self,
        topic: str,
        payload: bytes | None,
        key: bytes | None,
        headers: list[tuple[str, bytes | None]],
        partition: int | None,
        ledger: Ledger | None,
    ) -> None:
        client = self.client
        # send() waits for metadata up to the client's max_block_ms, which it reads at every
        # send: bound this one by what is left of the call's budget (overlapping calls share
        # the setting; each send reads the value set just before it, at worst another call's).
        bound = self._max_block_ms
        if ledger is not None and ledger.deadline is not None:
            bound = max(0, min(bound, int((ledger.deadline - _monotonic()) * 1000)))
        client.config["max_block_ms"] = bound
        try:
            future = client.send(
                topic, value=payload, key=key, headers=headers or None, partition=partition
            )
        except Exception as exc:
            # kafka-python refuses some messages synchronously (a broker it cannot reach for
            # metadata): a failed delivery of this call, not an error escaping the handler.
            refused(ledger, topic, exc)
            return
        if ledger is not None:
            ledger.sent()
            future.add_callback(lambda metadata: ledger.settled(None))
            future.add_errback(lambda error: ledger.settled(error or "delivery failed"))

    def flush(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for every queued message to be delivered or fail;
        how many are still outstanding (0: all settled, and their reports served)."""
        deadline = _monotonic() + max(0.0, timeout)
        remaining = self._flush_retired(deadline) if self._retired else 0
        client = self._client
        if client is not None:
            remaining += self._flush_client(client, deadline - _monotonic())
        owner = self._owner
        if remaining == 0 and owner is not None and owner.ended:
            with self._lock:
                if self._owner is owner:
                    self._owner = None  # a call that ended before its messages settled
        return remaining

    def _after_fork(self) -> None:
        """In a forked child, before anything else runs there: keep the parent's clients from
        ever being destroyed here (that waits for the parent's threads, forever), even when the
        child drops this producer, and let the next message build the child's own client."""
        self._lock = allocate_lock()  # a thread of the parent may have held it at the fork
        self._sole = None
        abandon([each for each in (self._client, *self._retired) if each is not None])
        self._client = None
        self._retired = []
        self._unspecialise()

    def _flush_client(self, client: Any, timeout: float) -> int:
        """Flush one client; how many messages it still holds (1 when it cannot say)."""
        if self.backend == "confluent" or self._factory is not None:
            try:
                left = client.flush(max(0.0, timeout))
            except Exception as exc:
                if isinstance(exc, SystemError) or is_fatal(exc):
                    return self._lost(exc, client)
                # The user's callback raised: theirs to see. Reports served around it may not
                # have reached lambdakit's callback either, so no call in progress can succeed.
                self._poison(f"a delivery callback raised {exc!r}")
                raise
            except:  # noqa: E722 - see _lost: what confluent-kafka raises is no exception class
                error = sys.exc_info()[1]
                if isinstance(error, BaseException):
                    raise  # the user's callback raised, or an interrupt: theirs to see
                return self._lost(error, client)
            return left if isinstance(left, int) else 0
        from kafka.errors import KafkaTimeoutError

        try:
            client.flush(timeout=max(0.0, timeout))
        except KafkaTimeoutError:  # what is still queued shows in the ledger
            return 1
        return 0

    def _lost(self, error: Any, client: Any) -> int:
        """A flush that failed with the client's fatal error. confluent-kafka then calls the
        delivery and error callbacks with that error already pending, so every Python call in
        them fails: the reports of the messages librdkafka purged were lost, and the queue is
        empty although nothing was delivered. Every call in progress may have had messages
        there, so none of them can succeed; the client is rebuilt for the next one."""
        text = str(error)
        with self._lock:
            self._broken = True
            self._unspecialise()
        self._poison(f"the client failed fatally ({text})")
        get_logger("lambdakit.kafka").error("Kafka client failed fatally: %s", text)
        try:
            return len(client)
        except Exception:
            return 1

    def _poison(self, why: str) -> None:
        """Delivery reports may have been lost: the calls in progress cannot be confirmed."""
        with self._lock:
            for ledger in self._active:
                if ledger.lost is None:
                    ledger.lost = why

    def _flush_retired(self, deadline: float) -> int:
        """Flush replaced clients within the same deadline; close those that are empty."""
        remaining = 0
        for client in list(self._retired):
            left = self._flush_client(client, deadline - _monotonic())
            if left == 0:
                with self._lock:  # overlapping calls flush too: one of them closes it
                    mine = any(each is client for each in self._retired)
                    if mine:
                        self._retired = [each for each in self._retired if each is not client]
                if mine:
                    close_client(client)
            remaining += left
        return remaining

    def close(self, timeout: float = 5.0) -> int:
        """Flush for up to ``timeout`` seconds, then drop the client; how many messages were
        still undelivered then. Those are purged (their calls, if still flushing, see them
        fail) and logged as a warning: a bounded close cannot wait for a broker that is gone."""
        left = self.flush(timeout)
        with self._lock:
            client, self._client = self._client, None
            retired, self._retired = self._retired, []
            self._unspecialise()
        for each in (*retired, client):
            if each is not None:
                try:
                    close_client(each)
                except Exception as exc:  # the others still get closed
                    get_logger("lambdakit.kafka").warning("Producer.close: %r", exc)
        if left:
            get_logger("lambdakit.kafka").warning(
                "Producer.close: %d message(s) undelivered after %.3f s were dropped", left, timeout
            )
        return left

    def describe(self) -> str:
        """Which producer this is (``warm_up`` names it so in its report and warning)."""
        servers = self.config.get("bootstrap.servers") or self.config.get("bootstrap_servers")
        return f"Producer(backend={self.backend!r}, bootstrap={servers!r})"

    def __repr__(self) -> str:
        return f"{self.describe()[:-1]}, created={self.created})"


CONNECT_SOON_SECONDS = 0.5  # short: close() and shutdown must never wait for it


def _connect_soon(client: Any) -> None:
    """Make a new confluent-kafka client reach a broker now, on a daemon thread, instead of
    leaving its first message to wait: an idempotent producer asks for its producer id only
    over a broker connection, and librdkafka drops its bootstrap connection once it knows the
    brokers, so the id request otherwise waits for a 500 ms retry timer (measured: about half
    a second added to every cold start's first flush). :func:`_metadata_twice` opens that
    connection in two round trips. Best effort: a cluster that does not answer leaves the
    client as it would be anyway, and the message itself reports the failure."""
    from threading import Thread

    def connect() -> None:
        try:
            _metadata_twice(client, [], _monotonic() + CONNECT_SOON_SECONDS)
        except Exception:  # nothing to report here: the first message says what is wrong
            return

    Thread(target=connect, name="lambdakit-kafka-connect", daemon=True).start()


def _metadata_twice(client: Any, topics: list[str], deadline: float) -> None:
    """confluent-kafka: cluster metadata through a bootstrap server, each topic's, then the
    cluster's again through a learned broker (see :meth:`Producer.warm`)."""
    for topic in [None, *topics, None]:
        left = deadline - _monotonic()
        if left <= 0:
            raise TimeoutError("no time left for the metadata requests")
        metadata = client.list_topics(topic, timeout=left)
        found = metadata.topics.get(topic) if topic is not None else None
        if found is not None and found.error is not None:
            raise KafkaConfigurationError(f"topic {topic!r}: {found.error}")


def _kafka_python_metadata(client: Any, topics: list[str], deadline: float, bound: int) -> None:
    """kafka-python: each topic's metadata (what ``send`` waits for, bounded as ``send`` is,
    through ``max_block_ms``), then an idempotent producer's id (the sender thread asks for it
    as soon as it runs; the library offers no event for it, so it is polled in 5 ms steps)."""
    import time

    client.config["max_block_ms"] = max(0, int((deadline - _monotonic()) * 1000))
    try:
        for topic in topics:
            client.partitions_for(topic)
    finally:
        client.config["max_block_ms"] = bound
    manager = getattr(client, "_transaction_manager", None)  # kafka-python >= 2.1, idempotent
    has_id = getattr(manager, "has_producer_id", None)
    while callable(has_id) and not has_id():
        if _monotonic() >= deadline:
            raise TimeoutError("no producer id yet at the deadline")
        time.sleep(0.005)
