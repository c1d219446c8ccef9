"""``lambdakit filter check``: would Lambda pass these records to the function?

An event source mapping filters record by record, so a whole Lambda event is split into its
records and each is checked and reported; one record alone prints ``match`` or ``no match``
and the reason. Each record is seen through the view of its source (the SQS body parsed, the
Kinesis data decoded ...), and that source is said once for the run: ``--source``, else the
template's event source, else the ``eventSource`` the event names. A record naming another
source could never reach such a mapping, so it is refused as invalid input rather than
reported as filtered out for a reason that would mislead.
"""

from __future__ import annotations

from lambdakit.cli import EXIT_MATCH, EXIT_NO_MATCH, InvalidInput, read_json_argument
from lambdakit.filtering._criteria import RAISED_MAX_FILTERS, FilterCriteria, _detect

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any

# Where a Lambda event holds its records, and the source whose events hold them there (None:
# SQS, Kinesis and DynamoDB Streams, whose records name their source themselves). Kafka groups
# records by "<topic>-<partition>" and RabbitMQ by queue; their events name the source once.
_BATCH_KEYS = (
    ("Records", None),
    ("records", "kafka"),
    ("messages", "mq"),
    ("rmqMessagesByQueue", "mq"),
)


def run(arguments: argparse.Namespace) -> int:
    """Check ``--event`` against ``--pattern`` or ``--template``; the exit status."""
    event = read_json_argument(arguments.event, "--event")
    criteria: FilterCriteria | None = None
    pattern: Any = None
    if arguments.template is not None:
        criteria = FilterCriteria.from_template(
            arguments.template, arguments.function, arguments.event_source
        )
        declared, said = _template_source(arguments, criteria.source)
    else:
        if arguments.function or arguments.event_source:
            raise InvalidInput("--function and --event-source need --template")
        pattern = read_json_argument(arguments.pattern, "--pattern")
        declared, said = arguments.source, f"--source {arguments.source}"
    records = records_of(event, declared)
    places = records if records is not None else [("event", event)]
    source = _source(places, event if records is not None else None, declared, said)
    explain = _explainer(criteria, pattern, source)
    if criteria is not None and not criteria.filters:
        print(
            f"{_template_origin(arguments)}: no FilterCriteria, so nothing is filtered: "
            "every record reaches the handler"
        )
    results = [(where, explain(record)) for where, record in places]
    return _report(results, whole_event=records is not None)


def records_of(event: Any, source: str | None) -> list[tuple[str, Any]] | None:
    """The records of a whole Lambda event, each with its place (``Records[2]``,
    ``records['orders-0'][1]``); ``None`` when ``event`` is one record. Kafka and Amazon MQ
    events are recognised by the source: ``source`` when known, else the event's own."""
    if not isinstance(event, dict):
        return None
    for key, owner in _BATCH_KEYS:
        held = event.get(key)
        if owner is not None and owner != (source or _detect(event)):
            continue
        if isinstance(held, list):
            found = [(f"{key}[{index}]", record) for index, record in enumerate(held)]
        elif isinstance(held, dict) and owner is not None:
            found = []
            for name, group in held.items():
                if not isinstance(group, list):
                    raise InvalidInput(
                        f"--event: {key}[{name!r}]: expected a list of records, got "
                        f"{type(group).__name__}"
                    )
                found.extend((f"{key}[{name!r}][{i}]", record) for i, record in enumerate(group))
        else:
            continue
        if not found:
            raise InvalidInput(
                f"--event: {key} is empty: Lambda never invokes a function without records; "
                "pass at least one record"
            )
        return found
    return None


def _template_source(arguments: argparse.Namespace, declared: str | None) -> tuple[str | None, str]:
    """The source the template declares, or ``--source`` when it declares none (an event source
    mapping whose ARN is a parameter); a ``--source`` it contradicts is refused."""
    given = arguments.source
    origin = f"{_template_origin(arguments)}, whose event source is {declared}"
    if declared is None:
        return given, f"--source {given}"
    if given is not None and given != declared:
        raise InvalidInput(f"--source {given} contradicts {origin}")
    return declared, origin


def _template_origin(arguments: argparse.Namespace) -> str:
    """The template and the function and event source chosen in it, as messages name them."""
    chosen = [
        f"{what} {name}"
        for what, name in (
            ("function", arguments.function),
            ("event source", arguments.event_source),
        )
        if name is not None
    ]
    return f"{arguments.template} ({', '.join(chosen)})" if chosen else str(arguments.template)


def _source(
    places: list[tuple[str, Any]], event: Any, declared: str | None, said: str
) -> str | None:
    """The one source whose view every record gets: ``declared``, else the first the event
    names; a record (or a Kafka / MQ event) naming another is refused, naming both."""
    named = [("event", event)] if event is not None else []
    source = declared
    for where, raw in (*named, *places):
        found = _detect(raw)
        if found is None:
            continue
        if source is None:
            source, said = found, f"{where}.eventSource {raw['eventSource']!r}"
        elif found != source:
            raise InvalidInput(
                f"{where}.eventSource: {raw['eventSource']!r} ({found}) contradicts {said}"
            )
    return source


def _explainer(
    criteria: FilterCriteria | None, pattern: Any, source: str | None
) -> Callable[[Any], str | None]:
    """Why a record is filtered out (``None``: it reaches the function), by the template's
    criteria or else the pattern. With a source, they are held to Lambda's rules for it (a
    template's included, when the template could not say its source)."""
    if criteria is None:
        if source is None:
            from lambdakit.filtering import compile_pattern

            return compile_pattern(pattern).explain
        criteria = FilterCriteria.from_dict({"Filters": [{"Pattern": pattern}]}, source=source)
    elif source is not None and criteria.source is None:
        filters = [{"Pattern": f.text} for f in criteria.filters]
        criteria = FilterCriteria.from_dict(
            {"Filters": filters}, max_filters=RAISED_MAX_FILTERS, source=source
        )
    checked = criteria
    return lambda record: checked.explain_record(record, source)


def _report(results: list[tuple[str, str | None]], *, whole_event: bool) -> int:
    """One record: ``match``, or ``no match`` and the reason. A whole event: a line per record
    and a count. Exit 0 when every record matches."""
    if whole_event:
        for where, reason in results:
            print(f"{where}: match" if reason is None else f"{where}: no match: {reason}")
        matched = sum(reason is None for _, reason in results)
        print(f"{matched} of {len(results)} records match")
    else:
        reason = results[0][1]
        print("match" if reason is None else f"no match\n{reason}")
    return EXIT_MATCH if all(reason is None for _, reason in results) else EXIT_NO_MATCH
