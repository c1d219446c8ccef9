"""The Lambda context of the invocation in progress, for code that is not handed it.

``process_batch`` calls record handlers with the record alone; a decorator stacked under it
(``idempotent`` needs the remaining time to bound its lock) finds the batch's context here. A
context variable rather than a global: concurrent invocations in one process (tests, local
servers) each see their own, and threads started for a batch run in a copy of the caller's
context (:func:`carrying_context`).
"""

from __future__ import annotations

from _contextvars import ContextVar, copy_context  # the C module: contextvars only re-exports it

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")

current_context: ContextVar[Any] = ContextVar("lambdakit_lambda_context", default=None)

# One dict per process_batch invocation, for what its records share while it runs (idempotent
# keeps the calls holding locks there, by lock token); ``None`` outside a batch.
current_batch: ContextVar[dict[str, Any] | None] = ContextVar("lambdakit_batch", default=None)

# How much of the remaining time the running batch keeps for itself (process_batch's
# deadline_margin_ms): code that waits inside a record handler must give up before it.
current_margin_ms: ContextVar[float] = ContextVar("lambdakit_deadline_margin_ms", default=0.0)

# What @filter_records hands to the handler it wraps (process_batch, under it): the event it
# passes on, how many records it dropped from it (for the batch's summary and metrics), and the
# event it was given (which still names the source when every record was dropped).
# process_batch takes the count only for that very event object, so a handler that builds
# another batch event and calls another process_batch handler does not inherit it.
filtered_out: ContextVar[tuple[Any, int, Any] | None] = ContextVar(
    "lambdakit_filtered", default=None
)

# Record payloads @filter_records parsed while matching, by ``id()`` of the raw record dict,
# when the parse equals what the record view's ``json()`` would return: the view takes it
# instead of parsing the body again. Set only while the filtered handler runs (the raw dicts,
# held by the event, stay alive, so their ids cannot be reused meanwhile).
parsed_payloads: ContextVar[dict[int, Any] | None] = ContextVar(
    "lambdakit_parsed_payloads", default=None
)


def carrying_context(function: Callable[[], T]) -> Callable[[], T]:
    """``function`` bound to a copy of the caller's context variables, to run on another
    thread (threads start with an empty context otherwise)."""
    context = copy_context()
    return lambda: context.run(function)


def has_remaining_time(candidate: Any) -> bool:
    """Whether ``candidate`` looks like a Lambda context (it can say how much time is left)."""
    return callable(getattr(candidate, "get_remaining_time_in_millis", None))


def context_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The Lambda context among a call's arguments, else the one ``process_batch`` runs."""
    for candidate in (*args[1:], *kwargs.values()):
        if has_remaining_time(candidate):
            return candidate
    return current_context.get()


def remaining_seconds(context: Any) -> float | None:
    """The context's remaining time; ``None`` without a context that can tell, or when it
    reports 0 or less (a bound that expired at once would protect nothing)."""
    if context is None or not has_remaining_time(context):
        return None
    try:
        remaining = context.get_remaining_time_in_millis()
    except Exception:  # a stand-in context that cannot tell
        return None
    if isinstance(remaining, bool) or not isinstance(remaining, (int, float)) or remaining <= 0:
        return None
    return float(remaining) / 1000
