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

__all__ = [
    "AllRecordsFailedError",
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
    "SQSRecord",
    "UnknownEventSourceError",
    "process_batch",
]
