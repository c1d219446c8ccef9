"""Every exception lambdakit raises derives from :class:`LambdakitError`.

One root lets a handler catch "anything lambdakit refused" in one ``except`` clause, while each
utility's subclasses say precisely what went wrong. Messages name the offending input and where
it sits in the event (``Records[3].messageId: missing``) so that a failed invocation's log line is
enough to find the bad record.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "AllRecordsFailedError",
    "EventBuilderError",
    "EventSourceMappingError",
    "EventError",
    "RecordDecodeError",
    "SecretAccessError",
    "SecretFetchError",
    "SecretNotFoundError",
    "SecretPicklingError",
    "SecretTransformError",
    "SecretsConfigurationError",
    "SecretsError",
    "BatchConfigurationError",
    "CheckError",
    "CostError",
    "CostInputError",
    "DecoratorOrderError",
    "MissingDependencyError",
    "BatchError",
    "EventSourceMismatchError",
    "FilterError",
    "KafkaConfigurationError",
    "KafkaDecodeError",
    "KafkaDeliveryError",
    "KafkaError",
    "FilterPatternError",
    "FilterTemplateError",
    "FilterUsageError",
    "IdempotencyAlreadyInProgressError",
    "IdempotencyConfigurationError",
    "IdempotencyError",
    "IdempotencyKeyError",
    "IdempotencyPayloadMismatchError",
    "IdempotencyPersistenceError",
    "IdempotencySerializationError",
    "InvalidRecordError",
    "LambdakitError",
    "NotABatchEventError",
    "UnknownEventSourceError",
    "WarmUpConfigurationError",
]


class LambdakitError(Exception):
    """Base class of every error raised by lambdakit."""


class DecoratorOrderError(LambdakitError, TypeError):
    """Decorators stacked in an order where one of them cannot do its job, or one applied twice.

    Raised when the decorator is applied (at import), never on an invocation: a stack that looks
    right and is not (``@idempotent`` over ``@process_batch`` would guard nothing) must not
    reach production. The message names both decorators and the order that works.
    """


class MissingDependencyError(LambdakitError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it
    (``pip install 'lambdakit[kafka]'``). Raised when the object needing it is created, not on
    its first use in an invocation."""


# --- events ---------------------------------------------------------------------------------


class EventError(LambdakitError):
    """Base class of the errors raised while reading Lambda event records."""


class RecordDecodeError(EventError, ValueError):
    """A record's payload could not be decoded as asked (bad base64, JSON, attribute value).

    ``where`` is the path of the offending field, e.g. ``Records[3].body``.
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class EventBuilderError(EventError, ValueError):
    """A ``lambdakit.testing`` event builder was given input it cannot turn into a real event."""


class EventSourceMappingError(EventError, ValueError):
    """A ``lambdakit.testing.esm`` model was given options AWS would refuse (a batch size over
    the source's limit, a batching window over 300 s, an option the source does not have), or
    was driven in a way it cannot be (two different clocks)."""


class WarmUpConfigurationError(LambdakitError, ValueError):
    """``lambdakit.warm_up`` was given something it can never warm, or a budget that is not a
    number of seconds: a mistake in the code that calls it, refused on every cold start alike
    (a slow or failing dependency never raises: it is logged and left lazy)."""


# --- batch ---------------------------------------------------------------------------------


class BatchError(LambdakitError):
    """Base class of the errors raised by :mod:`lambdakit.batch`."""


class BatchConfigurationError(BatchError, ValueError):
    """``process_batch`` was applied with options that cannot work (raised at decoration)."""


class NotABatchEventError(BatchError):
    """The event is not a batch event: not a dict, or no ``Records`` list."""


class UnknownEventSourceError(BatchError):
    """The event source is neither detectable from the record nor one lambdakit supports."""


class EventSourceMismatchError(BatchError):
    """A record's ``eventSource`` differs from the source of the batch."""


class InvalidRecordError(BatchError):
    """A record lacks the field Lambda needs to identify it in ``batchItemFailures``.

    Such a record cannot be reported individually, so the whole invocation fails before any
    record runs: Lambda then retries the batch and nothing is silently dropped.
    """

    def __init__(
        self, index: int, field: str, problem: str, *, location: str | None = None
    ) -> None:
        self.index = index
        self.field = field
        self.problem = problem
        # Where the record sits: ``Records[3]``, or for a Kafka event (which has no ``Records``)
        # its place under ``records``.
        self.location = location if location is not None else f"Records[{index}]"
        path = f"{self.location}.{field}" if field else self.location
        super().__init__(f"{path}: {problem}")


class AllRecordsFailedError(BatchError):
    """Every record of the batch failed, and the decorator was asked to raise in that case.

    ``exceptions`` holds what the first failed records raised, in batch order: as many as
    ``process_batch(max_logged_failures=...)`` keeps (at least one). Not every record's: a
    10,000-record batch that failed whole would otherwise keep 10,000 tracebacks, with their
    frames and records, alive until the error is dropped.
    """

    def __init__(self, message: str, exceptions: Sequence[BaseException | None]) -> None:
        super().__init__(message)
        self.exceptions = list(exceptions)


# --- idempotency ---------------------------------------------------------------------------


class IdempotencyError(LambdakitError):
    """Base class of the errors raised by :mod:`lambdakit.idempotency`."""


class IdempotencyConfigurationError(IdempotencyError, ValueError):
    """``idempotent`` or a store was configured with options that cannot work (raised when the
    decorator or store is created, not on the first call)."""


class IdempotencyKeyError(IdempotencyError):
    """The key expression found nothing in the payload, and ``raise_on_missing_key`` is set."""


class IdempotencyAlreadyInProgressError(IdempotencyError):
    """Another call with the same key holds the lock and has not finished (or its lock has not
    expired yet). The event source retries; the retry returns the stored result."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


class IdempotencyPayloadMismatchError(IdempotencyError):
    """A call reused a stored key with a payload whose ``validate`` fields differ.

    The stored result belongs to another request; returning it would hide a client bug, so the
    call fails instead. The message names the fields, never their values.
    """

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


class IdempotencySerializationError(IdempotencyError):
    """The function's result cannot be stored as JSON. Raised before anything is marked
    complete; the lock is released so that a retry can run."""


class IdempotencyPersistenceError(IdempotencyError):
    """The store failed (throttling beyond retries, missing table, access denied, network).

    The store's own exception is chained as ``__cause__``. ``result`` holds the function's
    return value when the failure happened while storing it (the function did run).
    """

    _NO_RESULT = object()

    def __init__(self, message: str, result: object = _NO_RESULT) -> None:
        super().__init__(message)
        self.result = None if result is self._NO_RESULT else result
        self.function_ran = result is not self._NO_RESULT


# --- filtering -----------------------------------------------------------------------------


class FilterError(LambdakitError):
    """Base class of the errors raised by :mod:`lambdakit.filtering`."""


class FilterPatternError(FilterError):
    """A filter pattern (or a set of filter criteria) that AWS would reject.

    ``path`` is where in the pattern the problem is (``detail.state[1]``, or ``""`` for the
    pattern as a whole); the message names it and the rule that is broken.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class FilterTemplateError(FilterPatternError):
    """The filter criteria could not be read from a SAM or CloudFormation template: the file,
    the function or the event source is missing or ambiguous (the message lists what exists)."""

    def __init__(self, problem: str) -> None:
        super().__init__("", problem)


class FilterUsageError(FilterError, TypeError):
    """``filter_records`` applied without criteria (``@filter_records`` bare) or given something
    that is not criteria; the message says what it expects."""


# --- secrets -------------------------------------------------------------------------------
# Messages name the secret or parameter, never its value.


class SecretsError(LambdakitError):
    """Base class of the errors raised by :mod:`lambdakit.secrets`."""


class SecretsConfigurationError(SecretsError, ValueError):
    """Options that cannot work (raised when the cache or decorator is set up)."""


class SecretNotFoundError(SecretsError, KeyError):
    """The secret, parameter or item does not exist (``names`` lists every missing one)."""

    def __init__(self, message: str, names: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.names = list(names)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SecretAccessError(SecretsError):
    """The store refused access (IAM, KMS key policy)."""


class SecretTransformError(SecretsError, ValueError):
    """The stored value cannot be transformed as asked (``json`` of text that is not JSON,
    ``binary`` of text that is not base64). The message names the secret, never the value."""


class SecretPicklingError(SecretsError, TypeError):
    """Something holding secret values (the cache, one of its entries) was asked to be pickled
    or copied: a pickle would carry the values out of the process in clear. A ``TypeError``, as
    pickling an unpicklable object is elsewhere."""


class SecretFetchError(SecretsError):
    """Fetching failed (throttling beyond retries, network, 5xx) and no value young enough to
    serve stale was in memory. The cause is chained."""


# --- kafka ---------------------------------------------------------------------------------


class KafkaError(LambdakitError):
    """Base class of the errors raised by :mod:`lambdakit.kafka`."""


class KafkaConfigurationError(KafkaError, ValueError):
    """A producer or decorator configured with options that cannot work."""


class KafkaDecodeError(KafkaError, RecordDecodeError):
    """A Kafka record's value or key could not be decoded with its schema
    (``KafkaRecord.value_as`` / ``key_as``): a framing that is not the one expected, a schema
    id other than the pinned one, a payload the schema cannot read exactly, a ``dataFormat``
    the schema does not read. ``where`` names the record and field (``orders-0@15.value``);
    a corrupt value is never returned instead."""


class KafkaDeliveryError(KafkaError):
    """Messages produced during the call were not acknowledged: still queued when the flush
    deadline came, or refused (broker down, topic rejecting writes). The invocation fails so the
    event source retries instead of the data silently vanishing.

    ``produced``, ``delivered``, ``failed`` and ``undelivered`` (still queued) are counts;
    ``errors`` holds the first delivery errors (as text).
    """

    def __init__(
        self, message: str, *, produced: int, delivered: int, failed: int, errors: list[str]
    ) -> None:
        super().__init__(message)
        self.produced = produced
        self.delivered = delivered
        self.failed = failed
        self.undelivered = produced - delivered - failed
        self.errors = errors


# --- cost ----------------------------------------------------------------------------------


class CostError(LambdakitError):
    """Base class of the errors raised by the cost and capacity planner (``lambdakit.cost``)."""


class CostInputError(CostError, ValueError):
    """A planner input that cannot be used: a negative rate, a batch size of 0, a memory size
    Lambda does not offer, a malformed ``input.prop`` line, an unfittable measurement.

    ``field`` names the input (``batch_size``, ``workload.failure_rate``); ``source`` and
    ``line`` say where it was read from when it came from a file, so the message a user sees
    points at the line to fix (``input.prop:7: max_batch_size: not an integer: '1e3'``);
    ``reason`` is the message without them.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        source: str | None = None,
        line: int | None = None,
    ) -> None:
        self.reason = message
        self.field = field
        self.source = source
        self.line = line
        where = (
            f"{source}:{line}: "
            if source is not None and line is not None
            else (f"{source}: " if source is not None else "")
        )
        named = f"{field}: " if field is not None else ""
        super().__init__(f"{where}{named}{message}")

    def located(self, source: str, line: int | None = None) -> CostInputError:
        """The same error, said to come from ``source`` (a file) at ``line``: for readers that
        check a value with the shared checks and then point at where it was written."""
        return CostInputError(self.reason, field=self.field, source=source, line=line)


# --- check ---------------------------------------------------------------------------------


class CheckError(LambdakitError):
    """A template ``lambdakit check`` cannot read (missing file, not YAML/JSON, no Resources),
    a handler it cannot import with ``import_handlers=True``, or an unknown rule id to ignore.
    The message names the file, and the resource or rule."""
