"""``@filter_records``: Lambda's event filtering, applied in the handler (or a local test).

On a batch event, records that match none of the criteria are removed from ``Records`` (Kafka:
``records``; Amazon MQ: ``messages``) before the handler runs, so they count as processed, as
Lambda counts them; the caller's event is not modified (the handler gets a copy). An event
without records (EventBridge, API Gateway ...) is matched whole, and when it does not match the
handler is not called and ``None`` is returned. It goes over ``process_batch``, as Lambda
filters before it forms the batch; under it (on the record handler) it is refused with
:class:`~lambdakit.errors.DecoratorOrderError` when ``process_batch`` is applied.
"""

from __future__ import annotations

from lambdakit._internal.aio import is_coroutine_function
from lambdakit._internal.lazy import wraps
from lambdakit._internal.reprs import safe_repr
from lambdakit._internal.signature import describe
from lambdakit._internal.stacking import check_stack, mark
from lambdakit.errors import FilterUsageError
from lambdakit.events import RecordView
from lambdakit.filtering._criteria import FilterCriteria, pattern_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Mapping
    from typing import Any, ParamSpec, Protocol, TypeVar, overload

    from lambdakit.typing import LambdaContext

    F = TypeVar("F", bound=Callable[..., Any])
    P = ParamSpec("P")
    R = TypeVar("R")
    BatchHandler = Callable[[Mapping[str, Any], LambdaContext | None], dict[str, Any]]
    B = TypeVar("B", bound=BatchHandler)

    class FilterDecorator(Protocol):
        """What ``filter_records(criteria)`` returns: a handler whose event may not match
        returns ``None`` instead of running; a batch handler always runs (with the records
        that pass), so its type is kept."""

        @overload
        def __call__(self, function: B, /) -> B: ...  # type: ignore[overload-overlap]

        @overload
        def __call__(
            self, function: Callable[P, Coroutine[Any, Any, R]], /
        ) -> Callable[P, Coroutine[Any, Any, R | None]]: ...

        @overload
        def __call__(self, function: Callable[P, R], /) -> Callable[P, R | None]: ...


_SKIP = object()


def as_criteria(criteria: Any, source: str | None = None) -> FilterCriteria:
    """Criteria from a FilterCriteria, a ``{"Filters": [...]}`` dict, one pattern (a dict or
    JSON text), or a list of patterns (each a filter)."""
    if isinstance(criteria, FilterCriteria):
        if source is not None and criteria.source is None:
            return FilterCriteria(criteria.filters, source)
        return criteria
    if isinstance(criteria, dict) and "Filters" in criteria:
        return FilterCriteria.from_dict(criteria, source=source)
    patterns = criteria if isinstance(criteria, list) else [criteria]
    filters = [
        {"Pattern": p if isinstance(p, str) else pattern_text(p, f"[{i}]")}
        for i, p in enumerate(patterns)
    ]
    return FilterCriteria.from_dict(
        {"Filters": filters}, source=source, max_filters=max(len(filters), 5)
    )


def _kept(records: list[Any], compiled: FilterCriteria, source: str | None) -> list[Any]:
    return [r for r in records if compiled.matches_record(r, source)]


def _filtered_event(
    event: dict[str, Any], compiled: FilterCriteria, source: str | None
) -> dict[str, Any] | None:
    """A batch event with the records that pass (``event`` itself when all pass); ``None``
    when ``event`` is not a batch. Batches: ``Records`` (SQS, Kinesis, DynamoDB Streams),
    ``records`` by topic-partition (MSK, self-managed Kafka), ``messages`` (Amazon MQ)."""
    records = event.get("Records")
    if isinstance(records, list):
        kept = _kept(records, compiled, source)
        return event if len(kept) == len(records) else {**event, "Records": kept}
    partitions = event.get("records")
    if isinstance(partitions, dict) and all(isinstance(v, list) for v in partitions.values()):
        kafka = source or "kafka"
        filtered = {name: _kept(batch, compiled, kafka) for name, batch in partitions.items()}
        if all(len(filtered[n]) == len(b) for n, b in partitions.items()):
            return event
        return {**event, "records": {n: b for n, b in filtered.items() if b}}
    messages = event.get("messages")
    if isinstance(messages, list) and str(event.get("eventSource", "")).startswith("aws:"):
        kept = _kept(messages, compiled, source or "mq")
        return event if len(kept) == len(messages) else {**event, "messages": kept}
    return None


def filter_records(criteria: Any, *, source: str | None = None) -> FilterDecorator:
    """Decorate a Lambda handler (or a record handler under ``process_batch``) so that only
    what the filter criteria let through reaches it. ``criteria``: a :class:`FilterCriteria`
    (e.g. from :meth:`FilterCriteria.from_template`), a ``{"Filters": [...]}`` dict, a pattern,
    or a list of patterns (ORed). ``source`` forces the record view (``sqs``, ``kinesis``,
    ``dynamodb``, ``kafka``, ``mq``); by default it comes from the criteria or each record."""
    if callable(criteria) and not isinstance(criteria, (FilterCriteria, dict, list, str)):
        raise FilterUsageError(
            f"filter_records needs the filter criteria, got the function {describe(criteria)}: "
            "write @filter_records(FilterCriteria.from_template('template.yaml', 'Function')) "
            "or @filter_records({'body': {'type': ['order']}}), not @filter_records"
        )
    if not isinstance(criteria, (FilterCriteria, dict, list, str)):
        raise FilterUsageError(
            f"filter_records: criteria={safe_repr(criteria)}: expected a FilterCriteria, a "
            "{'Filters': [...]} dict, one pattern (a dict or JSON text) or a list of patterns"
        )
    compiled = as_criteria(criteria, source)

    def admit(args: tuple[Any, ...]) -> tuple[Any, ...] | object:
        """The arguments to call the function with, or ``_SKIP``."""
        if not args:
            return args
        first = args[0]
        if isinstance(first, RecordView):
            return args if compiled.matches_record(first, source) else _SKIP
        if isinstance(first, dict):
            kept = _filtered_event(first, compiled, source)
            if kept is not None:
                return args if kept is first else (kept, *args[1:])
        return args if compiled.matches(first) else _SKIP

    def decorate(function: F) -> F:
        check_stack("filter_records", function)
        if is_coroutine_function(function):

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                admitted = admit(args)
                if admitted is _SKIP:
                    return None
                return await function(*admitted, **kwargs)  # type: ignore[misc]

            wrapper: Callable[..., Any] = async_wrapper
        else:

            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                admitted = admit(args)
                if admitted is _SKIP:
                    return None
                return function(*admitted, **kwargs)  # type: ignore[misc]

            wrapper = sync_wrapper
        wraps(wrapper, function)
        mark(wrapper, "filter_records", function)
        wrapper.filter_criteria = compiled  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
