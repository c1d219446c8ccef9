"""Reading the invocation's deadline cheaply, without trusting contexts that cannot know it."""

from __future__ import annotations

import time
from typing import Any

from lambdakit._internal.deadline import deadline_of
from lambdakit.testing import FakeClock, LambdaContext


class RuntimeLikeContext:
    """The shape of the Lambda runtime's context: an epoch deadline on the wall clock."""

    def __init__(self, remaining_ms: int, epoch_deadline_ms: int | None = None) -> None:
        now_ms = int(time.time() * 1000)
        self._epoch_deadline_time_in_ms = (
            now_ms + remaining_ms if epoch_deadline_ms is None else epoch_deadline_ms
        )
        self._remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining


def test_lambdakit_context_is_read_on_its_own_clock() -> None:
    clock = FakeClock()
    deadline = deadline_of(LambdaContext(timeout=10, clock=clock), margin_ms=2000)
    assert deadline is not None
    clock.advance(7.9)
    assert not deadline.reached()
    clock.advance(0.2)
    assert deadline.reached()


def test_the_runtime_epoch_deadline_is_used_when_it_agrees() -> None:
    deadline = deadline_of(RuntimeLikeContext(remaining_ms=60_000), margin_ms=1000)
    assert deadline is not None
    assert deadline.clock is time.time
    assert not deadline.reached()


def test_a_bogus_epoch_deadline_falls_back_to_asking_the_context() -> None:
    # Test doubles often set _epoch_deadline_time_in_ms = 0 while reporting plenty of time.
    deadline = deadline_of(RuntimeLikeContext(60_000, epoch_deadline_ms=0), margin_ms=1000)
    assert deadline is not None
    assert deadline.clock is not time.time
    assert not deadline.reached()


def test_any_other_context_is_asked_every_time() -> None:
    answers = iter([5000, 4000, 900])

    class Scripted:
        def get_remaining_time_in_millis(self) -> int:
            return next(answers)

    deadline = deadline_of(Scripted(), margin_ms=1000)
    assert deadline is not None
    assert not deadline.reached()  # 4000 ms left
    assert deadline.reached()  # 900 ms left


def test_contexts_that_report_no_time_have_no_deadline() -> None:
    class Zero:
        def get_remaining_time_in_millis(self) -> int:
            return 0

    class Broken:
        def get_remaining_time_in_millis(self) -> Any:
            raise RuntimeError

    class NotANumber:
        def get_remaining_time_in_millis(self) -> Any:
            return "soon"

    for context in (None, object(), Zero(), Broken(), NotANumber()):
        assert deadline_of(context, margin_ms=1000) is None
