"""Lambda's FilterCriteria: up to 5 (or 10) patterns ORed, applied to a per-source record view.

Lambda does not match a record as delivered. It decodes the payload first, and what happens
when the payload and the pattern disagree on its format depends on the source (AWS, "Control
which events Lambda sends to your function"):

- SQS: ``body`` is parsed when it is a JSON object. A pattern that filters ``body`` as JSON
  (an object) against a plain-string body, or as a plain string (a value list) against a JSON
  body, drops the message.
- Kinesis: ``data`` is base64-decoded and parsed as JSON; the pattern names it ``data`` at the
  top level, next to the record's ``kinesis`` metadata (``partitionKey`` ...), also at the top
  level. Data that is not JSON is dropped by a pattern that filters ``data``; a pattern that
  filters ``data`` as a plain string is refused (Lambda rejects it when the mapping is created).
- DynamoDB Streams: matched as delivered, attribute values typed (``{"S": "x"}``); numbers are
  strings there, so numeric operators cannot match them. ``dynamodb`` must be an object.
- Kafka (MSK, self-managed) ``value`` and Amazon MQ ``data``: base64-decoded UTF-8, parsed when
  it is JSON. When the payload's format and the pattern's disagree, Lambda filters on the
  other (metadata) fields only.
"""

from __future__ import annotations

import base64
import binascii

from lambdakit.errors import FilterPatternError
from lambdakit.filtering._parse import dump_json, load_json, read_pattern_text
from lambdakit.filtering._pattern import Pattern, compile_pattern

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

SOURCES = ("sqs", "kinesis", "dynamodb", "kafka", "mq")
MAX_PATTERN_CHARS = 4096
DEFAULT_MAX_FILTERS = 5
RAISED_MAX_FILTERS = 10

# The payload field each source's patterns filter, and whether a plain-string pattern for it
# is allowed.
_PAYLOAD = {
    "sqs": "body",
    "kinesis": "data",
    "dynamodb": "dynamodb",
    "kafka": "value",
    "mq": "data",
}
_STRING_PAYLOAD_ALLOWED = {
    "sqs": True,
    "kinesis": False,
    "dynamodb": False,
    "kafka": True,
    "mq": True,
}
_EVENT_SOURCES = {
    "aws:sqs": "sqs",
    "aws:kinesis": "kinesis",
    "aws:dynamodb": "dynamodb",
    "aws:kafka": "kafka",
    "SelfManagedKafka": "kafka",
    "aws:SelfManagedKafka": "kafka",  # older samples' spelling
    "aws:mq": "mq",
    "aws:amq": "mq",
    "aws:rmq": "mq",
}


class Filter:
    """One pattern of the criteria, with what it says about the payload field."""

    __slots__ = ("metadata_only", "pattern", "payload_kind", "text")

    def __init__(self, text: str, pattern: Pattern) -> None:
        self.text = text
        self.pattern = pattern
        self.payload_kind: dict[str, str] = {}
        self.metadata_only: dict[str, Pattern | None] = {}
        for name, child in pattern.root.children.items():
            if name in ("body", "data", "value", "dynamodb"):
                self.payload_kind[name] = "json" if (child.children or child.ors) else "string"

    def check_for(self, source: str, where: str) -> None:
        """Lambda's create-time rules for ``source``."""
        field = _PAYLOAD[source]
        kind = self.payload_kind.get(field)
        if kind == "string" and not _STRING_PAYLOAD_ALLOWED[source]:
            raise FilterPatternError(
                f"{where}.{field}",
                f"{source} filter patterns must filter {field!r} as JSON (an object), not as "
                "a list of values: Lambda refuses the event source mapping otherwise",
            )

    def without(self, field: str) -> Pattern | None:
        """This pattern minus ``field`` (Kafka/MQ metadata-only filtering); ``None`` when
        nothing else remains."""
        if field not in self.metadata_only:
            source = self.pattern.source
            document = (
                read_pattern_text(source) if isinstance(source, (str, bytes)) else dict(source)
            )
            rest = {k: v for k, v in document.items() if k.split(".")[0] != field}
            self.metadata_only[field] = compile_pattern(rest) if rest else None
        return self.metadata_only[field]


class FilterCriteria:
    """Filter criteria as Lambda's API and SAM/CloudFormation spell them.

    ``FilterCriteria.from_dict({"Filters": [{"Pattern": "<json>"}, ...]})``; a record passes when
    any filter matches its per-source view (:meth:`matches_record`). ``source`` (``sqs``,
    ``kinesis``, ``dynamodb``, ``kafka``, ``mq``) is the default record view, set by
    :meth:`from_template` from the event source the criteria belong to.
    """

    __slots__ = ("filters", "source")

    def __init__(self, filters: list[Filter], source: str | None = None) -> None:
        self.filters = filters
        self.source = source

    @classmethod
    def from_dict(
        cls,
        criteria: Any,
        *,
        max_filters: int = DEFAULT_MAX_FILTERS,
        source: str | None = None,
    ) -> FilterCriteria:
        """Read ``{"Filters": [{"Pattern": ...}, ...]}``, enforcing Lambda's limits: at most
        ``max_filters`` filters (5 by default; 10 with a raised quota) of at most 4096
        characters each. An empty criteria object (``{}`` or no filters) lets every record
        through, as an event source without criteria does."""
        if max_filters not in (DEFAULT_MAX_FILTERS, RAISED_MAX_FILTERS) and not (
            isinstance(max_filters, int) and 1 <= max_filters <= RAISED_MAX_FILTERS
        ):
            raise FilterPatternError(
                "max_filters", f"expected 1 to {RAISED_MAX_FILTERS}, got {max_filters!r}"
            )
        source = source_name(source)
        if criteria is None:
            criteria = {}
        if not isinstance(criteria, dict):
            raise FilterPatternError(
                "FilterCriteria", f"expected an object with Filters, got {type(criteria).__name__}"
            )
        unknown = sorted(set(criteria) - {"Filters"})
        if unknown:
            raise FilterPatternError("FilterCriteria", f"unknown keys {unknown}; expected Filters")
        entries = criteria.get("Filters", [])
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            raise FilterPatternError("Filters", 'expected a list of {"Pattern": ...} objects')
        if len(entries) > max_filters:
            raise FilterPatternError(
                "Filters",
                f"{len(entries)} filters; Lambda allows {max_filters} per event source mapping"
                + (
                    " (10 with a raised quota: pass max_filters=10)"
                    if max_filters < RAISED_MAX_FILTERS
                    else ""
                ),
            )
        filters = []
        for index, entry in enumerate(entries):
            where = f"Filters[{index}]"
            if not isinstance(entry, dict) or "Pattern" not in entry:
                raise FilterPatternError(where, "expected an object with a Pattern")
            text = entry["Pattern"]
            if isinstance(text, dict) and set(text) == {"Fn::Sub"}:
                text = text["Fn::Sub"]  # !Sub '{...}' in a template: the text is the pattern
                if isinstance(text, list) and text:
                    text = text[0]
            if isinstance(text, dict):
                text = pattern_text(text, f"{where}.Pattern")  # SAM: the pattern as a mapping
            if not isinstance(text, str):
                raise FilterPatternError(
                    f"{where}.Pattern", f"expected a JSON string, got {type(text).__name__}"
                )
            if len(text) > MAX_PATTERN_CHARS:
                raise FilterPatternError(
                    f"{where}.Pattern",
                    f"{len(text)} characters; Lambda allows {MAX_PATTERN_CHARS} per pattern",
                )
            try:
                pattern = compile_pattern(text)
            except FilterPatternError as exc:
                raise FilterPatternError(
                    f"{where}.Pattern" + (f" {exc.path}" if exc.path else ""), exc.problem
                ) from None
            compiled = Filter(text, pattern)
            if source is not None:
                compiled.check_for(source, f"{where}.Pattern")
            filters.append(compiled)
        return cls(filters, source)

    @classmethod
    def from_template(
        cls,
        path: str | Path,
        function: str | None = None,
        event: str | None = None,
        *,
        max_filters: int = RAISED_MAX_FILTERS,
    ) -> FilterCriteria:
        """The criteria a SAM or CloudFormation template deploys for one event source.

        With several functions or event sources, ``function=`` (logical id) and ``event=``
        (the SAM event name, or the logical id of an ``AWS::Lambda::EventSourceMapping``)
        choose one; the error lists those that exist.
        """
        from lambdakit.filtering._template import choose, declared_criteria, load_template

        template = load_template(path)
        chosen = choose(declared_criteria(template), str(path), function, event)
        return cls.from_dict(chosen.filters, max_filters=max_filters, source=chosen.source)

    @property
    def patterns(self) -> list[Pattern]:
        return [f.pattern for f in self.filters]

    def matches(self, event: Any) -> bool:
        """Whether ``event`` (already in the shape the patterns see) matches any filter."""
        return not self.filters or any(f.pattern.matches(event) for f in self.filters)

    def matches_record(self, record: Any, source: str | None = None) -> bool:
        """Whether Lambda would pass ``record`` (as delivered in ``event["Records"]``, or a
        lambdakit record view) to the function: any filter matches its per-source view.

        ``source`` defaults to the criteria's own, else to the record's ``eventSource``.
        """
        raw = getattr(record, "raw", record)
        kind = source_name(source) or self.source or _detect(raw)
        if not self.filters:
            return True
        if kind is None:
            return any(f.pattern.matches(raw) for f in self.filters)
        view, payload_kind = record_view(raw, kind)
        field = _PAYLOAD[kind]
        for compiled in self.filters:
            wanted = compiled.payload_kind.get(field)
            if wanted is None or payload_kind is None or wanted == payload_kind:
                if compiled.pattern.matches(view):
                    return True
                continue
            if kind in ("sqs", "kinesis", "dynamodb"):
                continue  # Lambda drops the record for this pattern
            rest = compiled.without(field)  # Kafka / MQ: metadata filters only
            if rest is None or rest.matches(view):
                return True
        return False

    def explain_record(self, record: Any, source: str | None = None) -> str | None:
        """``None`` when the record passes; otherwise why each filter rejects it."""
        if self.matches_record(record, source):
            return None
        raw = getattr(record, "raw", record)
        kind = source_name(source) or self.source or _detect(raw)
        view, payload_kind = record_view(raw, kind) if kind else (raw, None)
        reasons = []
        for index, compiled in enumerate(self.filters):
            field = _PAYLOAD.get(kind or "", "")
            wanted = compiled.payload_kind.get(field)
            if kind and wanted and payload_kind and wanted != payload_kind:
                reason = (
                    f"{field}: the record's {field} is {_kind_name(payload_kind)} but the "
                    f"pattern filters it as {_kind_name(wanted)}"
                )
            else:
                reason = compiled.pattern.explain(view) or "no match"
            reasons.append(f"filter {index}: {reason}")
        return "; ".join(reasons)

    def __len__(self) -> int:
        return len(self.filters)

    def __repr__(self) -> str:
        return f"FilterCriteria({len(self.filters)} filters, source={self.source!r})"


def pattern_text(pattern: Any, where: str) -> str:
    """A pattern written as a mapping, as the JSON text Lambda gets (and counts); written
    without recursion, however deep (the depth is refused when the text is compiled)."""
    try:
        return dump_json(pattern)
    except (TypeError, ValueError):
        compile_pattern(pattern)  # names what is not JSON, and where
        raise FilterPatternError(where, "not JSON") from None


def _kind_name(kind: str) -> str:
    return "JSON" if kind == "json" else "a plain string"


def source_name(source: str | None) -> str | None:
    """The canonical name of an event source as ``source=`` accepts it (``"msk"`` ->
    ``"kafka"``), shared by the criteria and ``filter_records``; ``None`` stays ``None``."""
    if source is None:
        return None
    name = str(source).lower()
    name = {
        "msk": "kafka",
        "selfmanagedkafka": "kafka",
        "aws:selfmanagedkafka": "kafka",
        "dynamodbstreams": "dynamodb",
    }.get(name, name)
    if name not in SOURCES:
        raise FilterPatternError("source", f"{source!r}: expected one of {', '.join(SOURCES)}")
    return name


def _detect(raw: Any) -> str | None:
    if isinstance(raw, dict):
        found = raw.get("eventSource")
        if isinstance(found, str):
            return _EVENT_SOURCES.get(found)
    return None


def record_view(raw: Any, kind: str) -> tuple[Any, str | None]:
    """What Lambda matches for a record of ``kind``, and the payload's format (``"json"``,
    ``"string"``, or ``None`` when the record has no payload)."""
    if not isinstance(raw, dict):
        return raw, None
    if kind == "sqs":
        body = raw.get("body")
        if not isinstance(body, str):
            return raw, None
        parsed = _json_object(body)
        if parsed is None:
            return raw, "string"
        return {**raw, "body": parsed}, "json"
    if kind == "kinesis":
        inner = raw.get("kinesis")
        inner = inner if isinstance(inner, dict) else {}
        view = {k: v for k, v in raw.items() if k != "kinesis"}
        view.update(inner)
        text = _decoded(inner.get("data"))
        parsed = _json_object(text) if text is not None else None
        if parsed is None:
            view["data"] = text if text is not None else inner.get("data")
            return view, "string" if "data" in inner else None
        view["data"] = parsed
        return view, "json"
    if kind == "dynamodb":
        return raw, "json" if isinstance(raw.get("dynamodb"), dict) else None
    field = _PAYLOAD[kind]
    payload = raw.get(field)
    text = _decoded(payload)
    if text is None:
        # Not base64 of UTF-8 text: Lambda filters such messages on their metadata only.
        return raw, None if payload is None else "binary"
    parsed = _json_object(text)
    if parsed is None:
        return {**raw, field: text}, "string"
    return {**raw, field: parsed}, "json"


def _decoded(value: Any) -> str | None:
    """Base64-decoded UTF-8 text; ``None`` when the value is not that."""
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        parsed = load_json(text)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None
