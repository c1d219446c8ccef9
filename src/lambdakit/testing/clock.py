"""A clock that moves only when a test says so."""

from __future__ import annotations

import threading


class FakeClock:
    """A monotonic clock for tests: ``clock()`` returns seconds; ``advance(s)`` moves it.

    Anything in lambdakit that reads time accepts a clock, so deadlines, TTLs and expiry can be
    tested exactly and without sleeping. Thread-safe, so concurrent code under test may read it
    while the test advances it.
    """

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward (never backward: monotonic time does not go back)."""
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back ({seconds} s)")
        with self._lock:
            self._now += seconds

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now})"
