"""Running asyncio code from synchronous code (Lambda handlers are synchronous).

asyncio is imported here, on first use, and never by ``import lambdakit.batch``: it costs about
30 ms of cold start and only async record handlers need it.
"""

from __future__ import annotations

from _thread import allocate_lock

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


# One event loop kept across invocations, as the batch thread pool is: creating a loop, its
# selector and, on first use, its default executor's threads cost milliseconds per invocation
# (2.6 ms against 0.41 ms for a five-record batch, measured). ``_LOOP_LOCK`` makes it one
# caller's at a time; ``_loop_owner`` is the pid that created it (a forked child must not drive
# a selector it shares with its parent); ``_loop_debug`` is its debug setting as created.
_LOOP_LOCK = allocate_lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_owner = 0
_loop_debug = False


def with_event_loop(body: Callable[[asyncio.AbstractEventLoop], T]) -> T:
    """Call ``body(loop)`` with an event loop that nobody else is running.

    That is the process's reusable loop when it is free, and a fresh loop (closed afterwards)
    when another thread is using it. Either way the loop is left as ``asyncio.run`` would leave
    the next caller a new one: tasks still pending are cancelled, async generators finalised,
    callbacks still scheduled dropped, and its exception handler, task factory and debug flag
    put back; nothing of one invocation runs during the next.
    When the caller is itself inside a running loop (an async test calling a Lambda handler),
    that thread cannot run a second loop, so ``body`` runs on a helper thread instead.
    """
    import asyncio

    # Asked outside any ``except`` clause: an exception raised by ``body`` would otherwise carry
    # "no running event loop" as its ``__context__``.
    in_a_loop = asyncio._get_running_loop() is not None
    if not in_a_loop:
        return _run(body)
    import threading

    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            outcome.append((True, _run(body)))
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


def _run(body: Callable[[asyncio.AbstractEventLoop], T]) -> T:
    global _loop
    if not _LOOP_LOCK.acquire(blocking=False):
        return _run_on_fresh_loop(body)  # another thread holds the shared loop
    try:
        loop = _shared_loop()
        try:
            return body(loop)
        finally:
            if not _settle(loop):  # a loop lambdakit cannot reset: the next call makes a new one
                _loop = None
                _close(loop)
    finally:
        _LOOP_LOCK.release()


def _shared_loop() -> asyncio.AbstractEventLoop:
    """The reusable loop (``_LOOP_LOCK`` held): made on first use, again in a forked child, and
    again if user code closed it."""
    global _loop, _loop_owner, _loop_debug
    import os

    if _loop is None or _loop_owner != os.getpid() or _loop.is_closed():
        import asyncio

        if _loop_owner == 0:
            import atexit

            atexit.register(_close_shared_loop)
        # A loop inherited through fork is abandoned, not closed: closing it would unregister
        # descriptors from the selector it still shares with the parent.
        _loop = asyncio.new_event_loop()
        _loop_owner = os.getpid()
        _loop_debug = _loop.get_debug()
    return _loop


def _run_on_fresh_loop(body: Callable[[asyncio.AbstractEventLoop], T]) -> T:
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        try:
            return body(loop)
        finally:
            _cancel_leftovers(loop)
    finally:
        _close(loop)


def _settle(loop: asyncio.AbstractEventLoop) -> bool:
    """Leave the shared loop as a new one would be; ``False`` when that cannot be done.

    Dropping scheduled callbacks needs the loop's queues, which asyncio keeps private
    (``_ready``, ``_scheduled`` on every CPython event loop since 3.4); a loop without them (an
    event loop policy's own class) is not reused, nor is one the invocation closed.
    """
    if loop.is_closed():
        return False
    _cancel_leftovers(loop)
    asyncgens = getattr(loop, "_asyncgens", None)
    if asyncgens:  # generators left suspended are closed, as asyncio.run closes them
        loop.run_until_complete(loop.shutdown_asyncgens())
    ready, scheduled = getattr(loop, "_ready", None), getattr(loop, "_scheduled", None)
    if ready is None or scheduled is None or asyncgens is None:
        return False
    loop._asyncgens_shutdown_called = False  # type: ignore[attr-defined]  # new ones may start
    for handle in (*ready, *scheduled):  # call_soon / call_later left by the invocation
        handle.cancel()
    loop.set_exception_handler(None)
    loop.set_task_factory(None)
    loop.set_debug(_loop_debug)
    return True


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks still pending on ``loop`` and let them unwind (``asyncio.run``'s rule),
    so that a task an invocation left behind never runs during a later one."""
    import asyncio

    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not pending:
        return
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _close(loop: asyncio.AbstractEventLoop) -> None:
    if loop.is_closed():
        return
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


def _close_shared_loop() -> None:
    """At interpreter exit: close the reusable loop if this process made it."""
    import os

    loop = _loop
    if loop is None or _loop_owner != os.getpid() or loop.is_closed() or loop.is_running():
        return
    _close(loop)
