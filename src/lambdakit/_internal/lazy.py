"""Cold-start helpers: a logger fetched on first use, and decorator metadata without functools.

Modules on the path of ``import lambdakit.batch`` import nothing from the standard library that
a Lambda function would not otherwise load; ``logging`` (with its threading and traceback
machinery) is loaded only when something is actually logged.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from typing import Any

_WRAPPER_ASSIGNMENTS = ("__module__", "__name__", "__qualname__", "__doc__")


_loggers: dict[str, logging.Logger] = {}


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)``, importing logging on the first call only."""
    found = _loggers.get(name)
    if found is None:
        import logging

        found = _loggers[name] = logging.getLogger(name)
    return found


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
