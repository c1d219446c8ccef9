"""A slow, obviously-correct reference for event-ruler's matching (``rulesForJSONEvent``).

Written from the research notes, independently of :mod:`lambdakit.filtering`, to be read and
checked by eye rather than to be fast. It assumes the pattern is valid. The steps:

1. Flatten the event into fields ``(name, value, memberships)``. A field is a leaf (string,
   number, true/false/null). Its name is the keys on the way down joined with ``.``. Array
   indices never appear in names. ``memberships`` holds ``(array id, index)`` for every
   object or nested array that sits in an array on the way down. Empty arrays and empty objects
   give no field. A non-object event gives no fields at all.
2. Expand the pattern into sub-rules: ``$or`` gives the cross product of its branches (ANDed
   with the sibling keys). A sub-rule maps a flattened key to its value list; a key given twice
   (``a.b`` and ``a: {b: ...}``) keeps the last one. A pattern whose ``$or`` is not a list of
   two or more objects, or whose ``$or`` branches use a reserved word as a field name, is one
   event-ruler's ``$or``-aware compiler refuses; ``Machine.addRule`` then compiles it with the
   legacy compiler, for which ``$or`` is a field name like any other.
3. A sub-rule matches if its keys, taken in sorted order, can each be satisfied:
   - by a field of that name whose value matches one of the key's conditions and whose
     memberships agree with those of the fields chosen so far (no array at two different
     indices); or
   - if the key's list holds ``{"exists": false}``: by no field of that name agreeing with the
     fields chosen so far.
   Every choice is tried (plain backtracking).
4. The pattern matches if some sub-rule matches.

The value tests take time linear in the value (no backtracking regular expression), and the
flattening does not recurse, so long or deep values cannot stall a property test; the search
in step 3 is plain backtracking, meant for the small events the tests generate.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Membership = frozenset[tuple[int, int]]
SubRule = dict[str, list[Any]]


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    value: Any  # str | int | float | Decimal | bool | None
    memberships: Membership


def flatten(event: Any) -> list[Field]:
    """The leaf fields of ``event``; none unless it is an object."""
    if not isinstance(event, dict):
        return []
    fields: list[Field] = []
    array_ids = itertools.count()
    # Depth-first with a stack of iterators (not recursion), in the event's order.
    walking: list[Any] = [iter([(event, (), frozenset())])]
    while walking:
        entry = next(walking[-1], None)
        if entry is None:
            walking.pop()
            continue
        value, keys, memberships = entry
        if isinstance(value, dict):
            walking.append(
                iter([(child, (*keys, key), memberships) for key, child in value.items()])
            )
        elif isinstance(value, list):
            array_id = next(array_ids)
            walking.append(
                iter(
                    [
                        (
                            element,
                            keys,
                            memberships | {(array_id, index)}
                            if isinstance(element, (dict, list))
                            else memberships,
                        )
                        for index, element in enumerate(value)
                    ]
                )
            )
        else:
            fields.append(Field(".".join(keys), value, memberships))
    return fields


def consistent(first: Membership, second: Membership) -> bool:
    """No array is entered at two different indices."""
    indices = dict(first)
    return all(indices.get(array_id, index) == index for array_id, index in second)


# --- values -----------------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def number_text(value: Any) -> str:
    """The number as JSON text (an integer through ``Decimal``, which writes integers of any
    length: ``str`` refuses those beyond 4,300 digits)."""
    if isinstance(value, float):
        return repr(value)
    return str(Decimal(value)) if isinstance(value, int) else str(value)


def comparable(value: Any) -> float | None:
    """The double a number compares as, or None if it is not exactly a finite double."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    exact = Decimal(value)
    if not exact.is_finite():
        return None
    try:
        double = float(exact)
    except OverflowError:
        return None
    if not math.isfinite(double) or Decimal(repr(double)) != exact:
        return None
    return double


def same_number(pattern: Any, value: Any) -> bool:
    """Exact-value equality of two numbers: the same text, or the same double."""
    if number_text(pattern) == number_text(value):
        return True
    left, right = comparable(pattern), comparable(value)
    return left is not None and right is not None and left == right


HEX_AND_COLON = frozenset("0123456789abcdefABCDEF:")


def looks_like_ip(text: str) -> bool:
    """event-ruler's two regular expressions, ``[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+`` and
    ``[0-9a-fA-F:]*:[0-9a-fA-F:]*``, said directly: four runs of ASCII digits joined by dots,
    or only hex digits and colons with at least one colon."""
    parts = text.split(".")
    if len(parts) == 4 and all(part and part.isascii() and part.isdigit() for part in parts):
        return True
    return ":" in text and set(text) <= HEX_AND_COLON


def as_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not looks_like_ip(text):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def wildcard_pieces(pattern: str) -> list[str]:
    """The literal text between the ``*`` of a wildcard; ``\\*`` and ``\\\\`` are a literal
    star / backslash."""
    pieces = [""]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            pieces[-1] += pattern[index + 1]
            index += 2
        elif char == "*":
            pieces.append("")
            index += 1
        else:
            pieces[-1] += char
            index += 1
    return pieces


def wildcard_matches(pattern: str, value: str) -> bool:
    """``*`` is any run of characters. The first piece must start the value and the last end
    it; each piece between is taken at its leftmost place after the previous one (a later
    place only leaves less room for the pieces after it), so one left-to-right pass decides."""
    pieces = wildcard_pieces(pattern)
    if len(pieces) == 1:
        return value == pieces[0]
    first, *middle, last = pieces
    if len(value) < len(first) + len(last) or not (
        value.startswith(first) and value.endswith(last)
    ):
        return False
    position, end = len(first), len(value) - len(last)
    for piece in middle:
        found = value.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def case_forms(pattern: str) -> list[set[str]]:
    """Each pattern character may appear as its lower-case or its upper-case form."""
    return [{char.lower(), char.upper()} for char in pattern]


def ignore_case_ends(forms: list[set[str]], value: str, start: int) -> set[int]:
    """Every position of ``value`` where the characters ``forms`` stand for, read from
    ``start``, can end: the positions reachable one pattern character at a time."""
    positions = {start}
    for options in forms:
        positions = {p + len(f) for p in positions for f in options if value.startswith(f, p)}
    return positions


def equals_ignore_case(pattern: str, value: str) -> bool:
    return len(value) in ignore_case_ends(case_forms(pattern), value, 0)


def prefix_ignore_case(pattern: str, value: str) -> bool:
    return bool(ignore_case_ends(case_forms(pattern), value, 0))


def suffix_ignore_case(pattern: str, value: str) -> bool:
    """A suffix read backwards is a prefix of the reversed value, with reversed forms."""
    backwards = [{form[::-1] for form in options} for options in reversed(case_forms(pattern))]
    return bool(ignore_case_ends(backwards, value[::-1], 0))


# --- conditions -------------------------------------------------------------------------------


def is_exists_false(condition: Any) -> bool:
    return isinstance(condition, dict) and condition == {"exists": False}


def condition_matches(condition: Any, value: Any) -> bool:
    """Whether one element of a value list matches one leaf value of the event."""
    if isinstance(condition, dict):
        ((operator, operand),) = condition.items()
        return OPERATORS[operator](operand, value)
    if isinstance(condition, str):
        pattern_ip = as_ip(condition)
        if pattern_ip is not None:
            return isinstance(value, str) and as_ip(value) == pattern_ip
        return isinstance(value, str) and value == condition
    if is_number(condition):
        return is_number(value) and same_number(condition, value)
    # true, false, null
    return value is condition


def _exactly(operand: str, value: Any) -> bool:
    return isinstance(value, str) and value == operand


def _prefix(operand: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(operand, dict):
        return prefix_ignore_case(operand["equals-ignore-case"], value)
    return value.startswith(operand)


def _suffix(operand: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(operand, dict):
        return suffix_ignore_case(operand["equals-ignore-case"], value)
    return value.endswith(operand)


def _equals_ignore_case(operand: str, value: Any) -> bool:
    return isinstance(value, str) and equals_ignore_case(operand, value)


def _wildcard(operand: str, value: Any) -> bool:
    return isinstance(value, str) and wildcard_matches(operand, value)


def _numeric(operand: list[Any], value: Any) -> bool:
    if not is_number(value):
        return False
    number = comparable(value)
    if number is None:
        return False
    checks = {
        "=": lambda bound: number == bound,
        "<": lambda bound: number < bound,
        "<=": lambda bound: number <= bound,
        ">": lambda bound: number > bound,
        ">=": lambda bound: number >= bound,
    }
    pairs = zip(operand[0::2], operand[1::2], strict=True)
    return all(checks[op](comparable(bound)) for op, bound in pairs)


def _exists(operand: bool, value: Any) -> bool:
    # exists:false never matches a value; it is decided by the absence of the field.
    return operand


def _cidr(operand: str, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    address = as_ip(value)
    network = ipaddress.ip_network(operand, strict=False)
    return address is not None and address.version == network.version and address in network


def _excluded(operand: Any, value: Any) -> bool:
    """Whether ``value`` is one of the values an anything-but operand excludes."""
    if isinstance(operand, dict):
        ((kind, texts),) = operand.items()
        texts = texts if isinstance(texts, list) else [texts]
        if not isinstance(value, str):
            return False
        tests = {
            "prefix": lambda text: value.startswith(text),
            "suffix": lambda text: value.endswith(text),
            "equals-ignore-case": lambda text: equals_ignore_case(text, value),
            "wildcard": lambda text: wildcard_matches(text, value),
        }
        return any(tests[kind](text) for text in texts)
    excluded = operand if isinstance(operand, list) else [operand]
    if isinstance(value, str):
        return value in [item for item in excluded if isinstance(item, str)]
    if is_number(value) and comparable(value) is not None:
        return any(is_number(item) and comparable(item) == comparable(value) for item in excluded)
    return False


def _anything_but(operand: Any, value: Any) -> bool:
    return not _excluded(operand, value)


OPERATORS = {
    "exactly": _exactly,
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "numeric": _numeric,
    "exists": _exists,
    "cidr": _cidr,
    "anything-but": _anything_but,
}


# --- patterns ---------------------------------------------------------------------------------


# Field names event-ruler's $or-aware compiler refuses inside a $or branch.
RESERVED_IN_OR = frozenset(
    [
        *("exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists"),
        *("wildcard", "numeric", "cidr", "=", "<", "<=", ">", ">=", "regex", "not-wildcard"),
        *("not-equals-ignore-case", "date-after", "date-on-or-after", "date-before"),
        *("date-on-or-before", "in-date-range", "ip-address-in-range"),
        "ip-address-not-in-range",
    ]
)


def or_aware(pattern: dict[str, Any]) -> bool:
    """Whether event-ruler's ``$or``-aware compiler reads the (valid) pattern: every ``$or``
    holds a list of two or more objects, in which no field is a reserved word. Otherwise the
    legacy compiler reads it, and ``$or`` is a field name."""
    objects: list[tuple[dict[str, Any], bool]] = [(pattern, False)]
    while objects:
        obj, in_or = objects.pop()
        for key, value in obj.items():
            if key == "$or":
                if not (
                    isinstance(value, list)
                    and len(value) >= 2
                    and all(isinstance(branch, dict) for branch in value)
                ):
                    return False
                objects.extend((branch, True) for branch in value)
            elif in_or and key in RESERVED_IN_OR:
                return False
            elif isinstance(value, dict):
                objects.append((value, in_or))
    return True


def sub_rules(
    pattern: dict[str, Any], keys: tuple[str, ...] = (), *, or_keyword: bool = True
) -> list[SubRule]:
    """The ``$or``-free sub-rules of a (valid) pattern object found under ``keys``; without
    ``or_keyword``, ``$or`` is a field name."""
    rules: list[SubRule] = [{}]
    for key, value in pattern.items():
        if key == "$or" and or_keyword:
            options = [rule for branch in value for rule in sub_rules(branch, keys)]
        elif isinstance(value, dict):
            options = sub_rules(value, (*keys, key), or_keyword=or_keyword)
        else:
            options = [{".".join((*keys, key)): value}]
        rules = [{**rule, **option} for rule in rules for option in options]
    return rules


def sub_rule_matches(rule: SubRule, fields: list[Field]) -> bool:
    keys = sorted(rule)

    def satisfy(position: int, memberships: Membership) -> bool:
        if position == len(keys):
            return True
        conditions = rule[keys[position]]
        candidates = [
            field
            for field in fields
            if field.name == keys[position] and consistent(field.memberships, memberships)
        ]
        if (
            any(is_exists_false(condition) for condition in conditions)
            and not candidates
            and satisfy(position + 1, memberships)
        ):
            return True
        for field in candidates:
            if any(
                condition_matches(condition, field.value)
                for condition in conditions
                if not is_exists_false(condition)
            ) and satisfy(position + 1, memberships | field.memberships):
                return True
        return False

    return satisfy(0, frozenset())


def reference_matches(pattern: dict[str, Any] | str, event: Any) -> bool:
    """Whether event-ruler would match ``event`` against the valid ``pattern``."""
    if isinstance(pattern, str):
        pattern = json.loads(pattern, parse_float=Decimal)
    assert isinstance(pattern, dict)
    fields = flatten(event)
    rules = sub_rules(pattern, or_keyword=or_aware(pattern))
    return any(sub_rule_matches(rule, fields) for rule in rules)
