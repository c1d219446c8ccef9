"""What lambdakit users import in their own tests.

- :class:`LambdaContext`: the context object, with a countdown on an injectable clock.
- :class:`FakeClock`: time that moves only when the test says so.
- Event builders shaped exactly like Lambda's events: :func:`sqs_event`,
  :func:`kinesis_event`, :func:`dynamodb_stream_event`, :func:`kafka_event`, and HTTP requests
  as API Gateway's HTTP API (:func:`http_api_event`) and function URLs
  (:func:`function_url_event`) pass them on.
- :func:`fake_secrets`: a preloadable in-memory secrets backend (:class:`FakeSecrets`) that
  counts fetches, for handlers that use :mod:`lambdakit.secrets`.
- :class:`RecordingProducer`: a drop-in Kafka producer that records messages and can be told
  to refuse deliveries, for handlers under ``flush_kafka``.
- :mod:`lambdakit.testing.esm` (its names re-exported here): :class:`EventSourceMapping` runs a
  handler the way Lambda's event source mappings drive it, over in-memory :class:`SQSQueue`,
  :class:`KinesisStream`, :class:`DynamoDBStream` and :class:`KafkaTopic` models, on a
  :class:`FakeClock`, and returns a :class:`Summary` of what happened to every record.
- A pytest plugin (loaded automatically) with the ``lambda_context``,
  ``lambda_context_factory``, ``fake_clock``, ``idempotency_store``, ``fake_secrets`` and
  ``dynamodb_local`` fixtures (``pytest --fixtures`` describes them).

Real servers for integration tests are in submodules, imported only when used:
:class:`~lambdakit.testing.kafka_cluster.MockKafkaCluster` (librdkafka's mock cluster; needs
``lambdakit[kafka]``) and :class:`~lambdakit.testing.dynamodb_local.DynamoDBLocal` (AWS's
DynamoDB Local, found from the project directory or ``$LAMBDAKIT_DYNAMODB_LOCAL``).
"""

from lambdakit._internal.lazy import lazy_attributes
from lambdakit.testing.builders.dynamodb import dynamodb_stream_event
from lambdakit.testing.builders.http import function_url_event, http_api_event
from lambdakit.testing.builders.kafka import kafka_event
from lambdakit.testing.builders.kinesis import kinesis_event
from lambdakit.testing.builders.sqs import sqs_event
from lambdakit.testing.clock import FakeClock
from lambdakit.testing.context import LambdaContext
from lambdakit.testing.kafka import RecordingProducer
from lambdakit.testing.secrets import FakeSecrets, fake_secrets

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambdakit.testing.esm import (
        Delivery,
        DynamoDBStream,
        EventSourceMapping,
        KafkaTopic,
        KinesisStream,
        SQSClient,
        SQSEventSource,
        SQSMessage,
        SQSQueue,
        Summary,
    )

# The event source mapping model (lambdakit.testing.esm), imported on first use.
_ESM = (
    "Delivery",
    "DynamoDBStream",
    "EventSourceMapping",
    "KafkaTopic",
    "KinesisStream",
    "SQSClient",
    "SQSEventSource",
    "SQSMessage",
    "SQSQueue",
    "Summary",
)

__all__ = [
    "Delivery",
    "DynamoDBStream",
    "EventSourceMapping",
    "KafkaTopic",
    "KinesisStream",
    "SQSClient",
    "SQSEventSource",
    "SQSMessage",
    "SQSQueue",
    "Summary",
    "FakeClock",
    "FakeSecrets",
    "LambdaContext",
    "RecordingProducer",
    "dynamodb_stream_event",
    "fake_secrets",
    "function_url_event",
    "http_api_event",
    "kafka_event",
    "kinesis_event",
    "sqs_event",
]

__getattr__ = lazy_attributes(globals(), __name__, dict.fromkeys(_ESM, "lambdakit.testing.esm"))
