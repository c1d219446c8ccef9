"""Running asyncio code from synchronous code (Lambda handlers are synchronous).

asyncio is imported here, on first use, and never by ``import lambdakit.batch``: it costs about
30 ms of cold start and only async record handlers need it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")

CO_COROUTINE = 0x0080  # inspect.CO_COROUTINE, read without importing inspect


def is_coroutine_function(function: Any) -> bool:
    """``inspect.iscoroutinefunction`` without importing inspect for plain functions; also
    true for an object whose ``__call__`` is ``async def`` (calling it gives a coroutine)."""
    code = getattr(function, "__code__", None)
    if code is not None and not hasattr(function, "_is_coroutine_marker"):
        return bool(code.co_flags & CO_COROUTINE)
    import inspect

    if inspect.iscoroutinefunction(function):
        return True
    call = getattr(type(function), "__call__", None)  # noqa: B004 - the method itself is needed
    return not inspect.isroutine(function) and inspect.iscoroutinefunction(call)


def with_event_loop(body: Callable[[asyncio.AbstractEventLoop], T]) -> T:
    """Call ``body(loop)`` with a fresh event loop, closed afterwards.

    When the caller is itself inside a running loop (an async test calling a Lambda handler),
    that thread cannot run a second loop, so ``body`` runs on a helper thread instead.
    """
    import asyncio

    def run() -> T:
        loop = asyncio.new_event_loop()
        try:
            return body(loop)
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    import threading

    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            outcome.append((True, run()))
        except BaseException as exc:
            outcome.append((False, exc))

    from lambdakit._internal.invocation import carrying_context

    thread = threading.Thread(target=carrying_context(target), name="lambdakit-async", daemon=True)
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value
