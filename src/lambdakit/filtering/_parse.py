"""Reading a filter pattern: every rule AWS enforces, checked once, into a small tree.

The rules are aws/event-ruler's (the matcher EventBridge and Lambda run), including the ones
that surprise: an object is an operator only as an element of a value list (``{"a":
{"prefix": "x"}}`` is a field named ``prefix`` given a bare string, which is invalid), empty
objects and lists are rejected, ``numeric`` takes ``[op, n]`` or ``[">"|">=", n, "<"|"<=", m]``
only, a CIDR mask must be below 32 (128 for IPv6), ``**`` is not a wildcard. Error messages name
the path of the offending part (``detail.state[1]``) and the rule, in event-ruler's words
where it has some.
"""

from __future__ import annotations

import json

from lambdakit.errors import FilterPatternError
from lambdakit.filtering import _values as values
from lambdakit.filtering._tree import (
    AnythingBut,
    Cidr,
    Condition,
    EqualsIgnoreCase,
    Exact,
    Exists,
    Leaf,
    Node,
    Numeric,
    Prefix,
    Suffix,
    Wildcard,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

OPERATORS = (
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
)
# Names that may not be field names inside a $or branch (event-ruler's reserved list).
RESERVED_IN_OR = frozenset(
    (
        *OPERATORS,
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    )
)
MAX_FIELD_PATHS = 256  # event-ruler's limit of leaf paths per (sub)rule


def parse(pattern: Any) -> Node:
    """The tree for ``pattern`` (a dict, or JSON text); :class:`FilterPatternError` if AWS
    would reject it."""
    if isinstance(pattern, (str, bytes, bytearray)):
        try:
            pattern = load_json(pattern)
        except (ValueError, RecursionError) as exc:
            raise FilterPatternError("", f"not valid JSON ({exc})") from None
    if not isinstance(pattern, dict):
        raise FilterPatternError("", f"Filter is not an object (got {_kind(pattern)})")
    node = _object(pattern, "", in_or=False)
    _check_size(node)
    return node


def load_json(text: str | bytes | bytearray) -> Any:
    """JSON text with numbers kept exact (``Decimal`` for non-integers), duplicate keys last."""
    from decimal import Decimal

    return json.loads(text, parse_float=Decimal)


def _object(obj: dict[Any, Any], path: str, *, in_or: bool, into: Node | None = None) -> Node:
    """Read one object of the pattern into ``into`` (a new node by default).

    Field names are split on dots (``{"a.b": [1]}`` is ``{"a": {"b": [1]}}``, as in
    event-ruler), and a path given twice keeps its last value list.
    """
    if not obj:
        raise FilterPatternError(path, "Empty objects are not allowed")
    node = into if into is not None else Node()
    for name, value in obj.items():
        if not isinstance(name, str):
            raise FilterPatternError(path, f"field names must be strings, got {name!r}")
        where = _join(path, name)
        if name == "$or":
            node.ors.append(_or(value, where))
            continue
        if in_or and name in RESERVED_IN_OR:
            raise FilterPatternError(
                where, f"{name} is Ruler reserved fieldName which cannot be used inside $or."
            )
        target = node
        for segment in name.split("."):
            target = target.children.setdefault(segment, Node())
        if isinstance(value, dict):
            _object(value, where, in_or=in_or, into=target)
        elif isinstance(value, list):
            target.leaf = _leaf(value, where)
        else:
            raise FilterPatternError(
                where,
                f'"{name}" must be an object or an array (a list of values to match, '
                f"such as [{_text(value)}]), not {_kind(value)}",
            )
    return node


def _or(value: Any, path: str) -> list[Node]:
    if not isinstance(value, list):
        raise FilterPatternError(path, "It must be an Array followed with $or.")
    if len(value) < 2:
        raise FilterPatternError(path, "There must have at least 2 Objects in $or relationship.")
    branches = []
    for index, branch in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(branch, dict):
            raise FilterPatternError(
                where, "Only JSON object is allowed in array of $or relationship."
            )
        branches.append(_object(branch, where, in_or=True))
    return branches


def _leaf(items: list[Any], path: str) -> Leaf:
    if not items:
        raise FilterPatternError(path, "Empty arrays are not allowed")
    conditions: list[Condition] = []
    for index, item in enumerate(items):
        where = f"{path}[{index}]"
        if isinstance(item, dict):
            conditions.append(_operator(item, where))
        elif isinstance(item, list):
            raise FilterPatternError(
                where, "Match value must be String, number, true, false, or null"
            )
        elif item is None or isinstance(item, (str, bool)) or values.is_number(item):
            conditions.append(Exact(item))
        else:
            raise FilterPatternError(
                where,
                f"Match value must be String, number, true, false, or null, not {_kind(item)}",
            )
    return Leaf(conditions)


def _operator(item: dict[Any, Any], path: str) -> Condition:
    if not item:
        raise FilterPatternError(path, "Match expression name not found")
    name, argument = next(iter(item.items()))
    if name not in OPERATORS:
        known = ", ".join(OPERATORS)
        raise FilterPatternError(path, f"Unrecognized match type {name} (operators: {known})")
    where = f"{path}.{name}"
    if len(item) > 1:
        others = ", ".join(str(k) for k in list(item)[1:])
        if name in ("numeric", "anything-but"):  # event-ruler's wording for these two
            raise FilterPatternError(
                path, f"Too many elements in numeric expression ({name} with {others})"
            )
        raise FilterPatternError(
            path, f"Only one key allowed in match expression ({name} with {others})"
        )
    if name == "exactly":  # a plain string comparison: no IP-address reading
        text = _string(argument, where, "exact match pattern must be a string")
        return Exact(text, ip=False)
    if name == "equals-ignore-case":
        text = _string(argument, where, "equals-ignore-case match pattern must be a string")
        return EqualsIgnoreCase(text)
    if name in ("prefix", "suffix"):
        return _prefix_or_suffix(name, argument, where)
    if name == "anything-but":
        return _anything_but(argument, where)
    if name == "exists":
        if not isinstance(argument, bool):
            raise FilterPatternError(where, "exists match pattern must be either true or false.")
        return Exists(argument)
    if name == "wildcard":
        text = _string(argument, where, "wildcard match pattern must be a string")
        return Wildcard(values.parse_wildcard(text, where), text)
    if name == "numeric":
        return _numeric(argument, where)
    # cidr
    text = _string(argument, where, "cidr match pattern must be a string")
    return Cidr(values.parse_cidr(text, where), text)


def _prefix_or_suffix(name: str, argument: Any, path: str) -> Condition:
    kind = Prefix if name == "prefix" else Suffix
    if isinstance(argument, dict):
        if not argument:
            raise FilterPatternError(path, f"{name.capitalize()} expression name not found")
        inner, text = next(iter(argument.items()))
        if inner != "equals-ignore-case":
            raise FilterPatternError(path, f"Unsupported {name} pattern: {inner}")
        if len(argument) > 1:
            raise FilterPatternError(path, "Only one key allowed in match expression")
        where = f"{path}.equals-ignore-case"
        text = _string(text, where, "equals-ignore-case match pattern must be a string")
        return kind(text, ignore_case=True)
    return kind(_string(argument, path, f"{name} match pattern must be a string"))


def _anything_but(argument: Any, path: str) -> Condition:
    if isinstance(argument, dict):
        if not argument:
            raise FilterPatternError(path, "Anything-But expression name not found")
        inner, operand = next(iter(argument.items()))
        if inner not in ("equals-ignore-case", "prefix", "suffix", "wildcard"):
            raise FilterPatternError(
                path,
                f"Unsupported anything-but pattern: {inner} (anything-but takes a value, a list, "
                "or one of equals-ignore-case, prefix, suffix, wildcard)",
            )
        if len(argument) > 1:
            raise FilterPatternError(path, "Too many elements in numeric expression")
        where = f"{path}.{inner}"
        texts = operand if isinstance(operand, list) else [operand]
        for index, text in enumerate(texts):
            at = f"{where}[{index}]" if isinstance(operand, list) else where
            if not isinstance(text, str):
                if inner == "equals-ignore-case":
                    problem = (
                        "Inside anything-but/equals-ignore-case list, "
                        "number|start|null|boolean is not supported."
                    )
                elif inner == "wildcard":
                    problem = "wildcard match pattern must be a string"
                else:
                    problem = "prefix/suffix match pattern must be a string"
                raise FilterPatternError(at, problem)
            if inner in ("prefix", "suffix") and not text:
                raise FilterPatternError(at, "Null prefix/suffix not allowed")
        if inner == "wildcard":
            return AnythingBut(
                wildcards=tuple(Wildcard(values.parse_wildcard(t, where), t) for t in texts)
            )
        if inner == "equals-ignore-case":
            return AnythingBut(ignore_case=tuple(values.IgnoreCase(t) for t in texts))
        if inner == "prefix":
            return AnythingBut(prefixes=tuple(texts))
        return AnythingBut(suffixes=tuple(texts))
    if isinstance(argument, list):
        has_string = any(isinstance(v, str) for v in argument)
        has_number = any(values.is_number(v) for v in argument)
        for index, value in enumerate(argument):
            if not isinstance(value, str) and not values.is_number(value):
                raise FilterPatternError(
                    f"{path}[{index}]",
                    "Inside anything but list, start|null|boolean is not supported.",
                )
        if has_string == has_number:  # both, or an empty list
            raise FilterPatternError(
                path,
                "Inside anything but list, either all values are number or string, mixed type "
                "is not supported",
            )
        if has_number:
            return AnythingBut(
                numbers=frozenset(values.operand(v, f"{path}[{i}]") for i, v in enumerate(argument))
            )
        return AnythingBut(strings=frozenset(argument))
    if isinstance(argument, str):
        return AnythingBut(strings=frozenset((argument,)))
    if values.is_number(argument):
        return AnythingBut(numbers=frozenset((values.operand(argument, path),)))
    raise FilterPatternError(
        path, "Value of anything-but must be an array or single string/number value."
    )


_LOWER = (">", ">=")
_UPPER = ("<", "<=")
_NUMERIC_OPERATORS = ("=", *_LOWER, *_UPPER)


def _numeric(argument: Any, path: str) -> Condition:
    if not isinstance(argument, list):
        raise FilterPatternError(path, "Value of numeric must be an array.")
    if not argument or not isinstance(argument[0], str):
        first = _text(argument[0]) if argument else "]"
        raise FilterPatternError(path, f"Invalid member in numeric match: {first}")
    operator = argument[0]
    if operator not in _NUMERIC_OPERATORS:
        raise FilterPatternError(path, f"Unrecognized numeric range operator: {operator}")
    bound = _numeric_operand(argument, 1, operator, path)
    if operator == "=":
        if len(argument) > 2:
            raise FilterPatternError(path, "Too many elements in numeric expression")
        return Numeric(bound, True, bound, True)
    if operator in _UPPER:
        if len(argument) > 2:
            raise FilterPatternError(path, "Too many elements in numeric expression")
        return Numeric(None, False, bound, operator == "<=")
    if len(argument) == 2:
        return Numeric(bound, operator == ">=", None, False)
    upper = argument[2]
    if not isinstance(upper, str):
        raise FilterPatternError(path, f"Bad value in numeric range: {_text(upper)}")
    if upper not in _UPPER:
        raise FilterPatternError(path, f"Bad numeric range operator: {upper}")
    top = _numeric_operand(argument, 3, upper, path)
    if len(argument) > 4:
        raise FilterPatternError(path, "Too many terms in numeric range expression")
    if not bound < top:
        raise FilterPatternError(
            path, f"Bottom must be less than top ({_text(argument[1])} >= {_text(argument[3])})"
        )
    return Numeric(bound, operator == ">=", top, upper == "<=")


def _numeric_operand(argument: list[Any], index: int, operator: str, path: str) -> Any:
    name = "equals" if operator == "=" else operator
    if index >= len(argument) or not values.is_number(argument[index]):
        raise FilterPatternError(path, f"Value of {name} must be numeric")
    return values.operand(argument[index], f"{path}[{index}]")


def _string(value: Any, path: str, problem: str) -> str:
    if not isinstance(value, str):
        raise FilterPatternError(path, f"{problem}, not {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if values.is_number(value):
        return f"the number {_text(value)}"
    if isinstance(value, str):
        return f"the string {_text(value)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _text(value: Any) -> str:
    """JSON for messages (Decimals from JSON text included)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_size(node: Node) -> None:
    """At most 256 leaf paths in any alternative the $or branches expand to."""
    if _max_paths(node) > MAX_FIELD_PATHS:
        raise FilterPatternError(
            "", f"the pattern has more than {MAX_FIELD_PATHS} field paths in one alternative"
        )


def _max_paths(node: Node) -> int:
    total = 1 if node.leaf is not None else 0
    for child in node.children.values():
        total += _max_paths(child)
    for branches in node.ors:
        total += max(_max_paths(branch) for branch in branches)
    return total
