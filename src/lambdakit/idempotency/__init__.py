"""Exactly-once effects on top of at-least-once delivery.

``@idempotent(store, key=...)`` runs a function once per key and replays the stored result to
duplicates. Stores: :class:`DynamoDBStore` (production; Powertools' table layout) and
:class:`InMemoryStore` (users' unit tests, same semantics on an injectable clock); any object
implementing :class:`IdempotencyStore` works. boto3 is imported on the first DynamoDB request,
not by importing this package.
"""

from lambdakit.errors import (
    IdempotencyAlreadyInProgressError,
    IdempotencyConfigurationError,
    IdempotencyError,
    IdempotencyKeyError,
    IdempotencyPayloadMismatchError,
    IdempotencyPersistenceError,
    IdempotencySerializationError,
)
from lambdakit.idempotency._cache import reset_local_caches
from lambdakit.idempotency._decorator import idempotent
from lambdakit.idempotency._dynamodb import DynamoDBStore
from lambdakit.idempotency._memory import InMemoryStore
from lambdakit.idempotency._record import COMPLETED, INPROGRESS, IdempotencyStore, StoredRecord

__all__ = [
    "COMPLETED",
    "INPROGRESS",
    "DynamoDBStore",
    "IdempotencyAlreadyInProgressError",
    "IdempotencyConfigurationError",
    "IdempotencyError",
    "IdempotencyKeyError",
    "IdempotencyPayloadMismatchError",
    "IdempotencyPersistenceError",
    "IdempotencySerializationError",
    "IdempotencyStore",
    "InMemoryStore",
    "StoredRecord",
    "idempotent",
    "reset_local_caches",
]
