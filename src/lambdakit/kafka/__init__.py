"""Kafka producers that live across invocations and lose nothing when Lambda freezes.

:class:`Producer` builds its client on first use and keeps it for the execution environment;
:func:`flush_kafka` flushes after each call and fails the call when its messages were not
delivered. The backend library (confluent-kafka: ``lambdakit[kafka]``; kafka-python:
``lambdakit[kafka-python]``) is imported only when the first message is produced; its absence
is refused when the producer is created (:class:`MissingDependencyError` names the extra).
:func:`msk_iam` is the configuration for MSK with IAM access control (``lambdakit[msk]``), and
:func:`close_on_shutdown` (opt-in) flushes and closes producers when Lambda sends ``SIGTERM``.
"""

from lambdakit._internal.lazy import lazy_attributes
from lambdakit.errors import (
    KafkaConfigurationError,
    KafkaDecodeError,
    KafkaDeliveryError,
    KafkaError,
    MissingDependencyError,
)
from lambdakit.kafka._flush import flush_kafka
from lambdakit.kafka._msk import msk_iam
from lambdakit.kafka._producer import Producer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambdakit.kafka._schemas import AvroSchema, JsonSchema, ProtobufSchema
    from lambdakit.kafka._shutdown import close_on_shutdown

# Opt-in, and called once at init: their module loads when it is first used.
__getattr__ = lazy_attributes(
    globals(),
    __name__,
    {
        "close_on_shutdown": "lambdakit.kafka._shutdown",
        "AvroSchema": "lambdakit.kafka._schemas",
        "JsonSchema": "lambdakit.kafka._schemas",
        "ProtobufSchema": "lambdakit.kafka._schemas",
    },
)

__all__ = [
    "AvroSchema",
    "JsonSchema",
    "KafkaConfigurationError",
    "KafkaDecodeError",
    "KafkaDeliveryError",
    "KafkaError",
    "MissingDependencyError",
    "Producer",
    "ProtobufSchema",
    "close_on_shutdown",
    "flush_kafka",
    "msk_iam",
]
