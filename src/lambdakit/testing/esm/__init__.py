"""``lambdakit.testing.esm``: run a handler the way Lambda's event source mappings drive it.

In-memory models of the sources (SQS queues, Kinesis and DynamoDB streams, Kafka topics) with
the real services' semantics, and :class:`EventSourceMapping`, which polls one and invokes your
handler as Lambda's poller does: batching, filtering, visibility timeouts, retries, partial
batch responses, dead-letter queues, checkpoints, function timeouts. Everything runs on a
:class:`~lambdakit.testing.FakeClock`, so a test of hours of redeliveries takes milliseconds,
and the :class:`Summary` says what happened to every record. :class:`SQSClient` is a
boto3-shaped SQS client over the queue models, for handlers that call SQS themselves.
"""

from lambdakit.testing.esm._kafka import KafkaTopic
from lambdakit.testing.esm._mapping import EventSourceMapping
from lambdakit.testing.esm._real_sqs import SQSEventSource
from lambdakit.testing.esm._sqs import SQSMessage, SQSQueue
from lambdakit.testing.esm._sqs_client import SQSClient
from lambdakit.testing.esm._streams import DynamoDBStream, KinesisStream
from lambdakit.testing.esm._summary import Delivery, Summary

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
]
