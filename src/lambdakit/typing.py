"""Types for users' code: the Lambda context as a protocol.

``LambdaContext`` is what a handler's second argument provides, as a :class:`typing.Protocol`:
the Python runtime's own context object (``awslambdaric``) and
:class:`lambdakit.testing.LambdaContext` both satisfy it, so a handler annotated with it
type-checks in production code and in tests alike, and lambdakit's decorators are typed with
it. ``memory_limit_in_mb`` is a string, as the runtime sets it (from
``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``).

Importing this module imports :mod:`typing`; lambdakit's own modules use it only under
``TYPE_CHECKING``, so it costs nothing at cold start unless a function imports it itself.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["LambdaContext"]


class LambdaContext(Protocol):
    """The context object Lambda passes to a handler (read-only attributes and one method)."""

    @property
    def function_name(self) -> str: ...

    @property
    def function_version(self) -> str: ...

    @property
    def invoked_function_arn(self) -> str: ...

    @property
    def memory_limit_in_mb(self) -> str: ...

    @property
    def aws_request_id(self) -> str: ...

    @property
    def log_group_name(self) -> str: ...

    @property
    def log_stream_name(self) -> str: ...

    @property
    def identity(self) -> Any: ...

    @property
    def client_context(self) -> Any: ...

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out."""
        ...
