"""Describing users' objects in messages without trusting them.

An exception class from a third-party library can have a ``__repr__`` that raises; a message
lambdakit builds about that exception (a log line, ``AllRecordsFailedError``) must still be
built, or the report of a failure would itself fail and hide it.
"""

from __future__ import annotations


def safe_repr(value: object) -> str:
    """``repr(value)``, or a description naming its type when that raises."""
    try:
        return repr(value)
    except Exception:
        kind = type(value)
        return f"<{kind.__module__}.{kind.__qualname__} object (its repr() raised)>"


def describe_error(error: BaseException) -> str:
    """``ErrorType: message`` as Lambda's logs name an error (``ErrorType`` alone when the message
    is empty), even when the exception's ``__str__`` raises."""
    try:
        message = str(error)
    except Exception:
        message = safe_repr(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
