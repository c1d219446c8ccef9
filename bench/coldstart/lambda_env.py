"""What the Lambda Python runtime (awslambdaric) has in place before it loads a handler.

Shared by ``bench/batch_bench.py`` and the cold-start child ``run_once.py``, so that both
measure under the runtime's own logging and context rather than a look-alike. Imports only
awslambdaric and the standard library (the child imports this before its timed import).
"""

from __future__ import annotations

import os
import time
from typing import Any


def lambda_logging() -> None:
    """Root logging as the runtime sets it up for ``AWS_LAMBDA_LOG_FORMAT=JSON`` (with no
    ``AWS_LAMBDA_LOG_LEVEL``): its own ``bootstrap._setup_logging`` (a root handler, root level
    left at WARNING, the runtime's JSON formatter) and its ``FramedTelemetryLogSink``, here on a
    real file descriptor of /dev/null, so every record is formatted, framed and written."""
    from awslambdaric import bootstrap
    from awslambdaric.lambda_runtime_log_utils import LogFormat

    os.environ["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
    os.environ.pop("AWS_LAMBDA_LOG_LEVEL", None)
    sink = bootstrap.FramedTelemetryLogSink(os.open(os.devnull, os.O_WRONLY)).__enter__()
    bootstrap._setup_logging(LogFormat.JSON, None, sink)


def lambda_context(timeout_s: float, request_id: str = "bench-request") -> Any:
    """The runtime's own context object, with ``timeout_s`` left."""
    from awslambdaric.lambda_context import LambdaContext

    deadline_ms = int((time.time() + timeout_s) * 1000)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    return LambdaContext(request_id, None, None, deadline_ms, arn)
