"""A faithful stand-in for the context object the Lambda Python runtime passes to a handler."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from lambdakit._internal.clock import monotonic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambdakit._internal.clock import Clock


class LambdaContext:
    """The Lambda context, for tests.

    Attributes carry the same names and types as the real runtime's (``awslambdaric``):
    ``memory_limit_in_mb`` is a *string* there, read from ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``,
    and so it is here; code that does arithmetic on it must convert, in tests as in production.

    ``get_remaining_time_in_millis()`` counts down from ``timeout`` (seconds, as configured on a
    function) starting when the context is created, on ``clock`` (a zero-argument callable
    returning monotonic seconds). Pass a :class:`~lambdakit.testing.FakeClock` to move time
    explicitly. The default timeout is Lambda's maximum, 900 s, so nothing in a test runs out of
    time unless the test asks for it.
    """

    def __init__(
        self,
        *,
        function_name: str = "test-function",
        function_version: str = "$LATEST",
        invoked_function_arn: str | None = None,
        memory_limit_in_mb: int | str = 128,
        aws_request_id: str | None = None,
        log_group_name: str | None = None,
        log_stream_name: str | None = None,
        timeout: float = 900.0,
        region: str | None = None,
        account_id: str = "123456789012",
        identity: Any = None,
        client_context: Any = None,
        tenant_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
        region = region or os.environ.get("AWS_REGION") or "us-east-1"
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn or (
            f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        )
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = log_group_name or f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream_name or (
            time.strftime("%Y/%m/%d", time.gmtime()) + f"/[{function_version}]{uuid.uuid4().hex}"
        )
        self.identity = identity
        self.client_context = client_context
        self.tenant_id = tenant_id
        self.timeout = float(timeout)
        self._clock = clock or monotonic
        self._deadline = self._clock() + self.timeout

    def _lambdakit_deadline(self) -> tuple[Clock, float]:
        """The clock this context counts on and its deadline (lets lambdakit check cheaply)."""
        return self._clock, self._deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation would time out (never negative)."""
        return max(0, int((self._deadline - self._clock()) * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r}, "
            f"remaining_ms={self.get_remaining_time_in_millis()})"
        )
