"""``@idempotent``: run a function once per key, replay its stored result for duplicates.

The protocol of one call, whatever the store:

1. Build the key (and the validation hash) from the payload. A missing key raises
   ``IdempotencyKeyError``, or, with ``on_missing_key="run"``, runs the function unguarded
   with a warning.
2. A local-cache hit (when enabled) replays at once, after validating the payload.
3. One conditional write takes the lock. If a live record holds the key instead, that same
   request returned it: COMPLETED replays its result (after validation); INPROGRESS raises
   ``IdempotencyAlreadyInProgressError`` or, with ``on_duplicate="wait"``, polls until it
   completes, disappears (then the lock is tried again) or time runs out.
4. The function runs. If it raises, the lock is deleted and the exception propagates untouched.
   If it returns, the result is serialised (a failure there releases the lock and raises
   ``IdempotencySerializationError``) and one write stores it as COMPLETED.

The lock expires with the invocation (the context's remaining time), so a call that crashed or
timed out does not block its key for the record's whole lifetime; with no usable context the
lock lasts 15 minutes, Lambda's maximum timeout.
"""

from __future__ import annotations

import math
import threading
import time
from os import urandom

from lambdakit._internal.aio import is_coroutine_function
from lambdakit._internal.invocation import (
    context_of,
    current_batch,
    current_margin_ms,
    remaining_seconds,
)
from lambdakit._internal.lazy import wraps
from lambdakit._internal.logs import get_logger
from lambdakit._internal.metrics import DUPLICATES_ANSWERED, count
from lambdakit._internal.stacking import check_stack, mark
from lambdakit.errors import (
    IdempotencyAlreadyInProgressError,
    IdempotencyConfigurationError,
    IdempotencyError,
    IdempotencyKeyError,
    IdempotencyPayloadMismatchError,
    IdempotencyPersistenceError,
    IdempotencySerializationError,
)
from lambdakit.idempotency._cache import LocalCache
from lambdakit.idempotency._keys import KeyMaker
from lambdakit.idempotency._record import COMPLETED, INPROGRESS, StoredRecord
from lambdakit.idempotency._results import dump_result, load_result

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from lambdakit.idempotency._record import IdempotencyStore

    F = TypeVar("F", bound=Callable[..., Any])

LOGGER = "lambdakit.idempotency"
MAX_LOCK_SECONDS = 900.0  # Lambda's longest timeout: no invocation outlives this
LOCAL_CACHE_DEFAULT_SIZE = 256
WAIT_MARGIN_SECONDS = 0.5  # a waiting duplicate gives up this long before the invocation ends
_STORE_METHODS = ("now", "acquire", "complete", "release", "get")
_DUPLICATE_MODES = ("raise", "wait")
_MISSING_KEY_MODES = ("raise", "run")


def _positive(option: str, value: Any, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise IdempotencyConfigurationError(f"{option}={value!r}: expected a positive number")
    return float(value)


def _cache_size(local_cache: Any) -> int:
    if local_cache is False or local_cache is None:
        return 0
    if local_cache is True:
        return LOCAL_CACHE_DEFAULT_SIZE
    if isinstance(local_cache, int) and not isinstance(local_cache, bool) and local_cache > 0:
        return local_cache
    raise IdempotencyConfigurationError(
        f"local_cache={local_cache!r}: expected True, False or a positive number of entries"
    )


class Idempotency:
    """One decorated function's configuration, validated when the decorator is applied."""

    def __init__(
        self,
        function: Callable[..., Any],
        store: IdempotencyStore,
        *,
        key: str | None,
        validate: str | None,
        expires_after: float,
        in_progress_expires_after: float | None,
        on_missing_key: str,
        local_cache: bool | int,
        key_prefix: str | None,
        hash_name: str | None,
        key_format: str,
        on_duplicate: str,
        output_type: Any,
    ) -> None:
        missing = [m for m in _STORE_METHODS if not callable(getattr(store, m, None))]
        if missing:
            raise IdempotencyConfigurationError(
                f"store={store!r}: not an IdempotencyStore (missing {', '.join(missing)})"
            )
        if on_duplicate not in _DUPLICATE_MODES:
            raise IdempotencyConfigurationError(
                f"on_duplicate={on_duplicate!r}: expected 'raise' or 'wait'"
            )
        self.function = function
        self.store = store
        self.keys = KeyMaker(
            key=key,
            validate=validate,
            key_prefix=key_prefix,
            key_format=key_format,
            hash_name=hash_name,
            function=function,
        )
        self.expires_after: float = _positive("expires_after", expires_after) or 0.0
        self.lock_seconds = _positive(
            "in_progress_expires_after", in_progress_expires_after, allow_none=True
        )
        if on_missing_key not in _MISSING_KEY_MODES:
            raise IdempotencyConfigurationError(
                f"on_missing_key={on_missing_key!r}: expected 'raise' or 'run'"
            )
        self.raise_on_missing_key = on_missing_key == "raise"
        size = _cache_size(local_cache)
        self.cache = LocalCache(size) if size else None
        self.wait = on_duplicate == "wait"
        self.output_type = output_type

    # --- one call -------------------------------------------------------------------------------

    def begin(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | Waiting | None:
        """Steps 1-3: ``None`` to run unguarded, a :class:`Call` (holding the lock, or with the
        result to replay), or :class:`Waiting` for a duplicate that waits (see :meth:`poll`)."""
        if args:
            payload = args[0]
        elif kwargs:
            payload = next(iter(kwargs.values()))
        else:
            raise IdempotencyKeyError(
                f"{self.keys.prefix}: called without arguments; the first argument is the payload"
            )
        documents = self.keys.documents(payload)
        key = self.keys.key(documents, raise_on_missing=self.raise_on_missing_key)
        if key is None:
            get_logger(LOGGER).warning(
                "%s: the idempotency key (%s) found nothing in the payload; running the "
                "function without idempotency (on_missing_key='run')",
                self.keys.prefix,
                self.keys.key_source or "whole payload",
            )
            return None
        validation = self.keys.validation(documents)
        if self.cache is not None:
            cached = self.cache.get(key, self.store.now())
            if cached is not None:
                return self._replay(cached, validation)
        waiting = Waiting(key, validation, context_of(args, kwargs), current_batch.get())
        return self._attempt(waiting)

    def _attempt(self, waiting: Waiting) -> Call | Waiting:
        """One conditional write: the lock, the stored result, or a reason to wait."""
        lock = self._lock(waiting)
        # Registered before the write: a record of this batch may meet the lock the moment it
        # is written, and must then find who holds it.
        in_flight = InFlight.start(lock, waiting.batch)
        try:
            found = self.store.acquire(lock)
        except BaseException:
            InFlight.discard(lock, waiting.batch)
            raise
        if found is None or (found.status == INPROGRESS and found.token == lock.token):
            # Taken (the second case: botocore retried a write whose response was lost, and
            # the retry met the lock its first attempt had already written).
            return Call(self, lock, in_flight)
        InFlight.discard(lock, waiting.batch)
        if found.status == COMPLETED:
            return self._replay(found, waiting.validation)
        self._check(found, waiting.validation)
        waiting.local = InFlight.holding(found, waiting.batch)
        return waiting if waiting.local is not None else self._in_progress(waiting)

    def _in_progress(self, waiting: Waiting) -> Waiting:
        """A lock held elsewhere (or left in place): ``on_duplicate`` decides."""
        if not self.wait:
            raise IdempotencyAlreadyInProgressError(
                f"{waiting.key}: another call with this key is in progress", waiting.key
            )
        return waiting

    def poll(self, waiting: Waiting) -> Call | Waiting:
        """One step of waiting (after the caller paused): the result once the holder stored
        it, the lock once the holder's record disappears, else still waiting."""
        if self._time_to_give_up(waiting):
            raise IdempotencyAlreadyInProgressError(
                f"{waiting.key}: another call with this key is still in progress after waiting "
                "for as long as this invocation can",
                waiting.key,
            )
        local = waiting.local
        if local is not None:  # the holder runs in this batch: no request needed
            if not local.done.is_set():
                return waiting
            waiting.local = None
            if local.result is not None:
                return self._replay(local.result, waiting.validation)
            if local.stuck:  # its lock stays until it expires: a duplicate in progress
                return self._in_progress(waiting)
            return self._attempt(waiting)
        found = self.store.get(waiting.key)
        if found is None:  # the holder failed, or its lock expired: take the lock ourselves
            return self._attempt(waiting)
        if found.status == COMPLETED:
            return self._replay(found, waiting.validation)
        self._check(found, waiting.validation)
        return waiting

    def _lock(self, waiting: Waiting) -> StoredRecord:
        now = self.store.now()
        lock_seconds = self.lock_seconds or remaining_seconds(waiting.context) or MAX_LOCK_SECONDS
        # The record's expiration also ends a lock (stores treat an expired record as absent),
        # so it must not come before the lock's own end, whatever expires_after says: a call
        # running longer than expires_after would otherwise lose its lock to a duplicate.
        return StoredRecord(
            key=waiting.key,
            status=INPROGRESS,
            expiration=math.ceil(now + max(self.expires_after, lock_seconds)),
            in_progress_expiration=int((now + lock_seconds) * 1000),
            validation=waiting.validation,
            token=urandom(16).hex(),
        )

    def _check(self, found: StoredRecord, validation: str | None) -> None:
        if validation is not None and found.validation != validation:
            raise IdempotencyPayloadMismatchError(
                f"{found.key}: the payload's {self.keys.validate_source!r} fields differ from "
                "those of the call stored under this key",
                found.key,
            )

    def _replay(self, found: StoredRecord, validation: str | None) -> Call:
        """A stored result answers this call (a duplicate): counted for the batch summary and
        metrics (``DuplicatesAnswered``), whichever way it was found."""
        self._check(found, validation)
        count(DUPLICATES_ANSWERED)
        if self.cache is not None:
            self.cache.put(found)
        return Call(self, None, None, replay=load_result(found.data, self.output_type))

    def _time_to_give_up(self, waiting: Waiting) -> bool:
        """Whether a waiting duplicate must stop: when its invocation has no more than the
        margin left (process_batch's ``deadline_margin_ms``, at least 0.5 s, to return at all),
        read from the context at every poll so that an injected clock drives it. Without a
        context (or one reporting 0), waiting ends when the holder's lock expires (the record
        then reads as absent and the lock is taken over), and never outlasts Lambda's longest
        timeout."""
        remaining = remaining_seconds(waiting.context)
        if remaining is not None:
            keep = max(current_margin_ms.get() / 1000, WAIT_MARGIN_SECONDS)
            return remaining <= keep
        return time.monotonic() - waiting.started > MAX_LOCK_SECONDS


class Waiting:
    """A duplicate waiting for the call that holds its key. ``local`` is that call when it
    runs in the same batch invocation (it is then waited for in memory, not by polling)."""

    __slots__ = ("batch", "context", "delay", "key", "local", "started", "validation")

    def __init__(
        self, key: str, validation: str | None, context: Any, batch: dict[str, Any] | None
    ) -> None:
        self.key = key
        self.validation = validation
        self.context = context
        self.batch = batch
        self.local: InFlight | None = None
        self.started = time.monotonic()
        self.delay = 0.005

    def next_delay(self) -> float:
        """Seconds to pause before the next poll: 10 ms at first, backing off to 250 ms."""
        self.delay = min(self.delay * 2, 0.25)
        return self.delay

    def pause(self) -> None:
        """Block this thread until the next poll (sooner if a local holder finishes)."""
        delay = self.next_delay()
        if self.local is not None:
            self.local.done.wait(delay)
        else:
            time.sleep(delay)


class InFlight:
    """A call of this batch holding a lock, found by duplicates of the same batch.

    Two records of one batch with the same key are the same request delivered twice, and
    both are this invocation's to finish: the second waits for the first in memory and replays
    its result (no request, no failure reported for it), whatever ``on_duplicate`` says. The
    calls are kept, by lock token, in the dict ``process_batch`` provides for the invocation
    (so they vanish with it, and a call that finished is still found by a late duplicate);
    outside a batch nothing is registered and ``on_duplicate`` decides.

    A call that finished leaving its lock in place (``stuck``: its result could not be stored,
    or the release failed) is no longer found: the lock stays until it expires, so a duplicate
    meeting it is in progress like any other, instead of retrying the lock in a loop.
    """

    __slots__ = ("done", "lock", "result", "stuck")

    def __init__(self, lock: StoredRecord) -> None:
        self.lock = lock
        self.done = threading.Event()
        self.result: StoredRecord | None = None
        self.stuck = False

    @staticmethod
    def start(lock: StoredRecord, batch: dict[str, Any] | None) -> InFlight | None:
        """Register ``lock`` before it is written: a duplicate may meet it at once."""
        if batch is None or lock.token is None:
            return None
        entry = batch[lock.token] = InFlight(lock)
        return entry

    @staticmethod
    def discard(lock: StoredRecord, batch: dict[str, Any] | None) -> None:
        if batch is not None and lock.token is not None:
            batch.pop(lock.token, None)

    @staticmethod
    def holding(found: StoredRecord, batch: dict[str, Any] | None) -> InFlight | None:
        if batch is None or found.token is None:
            return None
        entry = batch.get(found.token)
        return entry if isinstance(entry, InFlight) and not entry.stuck else None

    def finish(self, result: StoredRecord | None, *, stuck: bool = False) -> None:
        self.result = result
        self.stuck = stuck
        self.done.set()


class Call:
    """The lock a call holds (or the result it replays), and what happens when it ends."""

    __slots__ = ("in_flight", "lock", "owner", "replay")

    def __init__(
        self,
        owner: Idempotency,
        lock: StoredRecord | None,
        in_flight: InFlight | None,
        replay: Any = None,
    ) -> None:
        self.owner = owner
        self.lock = lock
        self.in_flight = in_flight
        self.replay = replay

    def succeeded(self, result: Any) -> Any:
        """Step 4, success: store the result, then return it."""
        owner, lock = self.owner, self.lock
        assert lock is not None
        try:
            data = dump_result(result)
        except IdempotencySerializationError as exc:
            raise self._unstorable(exc) from exc.__cause__
        except BaseException:  # an interrupt inside the result's own conversion
            self.failed()
            raise
        record = StoredRecord(
            key=lock.key,
            status=COMPLETED,
            expiration=int(owner.store.now() + owner.expires_after),
            data=data,
            validation=lock.validation,
        )
        try:
            owner.store.complete(record)  # may refuse a result too large for the store
        except IdempotencySerializationError as exc:
            raise self._unstorable(exc) from (exc.__cause__ or exc)
        except IdempotencyPersistenceError as exc:
            # The function ran; its result could not be recorded. Raised (the caller must know
            # the record stays INPROGRESS until its lock expires), with the result attached.
            self._finish(None, stuck=True)
            raise IdempotencyPersistenceError(str(exc), result=result) from exc.__cause__
        except BaseException:
            self._finish(None, stuck=True)  # the store's state is unknown: the lock may stay
            raise
        if owner.cache is not None:
            owner.cache.put(record)
        self._finish(record)
        return result

    def _unstorable(self, exc: IdempotencySerializationError) -> IdempotencySerializationError:
        """The error for a result that cannot be stored, after releasing the lock.

        The function has run, so its effects have happened; all that can be done is to leave
        no lock behind (a duplicate would otherwise be refused as in progress until the lock
        expired) and to say so: the next delivery runs the function again."""
        if self.failed():
            lock = "its lock was released, so the next delivery of this request runs it again"
        else:
            lock = (
                "its lock could not be released (see the warning logged): the next delivery "
                "after the lock expires runs it again"
            )
        return IdempotencySerializationError(
            f"{self.owner.keys.function_path}: {exc}. The function has run (its effects have "
            f"happened) but its result was not stored; {lock}"
        )

    def failed(self) -> bool:
        """Step 4, failure: delete the lock so that the next delivery runs the function.
        Whether it was deleted (if not, a warning is logged and the lock expires on its own)."""
        assert self.lock is not None
        released = False
        try:
            self.owner.store.release(self.lock)
            released = True
        except IdempotencyError as exc:
            get_logger(LOGGER).warning(
                "%s: could not release the lock (it expires on its own at %d ms): %s",
                self.lock.key,
                self.lock.in_progress_expiration,
                exc,
            )
        finally:
            self._finish(None, stuck=not released)
        return released

    def _finish(self, result: StoredRecord | None, *, stuck: bool = False) -> None:
        if self.in_flight is not None:
            self.in_flight.finish(result, stuck=stuck)


def _wrap(state: Idempotency) -> Callable[..., Any]:
    function = state.function
    if is_coroutine_function(function):

        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            import asyncio

            # Store requests run on worker threads; waiting happens on the event loop, so that
            # many waiting duplicates never occupy the threads the holder needs to finish.
            step = await asyncio.to_thread(state.begin, args, kwargs)
            while isinstance(step, Waiting):
                await asyncio.sleep(step.next_delay())
                if step.local is None or step.local.done.is_set():
                    step = await asyncio.to_thread(state.poll, step)
            if step is None:
                return await function(*args, **kwargs)
            if step.lock is None:
                return step.replay
            try:
                result = await function(*args, **kwargs)
            except BaseException:
                await asyncio.to_thread(step.failed)
                raise
            return await asyncio.to_thread(step.succeeded, result)

        wrapper: Callable[..., Any] = async_wrapper
    else:

        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            step = state.begin(args, kwargs)
            while isinstance(step, Waiting):
                step.pause()
                step = state.poll(step)
            if step is None:
                return function(*args, **kwargs)
            if step.lock is None:
                return step.replay
            try:
                result = function(*args, **kwargs)
            except BaseException:
                step.failed()
                raise
            return step.succeeded(result)

        wrapper = sync_wrapper
    wraps(wrapper, function)
    mark(wrapper, "idempotent", function)
    wrapper.idempotency = state  # type: ignore[attr-defined]
    return wrapper


def idempotent(
    store: IdempotencyStore,
    *,
    key: str | None = None,
    validate: str | None = None,
    expires_after: float = 3600,
    in_progress_expires_after: float | None = None,
    on_missing_key: str = "raise",
    raise_on_missing_key: bool | None = None,
    local_cache: bool | int = False,
    key_prefix: str | None = None,
    hash: str | None = None,
    key_format: str = "lambdakit",
    on_duplicate: str = "raise",
    output_type: Any = None,
) -> Callable[[F], F]:
    """Make a function take effect once per key; duplicates get the stored result.

    Wraps any function whose first argument is the payload: a Lambda handler
    ``(event, context)`` or a record handler under ``process_batch`` (the payload is then the
    record: expressions see its raw dict with ``body`` / Kinesis ``data`` decoded from JSON).

    - ``key``: JMESPath selecting what identifies a request (``"order_id"``,
      ``"[order_id, customer]"``, ``"body.order_id"``); ``None`` hashes the whole payload.
    - ``validate``: JMESPath over fields that must equal the stored call's, else
      ``IdempotencyPayloadMismatchError`` (checked on every path, cache hits included).
    - ``expires_after``: seconds a completed result is kept (default one hour).
    - ``in_progress_expires_after``: seconds a lock lasts; default the context's remaining
      time, or 15 minutes when there is no context or it reports 0.
    - ``on_missing_key``: when the key expression finds nothing, ``"raise"`` (the default)
      raises ``IdempotencyKeyError`` (under ``process_batch`` that record fails, named, and is
      retried or dead-lettered); ``"run"`` runs the function without protection and logs a
      warning. ``raise_on_missing_key`` is the older spelling (``True`` is ``"raise"``,
      ``False`` is ``"run"``).
    - ``local_cache``: ``True`` (256 entries) or a size: completed results kept in memory.
    - ``key_prefix``: replaces ``<function name>.<module>.<qualname>``; set it to keep keys
      stable when code moves.
    - ``hash``: a hashlib algorithm name (default ``sha256``; ``md5`` for the Powertools format).
    - ``key_format``: ``"lambdakit"`` or ``"powertools"`` (keys identical to Powertools').
    - ``on_duplicate``: ``"raise"`` or ``"wait"`` for an in-progress duplicate.
    - ``output_type``: rebuild replayed results (a dataclass, pydantic model, ``from_dict``).
    """

    if raise_on_missing_key is not None:
        older = "raise" if raise_on_missing_key else "run"
        if on_missing_key != "raise" and on_missing_key != older:
            raise IdempotencyConfigurationError(
                f"raise_on_missing_key={raise_on_missing_key!r} contradicts "
                f"on_missing_key={on_missing_key!r}; pass on_missing_key only"
            )
        on_missing_key = older

    def decorate(function: F) -> F:
        if not callable(function):
            raise IdempotencyConfigurationError(f"idempotent: {function!r} is not callable")
        check_stack("idempotent", function)
        state = Idempotency(
            function,
            store,
            key=key,
            validate=validate,
            expires_after=expires_after,
            in_progress_expires_after=in_progress_expires_after,
            on_missing_key=on_missing_key,
            local_cache=local_cache,
            key_prefix=key_prefix,
            hash_name=hash,
            key_format=key_format,
            on_duplicate=on_duplicate,
            output_type=output_type,
        )
        return _wrap(state)  # type: ignore[return-value]

    if callable(store) and not any(hasattr(store, m) for m in _STORE_METHODS):
        raise IdempotencyConfigurationError(
            "idempotent needs a store: write @idempotent(store, ...), not @idempotent"
        )
    return decorate
