"""lambdakit: correct, fast, testable utilities for event-driven AWS Lambda functions.

The decorators users reach for first are importable from here. They load on first access, so
``import lambdakit`` costs almost nothing at cold start and never imports boto3.
"""

from __future__ import annotations

from lambdakit._internal.lazy import lazy_attributes
from lambdakit.errors import LambdakitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambdakit.batch import process_batch

__version__ = "0.1.0"

__all__ = ["LambdakitError", "__version__", "process_batch"]

__getattr__ = lazy_attributes(globals(), __name__, {"process_batch": "lambdakit.batch"})
