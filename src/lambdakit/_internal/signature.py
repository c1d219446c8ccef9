"""What a function accepts, read when a decorator is applied, so a call that cannot work is refused
at import rather than raising ``TypeError`` on every record in production.

Read from ``__code__`` for plain functions (no import of :mod:`inspect`, which costs cold start);
bound methods, partials and callable objects fall back to ``inspect.signature``. Wrappers that
set ``__wrapped__`` (``functools.wraps``, lambdakit's own) are looked through: a ``(*args,
**kwargs)`` wrapper says nothing about what its function takes.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08


class Accepts:
    """The parameters of a function, as callers see them."""

    __slots__ = ("keyword_only", "positional", "positional_only", "required", "varargs", "varkw")

    def __init__(self) -> None:
        self.positional: list[str] = []  # positional-only and positional-or-keyword, in order
        self.positional_only = 0  # how many of them cannot be passed by keyword
        self.required: set[str] = set()  # parameters without a default
        self.varargs = False
        self.keyword_only: list[str] = []
        self.varkw = False

    def required_positional(self) -> int:
        """How many leading positional parameters have no default."""
        count = 0
        for name in self.positional:
            if name not in self.required:
                break
            count += 1
        return count

    def takes_keyword(self, name: str) -> bool:
        by_keyword = self.positional[self.positional_only :]
        return self.varkw or name in self.keyword_only or name in by_keyword


def wrapping_chain(function: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """``function``, then what it wraps, down its ``__wrapped__`` chain (``inspect.unwrap``'s
    rule, bounded at 100 links)."""
    for _ in range(100):
        yield function
        function = getattr(function, "__wrapped__", None)  # type: ignore[assignment]
        if function is None:
            return


def unwrapped(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` with ``__wrapped__`` followed to its end."""
    *_, innermost = wrapping_chain(function)
    return innermost


def accepts(function: Callable[..., Any]) -> Accepts | None:
    """What ``function`` (looked through) accepts; ``None`` when it cannot be read (builtins)."""
    function = unwrapped(function)
    code = getattr(function, "__code__", None)
    if code is not None and not hasattr(function, "__self__"):
        return _from_code(function, code)
    import inspect  # bound methods, partials, callable objects: rare, and worth the import

    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    found = Accepts()
    for parameter in parameters:
        kind = parameter.kind
        if kind is parameter.VAR_POSITIONAL:
            found.varargs = True
        elif kind is parameter.VAR_KEYWORD:
            found.varkw = True
        elif kind is parameter.KEYWORD_ONLY:
            found.keyword_only.append(parameter.name)
        else:
            found.positional.append(parameter.name)
            found.positional_only += kind is parameter.POSITIONAL_ONLY
        if parameter.default is parameter.empty and kind not in (
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
        ):
            found.required.add(parameter.name)
    return found


def _from_code(function: Any, code: Any) -> Accepts:
    found = Accepts()
    names = code.co_varnames
    count = code.co_argcount
    found.positional = list(names[:count])
    found.positional_only = code.co_posonlyargcount
    found.keyword_only = list(names[count : count + code.co_kwonlyargcount])
    found.varargs = bool(code.co_flags & _CO_VARARGS)
    found.varkw = bool(code.co_flags & _CO_VARKEYWORDS)
    defaults = len(getattr(function, "__defaults__", None) or ())
    found.required = set(found.positional[: count - defaults])
    given = getattr(function, "__kwdefaults__", None) or {}
    found.required.update(name for name in found.keyword_only if name not in given)
    return found


def describe(function: Callable[..., Any]) -> str:
    """``module.qualname`` of ``function`` for messages."""
    inner = unwrapped(function)
    name = getattr(inner, "__qualname__", None) or getattr(inner, "__name__", None)
    if name is None:
        return repr(inner)
    module = getattr(inner, "__module__", None)
    return f"{module}.{name}" if module else str(name)
