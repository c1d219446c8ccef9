"""Typed, lazy views over the records Lambda delivers (shared by every lambdakit utility).

Each view wraps the raw record dict (``view.raw``) without copying it and decodes fields only
when they are read.
"""

from lambdakit.events._attributes import deserialize, deserialize_image
from lambdakit.events._base import RecordView
from lambdakit.events.dynamodb import DynamoDBRecord
from lambdakit.events.kafka import KafkaRecord
from lambdakit.events.kinesis import KinesisRecord
from lambdakit.events.sqs import SQSRecord

__all__ = [
    "DynamoDBRecord",
    "KafkaRecord",
    "KinesisRecord",
    "RecordView",
    "SQSRecord",
    "deserialize",
    "deserialize_image",
]
