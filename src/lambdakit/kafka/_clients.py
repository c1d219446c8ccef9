"""Kafka clients as the managed producer handles them: encoding values, recognising a fatal
error, closing without waiting, and the process events that make clients untrustworthy (a
SnapStart restore, a fork), with one registry of live producers for both.
"""

from __future__ import annotations

import os

from lambdakit.errors import KafkaConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lambdakit.kafka._producer import Producer

FATAL_CODE = -150  # librdkafka's RD_KAFKA_RESP_ERR__FATAL


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


def is_fatal(error: Any) -> bool:
    """Whether ``error`` (a KafkaError, or an exception carrying one) is a fatal client error,
    or the _FATAL every later operation on such a client fails with."""
    args = getattr(error, "args", None)
    if isinstance(error, BaseException) and args:
        error = args[0]
    fatal = getattr(error, "fatal", None)
    code = getattr(error, "code", None)
    try:
        return bool((callable(fatal) and fatal()) or (callable(code) and code() == FATAL_CODE))
    except Exception:
        return False


def close_client(client: Any) -> None:
    """Close without waiting: confluent-kafka's ``close`` (2.5+) and destructor would first
    flush whatever is queued, with no bound, so purge that first; kafka-python's ``close``
    takes a timeout."""
    if callable(getattr(client, "purge", None)):
        if len(client):
            client.purge()
            client.flush(0)  # serve the purged messages' reports
        closer = getattr(client, "close", None)
        if callable(closer):
            closer()
        return
    closer = getattr(client, "close", None)
    if not callable(closer):
        return
    try:
        closer(timeout=0)
    except TypeError:  # a factory's client without a timeout
        closer()
    except Exception:
        # kafka-python's close gives up at its own flush timeout, leaving its sender thread
        # running: stop that as its close would have.
        sender = getattr(client, "_sender", None)
        if sender is not None and callable(getattr(sender, "force_close", None)):
            sender.force_close()


def abandon(clients: list[Any]) -> None:
    """Keep clients inherited through ``fork`` alive for good. Their threads live in the
    parent; destroying one here (librdkafka's ``rd_kafka_destroy``) waits for those threads,
    which in the child never end. One leaked object per client beats a hung child."""
    import ctypes

    for client in clients:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(client))


_producers: list[Any] = []


def register(producer: Producer) -> None:
    """Clients cannot be trusted after a SnapStart restore (connections in the snapshot are
    dead) or in a forked child (a client's threads do not survive ``fork``): drop them then."""
    import weakref

    _producers.append(weakref.ref(producer))
    if len(_producers) == 1:
        from lambdakit._internal.snapstart import after_restore

        after_restore(_reset_all)
        os.register_at_fork(after_in_child=_after_fork_in_child)


def _live_producers() -> list[Producer]:
    return [p for p in (reference() for reference in list(_producers)) if p is not None]


def _reset_all() -> None:
    for producer in _live_producers():
        producer.reset()


def _after_fork_in_child() -> None:
    """In a forked child, every client belongs to the parent (its threads are there)."""
    for producer in _live_producers():
        producer._after_fork()
