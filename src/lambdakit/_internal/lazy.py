"""Cold-start helpers: a logger fetched on first use, decorator metadata without functools, and
package attributes imported on first access.

Modules on the path of ``import lambdakit.batch`` import nothing from the standard library that
a Lambda function would not otherwise load; ``logging`` (with its threading and traceback
machinery) is loaded only when something is actually logged.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_WRAPPER_ASSIGNMENTS = ("__module__", "__name__", "__qualname__", "__doc__")


def wraps(wrapper: Callable[..., Any], wrapped: Callable[..., Any]) -> None:
    """What ``functools.update_wrapper`` does, without importing functools and collections."""
    for attribute in _WRAPPER_ASSIGNMENTS:
        try:
            value = getattr(wrapped, attribute)
        except AttributeError:
            continue
        setattr(wrapper, attribute, value)
    wrapper.__dict__.update(getattr(wrapped, "__dict__", {}))
    wrapper.__wrapped__ = wrapped  # type: ignore[attr-defined]


def lazy_attributes(
    namespace: dict[str, Any], package: str, lazy: dict[str, str]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name in ``lazy`` is imported from its
    module on first access and kept in ``namespace``, so importing the package does not pay for
    what a function never uses."""

    def __getattr__(name: str) -> Any:
        module = lazy.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
