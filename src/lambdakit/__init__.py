"""lambdakit: correct, fast, testable utilities for event-driven AWS Lambda functions.

The decorators users reach for first are importable from here, and :func:`warm_up`, which does
at init what their first invocation would otherwise do. They load on first access, so
``import lambdakit`` costs almost nothing at cold start and never imports boto3.
"""

from __future__ import annotations

from lambdakit._internal.lazy import lazy_attributes
from lambdakit.errors import LambdakitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambdakit._internal.warmup import WarmUpReport, warm_up
    from lambdakit.batch import process_batch

__version__ = "0.1.0"

__all__ = ["LambdakitError", "WarmUpReport", "__version__", "process_batch", "warm_up"]

__getattr__ = lazy_attributes(
    globals(),
    __name__,
    {
        "process_batch": "lambdakit.batch",
        # Called once at init, by functions that opt in: its module loads then.
        "warm_up": "lambdakit._internal.warmup",
        "WarmUpReport": "lambdakit._internal.warmup",
    },
)
