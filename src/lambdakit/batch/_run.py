"""Running a batch's records under its ordering rules: sequentially, on threads, or on asyncio.

The rules live in :class:`Run`. Sequential processing is the default, and its per-record cost is
what every user pays, so it is held near a bare ``for`` loop with a ``try`` (see ``_LOOP``):

- Two loops, switched at the first failure. Until a record fails, no ordering rule can skip
  anything, so the *fast* loop has no skip rule at all; it is also the only loop SQS standard
  queues need. After a failure, FIFO groups and stream checkpoints continue in the *skipping*
  loop, whose rule is a C-speed ``map`` zipped with the records.
- A handler that takes the context gets its own loop (``handler(record, context)``), instead of
  a wrapper adding a Python call per record. The loops are one template compiled per shape.
- Nothing is logged or formatted in the loops: a failure sets its status and keeps its exception
  only while fewer than ``keep_failures`` are kept; :func:`lambdakit.batch._outcome.report`
  writes the summary and those failures after the batch.
- The deadline is a flag, not a clock read per record (see :func:`lateness`).

Concurrent processing hands out *lanes*, records that must run in order, to workers; a lane is a
step generator that yields the index of the next record it wants run and is sent back what that
record raised (``None`` on success), so threads and asyncio tasks share every decision about
which record may start.

**The deadline guarantee.** Records stop starting once less than ``deadline_margin_ms`` of the
invocation remains; the first record always starts, so every invocation makes progress. When
the context's deadline is on a real clock (Lambda's runtime context: the wall clock; a
:class:`lambdakit.testing.LambdaContext` without a fake clock: the monotonic clock), a watchdog
thread, one per process, sets the batch's flag when the cutoff falls due, and the loop tests the
flag before each record (a list's truthiness, a few nanoseconds, where a clock read is about
100 ns on Lambda). The thread needs the GIL to set the flag: the interpreter hands it over
within one switch interval (``sys.getswitchinterval()``, 5 ms by default) while records run
Python code, and a record that holds the GIL longer (one long C call) delays the flag no further
than its own end, because the check follows the loop's jump back, where the interpreter hands
the GIL over. So a record never starts more than about one switch interval after the cutoff;
the margin (1 s by default) absorbs it. With any other clock (a
:class:`~lambdakit.testing.FakeClock` in tests, a context that only answers
``get_remaining_time_in_millis()``) the flag's truthiness reads the clock, before every record,
exactly as before.
"""

from __future__ import annotations

import time
from _thread import TIMEOUT_MAX, allocate_lock
from bisect import insort
from itertools import compress, islice

from lambdakit._internal.deadline import deadline_of
from lambdakit.batch._outcome import BatchOutcome, Failure
from lambdakit.batch._sources import GROUPED, INDEPENDENT, STREAM
from lambdakit.events._base import batch_view_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator, Iterable, Iterator
    from typing import Any

    from lambdakit.batch._sources import Batch

    Steps = Generator[int, BaseException | None, None]
    Loop = Callable[..., int]

# OK is 0 so that the records to report are exactly the truthy statuses: finding them is one
# C-speed ``compress`` over the batch, whatever its size. Sequential runs start every record at
# OK (the fast loop writes nothing for a record that succeeds); concurrent lanes start them at
# NOT_RUN and mark what ran.
OK, NOT_RUN, FAILED, DEFERRED = 0, 1, 2, 3

# --- the deadline ------------------------------------------------------------------------------


class _Watchdog:
    """One daemon thread per process that sets deadline flags when they fall due.

    A flag is a list: the thread appends to it, and the batch loop tests its truthiness. Arming
    costs a dict insert under a lock, and the thread is only woken early when a new flag falls
    due before the one it waits for (Lambda runs invocations one after the other, so a new
    invocation's cutoff is later, and the thread wakes at the old one, finds nothing, and waits
    again). Started on the first batch with a deadline, not at import; re-created in a forked
    child, which inherits the state but not the thread.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = allocate_lock()
        self._wake = allocate_lock()  # held while the thread may sleep; released to wake it
        self._wake.acquire()
        self._due: dict[int, tuple[float, list[bool]]] = {}
        self._next = float("inf")  # when the thread will look again
        self._running = False

    def arm(self, seconds: float, flag: list[bool]) -> None:
        """Set ``flag`` (append ``True``) ``seconds`` from now, unless disarmed first."""
        if seconds <= 0:
            flag.append(True)
            return
        due = time.monotonic() + seconds
        with self._lock:
            if not self._running:
                self._start()
            elif due < self._next:
                self._poke()
            self._due[id(flag)] = (due, flag)

    def disarm(self, flag: list[bool]) -> None:
        with self._lock:
            self._due.pop(id(flag), None)

    def _poke(self) -> None:
        # Called under self._lock, so no other arm() releases it between the test and the
        # release; when it is already released, the thread is about to look anyway.
        if self._wake.locked():
            self._wake.release()

    def _start(self) -> None:
        import os
        import threading

        if not hasattr(self, "_forks_handled"):
            self._forks_handled = True
            os.register_at_fork(after_in_child=self._reset)
        thread = threading.Thread(target=self._watch, name="lambdakit-deadline", daemon=True)
        thread.start()  # RuntimeError when the process may start no thread: see lateness()
        self._running = True

    def _fire(self, flag: list[bool]) -> None:
        flag.append(True)

    def _watch(self) -> None:
        wake = self._wake
        while True:
            with self._lock:
                now = time.monotonic()
                for key, (due, flag) in list(self._due.items()):
                    if due <= now:
                        del self._due[key]
                        self._fire(flag)
                self._next = min((due for due, _ in self._due.values()), default=float("inf"))
                wait = self._next - now
            if wait == float("inf"):
                wake.acquire()
            else:
                wake.acquire(timeout=min(wait, TIMEOUT_MAX))


WATCHDOG = _Watchdog()
_NEVER: tuple[()] = ()  # the flag of a batch without a deadline: never true


def lateness(context: Any, margin_ms: float) -> tuple[object, list[bool] | None]:
    """The batch's deadline flag, true once less than ``margin_ms`` remains, and the watchdog
    entry to disarm when the batch ends (``None`` when there is none)."""
    deadline = deadline_of(context, margin_ms) if margin_ms > 0 else None
    if deadline is None:
        return _NEVER, None
    clock, cutoff = deadline.pair()
    if clock is time.time or clock is time.monotonic:
        flag: list[bool] = []
        try:
            WATCHDOG.arm(cutoff - clock(), flag)
        except RuntimeError:  # no thread could be started: read the clock instead
            return deadline, None
        return flag, flag
    # Clocks the watchdog cannot wait on (a fake clock in tests, a context that only reports
    # its remaining time): the deadline is its own flag, read from the clock.
    return deadline, None


# --- the sequential loops ----------------------------------------------------------------------

# One template for every sequential loop. ``{target}``: the fast loop iterates ``(index, raw)``;
# the skipping loop ``((index, raw), skip)``, where ``skip`` comes from a C-speed ``map`` of the
# ordering rule. ``{arguments}``: ``record`` or ``record, context``. ``view`` is the batch's
# view class without its Python ``__init__`` (``events._base.batch_view_type``); the loop
# stores the two slots ``RecordView.__init__`` would (tests/unit/test_events.py holds every
# view to storing only those), since a Python-level call per record would be a third of the
# loop. ``late`` is tested right after the loop's jump back, where the interpreter lets the
# watchdog thread in. ``fail`` returns true when the ordering rule changed in a way the loop
# cannot see (the first failure of an ordered batch, a lower stream checkpoint): the caller
# then continues in another loop. Returns the index of the first record it did not consider,
# or ``end``.
_LOOP = """\
def loop(items, handler, context, view, late, fail, status, end):
    for {target} in items:
{skip}        if late and index:
            return index
        record = view()
        record.raw = raw
        record.index = index
        try:
            handler({arguments})
        except Exception as exc:
            if fail(index, exc):
                return index + 1
    return end
"""
_SKIP = """\
        if skip:
            status[index] = {not_run}
            continue
"""
_loops: dict[tuple[bool, bool], Loop] = {}


class _Source:
    """The loader a compiled loop's globals name, so that tracebacks through it show its lines
    (linecache asks the loader; nothing is imported or registered up front)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def get_source(self, name: str) -> str:
        return self.source


def _loop(with_context: bool, skipping: bool) -> Loop:
    """The loop of one shape, compiled on first use."""
    found = _loops.get((with_context, skipping))
    if found is None:
        source = _LOOP.format(
            target="(index, raw), skip" if skipping else "index, raw",
            skip=_SKIP.format(not_run=NOT_RUN) if skipping else "",
            arguments="record, context" if with_context else "record",
        )
        shape = ("record, context" if with_context else "record") + (
            ", skipping" if skipping else ""
        )
        filename = f"lambdakit/batch/_run.py, loop ({shape})"
        namespace: dict[str, Any] = {"__name__": __name__, "__loader__": _Source(source)}
        exec(compile(source, filename, "exec"), namespace)
        found = _loops[(with_context, skipping)] = namespace["loop"]
    return found


class Run:
    """The state of one invocation's batch: what ran, what failed, what may still start.

    ``keep_failures``: how many failures keep their exception (the first ones, in batch order);
    the others are only counted. ``sequential``: whether the batch runs in :meth:`sequential`
    (records start as OK) or in lanes (records start as NOT_RUN).
    """

    def __init__(
        self,
        batch: Batch,
        context: Any,
        margin_ms: float,
        *,
        keep_failures: int = 10,
        sequential: bool = True,
    ) -> None:
        self.batch = batch
        self.status = [OK if sequential else NOT_RUN] * len(batch.records)
        self.keep_failures = keep_failures
        # (index, error) of the first failures in batch order: exceptions hold their
        # tracebacks, frames and records alive, so a batch with many failures keeps few.
        self.kept: list[tuple[int, BaseException]] = []
        self._highest_kept = -1
        self.out_of_time = False
        # Set when a record raised an exception that ends the invocation (KeyboardInterrupt,
        # SystemExit, ...): from then on no record starts, on any worker.
        self.ended = False
        self.started = 0  # concurrent lanes only: the first record always starts
        # Streams: the lowest sequence number that failed. Records above it will be redelivered
        # from the checkpoint anyway, so they are not started.
        self.stop_above: int | None = None
        # FIFO and Kafka, sequential: the groups (partitions) with a failed record.
        self.broken: set[Any] = set()
        # Sequential: whether a failure hands over from the fast loop to the skipping loop.
        self.switching = False
        self._lock = allocate_lock()
        self.late, self._armed = lateness(context, margin_ms)

    def close(self) -> None:
        """The batch is over: its deadline flag no longer needs the watchdog."""
        if self._armed is not None:
            WATCHDOG.disarm(self._armed)
            self._armed = None

    def fail(self, index: int, error: BaseException) -> bool:
        """Note that record ``index`` raised ``error``; true when the sequential loop must
        hand over (see ``_LOOP``)."""
        self.status[index] = FAILED
        # Read without the lock (a full list's highest index only goes down): _keep decides
        # again under it.
        if len(self.kept) < self.keep_failures or index < self._highest_kept:
            self._keep(index, error)
        ordering = self.batch.ordering
        if ordering == INDEPENDENT:
            return False
        if ordering == STREAM:
            sequence = self.batch.sequence[index]
            with self._lock:
                if self.stop_above is None or sequence < self.stop_above:
                    self.stop_above = sequence
                    return True
            return False
        self.broken.add(self.batch.lane_keys[index])  # type: ignore[index]
        switching, self.switching = self.switching, False
        return switching

    def _keep(self, index: int, error: BaseException) -> None:
        """Keep ``error`` if it is among the first ``keep_failures`` failures in batch order
        (lanes fail out of order, so a later-found lower index replaces the highest kept)."""
        with self._lock:
            kept = self.kept
            if len(kept) >= self.keep_failures:
                if index >= kept[-1][0]:
                    return
                kept.pop()
            insort(kept, (index, error), key=_first)
            self._highest_kept = kept[-1][0]

    def sequential(
        self, handler: Callable[..., Any], context: Any = None, with_context: bool = False
    ) -> None:
        """Every record in batch order, calling ``handler(view)`` (``handler(view, context)``
        when ``with_context``).

        A failure breaks its FIFO group (the group's later records are not run); for streams,
        records after the failed sequence number are not run. The first record always starts
        (nothing can have failed before it), so every invocation makes progress; later ones
        start only while the deadline flag is down.
        """
        batch = self.batch
        records = batch.records
        end = len(records)
        items: Iterator[tuple[int, dict[str, Any]]] = enumerate(records)
        late, status, view = self.late, self.status, batch_view_type(batch.view)
        ordering = batch.ordering
        self.switching = ordering != INDEPENDENT
        run = _loop(with_context, False)
        position = run(items, handler, context, view, late, self.fail, status, end)
        if position < end and ordering != INDEPENDENT and not late:
            # A failure: the rest runs under the ordering rule, tested at C speed by a map
            # zipped with the records. FIFO's set of broken groups grows in place, which the
            # lazy map sees; a stream's checkpoint is a number, so a lower one restarts the map.
            rule: list[Any] = (batch.lane_keys or []) if ordering == GROUPED else batch.sequence
            rest = islice(rule, position, None)
            run = _loop(with_context, True)
            while position < end and not late:
                skipping = zip(items, map(self._skip_test(), rest), strict=False)
                position = run(skipping, handler, context, view, late, self.fail, status, end)
        if position < end:  # the deadline flag is up
            self._defer(range(position, end))

    def _skip_test(self) -> Callable[[Any], bool]:
        """Sequential, after a failure: the test of a record's group (FIFO, Kafka) or sequence
        number (streams) that says it is not to run."""
        if self.batch.ordering == GROUPED:
            return self.broken.__contains__
        stop: int = self.stop_above  # type: ignore[assignment]  # set by the failure
        return stop.__lt__

    def _defer(self, indices: Iterable[int]) -> None:
        """Records the deadline kept from starting: deferred, unless the ordering rule would
        not have run them anyway (not run)."""
        self.out_of_time = True
        status = self.status
        for index in indices:
            status[index] = NOT_RUN if self._skipped(index) else DEFERRED

    def _skipped(self, index: int) -> bool:
        ordering = self.batch.ordering
        if ordering == GROUPED:
            return self.batch.lane_keys[index] in self.broken  # type: ignore[index]
        return ordering == STREAM and self.past_checkpoint(index)

    def past_checkpoint(self, index: int) -> bool:
        """Streams: whether record ``index`` comes after the lowest failed sequence number."""
        stop = self.stop_above
        return stop is not None and self.batch.sequence[index] > stop

    # --- concurrent processing -----------------------------------------------------------------

    def end(self) -> None:
        """The invocation is ending (a ``BaseException`` is on its way out): start nothing more."""
        self.ended = True

    def lane(self, indices: list[int]) -> Steps:
        """One lane in order; the lane stops at its first failure when ordering matters."""
        ordering = self.batch.ordering
        for position, index in enumerate(indices):
            if self.ended:
                return
            if self.out_of_time or (self.started and self.late):
                self._defer(indices[position:])
                return
            if ordering == STREAM and self.past_checkpoint(index):
                return
            with self._lock:
                self.started += 1
            error = yield index
            if error is None:
                self.status[index] = OK
                continue
            self.fail(index, error)
            if ordering != INDEPENDENT:
                return

    def lane_feed(self) -> Callable[[], list[int] | None]:
        """A thread-safe source of lanes for workers to pull from, in batch order."""
        lanes = iter(self.batch.lanes())
        lock = allocate_lock()

        def next_lane() -> list[int] | None:
            with lock:
                return next(lanes, None)

        return next_lane

    # --- outcome -------------------------------------------------------------------------------

    def failures(self) -> list[Any]:
        """Identifiers for ``batchItemFailures``: every record that did not return normally.

        For streams Lambda checkpoints at one sequence number, so only the lowest record that
        failed or did not run is reported; Lambda redelivers from there.
        """
        status = self.status  # truthy exactly for the records to report
        ids = self.batch.identifiers
        if self.batch.ordering != STREAM:
            return list(compress(ids, status))
        reported = list(compress(range(len(status)), status))
        if not reported:  # no sequence number converted for a batch that succeeded
            return []
        return [ids[min(reported, key=self.batch.sequence.__getitem__)]]

    def all_failed(self) -> bool:
        return OK not in self.status

    def errors(self) -> list[BaseException]:
        """The kept exceptions, in batch order."""
        return [error for _, error in self.kept]

    def outcome(self, *, logged: int, filtered: int = 0, counts: dict[str, int]) -> BatchOutcome:
        """The batch's :class:`BatchOutcome`, with at most ``logged`` failures to log."""
        from lambdakit._internal.metrics import DUPLICATES_ANSWERED

        batch, status = self.batch, self.status
        size = len(status)
        # At most three C-speed counts (a record has one of four statuses), one when all passed.
        succeeded = status.count(OK)
        failed = deferred = 0
        if succeeded < size:
            failed = status.count(FAILED)
            deferred = status.count(DEFERRED) if self.out_of_time else 0
        not_run = size - succeeded - failed - deferred
        failures = [
            Failure(
                index, batch.label(index), batch.identifiers[index], batch.attempt(index), error
            )
            for index, error in self.kept[:logged]
        ]
        return BatchOutcome(
            source=batch.source,
            size=size,
            succeeded=succeeded,
            failed=failed,
            not_run=not_run,
            deferred=deferred,
            filtered=filtered,
            duplicates=counts.get(DUPLICATES_ANSWERED, 0),
            counts=counts,
            failures=failures,
            failures_dropped=failed - len(failures),
        )


def _first(kept: tuple[int, BaseException]) -> int:
    return kept[0]


def drive(steps: Steps, call: Callable[[int], Any]) -> None:
    """Run the records ``steps`` asks for with a plain function."""
    try:
        index = next(steps)
        while True:
            try:
                call(index)
            except Exception as exc:
                index = steps.send(exc)
            else:
                index = steps.send(None)
    except StopIteration:
        return


async def drive_async(steps: Steps, call: Callable[[int], Awaitable[Any]]) -> None:
    """Run the records ``steps`` asks for with a coroutine function."""
    try:
        index = next(steps)
        while True:
            try:
                await call(index)
            except Exception as exc:
                index = steps.send(exc)
            else:
                index = steps.send(None)
    except StopIteration:
        return
