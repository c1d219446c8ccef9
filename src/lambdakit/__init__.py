"""lambdakit: correct, fast, testable utilities for event-driven AWS Lambda functions.

The decorators users reach for first are importable from here. They load on first access, so
``import lambdakit`` costs almost nothing at cold start and never imports boto3.
"""

from __future__ import annotations

from lambdakit.errors import LambdakitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lambdakit.batch import process_batch

__version__ = "0.1.0"

__all__ = ["LambdakitError", "__version__", "process_batch"]

_LAZY = {"process_batch": "lambdakit.batch"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lambdakit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
