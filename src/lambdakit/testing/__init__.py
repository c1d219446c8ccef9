"""What lambdakit users import in their own tests.

- :class:`LambdaContext`: the context object, with a countdown on an injectable clock.
- :class:`FakeClock`: time that moves only when the test says so.
- Event builders shaped exactly like Lambda's events: :func:`sqs_event`,
  :func:`kinesis_event`, :func:`dynamodb_stream_event`.
- A pytest plugin (loaded automatically) with ``lambda_context`` and ``fake_clock`` fixtures.
"""

from lambdakit.testing.builders.dynamodb import dynamodb_stream_event
from lambdakit.testing.builders.kinesis import kinesis_event
from lambdakit.testing.builders.sqs import sqs_event
from lambdakit.testing.clock import FakeClock
from lambdakit.testing.context import LambdaContext

__all__ = [
    "FakeClock",
    "LambdaContext",
    "dynamodb_stream_event",
    "kinesis_event",
    "sqs_event",
]
