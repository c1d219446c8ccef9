"""``close_on_shutdown``: flush and close producers when Lambda retires the execution environment.

``flush_kafka`` empties the buffer after every call, so nothing a call produced waits through a
freeze. What it does not cover is a message produced outside a flushed call (at init, from a
background thread, by a handler without the decorator), nor the connections left open when the
environment goes away. Lambda warns the runtime of the end only under one condition: when at
least one extension is registered, it sends the runtime process ``SIGTERM`` and waits a short
time (500 ms when the extensions are internal ones) before ``SIGKILL``; with no extension it
kills the process without warning.

So, opt-in, this module:

- registers a minimal *internal* extension (``lambdakit-shutdown``) through the Extensions API
  at ``AWS_LAMBDA_RUNTIME_API``, once per process. An internal extension may not register for
  ``SHUTDOWN``; it registers for no event at all. Lambda ends the Init phase only once every
  registered extension has asked for its next event, so a daemon thread does that at once and
  then simply waits: with no event registered, the request is never answered.
- installs a ``SIGTERM`` handler that flushes every producer handed to it within one budget,
  closes those that delivered everything, logs what is still undelivered, then does what the
  handler it replaced would have done.

The flush runs in a helper thread that the handler waits for, never in the interrupted main
thread itself: the signal may arrive while that thread is inside the Kafka client or holds a
lock a delivery callback needs, and re-entering the client there could deadlock until
``SIGKILL``. From the helper thread, the worst case is a wait that ends at the budget.
"""

from __future__ import annotations

import os
from _thread import allocate_lock
from time import monotonic

from lambdakit._internal.logs import get_logger
from lambdakit.errors import KafkaConfigurationError
from lambdakit.kafka._producer import Producer

TYPE_CHECKING = False
if TYPE_CHECKING:
    import http.client
    from collections.abc import Callable
    from types import FrameType
    from typing import Any

LOGGER = "lambdakit.kafka"
EXTENSION_NAME = "lambdakit-shutdown"
EXTENSIONS_API = "/2020-01-01/extension"
DEFAULT_TIMEOUT = 0.4  # inside the 500 ms Lambda leaves a runtime with an internal extension
REGISTER_TIMEOUT = 2.0  # Init is limited to 10 s; an API that does not answer must not eat it
JOIN_SLACK = 0.02  # for the helper thread to hand back its last result after the budget

_NOT_REPORTED = object()  # the helper thread did not get as far as counting this producer


class _State:
    """Everything the helper keeps per process."""

    __slots__ = (
        "extension_id",
        "handling",
        "installed",
        "previous",
        "producers",
        "registration_attempted",
        "timeout",
    )

    def __init__(self) -> None:
        # Strong references: a producer dropped by its owner but still holding queued messages
        # stays alive (its client keeps sending) and is flushed at shutdown, instead of being
        # destroyed with its buffer. The producers handed here live at module level anyway.
        self.producers: list[Producer] = []
        self.timeout = DEFAULT_TIMEOUT
        self.installed = False  # our SIGTERM handler is in place
        self.previous: Any = None  # the handler ours replaced, chained after the flush
        self.registration_attempted = False
        self.extension_id: str | None = None  # set once Lambda accepted the registration
        self.handling = False  # a SIGTERM is being handled (a second one is ignored)


_state = _State()
_lock = allocate_lock()  # serialises calls; never taken by the signal handler


def close_on_shutdown(*producers: Producer, timeout: float | None = None) -> None:
    """At ``SIGTERM``, flush and close ``producers`` within ``timeout`` seconds; on Lambda, make
    Lambda send ``SIGTERM`` at all by registering a minimal internal extension.

    Call it at module level (the Init phase): Lambda accepts extension registrations only
    before the runtime asks for its first invocation, and Python installs signal handlers only
    from the main thread. Calling it again adds producers; the extension is registered and the
    handler installed once per process. ``timeout`` is the budget for all producers together,
    shared out in turn (default 0.4 s, inside the 500 ms Lambda allows; a larger value is cut
    short by ``SIGKILL`` on Lambda). ``timeout=None`` keeps the budget already set.

    At ``SIGTERM``: each producer that built a client in this process is flushed; one with
    nothing left queued is closed (a later ``produce`` would build a new client), one with
    messages still queued is left open and the count is logged as a warning on
    ``lambdakit.kafka`` (closing it would either block past the budget or drop them). Then the
    previous handler runs: a Python callable is called; the default action is restored and the
    signal raised again, so the process ends by ``SIGTERM`` as it would have; an ignored signal
    stays ignored.

    A Python signal handler runs only when the main thread returns to the interpreter. AWS's
    graceful-shutdown sample reports that Lambda's managed Python runtimes before python3.12
    wait for the next invocation in native code that does not, so there ``SIGKILL`` comes
    before the handler runs: use python3.12 or later.

    Without ``AWS_LAMBDA_RUNTIME_API`` (containers, tests) only the handler is installed. If
    registration fails (the API refuses it, e.g. after Init, or cannot be reached), a warning is
    logged and init carries on with the handler installed: nothing breaks, but Lambda will not
    send ``SIGTERM``. Called first outside the main thread, nothing can be installed: a warning
    is logged, and a later call from the main thread covers these producers too.

    Raises :class:`~lambdakit.errors.KafkaConfigurationError` for no producer, an argument that
    is not a :class:`~lambdakit.kafka.Producer`, or a ``timeout`` that is not a positive number.
    """
    if not producers:
        raise KafkaConfigurationError("close_on_shutdown: expected at least one Producer")
    for index, producer in enumerate(producers):
        if not isinstance(producer, Producer):
            raise KafkaConfigurationError(
                f"close_on_shutdown: producers[{index}]: expected a Producer, got {producer!r}"
            )
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 < timeout < float("inf")
    ):
        raise KafkaConfigurationError(
            f"close_on_shutdown: timeout={timeout!r}: expected a positive number of seconds"
        )
    with _lock:
        for producer in producers:
            if not any(producer is known for known in _state.producers):
                _state.producers.append(producer)
        if timeout is not None:
            _state.timeout = float(timeout)
        if not _state.installed and not _install():
            return
        if _state.registration_attempted:
            return
        _state.registration_attempted = True
        api = os.environ.get("AWS_LAMBDA_RUNTIME_API")
        if api:
            _register(api)


def _install() -> bool:
    """Install the SIGTERM handler; ``False`` (with a warning) outside the main thread."""
    import signal

    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError as exc:  # "signal only works in main thread of the main interpreter"
        get_logger(LOGGER).warning(
            "close_on_shutdown: no SIGTERM handler installed (%s): Python installs signal "
            "handlers only from the main thread. These producers will be flushed at SIGTERM "
            "once close_on_shutdown is called from the main thread, e.g. at module level.",
            exc,
        )
        return False
    _state.previous = previous
    _state.installed = True
    return True


# --- the extension ----------------------------------------------------------------------------


def _register(api: str) -> None:
    """Register the internal extension for no events, then keep asking for the next event."""
    import http.client
    import json

    connection = None
    try:
        connection = http.client.HTTPConnection(api, timeout=REGISTER_TIMEOUT)
        connection.request(
            "POST",
            f"{EXTENSIONS_API}/register",
            body=json.dumps({"events": []}),
            headers={"Lambda-Extension-Name": EXTENSION_NAME, "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:  # InvalidURL for a malformed address
        if connection is not None:
            connection.close()
        _registration_failed(api, f"{type(exc).__name__}: {exc}")
        return
    identifier = response.getheader("Lambda-Extension-Identifier")
    if response.status != 200 or not identifier:
        connection.close()
        detail = body[:200].decode("utf-8", "replace")
        _registration_failed(api, f"HTTP {response.status}: {detail}")
        return
    _state.extension_id = identifier
    get_logger(LOGGER).debug("registered the %s extension (%s)", EXTENSION_NAME, identifier)

    import threading

    threading.Thread(
        target=_wait_for_events,
        args=(connection, identifier),
        name=f"{EXTENSION_NAME}-extension",
        daemon=True,
    ).start()


def _registration_failed(api: str, reason: str) -> None:
    get_logger(LOGGER).warning(
        "close_on_shutdown: could not register the %s extension with the Lambda Extensions API "
        "at %s (%s). Lambda will not send SIGTERM before ending this environment, so the "
        "producers are not flushed at shutdown; flush_kafka still flushes after every call.",
        EXTENSION_NAME,
        api,
        reason,
    )


def _wait_for_events(connection: http.client.HTTPConnection, identifier: str) -> None:
    """Ask for the next event, for ever. Lambda completes Init only once every registered
    extension has done so; registered for no events, the request then stays unanswered, costing
    an idle connection and a sleeping thread. The API says not to put a timeout on it."""
    import http.client
    import json

    connection.timeout = None
    if connection.sock is not None:
        connection.sock.settimeout(None)
    while True:
        try:
            connection.request(
                "GET",
                f"{EXTENSIONS_API}/event/next",
                headers={"Lambda-Extension-Identifier": identifier},
            )
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            _stopped_waiting(f"{type(exc).__name__}: {exc}")
            return
        if response.status != 200:
            connection.close()
            _stopped_waiting(f"HTTP {response.status}: {body[:200].decode('utf-8', 'replace')}")
            return
        try:  # an event after all: ask for the next one at once, as Lambda waits for it
            event_type = json.loads(body).get("eventType")
        except (ValueError, AttributeError):
            event_type = None
        if event_type == "SHUTDOWN":
            connection.close()
            return


def _stopped_waiting(reason: str) -> None:
    get_logger(LOGGER).warning(
        "close_on_shutdown: the %s extension stopped waiting for events (%s)",
        EXTENSION_NAME,
        reason,
    )


# --- the signal handler -----------------------------------------------------------------------


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _state.handling:  # a second SIGTERM while the first is handled, or a chain looping back
        return
    _state.handling = True
    try:
        try:
            _shutdown(list(_state.producers), _state.timeout)
        except Exception:  # a bug here must not stand between SIGTERM and the chained handler
            _log("exception", "close_on_shutdown: the shutdown flush failed")
        _chain(signum, frame)
    finally:
        _state.handling = False


def _chain(signum: int, frame: FrameType | None) -> None:
    """Do what the handler we replaced would have done."""
    import signal

    previous = _state.previous
    if previous is signal.SIG_IGN:
        return
    if previous is not signal.SIG_DFL and callable(previous):
        previous(signum, frame)
        return
    # SIG_DFL, or None (a handler installed from C, which Python cannot call): end the process
    # by the signal, as the default action would have. raise() delivers it to this thread
    # before returning, so no more Python code runs.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.raise_signal(signal.SIGTERM)


def _shutdown(producers: list[Producer], budget: float) -> None:
    """Flush and close ``producers`` in a helper thread, for at most ``budget`` seconds in all;
    report from this thread (logging takes locks the interrupted thread may hold, which are
    re-entrant here but would block the helper)."""
    entries = [
        (producer, producer._client)
        for producer in producers
        # nothing produced otherwise (retired clients: replaced ones still holding messages;
        # in a forked child, the parent's clients are already gone from its producers)
        if producer._client is not None or producer._retired
    ]
    if not entries:
        return
    deadline = monotonic() + budget
    results: list[object] = [_NOT_REPORTED] * len(entries)
    import threading

    helper = threading.Thread(
        target=_flush_all, args=(entries, deadline, results), name="lambdakit-shutdown-flush"
    )
    helper.daemon = True
    try:
        helper.start()
    except RuntimeError:  # no new threads at interpreter shutdown: flush here, still bounded
        _flush_all(entries, deadline, results)
    else:
        helper.join(max(0.0, deadline - monotonic()) + JOIN_SLACK)
    _report(entries, results, budget)


def _flush_all(
    entries: list[tuple[Producer, Any]],
    deadline: float,
    results: list[object],
    clock: Callable[[], float] = monotonic,
) -> None:
    """Flush each producer with an even share of the time left (what one does not use goes to
    the next; once the deadline has passed, the rest get no time), count what is still
    queued, and close it if that is nothing."""
    for index, (producer, client) in enumerate(entries):
        share = max(0.0, deadline - clock()) / (len(entries) - index)
        try:
            left = producer.flush(share)  # live and retired clients: what is still queued
            undelivered: int | None = left
            if left and producer.backend != "confluent":  # kafka-python cannot say how many
                undelivered = _queued(producer.backend, client, in_helper=True)
            results[index] = undelivered
            if undelivered == 0:
                producer.close(max(0.0, deadline - clock()))
        except Exception as exc:
            if results[index] is _NOT_REPORTED:
                results[index] = exc


def _queued(backend: str, client: Any, *, in_helper: bool = False) -> int | None:
    """Messages the client still holds (``None``: it cannot tell).

    Only the helper thread may call into the client: in the interrupted thread, only
    confluent-kafka's queue length (an atomic read in librdkafka) is safe to take."""
    try:
        if backend == "confluent":
            # librdkafka's queue length also counts callbacks waiting to be served (delivery
            # reports, errors): served first, what remains is messages not acknowledged
            if in_helper:
                client.poll(0)
            return len(client)
        if not in_helper:  # the accumulator's lock may be held by the interrupted thread
            return None
        # kafka-python exposes no count; its accumulator keeps every batch not yet acknowledged
        return sum(int(batch.record_count) for batch in client._accumulator._incomplete.all())
    except Exception:
        return None


def _report(entries: list[tuple[Producer, Any]], results: list[object], budget: float) -> None:
    counts: list[str] = []
    total = 0
    unknown = 0
    for (producer, client), result in zip(entries, results, strict=True):
        if result is _NOT_REPORTED:  # the budget ran out before the helper got to it
            result = _queued(producer.backend, client)
        if isinstance(result, BaseException):
            _log(
                "warning",
                "close_on_shutdown: flushing %r at SIGTERM failed: %s: %s",
                producer,
                type(result).__name__,
                result,
            )
            result = _queued(producer.backend, client)
        if result is None:
            counts.append(f"{producer!r}: unknown")
            unknown += 1
        elif isinstance(result, int) and result > 0:
            counts.append(f"{producer!r}: {result}")
            total += result
    if not counts:
        _log("debug", "close_on_shutdown: %d producer(s) flushed and closed", len(entries))
        return
    amount = str(total)
    if unknown:
        amount = f"at least {total}" if total else "an unknown number of"
    _log(
        "warning",
        "close_on_shutdown: %s message(s) still undelivered after the %.3f s shutdown flush (%s)",
        amount,
        budget,
        "; ".join(counts),
    )


def _log(level: str, message: str, *args: object) -> None:
    """Log from the signal handler without letting a failing log stop the shutdown."""
    import contextlib

    with contextlib.suppress(Exception):
        getattr(get_logger(LOGGER), level)(message, *args)


def _reset() -> None:
    """Forget the producers and restore the SIGTERM handler found at installation (for tests).

    A registered extension cannot be unregistered: its thread ends when its API stops."""
    import signal

    global _state
    with _lock:
        if _state.installed and signal.getsignal(signal.SIGTERM) is _on_sigterm:
            previous = _state.previous
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        _state = _State()
