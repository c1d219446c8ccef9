"""Facts about SAM and CloudFormation templates that every reader of one shares.

``lambdakit.filtering`` (``FilterCriteria.from_template``), ``lambdakit.testing.esm``
(``EventSourceMapping.from_template``) and ``lambdakit check`` each read a function's event
source mappings from a template; the resource types and AWS's defaults they rely on are stated
here once.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
# SAM event types that are event source mappings, and their source.
MAPPING_EVENT_TYPES = {
    "SQS": "sqs",
    "Kinesis": "kinesis",
    "DynamoDB": "dynamodb",
    "MSK": "kafka",
    "SelfManagedKafka": "kafka",
}
# AWS's defaults (API_CreateEventSourceMapping; msk-esm-parameters.html; AWS::Lambda::Function).
DEFAULT_BATCH_SIZE = {"sqs": 10, "kinesis": 100, "dynamodb": 100, "kafka": 100}
# MaximumBatchingWindowInSeconds: 0, but 500 ms for Kafka (batching behavior).
DEFAULT_BATCHING_WINDOW = {"sqs": 0.0, "kinesis": 0.0, "dynamodb": 0.0, "kafka": 0.5}
DEFAULT_FUNCTION_TIMEOUT = 3


def mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else an empty one (a malformed template is not ours to
    refuse: CloudFormation will)."""
    return value if isinstance(value, dict) else {}
