"""How lambdakit's decorators tell what they wrap, so a stack that cannot work is refused at import.

Each decorator marks the function it returns with the lambdakit decorators it is made of,
outermost first (``__lambdakit_stack__``), and its *role* (``__lambdakit_role__``):
``"lambda handler"`` for what ``process_batch`` returns (``(event, context)``, answering with
``batchItemFailures``), ``"function"`` for anything else (a record handler, an effect function,
a handler of single events: lambdakit cannot tell which until it is used). Marks travel through
``functools.wraps`` and lambdakit's own wrappers, which copy the wrapped function's ``__dict__``.

The rules live in one table, :data:`REFUSED`: which decorator cannot sit over which, why, and
the order that works. Checked when the upper decorator is applied, against every lambdakit
decorator below it, so ``@idempotent`` over ``@filter_records`` over ``@process_batch`` is
refused as surely as ``@idempotent`` directly over ``@process_batch``.
"""

from __future__ import annotations

from lambdakit._internal.signature import wrapping_chain
from lambdakit.errors import DecoratorOrderError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    # (decorator name, what tells two applications apart: None for decorators that are never
    # applied twice, the producer for flush_kafka, which may flush two producers)
    Layer = tuple[str, object]

STACK = "__lambdakit_stack__"
# The keywords @inject_secrets layers below a function supply (process_batch checks that every
# required keyword-only parameter of its record handler is one of them).
SUPPLIED = "__lambdakit_injected__"
ROLE = "__lambdakit_role__"
LAMBDA_HANDLER = "lambda handler"
FUNCTION = "function"

_BATCH = "process_batch"

# (upper, lower) -> why the upper one cannot do its job there, and the order that works.
REFUSED: dict[tuple[str, str], tuple[str, str]] = {
    ("idempotent", _BATCH): (
        "its payload would be the whole batch event, where the key finds nothing, so no record "
        "would be protected",
        "@process_batch over @idempotent (one key per record), or @idempotent on the function "
        "that has the effect",
    ),
    ("inject_secrets", _BATCH): (
        "process_batch calls the record handler itself, so the handler would never receive the "
        "injected keywords",
        "@process_batch over @inject_secrets, on the record handler",
    ),
    ("flush_kafka", _BATCH): (
        "one message the broker refuses would fail the invocation and retry every record of "
        "the batch, the ones that were delivered too",
        "@process_batch over @flush_kafka (each record's messages flushed and reported with "
        "it); to flush once for the whole batch on purpose, write "
        "@flush_kafka(producer, scope='invocation')",
    ),
    (_BATCH, "flush_kafka(scope='invocation')"): (
        "a flush meant for the whole invocation would run after each record",
        "@flush_kafka(producer, scope='invocation') over @process_batch, or "
        "@flush_kafka(producer) under it to flush each record's messages",
    ),
    (_BATCH, "filter_records"): (
        "filter_records would see one record at a time, after the batch was formed, and the "
        "event your tests pass would not be the one Lambda delivers after filtering",
        "@filter_records over @process_batch",
    ),
}
_TWICE = (
    "applied twice to the same function: the second one would do the same job again (or, for "
    "process_batch, receive a Lambda handler as its record handler)",
    "one {name} with everything in it",
)


def marked(function: Callable[..., Any], attribute: str, default: Any) -> Any:
    """``attribute`` of ``function``, or of the first function down its ``__wrapped__`` chain
    that has it: a decorator that sets only ``__wrapped__`` (not ``functools.wraps``, which
    also copies the marks) does not hide what lambdakit put below it."""
    for link in wrapping_chain(function):
        found = getattr(link, attribute, None)
        if found is not None:
            return found
    return default


def stack_of(function: Callable[..., Any]) -> tuple[Layer, ...]:
    """The lambdakit decorators ``function`` is made of, outermost first (none for a plain one)."""
    found = marked(function, STACK, ())
    return found if isinstance(found, tuple) else ()


def role_of(function: Callable[..., Any]) -> str:
    found = marked(function, ROLE, FUNCTION)
    return found if isinstance(found, str) else FUNCTION


def supplied_to(function: Callable[..., Any]) -> frozenset[str]:
    """The keywords ``@inject_secrets`` layers below ``function`` pass to it."""
    found = marked(function, SUPPLIED, frozenset())
    return found if isinstance(found, frozenset) else frozenset()


def check_stack(
    name: str, function: Callable[..., Any], key: object = None, permitted: str | None = None
) -> None:
    """Refuse applying ``name`` (told apart from other applications by ``key``) over
    ``function``, with a :class:`DecoratorOrderError` naming both and the order that works;
    ``permitted`` is a lower decorator this application was explicitly told to wrap."""
    for lower, lower_key in stack_of(function):
        if lower == name and lower_key is key:
            why, works = _TWICE
            raise _refusal(name, lower, why, works.format(name=f"@{name}"))
        refused = REFUSED.get((name, lower))
        if refused is not None and lower != permitted:
            raise _refusal(name, lower, *refused)


def _refusal(upper: str, lower: str, why: str, works: str) -> DecoratorOrderError:
    return DecoratorOrderError(f"@{upper} over @{lower}: {why}. The order that works: {works}.")


def mark(
    wrapper: Callable[..., Any],
    name: str,
    wrapped: Callable[..., Any],
    key: object = None,
    role: str | None = None,
) -> None:
    """Record on ``wrapper`` that it is ``name`` over ``wrapped`` (call after copying
    ``wrapped``'s metadata onto it); its role is ``role``, or ``wrapped``'s."""
    setattr(wrapper, STACK, ((name, key), *stack_of(wrapped)))
    setattr(wrapper, ROLE, role or role_of(wrapped))
