"""Running a coroutine to completion from synchronous code (Lambda handlers are synchronous)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``factory()`` on a fresh event loop and return its result.

    When the caller is itself inside a running loop (an async test calling a Lambda handler),
    ``asyncio.run`` would refuse, so the coroutine runs on a loop in a helper thread instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append((True, asyncio.run(factory())))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=target, name="lambdakit-async", daemon=True)
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value
