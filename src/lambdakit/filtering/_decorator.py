"""``@filter_records``: Lambda's event filtering, applied in the handler (or a local test).

On a batch event, records that match none of the criteria are removed from ``Records`` (Kafka:
``records``; Amazon MQ: ``messages``) before the handler runs, so they count as processed, as
Lambda counts them; the caller's event is not modified (the handler gets a copy). An event
without records (EventBridge, API Gateway ...) is matched whole, and when it does not match the
handler is not called and ``None`` is returned. It goes over ``process_batch``, as Lambda
filters before it forms the batch; under it (on the record handler) it is refused with
:class:`~lambdakit.errors.DecoratorOrderError` when ``process_batch`` is applied.

Over ``process_batch`` it hands two things to the batch while the handler runs
(``_internal.invocation``): how many records it dropped (the batch's summary and metrics count
them), and the SQS bodies it parsed to match them, so that a kept record's ``json()`` does not
parse its body a second time (only when the two parses agree: a body with a fraction or an
exponent is parsed with ``Decimal`` to match, and by ``json()`` with ``float``).
"""

from __future__ import annotations

from lambdakit._internal.aio import is_coroutine_function
from lambdakit._internal.invocation import filtered_out, parsed_payloads
from lambdakit._internal.lazy import wraps
from lambdakit._internal.reprs import safe_repr
from lambdakit._internal.signature import describe
from lambdakit._internal.stacking import check_stack, mark
from lambdakit.errors import FilterUsageError
from lambdakit.events import RecordView
from lambdakit.filtering._criteria import FilterCriteria, pattern_text, source_name

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


class _HandOff:
    """What the filter passes to the handler it wraps besides the event: the event it passes
    on, how many records it dropped from the event it was ``given``, and the SQS bodies it
    parsed (by ``id`` of the record)."""

    __slots__ = ("dropped", "event", "given", "parsed")

    def __init__(self, given: dict[str, Any]) -> None:
        self.given = given
        self.event: Any = None
        self.dropped = 0
        self.parsed: dict[int, Any] = {}


def _kept_sqs(
    records: list[Any], compiled: FilterCriteria, source: str | None, hand_off: _HandOff
) -> list[Any]:
    """:func:`_kept` for SQS records, parsing each body once: the parse that matches the record
    is kept in ``hand_off.parsed`` for the record view's ``json()``.

    A body is matched as Lambda sees it, a JSON object in place of the text, exactly as
    ``FilterCriteria.matches_record`` builds it (numbers with a fraction or exponent as
    ``Decimal``; ``NaN``/``Infinity`` make the text not JSON); the record given to
    ``matches_record`` then already carries the parsed body, so it is not parsed again there.
    Used only when no filter takes ``body`` as a plain string (for such a filter a JSON body
    drops the record, which the parsed record would not say). The parse is shared with
    ``json()`` (plain ``json.loads``) only when no number needed ``Decimal``: otherwise the two
    differ, and ``json()`` parses on its own."""
    from lambdakit.filtering._parse import json_decoder

    fractions: list[str] = []

    def fraction(text: str) -> Any:
        from decimal import Decimal

        fractions.append(text)
        return Decimal(text)

    decode = json_decoder(fraction)
    parsed = hand_off.parsed
    kept = []
    for raw in records:
        body = raw.get("body") if isinstance(raw, dict) else None
        if isinstance(body, str):
            seen = len(fractions)
            try:
                value = decode(body)
            except (ValueError, RecursionError):
                value = None
            if isinstance(value, dict):
                if compiled.matches_record({**raw, "body": value}, source):
                    kept.append(raw)
                    if len(fractions) == seen:
                        parsed[id(raw)] = value
                continue
        if compiled.matches_record(raw, source):
            kept.append(raw)
    return kept


def _shares_bodies(compiled: FilterCriteria, source: str | None) -> bool | None:
    """Whether SQS records can be matched with :func:`_kept_sqs`: ``True`` for every record,
    ``None`` for the records whose ``eventSource`` says SQS (the source is not fixed),
    ``False`` never (another source, or a filter that takes ``body`` as a plain string)."""
    if any(f.payload_kind.get("body") == "string" for f in compiled.filters):
        return False
    fixed = source_name(source) or compiled.source
    if fixed is None:
        return None
    return fixed == "sqs"


def _filtered_event(
    event: dict[str, Any], compiled: FilterCriteria, source: str | None, shares: bool | None
) -> _HandOff | None:
    """The batch event with the records that pass (``event`` itself when all pass) and what
    else the handler is handed; ``None`` when ``event`` is not a batch. Batches: ``Records``
    (SQS, Kinesis, DynamoDB Streams), ``records`` by topic-partition (MSK, self-managed Kafka),
    ``messages`` (Amazon MQ)."""
    hand_off = _HandOff(event)
    records = event.get("Records")
    if isinstance(records, list):
        if shares is None:  # the source comes from each record: all must be SQS records
            shares = all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)
        if shares:
            kept = _kept_sqs(records, compiled, source, hand_off)
        else:
            kept = _kept(records, compiled, source)
        hand_off.dropped = len(records) - len(kept)
        hand_off.event = event if not hand_off.dropped else {**event, "Records": kept}
        return hand_off
    partitions = event.get("records")
    if isinstance(partitions, dict) and all(isinstance(v, list) for v in partitions.values()):
        kafka = source or "kafka"
        filtered = {name: _kept(batch, compiled, kafka) for name, batch in partitions.items()}
        hand_off.dropped = sum(len(b) - len(filtered[n]) for n, b in partitions.items())
        hand_off.event = (
            event
            if not hand_off.dropped
            else {**event, "records": {n: b for n, b in filtered.items() if b}}
        )
        return hand_off
    messages = event.get("messages")
    if isinstance(messages, list) and str(event.get("eventSource", "")).startswith("aws:"):
        kept = _kept(messages, compiled, source or "mq")
        hand_off.dropped = len(messages) - len(kept)
        hand_off.event = event if not hand_off.dropped else {**event, "messages": kept}
        return hand_off
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
    shares = _shares_bodies(compiled, source)

    def admit(args: tuple[Any, ...]) -> tuple[tuple[Any, ...], _HandOff | None] | None:
        """The arguments to call the function with and what to hand it; ``None``: skip it."""
        if not args:
            return args, None
        first = args[0]
        if isinstance(first, RecordView):
            return (args, None) if compiled.matches_record(first, source) else None
        if isinstance(first, dict):
            hand_off = _filtered_event(first, compiled, source, shares)
            if hand_off is not None:
                kept = hand_off.event
                return (args if kept is first else (kept, *args[1:])), hand_off
        return (args, None) if compiled.matches(first) else None

    def decorate(function: F) -> F:
        check_stack("filter_records", function)
        if is_coroutine_function(function):

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                admitted = admit(args)
                if admitted is None:
                    return None
                call, hand_off = admitted
                if hand_off is None:
                    return await function(*call, **kwargs)
                handed = _hand(hand_off)
                try:
                    return await function(*call, **kwargs)
                finally:
                    _take_back(handed)

            wrapper: Callable[..., Any] = async_wrapper
        else:

            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                admitted = admit(args)
                if admitted is None:
                    return None
                call, hand_off = admitted
                if hand_off is None:
                    return function(*call, **kwargs)
                handed = _hand(hand_off)
                try:
                    return function(*call, **kwargs)
                finally:
                    _take_back(handed)

            wrapper = sync_wrapper
        wraps(wrapper, function)
        mark(wrapper, "filter_records", function)
        wrapper.filter_criteria = compiled  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def _hand(hand_off: _HandOff) -> tuple[Any, Any]:
    """Hand the dropped count and the parsed bodies to the wrapped handler (process_batch)."""
    return (
        filtered_out.set((hand_off.event, hand_off.dropped, hand_off.given)),
        parsed_payloads.set(hand_off.parsed or None),
    )


def _take_back(handed: tuple[Any, Any]) -> None:
    parsed_payloads.reset(handed[1])
    filtered_out.reset(handed[0])
