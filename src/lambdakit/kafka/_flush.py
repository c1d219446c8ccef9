"""``@flush_kafka``: nothing produced during a call is left in the buffer when Lambda freezes.

After the wrapped function returns, the producer is flushed, bounded by the invocation's
remaining time minus ``margin_ms`` (and by ``timeout`` when given). If any message produced
during this call was not acknowledged, still queued at the deadline or refused, the call raises
:class:`~lambdakit.errors.KafkaDeliveryError` with the counts and the first errors: the event
source retries instead of the data vanishing. If the function raised, what it produced is still
flushed, then its exception propagates unchanged.

Works on Lambda handlers and on record handlers under ``process_batch``: each call has its own
ledger, so under a batch only the records whose messages failed are reported. Over
``process_batch`` it is refused (one refused message would retry the whole batch) unless asked
for with ``scope="invocation"``: one flush per invocation, and a failed delivery fails it.
"""

from __future__ import annotations

import time

from lambdakit._internal.aio import is_coroutine_function
from lambdakit._internal.invocation import context_of, remaining_seconds
from lambdakit._internal.lazy import wraps
from lambdakit._internal.metrics import KAFKA_DELIVERY_FAILURES, count
from lambdakit._internal.stacking import check_stack, mark, marked
from lambdakit.errors import KafkaConfigurationError, KafkaDeliveryError
from lambdakit.kafka._ledger import Ledger
from lambdakit.kafka._producer import Producer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TIMEOUT = 30.0  # without a context or a timeout: Lambda's typical function timeout


_SCOPES = ("call", "invocation")


def batch_metrics_on(function: Callable[..., Any]) -> bool:
    """Whether the batch under ``function`` writes metrics: ``process_batch(metrics=...)``
    marks its handler (``__lambdakit_metrics__``); without one, ``LAMBDAKIT_METRICS``."""
    from lambdakit._internal.emf import metrics_enabled

    found = marked(function, "__lambdakit_metrics__", None)
    return metrics_enabled(None) if found is None else bool(found)


def report_failures(failed: int) -> None:
    """One EMF line with ``KafkaDeliveryFailures`` (dimension ``FunctionName``): for
    ``scope="invocation"``, whose flush runs after the batch wrote its own metrics. Never
    raises: the invocation is failing for the delivery, not for its metric."""
    from lambdakit._internal import emf

    try:
        emf.emit({KAFKA_DELIVERY_FAILURES: failed}, {"FunctionName": emf.function_name()})
    except Exception:  # stdout closed: the delivery error still fails the invocation
        return


def flush_kafka(
    producer: Producer,
    *,
    timeout: float | None = None,
    margin_ms: float = 500,
    scope: str = "call",
) -> Callable[[F], F]:
    """Flush ``producer`` after each call; fail the call if its messages were not delivered.

    ``scope="call"`` (the default) flushes after each call of the function it wraps: each
    record under ``process_batch``, each invocation on a Lambda handler. Wrapping the handler
    ``process_batch`` returns needs ``scope="invocation"``, said on purpose: one flush for the
    whole batch, and one undelivered message fails the invocation, so every record is retried.
    """
    if not isinstance(producer, Producer):
        raise KafkaConfigurationError(f"flush_kafka: expected a Producer, got {producer!r}")
    if scope not in _SCOPES:
        raise KafkaConfigurationError(f"scope={scope!r}: expected 'call' or 'invocation'")
    name = "flush_kafka" if scope == "call" else "flush_kafka(scope='invocation')"
    if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
        raise KafkaConfigurationError(f"timeout={timeout!r}: expected a positive number of seconds")
    if isinstance(margin_ms, bool) or not isinstance(margin_ms, (int, float)) or margin_ms < 0:
        raise KafkaConfigurationError(f"margin_ms={margin_ms!r}: expected a number >= 0")

    def budget(args: tuple[Any, ...], kwargs: dict[str, Any]) -> float:
        remaining = remaining_seconds(context_of(args, kwargs))
        bound = DEFAULT_TIMEOUT if remaining is None else remaining - margin_ms / 1000
        if timeout is not None:
            bound = min(bound, timeout)
        return max(0.0, bound)

    # kafka-python's send() can wait for metadata: bounded by the call's budget from its start.
    bounds_sends = producer.backend == "kafka-python"

    def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Ledger, Any]:
        """A new ledger for this call, registered with the producer; the token for ``end``."""
        ledger = Ledger()
        if bounds_sends:
            ledger.deadline = time.monotonic() + budget(args, kwargs)
        return ledger, producer.begin(ledger)

    def settle(ledger: Ledger, seconds: float) -> bool:
        """Flush until every message of the call settled, or the time is up; whether it did."""
        if not ledger.produced:
            return True
        deadline = time.monotonic() + seconds
        while True:
            remaining = producer.flush(max(0.0, deadline - time.monotonic()))
            if remaining == 0 and ledger.accounted():
                return True
            if time.monotonic() >= deadline:
                return False
            if remaining == 0:
                time.sleep(0.001)  # kafka-python: reports may still be on their way

    def check(ledger: Ledger, complete: bool, own_metrics: bool) -> None:
        if complete and not ledger.failed and ledger.lost is None:
            return
        undelivered = ledger.produced - ledger.delivered - ledger.failed
        # Counted here, on the call's own thread (kafka-python reports deliveries on its
        # sender thread, outside the batch's counts): refused, failed and unconfirmed alike.
        count(KAFKA_DELIVERY_FAILURES, ledger.failed + undelivered)
        if own_metrics:
            report_failures(ledger.failed + undelivered)
        why = (
            "not confirmed by the flush deadline"
            if ledger.lost is None
            else f"not confirmed: {ledger.lost}"
        )
        raise KafkaDeliveryError(
            f"{ledger.failed + undelivered} of {ledger.produced} messages were not delivered "
            f"({ledger.failed} refused, {undelivered} {why})"
            + (f"; first errors: {'; '.join(ledger.errors)}" if ledger.errors else ""),
            produced=ledger.produced,
            delivered=ledger.delivered,
            failed=ledger.failed,
            errors=list(ledger.errors),
        )

    def decorate(function: F) -> F:
        check_stack(name, function, producer, "process_batch" if scope != "call" else None)
        # Over process_batch, the batch's metrics line is written before this flush: its
        # failures get a line of their own when metrics are on for that batch (its
        # metrics=True, or LAMBDAKIT_METRICS), decided here, for this function.
        own_metrics = scope == "invocation" and batch_metrics_on(function)
        if is_coroutine_function(function):

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                import asyncio

                ledger, token = start(args, kwargs)
                complete = False
                try:
                    try:
                        result = await function(*args, **kwargs)
                    finally:
                        complete = await asyncio.to_thread(settle, ledger, budget(args, kwargs))
                finally:
                    producer.end(ledger, token, complete)
                check(ledger, complete, own_metrics)
                return result

            wrapper: Callable[..., Any] = async_wrapper
        else:

            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                ledger, token = start(args, kwargs)
                complete = False
                try:
                    try:
                        result = function(*args, **kwargs)
                    finally:
                        complete = settle(ledger, budget(args, kwargs))
                finally:
                    producer.end(ledger, token, complete)
                check(ledger, complete, own_metrics)
                return result

            wrapper = sync_wrapper
        wraps(wrapper, function)
        mark(wrapper, name, function, producer)
        return wrapper  # type: ignore[return-value]

    return decorate
