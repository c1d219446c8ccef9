"""lambdakit's loggers, following Lambda's advanced logging controls.

Lambda tells a function how much to log through ``AWS_LAMBDA_LOG_LEVEL`` (``TRACE``, ``DEBUG``,
``INFO``, ``WARN``, ``ERROR``, ``FATAL``) and how through ``AWS_LAMBDA_LOG_FORMAT`` (``TEXT`` or
``JSON``). The Python runtime applies the level to the root logger only, and a function that
configures logging for its own code (``logging.basicConfig(level=...)``, a Powertools
``Logger``) moves the root level with it; so the level is applied to the ``lambdakit`` logger
itself (:func:`follow_lambda_level`), unless the user has set that logger's level, which wins.

With the JSON format, the runtime's ``JsonFormatter`` writes every attribute a record carries
beyond the standard ones as a top-level key: fields passed by :func:`log` become ``recordId``,
``eventSource``, ``attempt``... beside ``message`` and ``requestId``, which a query can filter
on. In TEXT, only the message is written, so every message says everything by itself.

``logging`` is imported on first use only (cold start: a function that never logs through
lambdakit does not load it).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Mapping
    from types import TracebackType
    from typing import Any

ROOT = "lambdakit"

# logging's levels, without importing logging to read them.
NOTSET, DEBUG, INFO, WARNING, ERROR, CRITICAL = 0, 10, 20, 30, 40, 50

# AWS_LAMBDA_LOG_LEVEL values, as the Python runtime reads them (TRACE has no logging level:
# the runtime maps it to DEBUG); WARNING and CRITICAL as logging spells them, for people who
# set the variable by hand.
_LAMBDA_LEVELS = {
    "TRACE": DEBUG,
    "DEBUG": DEBUG,
    "INFO": INFO,
    "WARN": WARNING,
    "WARNING": WARNING,
    "ERROR": ERROR,
    "FATAL": CRITICAL,
    "CRITICAL": CRITICAL,
}

_loggers: dict[str, logging.Logger] = {}
# The level follow_lambda_level last set on the "lambdakit" logger: a level other than this one
# (or NOTSET) was set by the user, and is left alone.
_applied = NOTSET


def lambda_level(value: str | None) -> int | None:
    """The logging level an ``AWS_LAMBDA_LOG_LEVEL`` value asks for; ``None`` when the variable
    is unset or names no level (the runtime ignores such a value too)."""
    if not value:
        return None
    return _LAMBDA_LEVELS.get(value.strip().upper())


def follow_lambda_level() -> None:
    """Set the ``lambdakit`` logger's level from ``AWS_LAMBDA_LOG_LEVEL``, unless the user set
    one. Done once per process by :func:`get_logger`; call it again after changing the
    variable (tests)."""
    import logging

    global _applied
    logger = logging.getLogger(ROOT)
    if logger.level not in (NOTSET, _applied):
        return  # the user's choice
    wanted = lambda_level(os.environ.get("AWS_LAMBDA_LOG_LEVEL"))
    _applied = NOTSET if wanted is None else wanted
    if logger.level != _applied:
        logger.setLevel(_applied)


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` for a logger under ``lambdakit``, importing logging on the
    first call only; the first call also applies Lambda's log level (:func:`follow_lambda_level`).
    """
    found = _loggers.get(name)
    if found is None:
        import logging

        if not _loggers:
            follow_lambda_level()
        found = _loggers[name] = logging.getLogger(name)
    return found


def log(
    logger: logging.Logger,
    level: int,
    message: str,
    fields: Mapping[str, object],
    *,
    error: BaseException | None = None,
    traceback: TracebackType | None = None,
) -> None:
    """Log ``message`` at ``level`` with ``fields`` as attributes of the record, so that
    Lambda's JSON format writes each as a top-level key (camelCase, as Lambda's own keys).

    ``message`` is written as it is (no ``%`` formatting), and must read well alone: the TEXT
    format shows nothing else. Fields whose value is ``None`` are left out. ``error`` is logged
    with its traceback (``stackTrace``, ``errorType`` and ``errorMessage`` in JSON), or with
    ``traceback`` in place of its own (a part of it: see ``batch._outcome``). Callers
    check ``logger.isEnabledFor(level)`` *before* building the message and the fields, so that
    a disabled level costs nothing.
    """
    extra = {key: value for key, value in fields.items() if value is not None}
    exc_info: BaseException | tuple[type[BaseException], BaseException, Any] | None = error
    if error is not None and traceback is not None:
        exc_info = (type(error), error, traceback)
    if error is not None:
        try:
            str(error)
        except Exception:
            # Lambda's JsonFormatter calls str() on the error outside any guard: logging would
            # drop the whole record (printing "--- Logging error ---") and the failure would
            # vanish. A stand-in carries a description; type and traceback stay the error's.
            kind = type(error)
            stand_in = _Unprintable(
                f"<{kind.__module__}.{kind.__qualname__} object (its str() raised)>"
            )
            exc_info = (kind, stand_in, traceback or error.__traceback__)
    # stacklevel 2: the record's location (JSON "location" with an error) is the caller's.
    logger.log(level, message, exc_info=exc_info, extra=extra, stacklevel=2)


class _Unprintable(Exception):
    """Logged in place of an error whose ``str()`` raises (see :func:`log`)."""
