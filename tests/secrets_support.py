"""Test support shared by the secrets tests (unit, moto and extension suites)."""

from __future__ import annotations

import threading

from lambdakit.testing import FakeClock

WAIT = 10.0  # seconds: only ever reached when the code under test is broken


class ReaderClock(FakeClock):
    """A FakeClock that records which threads have read it. A thread must read the clock to
    learn whether a cached entry is fresh, before it takes the key's lock; so once N threads
    have read it while the one fetch is held back, all N found the name cold or expired."""

    def __init__(self) -> None:
        super().__init__()
        self.readers: set[int] = set()
        self._changed = threading.Condition()

    def __call__(self) -> float:
        with self._changed:
            self.readers.add(threading.get_ident())
            self._changed.notify_all()
        return super().__call__()

    def wait_for_readers(self, count: int) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.readers) >= count, WAIT):
                raise AssertionError(f"{len(self.readers)} threads read the clock, not {count}")
