"""Partial batch failures for SQS (standard and FIFO), Kinesis, DynamoDB Streams and Kafka.

``@process_batch`` turns a record handler into a Lambda handler returning
``{"batchItemFailures": [...]}``, so one bad record never makes the whole batch retry. Importing
this package does not import boto3.
"""

from lambdakit.batch._decorator import BatchResponse, process_batch
from lambdakit.batch._sources import EventSource
from lambdakit.errors import (
    AllRecordsFailedError,
    BatchConfigurationError,
    BatchError,
    EventSourceMismatchError,
    InvalidRecordError,
    NotABatchEventError,
    UnknownEventSourceError,
)
from lambdakit.events import DynamoDBRecord, KafkaRecord, KinesisRecord, SQSRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambdakit.batch._retry import Backoff, Quarantine


def __getattr__(name: str) -> object:
    # Backoff and Quarantine are dataclasses: imported when named, so that a function using
    # neither does not pay for importing ``dataclasses`` at cold start.
    if name in ("Backoff", "Quarantine"):
        from lambdakit.batch import _retry

        return getattr(_retry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AllRecordsFailedError",
    "Backoff",
    "BatchConfigurationError",
    "BatchError",
    "BatchResponse",
    "DynamoDBRecord",
    "EventSource",
    "EventSourceMismatchError",
    "InvalidRecordError",
    "KafkaRecord",
    "KinesisRecord",
    "NotABatchEventError",
    "Quarantine",
    "SQSRecord",
    "UnknownEventSourceError",
    "process_batch",
]
