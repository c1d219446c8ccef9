"""The one notion of time lambdakit code reads, so tests can replace it.

A clock is any zero-argument callable returning seconds as a float on a monotonic scale.
Production code uses :func:`time.monotonic`; tests inject :class:`lambdakit.testing.FakeClock`
and advance it explicitly, which keeps tests free of sleeps.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Clock = Callable[[], float]

monotonic = time.monotonic

__all__ = ["monotonic"]  # and, for type checking only, Clock
