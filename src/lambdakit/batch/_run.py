"""Running a batch's records under its ordering rules, sequentially, on threads, or on asyncio.

The rules live in one place, :class:`Run`, and are expressed as *step generators*: a generator
yields the index of the next record it wants run and is sent back what that record raised
(``None`` on success). Drivers only call the handler: :func:`drive` for plain functions,
:func:`drive_async` for coroutines. Sequential, threaded and asyncio execution therefore share
every decision about which record may start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Generator, Iterator
from typing import Any

from lambdakit.batch._sources import Batch, Ordering

logger = logging.getLogger("lambdakit.batch")

NOT_RUN, OK, FAILED = 0, 1, 2

Steps = Generator[int, "BaseException | None", None]


class Run:
    """The state of one invocation's batch: what ran, what failed, what may still start."""

    def __init__(
        self, batch: Batch, context: Any, margin_ms: int, log_failures: bool = True
    ) -> None:
        count = len(batch.records)
        self.batch = batch
        self.status = [NOT_RUN] * count
        self.errors: list[BaseException | None] = [None] * count
        self.ordered = batch.ordering is not Ordering.INDEPENDENT
        self.log_failures = log_failures
        self.out_of_time = False
        self.started = 0
        # Stream sources: once a record fails, records with a higher sequence number will be
        # redelivered from the checkpoint anyway, so they are not started.
        self.stop_above: int | None = None
        self._lock = threading.Lock()
        self.margin_ms = margin_ms
        self._remaining = self._deadline_probe(context, margin_ms)

    @staticmethod
    def _deadline_probe(context: Any, margin_ms: int) -> Callable[[], Any] | None:
        """The context's countdown, or ``None`` when it cannot be trusted.

        A context that reports no time at all at the start of a batch (a bare mock, or a
        stand-in returning 0) would otherwise skip every record forever; such a context is
        treated as having no deadline.
        """
        probe: Callable[[], Any] | None = getattr(context, "get_remaining_time_in_millis", None)
        if margin_ms <= 0 or probe is None or not callable(probe):
            return None
        try:
            first = probe()
        except Exception:
            return None
        if isinstance(first, bool) or not isinstance(first, int | float) or first <= 0:
            return None
        return probe

    def may_start(self, index: int) -> bool:
        """Whether record ``index`` may start now (its lane is checked by the caller)."""
        if self.out_of_time:
            return False
        if self._remaining is not None and self.started and self._remaining() < self.margin_ms:
            # The first record always starts, so every invocation makes progress.
            self.out_of_time = True
            return False
        stop = self.stop_above
        if stop is not None and self.batch.sequence is not None:
            return self.batch.sequence[index] <= stop
        return True

    def record(self, index: int, error: BaseException | None) -> None:
        """Note what record ``index`` did."""
        if error is None:
            self.status[index] = OK
            return
        self.status[index] = FAILED
        self.errors[index] = error
        if self.batch.sequence is not None:
            sequence = self.batch.sequence[index]
            with self._lock:
                if self.stop_above is None or sequence < self.stop_above:
                    self.stop_above = sequence
        if self.log_failures:
            logger.warning(
                "Records[%d] (%s) failed and will be retried: %r",
                index,
                self.batch.identifiers[index],
                error,
                exc_info=error,
            )

    # --- step generators ---------------------------------------------------------------------

    def sequential(self) -> Steps:
        """Every record in batch order; a failure breaks its lane (FIFO group / stream key)."""
        keys = self.batch.lane_keys if self.ordered else None
        broken: set[Any] = set()
        for index in range(len(self.status)):
            if keys is not None and keys[index] in broken:
                continue
            if not self.may_start(index):
                if self.out_of_time:
                    return
                continue
            self.started += 1
            error = yield index
            self.record(index, error)
            if error is not None and keys is not None:
                broken.add(keys[index])

    def lane(self, indices: list[int]) -> Steps:
        """One lane in order; the lane stops at its first failure (when ordering matters)."""
        for index in indices:
            if not self.may_start(index):
                return
            with self._lock:
                self.started += 1
            error = yield index
            self.record(index, error)
            if error is not None and self.ordered:
                return

    def lane_feed(self) -> Callable[[], list[int] | None]:
        """A thread-safe source of lanes for workers to pull from, in batch order."""
        lanes: Iterator[list[int]] = iter(self.batch.lanes())
        lock = threading.Lock()

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
        pending = [i for i, status in enumerate(self.status) if status != OK]
        if not pending:
            return []
        ids = self.batch.identifiers
        if self.batch.sequence is not None:
            sequence = self.batch.sequence
            return [ids[min(pending, key=sequence.__getitem__)]]
        return [ids[i] for i in pending]

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
