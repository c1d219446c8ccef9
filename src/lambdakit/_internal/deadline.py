"""How much time an invocation has left, read as cheaply as the context allows.

Batch processing asks "has the margin been reached?" before every record, so the question must
cost next to nothing. The context's own ``get_remaining_time_in_millis()`` costs a few Python
calls; instead, when the context tells us which clock its deadline is on, one clock read and a
comparison suffice:

- the Lambda runtime's context keeps ``_epoch_deadline_time_in_ms`` on the wall clock; it is
  used only after checking that it agrees with ``get_remaining_time_in_millis()`` (test doubles
  often set it to 0 or to nonsense);
- :class:`lambdakit.testing.LambdaContext` exposes ``_lambdakit_deadline()``: its clock (a
  :class:`~lambdakit.testing.FakeClock` in tests) and deadline;
- any other context is asked through ``get_remaining_time_in_millis()`` every time.

Whatever the route, :meth:`Deadline.clock` returns a number that exceeds :attr:`Deadline.cutoff`
exactly when less than the margin remains.
"""

from __future__ import annotations

import time

from lambdakit._internal.invocation import remaining_seconds

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lambdakit._internal.clock import Clock

_AGREEMENT_MS = 250  # how far the runtime's deadline field may disagree with the context's answer


class Deadline:
    """``clock() > cutoff`` means: less than ``margin_ms`` of the invocation remains."""

    __slots__ = ("clock", "cutoff")

    def __init__(self, clock: Clock, cutoff: float) -> None:
        self.clock = clock
        self.cutoff = cutoff

    def reached(self) -> bool:
        return self.clock() > self.cutoff

    __bool__ = reached  # a deadline flag the batch loop tests, read from the clock

    def pair(self) -> tuple[Clock, float]:
        """``(clock, cutoff)``, for loops that keep both in locals."""
        return self.clock, self.cutoff


def deadline_of(context: Any, margin_ms: float) -> Deadline | None:
    """A :class:`Deadline` for ``context``, or ``None`` when it reports no usable time (see
    :func:`~lambdakit._internal.invocation.remaining_seconds`: a bare mock must not make every
    record look out of time)."""
    seconds = remaining_seconds(context)
    if seconds is None:
        return None
    remaining = seconds * 1000.0
    probe = context.get_remaining_time_in_millis
    margin_s = margin_ms / 1000.0

    own = getattr(context, "_lambdakit_deadline", None)
    if callable(own):
        clock, deadline = own()
        return Deadline(clock, deadline - margin_s)

    epoch_ms = getattr(context, "_epoch_deadline_time_in_ms", None)
    if isinstance(epoch_ms, int) and not isinstance(epoch_ms, bool):
        now = time.time()
        if abs((epoch_ms / 1000.0 - now) * 1000.0 - remaining) <= _AGREEMENT_MS:
            return Deadline(time.time, epoch_ms / 1000.0 - margin_s)

    def _negated_remaining() -> float:
        return -float(probe())

    return Deadline(_negated_remaining, -float(margin_ms))
