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
   (``a.b`` and ``a: {b: ...}``) keeps the last one.
3. A sub-rule matches if its keys, taken in sorted order, can each be satisfied:
   - by a field of that name whose value matches one of the key's conditions and whose
     memberships agree with those of the fields chosen so far (no array at two different
     indices); or
   - if the key's list holds ``{"exists": false}``: by no field of that name agreeing with the
     fields chosen so far.
   Every choice is tried (plain backtracking).
4. The pattern matches if some sub-rule matches.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import math
import re
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

    def walk(value: Any, keys: tuple[str, ...], memberships: Membership) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*keys, key), memberships)
        elif isinstance(value, list):
            array_id = next(array_ids)
            for index, element in enumerate(value):
                if isinstance(element, (dict, list)):
                    walk(element, keys, memberships | {(array_id, index)})
                else:
                    walk(element, keys, memberships)
        else:
            fields.append(Field(".".join(keys), value, memberships))

    walk(event, (), frozenset())
    return fields


def consistent(first: Membership, second: Membership) -> bool:
    """No array is entered at two different indices."""
    indices = dict(first)
    return all(indices.get(array_id, index) == index for array_id, index in second)


# --- values -----------------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def number_text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


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


IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


def as_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not (IPV4.fullmatch(text) or IPV6.fullmatch(text)):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """``*`` is any run of characters; ``\\*`` and ``\\\\`` are a literal star / backslash."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            parts.append(re.escape(pattern[index + 1]))
            index += 2
        elif char == "*":
            parts.append(".*")
            index += 1
        else:
            parts.append(re.escape(char))
            index += 1
    return re.compile("".join(parts), re.DOTALL)


def ignore_case_regex(pattern: str) -> str:
    """Each pattern character may appear as its lower-case or its upper-case form."""
    return "".join(
        "(?:" + "|".join(re.escape(form) for form in {char.lower(), char.upper()}) + ")"
        for char in pattern
    )


def equals_ignore_case(pattern: str, value: str) -> bool:
    return re.fullmatch(ignore_case_regex(pattern), value, re.DOTALL) is not None


def prefix_ignore_case(pattern: str, value: str) -> bool:
    return re.match(ignore_case_regex(pattern), value, re.DOTALL) is not None


def suffix_ignore_case(pattern: str, value: str) -> bool:
    return re.search(ignore_case_regex(pattern) + r"\Z", value, re.DOTALL) is not None


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
    return isinstance(value, str) and wildcard_regex(operand).fullmatch(value) is not None


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
            "wildcard": lambda text: wildcard_regex(text).fullmatch(value) is not None,
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


def sub_rules(pattern: dict[str, Any], keys: tuple[str, ...] = ()) -> list[SubRule]:
    """The ``$or``-free sub-rules of a (valid) pattern object found under ``keys``."""
    rules: list[SubRule] = [{}]
    for key, value in pattern.items():
        if key == "$or":
            options = [rule for branch in value for rule in sub_rules(branch, keys)]
        elif isinstance(value, dict):
            options = sub_rules(value, (*keys, key))
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
    return any(sub_rule_matches(rule, fields) for rule in sub_rules(pattern))
