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
from lambdakit.kafka._ledger import (
    Ledger,
    current_ledgers,
    described,
    refused,
    untracked_refusals,
)
from lambdakit.kafka._msk import credentials_in, prepare_kafka_python

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any
    from uuid import UUID

    # What schema= takes: AvroSchema, ProtobufSchema, JsonSchema (their common base).
    from lambdakit.kafka._schemas import Schema as Serializer

    Headers = list[tuple[str, bytes | None]]

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
        *,
        schema: Serializer | None = None,
        schema_id: int | UUID | str | None = None,
        framing: str = "confluent",
        compress: bool = False,
    ) -> None:
        """Queue one message; a failed delivery is settled in the current call's ledger.

        ``value`` and ``key``: bytes as they are, str as UTF-8, anything else as compact JSON;
        ``None`` is a tombstone (no key). With ``schema`` (an ``AvroSchema``, ``ProtobufSchema``
        or ``JsonSchema``), the value is ``schema.serialize(value, schema_id=..., framing=...,
        compress=...)``: the bytes Confluent's (``framing="confluent"``) or AWS Glue's
        (``"glue"``, zlib-compressed with ``compress``) serializer writes, under ``schema_id``
        or else the id pinned on the schema; a ``None`` value stays a tombstone, as with
        Confluent's serializers. A value the schema refuses, or a missing schema id, raises
        :class:`~lambdakit.errors.KafkaConfigurationError` here: a bug in the calling code,
        not a delivery failure of the call.
        """
        self._produce(topic, value, key, headers, partition, schema, schema_id, framing, compress)

    def produce_many(
        self,
        topic: str,
        values: Iterable[Any],
        *,
        keys: Iterable[Any] | None = None,
        headers: Mapping[str, Any] | Iterable[Mapping[str, Any] | None] | None = None,
        schema: Serializer | None = None,
        schema_id: int | UUID | str | None = None,
        framing: str = "confluent",
        compress: bool = False,
    ) -> None:
        """Queue one message per value to ``topic``: what a loop of :meth:`produce` does, at
        the cost of the bare client's own loop (it is the bulk path of a function producing
        thousands of messages).

        ``keys``: one key per value (same length), or none. ``headers``: one mapping for every
        message, or one per value (``None`` for none). Values, keys and headers are encoded as
        :meth:`produce` encodes them, and ``schema``/``schema_id``/``framing``/``compress``
        serialize values as there. Every argument is checked, and every value encoded, before
        the first message is sent: a value that cannot be encoded raises
        :class:`~lambdakit.errors.KafkaConfigurationError` naming it (``values[3]: ...``) and
        nothing is sent. A full local queue is waited out (reports served, the message
        retried), so no message is lost or sent twice.

        Delivery is accounted as for :meth:`produce`: under ``flush_kafka``, a message that
        fails (refused by the client, or reported failed) fails the call (under
        ``process_batch``, its record). Outside a call, the messages are sent untracked, and
        any the client refuses at once raise :class:`~lambdakit.errors.KafkaDeliveryError`
        naming them, after the others were queued.
        """
        _check_topic(topic)
        serialize = _serializer(schema, schema_id, framing, compress)
        ours = self._may_specialise  # produce is not overridden: send the messages directly
        as_is = _AS_IS_STR if ours and self._infers else _AS_IS
        given = _sequence(values, "values")
        payloads = (
            _encoded(given, "values", as_is)
            if serialize is None
            else _serialize_all(serialize, schema, given)
        )
        count = len(payloads)
        given_keys = None if keys is None else _sequence(keys, "keys", count)
        encoded_keys = None if given_keys is None else _encoded(given_keys, "keys", as_is)
        header_lists, header_maps = _header_lists(headers, count)
        if not count:
            return
        if not ours:  # a subclass's produce (RecordingProducer's) sees every message
            for index in range(count):
                self.produce(
                    topic,
                    payloads[index],
                    None if given_keys is None else given_keys[index],
                    None if header_maps is None else header_maps[index],
                )
            return
        ledger = current_ledgers.get({}).get(id(self))
        if self.backend == "confluent":
            refusals = self._send_confluent(topic, payloads, encoded_keys, header_lists, ledger)
        else:
            refusals = self._send_kafka_python(topic, payloads, encoded_keys, header_lists, ledger)
        if refusals:
            raise untracked_refusals(topic, count, refusals)

    def _specialise(self, client: Any, ledger: Ledger) -> None:
        """The fast path for the rest of a lone call: ``produce`` becomes a closure over the
        checked client and the call's ledger, which skips every lookup a message does not need
        (10,000 messages should cost what the bare client costs). Anything unusual (headers, a
        partition, a value to encode, ``schema=`` and its options, a full local queue, an
        error) takes the full path.

        The options go to ``**options`` here, not to keyword-only parameters as in
        :meth:`produce`: CPython looks each missing keyword-only default up in a dict on every
        call (measured: 35 ns a message for the four, 7% of 10,000 messages' time), while an
        empty ``**options`` costs a third of that; :meth:`produce` itself checks their names."""
        client_produce = client.produce
        tick = ledger.tick
        scope = ledger.scope
        in_call = current_ledgers.get
        full = self._produce
        with_options = Producer.produce.__get__(self)

        def produce(
            topic: str,
            value: Any,
            key: Any = None,
            headers: Mapping[str, Any] | None = None,
            partition: int | None = None,
            **options: Any,
        ) -> None:
            if (
                headers is None
                and partition is None
                and not options
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
            if options:
                with_options(topic, value, key, headers, partition, **options)
            else:
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
        schema: Serializer | None = None,
        schema_id: int | UUID | str | None = None,
        framing: str = "confluent",
        compress: bool = False,
    ) -> None:
        _check_topic(topic)
        payload = serialized(value, schema, schema_id, framing, compress)
        encoded_key = encode(key, "key")
        encoded_headers = _header_list(headers, "headers") if headers else []
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
        callback = self._callback(ledger)
        if callback is not None:
            options["on_delivery"] = callback
        error = _queue(client, topic, options)
        if error is not None:
            self._notice(error)
            refused(ledger, topic, error)
            return
        if ledger is not None:
            ledger.sent()
            self._specialise_soon(client, ledger)

    def _callback(self, ledger: Ledger | None) -> Callable[[Any, Any], None] | None:
        """The delivery callback a message of ``ledger``'s call is tagged with (``None``: the
        client-wide one, which settles the owner's failures; see the module docstring)."""
        if ledger is None:
            return self._untracked if self._infers else None
        if ledger is not self._owner or not self._infers:
            return ledger.report
        return None

    def _specialise_soon(self, client: Any, ledger: Ledger) -> None:
        """Take the fast path from the call's second message on (a call of one message need
        not pay for it), and again after anything undid it while the call goes on."""
        if (
            ledger is self._sole
            and self._may_specialise
            and ledger.produced >= 2
            and "produce" not in self.__dict__
        ):
            self._specialise(client, ledger)

    def _send_confluent(
        self,
        topic: str,
        payloads: Sequence[bytes | str | None],
        keys: Sequence[bytes | str | None] | None,
        headers: list[Headers | None] | None,
        ledger: Ledger | None,
    ) -> list[str]:
        """``produce_many``'s loop, as cheap as the bare client's: with nothing to tag (keys,
        headers, a callback), ``map`` calls the client's ``produce`` from C, no Python code per
        message. It runs over one iterator of ``payloads`` (a list or tuple): when ``produce``
        raises, what is left in it says which message failed; that one is retried alone (a full
        queue is waited out) or, refused, is the call's failure (outside a call, returned as
        ``values[i]: why``), and the loop resumes after it. Counted in ``ledger`` per run."""
        from collections import deque
        from itertools import repeat
        from operator import length_hint

        callback = self._callback(ledger)
        bare = keys is None and headers is None and callback is None
        total = len(payloads)
        left = iter(payloads)
        keys_left = iter(repeat(None) if keys is None else keys)
        headers_left = iter(repeat(None) if headers is None else headers)
        refusals: list[str] = []
        counted = 0  # messages before this index are counted in the ledger
        client = self.client
        while True:
            produce = client.produce
            try:
                if bare:
                    deque(map(produce, repeat(topic), left), maxlen=0)
                else:
                    # keys_left and headers_left may be endless (repeat): left sets the length
                    for value, key, each in zip(left, keys_left, headers_left, strict=False):
                        produce(topic, value, key, headers=each, on_delivery=callback)
                break
            except Exception as exc:
                index = total - length_hint(left) - 1  # the message produce refused
                options = {
                    "value": payloads[index],
                    "key": None if keys is None else keys[index],
                    "headers": None if headers is None else headers[index],
                    "on_delivery": callback,
                }
                full = isinstance(exc, BufferError)
                error = _queue(client, topic, options, full=True) if full else exc
            if ledger is not None:
                ledger.sent_many(index - counted)
            counted = index + 1
            if error is None:
                if ledger is not None:
                    ledger.sent()
                continue
            self._notice(error)
            if ledger is None:
                refusals.append(f"values[{index}]: {error}")
            else:
                refused(ledger, topic, error)
            client = self.client  # after a fatal error, the rest go to a new client
        if ledger is not None:
            ledger.sent_many(total - counted)
            self._specialise_soon(client, ledger)
        return refusals

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
            self._send_one(topic, payload, key, headers, partition, ledger)
        except Exception as exc:
            # kafka-python refuses some messages synchronously (a broker it cannot reach for
            # metadata): a failed delivery of this call, not an error escaping the handler.
            refused(ledger, topic, exc)

    def _send_kafka_python(
        self,
        topic: str,
        payloads: Sequence[bytes | None],
        keys: Sequence[bytes | None] | None,
        headers: list[Headers | None] | None,
        ledger: Ledger | None,
    ) -> list[str]:
        """``produce_many`` with kafka-python: its ``send`` per message (one future each, so
        nothing to gain in bulk); refusals as in :meth:`_send_confluent`."""
        refusals: list[str] = []
        for index, payload in enumerate(payloads):
            try:
                self._send_one(
                    topic,
                    payload,
                    None if keys is None else keys[index],
                    [] if headers is None else headers[index] or [],
                    None,
                    ledger,
                )
            except Exception as exc:
                if ledger is None:
                    refusals.append(f"values[{index}]: {exc}")
                else:
                    refused(ledger, topic, exc)
        return refusals

    def _send_one(
        self,
        topic: str,
        payload: bytes | None,
        key: bytes | None,
        headers: Headers,
        partition: int | None,
        ledger: Ledger | None,
    ) -> None:
        """kafka-python's ``send`` of one message, counted in ``ledger``; raises what ``send``
        raises (the message was refused)."""
        client = self.client
        # send() waits for metadata up to the client's max_block_ms, which it reads at every
        # send: bound this one by what is left of the call's budget (overlapping calls share
        # the setting; each send reads the value set just before it, at worst another call's).
        bound = self._max_block_ms
        if ledger is not None and ledger.deadline is not None:
            bound = max(0, min(bound, int((ledger.deadline - _monotonic()) * 1000)))
        client.config["max_block_ms"] = bound
        future = client.send(
            topic, value=payload, key=key, headers=headers or None, partition=partition
        )
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


_AS_IS: frozenset[type] = frozenset({bytes, type(None)})  # what every client takes as it is
_AS_IS_STR: frozenset[type] = frozenset({bytes, str, type(None)})  # confluent-kafka: str too


def _check_topic(topic: Any) -> None:
    if not isinstance(topic, str) or not topic:
        raise KafkaConfigurationError(f"topic={topic!r}: expected a topic name")


def _queue(
    client: Any, topic: str, options: dict[str, Any], *, full: bool = False
) -> Exception | None:
    """Queue one message with confluent-kafka's ``produce``; the error if the client refused
    it. A full local queue (``full``: found so already) is not a refusal: delivery reports are
    served (room is made as messages are acknowledged), then the message is tried again."""
    while True:
        if full:
            client.poll(0.1)
        try:
            client.produce(topic, **options)
            return None
        except BufferError:
            full = True
        except Exception as exc:
            return exc


def _serializer(
    schema: Serializer | None, schema_id: Any, framing: str, compress: bool
) -> Callable[[Any], bytes] | None:
    """``schema.serialize`` with the options bound, or ``None`` without a schema (then the
    options, which only a schema uses, must be left alone: given, they would be ignored)."""
    if schema is None:
        for name, given, default in (
            ("schema_id", schema_id, None),
            ("framing", framing, "confluent"),
            ("compress", compress, False),
        ):
            if given is not default and given != default:
                raise KafkaConfigurationError(
                    f"{name}={given!r}: frames a value serialized by a schema, but was given "
                    "without schema= (pass an AvroSchema, ProtobufSchema or JsonSchema)"
                )
        return None
    serialize = getattr(schema, "serialize", None)
    if not callable(serialize):
        raise KafkaConfigurationError(
            f"schema={schema!r}: expected an AvroSchema, ProtobufSchema or JsonSchema "
            "(an object with serialize())"
        )
    from functools import partial

    return partial(serialize, schema_id=schema_id, framing=framing, compress=compress)


def serialized(
    value: Any,
    schema: Serializer | None,
    schema_id: Any = None,
    framing: str = "confluent",
    compress: bool = False,
) -> bytes | None:
    """``produce``'s value as the bytes sent: ``schema.serialize``'d with the options when
    there is a schema (``None`` stays a tombstone), else encoded (bytes as they are, str as
    UTF-8, anything else as JSON). Every ``produce`` uses it, a subclass's too
    (``RecordingProducer``), so the bytes recorded are the bytes a broker would get."""
    serialize = _serializer(schema, schema_id, framing, compress)
    if serialize is not None and value is not None:
        try:
            return serialize(value)
        except Exception as exc:
            raise _unserializable("value", schema, exc) from exc
    return encode(value, "value")


def _unserializable(what: str, schema: Any, error: Exception) -> KafkaConfigurationError:
    """A value the schema refused: the calling code's bug, raised where it produced it.
    lambdakit's schemas name themselves in their errors; another object's error is named."""
    if isinstance(error, KafkaConfigurationError):
        return KafkaConfigurationError(f"{what}: {error}")
    return KafkaConfigurationError(f"{what}: {type(schema).__name__}.serialize: {error}")


def _serialize_all(
    serialize: Callable[[Any], bytes], schema: Any, values: Sequence[Any]
) -> list[bytes | None]:
    """Every value serialized (``None`` stays a tombstone), or the first refusal, named."""
    payloads: list[bytes | None] = []
    append = payloads.append
    for index, value in enumerate(values):
        try:
            append(None if value is None else serialize(value))
        except Exception as exc:
            raise _unserializable(f"values[{index}]", schema, exc) from exc
    return payloads


def _sequence(items: Any, what: str, length: int | None = None) -> Sequence[Any]:
    """``items`` as a sequence (any iterable but one value: str, bytes, a mapping), of
    ``length`` items when given."""
    from collections.abc import Iterable, Mapping

    found: Sequence[Any]
    if isinstance(items, (list, tuple)):
        found = items  # no copy: the bulk path's common case
    elif isinstance(items, (str, bytes, bytearray, memoryview, Mapping)) or not isinstance(
        items, Iterable
    ):
        raise KafkaConfigurationError(
            f"{what}: expected a sequence of {what}, got {type(items).__name__}"
        )
    else:
        found = list(items)
    if length is not None and len(found) != length:
        raise KafkaConfigurationError(
            f"{what}: {len(found)} {what} for {length} values; expected one per value"
        )
    return found


def _encoded(items: Sequence[Any], what: str, as_is: frozenset[type]) -> Sequence[Any]:
    """``items`` as the client takes them: the same sequence when every item is of a type in
    ``as_is`` (one pass in C, no copy: the bulk path's common case), else each encoded as
    :meth:`Producer.produce` encodes it, the first that cannot be named (``values[3]``)."""
    if set(map(type, items)) <= as_is:
        return items
    return [
        item if item.__class__ in as_is else encode(item, f"{what}[{index}]")
        for index, item in enumerate(items)
    ]


def _header_list(headers: Any, what: str) -> Headers:
    """A mapping of headers as the clients take them: (name, bytes) pairs."""
    from collections.abc import Mapping

    if not isinstance(headers, Mapping):
        raise KafkaConfigurationError(
            f"{what}: expected a mapping of header names to values, got {type(headers).__name__}"
        )
    return [(str(name), encode(value, f"{what}[{name!r}]")) for name, value in headers.items()]


def _header_lists(
    headers: Any, count: int
) -> tuple[list[Headers | None] | None, Sequence[Mapping[str, Any] | None] | None]:
    """``produce_many``'s headers, one entry per message (``None``: none at all): encoded for
    the client, and as given (for a subclass's ``produce``)."""
    from collections.abc import Iterable, Mapping

    if headers is None:
        return None, None
    if isinstance(headers, Mapping):
        shared = _header_list(headers, "headers") or None
        return (None if shared is None else [shared] * count), [headers] * count
    if isinstance(headers, (str, bytes, bytearray, memoryview)) or not isinstance(
        headers, Iterable
    ):
        raise KafkaConfigurationError(
            f"headers: expected a mapping or a sequence of mappings, got {type(headers).__name__}"
        )
    each = _sequence(headers, "headers", count)
    lists = [
        None if mapping is None else _header_list(mapping, f"headers[{index}]") or None
        for index, mapping in enumerate(each)
    ]
    return lists, each


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
