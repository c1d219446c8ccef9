"""Running a batch's records under its ordering rules: sequentially, on threads, or on asyncio.

The rules live in :class:`Run`. Sequential processing is one tight loop (it is the default and
the per-record overhead budget is a fraction of a microsecond). Concurrent processing hands out
*lanes*, records that must run in order, to workers; a lane is a step generator that yields
the index of the next record it wants run and is sent back what that record raised (``None``
on success), so threads and asyncio tasks share every decision about which record may start.
"""

from __future__ import annotations

from _thread import allocate_lock
from itertools import compress, filterfalse

from lambdakit._internal.deadline import deadline_of
from lambdakit._internal.logs import get_logger
from lambdakit._internal.reprs import safe_repr
from lambdakit.batch._sources import GROUPED, INDEPENDENT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator, Iterable
    from typing import Any

    from lambdakit.batch._sources import Batch

    Steps = Generator[int, BaseException | None, None]

# OK is 0 so that the records to report are exactly the truthy statuses: finding them is one
# C-speed ``compress`` over the batch, whatever its size.
OK, NOT_RUN, FAILED = 0, 1, 2

LOGGER = "lambdakit.batch"
_NEVER = float("inf")  # the cutoff when there is no deadline: ``float()`` (0.0) never passes it


class Run:
    """The state of one invocation's batch: what ran, what failed, what may still start."""

    def __init__(
        self,
        batch: Batch,
        context: Any,
        margin_ms: float,
        log_failures: bool = True,
        keep_errors: bool = False,
    ) -> None:
        count = len(batch.records)
        self.batch = batch
        self.status = [NOT_RUN] * count
        # Exceptions hold their tracebacks, frames and records alive; they are kept only when
        # someone will read them (raise_on_all_failed), so that a batch with many failures does
        # not feed the garbage collector.
        self.errors: list[BaseException | None] | None = [None] * count if keep_errors else None
        self.ordered = batch.ordering != INDEPENDENT
        # Asked once per batch rather than once per failure: a batch with many failures should
        # not pay for the logging machinery when nobody listens.
        self.log_failures = log_failures and get_logger(LOGGER).isEnabledFor(30)
        self.out_of_time = False
        # Set when a record raised an exception that ends the invocation (KeyboardInterrupt,
        # SystemExit, ...): from then on no record starts, on any worker.
        self.ended = False
        self.started = 0  # concurrent lanes only: the first record always starts
        # Stream sources: once a record fails, records with a higher sequence number will be
        # redelivered from the checkpoint anyway, so they are not started.
        self.stop_above: int | None = None
        self._lock = allocate_lock()
        self.deadline = deadline_of(context, margin_ms) if margin_ms > 0 else None

    def fail(self, index: int, error: BaseException) -> None:
        """Note that record ``index`` raised ``error``."""
        self.status[index] = FAILED
        if self.errors is not None:
            self.errors[index] = error
        if self.batch.sequence is not None:
            sequence = self.batch.sequence[index]
            with self._lock:
                if self.stop_above is None or sequence < self.stop_above:
                    self.stop_above = sequence
        if self.log_failures:  # WARNING is enabled on LOGGER
            get_logger(LOGGER).warning(
                "%s failed and will be retried: %s",
                self.batch.label(index),
                safe_repr(error),
                exc_info=error,
            )

    def sequential(self, handler: Callable[[Any], Any]) -> None:
        """Every record in batch order, calling ``handler(view)``.

        A failure breaks its FIFO group (the group's later records are not run); for streams,
        records after the failed sequence number are not run. The first record always starts
        (it can never be skipped: nothing has failed before it), so every invocation makes
        progress; later ones start only while the margin is not reached. The loop body is the
        per-record overhead every user pays, so it holds nothing a batch does not need: the
        skip rule is folded into the iterator, and "no deadline" is a clock that never passes.
        """
        batch = self.batch
        view_type = batch.view
        new = object.__new__
        status = self.status
        groups = batch.lane_keys if batch.ordering == GROUPED else None
        broken: set[Any] = set()
        records: Iterable[tuple[int, dict[str, Any]]] = enumerate(batch.records)
        skip = self._skip_rule(groups, broken)
        if skip is not None:  # SQS standard never skips, and pays nothing for the rule
            records = filterfalse(skip, records)
        clock, cutoff = (float, _NEVER) if self.deadline is None else self.deadline.pair()
        for index, raw in records:
            if index and clock() > cutoff:
                self.out_of_time = True
                break
            # ``view_type(raw, index)``, inlined: RecordView.__init__ only stores these two
            # slots (tests/unit/test_events.py holds every view to that), and skipping the
            # Python-level call is a quarter of the loop's own cost.
            record = new(view_type)
            record.raw = raw
            record.index = index
            try:
                handler(record)
            except Exception as exc:
                self.fail(index, exc)
                if groups is not None:
                    broken.add(groups[index])
            else:
                status[index] = OK

    def _skip_rule(
        self, groups: list[Any] | None, broken: set[Any]
    ) -> Callable[[tuple[int, Any]], bool] | None:
        """Which ``(index, record)`` pairs sequential processing passes over: the rest of a
        failed FIFO group, or, on a stream, everything after the lowest failed sequence number.
        """
        if groups is not None:
            return lambda pair: groups[pair[0]] in broken
        if self.batch.sequence is not None:
            return lambda pair: self.past_checkpoint(pair[0])
        return None

    def past_checkpoint(self, index: int) -> bool:
        """Streams: whether record ``index`` comes after the lowest failed sequence number."""
        stop = self.stop_above
        return stop is not None and self.batch.sequence[index] > stop  # type: ignore[index]

    # --- concurrent processing -----------------------------------------------------------------

    def end(self) -> None:
        """The invocation is ending (a ``BaseException`` is on its way out): start nothing more."""
        self.ended = True

    def may_start(self, index: int) -> bool:
        """Whether record ``index`` may start now (used by concurrent lanes)."""
        if self.out_of_time or self.ended:
            return False
        deadline = self.deadline
        if deadline is not None and self.started and deadline.reached():
            self.out_of_time = True
            return False
        return self.batch.sequence is None or not self.past_checkpoint(index)

    def lane(self, indices: list[int]) -> Steps:
        """One lane in order; the lane stops at its first failure when ordering matters."""
        for index in indices:
            if not self.may_start(index):
                return
            with self._lock:
                self.started += 1
            error = yield index
            if error is None:
                self.status[index] = OK
                continue
            self.fail(index, error)
            if self.ordered:
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

    def failures(self) -> list[str]:
        """Identifiers for ``batchItemFailures``: every record that did not return normally.

        For streams Lambda checkpoints at one sequence number, so only the lowest record that
        failed or did not run is reported; Lambda redelivers from there.
        """
        status = self.status  # truthy exactly for the records to report
        ids = self.batch.identifiers
        sequence = self.batch.sequence
        if sequence is None:
            return list(compress(ids, status))
        lowest = min(compress(range(len(status)), status), key=sequence.__getitem__, default=None)
        return [] if lowest is None else [ids[lowest]]

    def all_failed(self) -> bool:
        return OK not in self.status

    def not_run(self) -> int:
        return self.status.count(NOT_RUN)


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
