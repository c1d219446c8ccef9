"""Reading a filter pattern: every rule AWS enforces, checked once, into a small tree.

The rules are aws/event-ruler's (the matcher EventBridge and Lambda run), including the ones
that surprise: an object is an operator only as an element of a value list (``{"a":
{"prefix": "x"}}`` is a field named ``prefix`` given a bare string, which is invalid), empty
objects and lists are rejected, ``numeric`` takes ``[op, n]`` or ``[">"|">=", n, "<"|"<=", m]``
only, a CIDR mask must be below 32 (128 for IPv6), ``**`` is not a wildcard. Error messages name
the path of the offending part (``detail.state[1]``) and the rule, in event-ruler's words
where it has some.

Two of event-ruler's behaviours come from its JSON parser and its compilers rather than from the
pattern language, and are reproduced here:

- Jackson, its parser, refuses ``NaN`` and ``Infinity``, documents nested more than 1,000
  levels deep, and numbers written with more than 1,000 characters. Pattern text is read by an
  iterative reader with the same limits (Python's ``json`` accepts the first two, and recurses),
  and a dict pattern is held to them too.
- ``Machine.addRule`` compiles with the ``$or``-aware compiler and, when that rejects the
  pattern, tries the legacy one, for which ``"$or"`` is an ordinary field name: ``{"$or":
  {"t": ["T"]}}`` is a field ``$or.t``. :func:`parse` does the same.

Nothing here recurses on the pattern's nesting.
"""

from __future__ import annotations

import json
import re

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
    walk,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
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
MAX_NESTING = 1000  # Jackson's default limit of open objects and arrays
_NOT_JSON_NUMBERS = ("NaN", "Infinity", "-Infinity")


def parse(pattern: Any) -> Node:
    """The tree for ``pattern`` (a dict, or JSON text); :class:`FilterPatternError` if AWS
    would reject it."""
    if isinstance(pattern, (str, bytes, bytearray)):
        pattern = read_pattern_text(pattern)
    elif isinstance(pattern, dict):
        check_nesting(pattern)
    if not isinstance(pattern, dict):
        raise FilterPatternError("", f"Filter is not an object (got {_kind(pattern)})")
    try:
        node = _read(pattern, legacy=False)
    except FilterPatternError as refused:
        # event-ruler's Machine.addRule: the legacy compiler, for which "$or" is a field name.
        try:
            node = _read(pattern, legacy=True)
        except FilterPatternError:
            raise refused from None
    _check_size(node)
    return node


def load_json(text: str | bytes | bytearray) -> Any:
    """JSON text with numbers kept exact (``Decimal`` for non-integers), duplicate keys last.
    For events and records; patterns are read by :func:`read_pattern_text`. ``NaN`` and
    ``Infinity``, which Python's ``json`` reads and Lambda's parser refuses, make the text not
    JSON (``ValueError``), as they make it for Lambda."""
    from decimal import Decimal

    return json.loads(text, parse_float=Decimal, parse_constant=not_json)


def json_decoder(parse_float: Callable[[str], Any]) -> Callable[[str], Any]:
    """A reusable ``decode(text)`` reading JSON as :func:`load_json` does, with non-integers
    made by ``parse_float``: for a loop over many texts (a batch's bodies), where building
    the decoder once per text would cost more than the parse."""
    return json.JSONDecoder(parse_float=parse_float, parse_constant=not_json).decode


def not_json(constant: str) -> Any:
    """``NaN``, ``Infinity``, ``-Infinity``: Python's ``json`` reads them, Lambda's does not."""
    raise ValueError(f"{constant} is not JSON")


def _read(pattern: dict[Any, Any], *, legacy: bool) -> Node:
    """Read the pattern's objects into a tree, depth-first in the pattern's order, without
    recursion. ``legacy``: as event-ruler's legacy compiler reads it (``$or`` is a field name,
    ``anything-but`` takes a single prefix or suffix and no wildcard)."""
    root = Node()
    # Work still to do, innermost last: ("object", items, path, in $or?, node) iterates the
    # fields of an object; ("or", branches, path, node list) the objects of a $or.
    stack: list[tuple[Any, ...]] = [_object_frame(pattern, "", False, root)]
    while stack:
        frame = stack[-1]
        if frame[0] == "or":
            _, branches, path, nodes = frame
            entry = next(branches, None)
            if entry is None:
                stack.pop()
                continue
            index, branch = entry
            where = f"{path}[{index}]"
            if not isinstance(branch, dict):
                raise FilterPatternError(
                    where, "Only JSON object is allowed in array of $or relationship."
                )
            nodes.append(Node())
            stack.append(_object_frame(branch, where, True, nodes[-1]))
            continue
        _, items, path, in_or, node = frame
        entry = next(items, None)
        if entry is None:
            stack.pop()
            continue
        name, value = entry
        if not isinstance(name, str):
            raise FilterPatternError(path, f"field names must be strings, got {name!r}")
        where = _join(path, name)
        if name == "$or" and not legacy:
            if not isinstance(value, list):
                raise FilterPatternError(where, "It must be an Array followed with $or.")
            if len(value) < 2:
                raise FilterPatternError(
                    where, "There must have at least 2 Objects in $or relationship."
                )
            alternatives: list[Node] = []
            node.ors.append(alternatives)
            stack.append(("or", iter(enumerate(value)), where, alternatives))
            continue
        if in_or and name in RESERVED_IN_OR:
            raise FilterPatternError(
                where, f"{name} is Ruler reserved fieldName which cannot be used inside $or."
            )
        target = node
        for segment in name.split("."):
            target = target.children.setdefault(segment, Node())
        if isinstance(value, dict):
            stack.append(_object_frame(value, where, in_or, target))
        elif isinstance(value, list):
            target.leaf = _leaf(value, where, legacy=legacy)
        else:
            raise FilterPatternError(
                where,
                f'"{name}" must be an object or an array (a list of values to match, '
                f"such as [{_text(value)}]), not {_kind(value)}",
            )
    return root


def _object_frame(obj: dict[Any, Any], path: str, in_or: bool, node: Node) -> tuple[Any, ...]:
    """The work of reading one object of the pattern into ``node``. Field names are split on
    dots (``{"a.b": [1]}`` is ``{"a": {"b": [1]}}``, as in event-ruler), and a path given twice
    keeps its last value list."""
    if not obj:
        raise FilterPatternError(path, "Empty objects are not allowed")
    return ("object", iter(obj.items()), path, in_or, node)


def _leaf(items: list[Any], path: str, *, legacy: bool = False) -> Leaf:
    if not items:
        raise FilterPatternError(path, "Empty arrays are not allowed")
    conditions: list[Condition] = []
    for index, item in enumerate(items):
        where = f"{path}[{index}]"
        if isinstance(item, dict):
            conditions.append(_operator(item, where, legacy=legacy))
        elif isinstance(item, list):
            raise FilterPatternError(
                where, "Match value must be String, number, true, false, or null"
            )
        elif item is None or isinstance(item, (str, bool)):
            conditions.append(Exact(item))
        elif values.is_number(item):
            conditions.append(Exact(_json_number(item, where)))
        else:
            raise FilterPatternError(
                where,
                f"Match value must be String, number, true, false, or null, not {_kind(item)}",
            )
    return Leaf(conditions)


def _operator(item: dict[Any, Any], path: str, *, legacy: bool = False) -> Condition:
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
        return _anything_but(argument, where, legacy=legacy)
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


def _anything_but(argument: Any, path: str, *, legacy: bool = False) -> Condition:
    if isinstance(argument, dict):
        if not argument:
            raise FilterPatternError(path, "Anything-But expression name not found")
        inner, operand = next(iter(argument.items()))
        if legacy and (
            inner == "wildcard" or (inner != "equals-ignore-case" and isinstance(operand, list))
        ):
            # The legacy compiler predates these forms.
            raise FilterPatternError(path, f"Unsupported anything-but pattern: {inner}")
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
            if values.is_number(value):
                _json_number(value, f"{path}[{index}]")
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
        return AnythingBut(numbers=frozenset((values.operand(_json_number(argument, path), path),)))
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
    where = f"{path}[{index}]"
    return values.operand(_json_number(argument[index], where), where)


def _json_number(value: Any, path: str) -> Any:
    """``value`` (a number of the pattern) if AWS's JSON parser would read it: not ``NaN`` or
    an infinity (JSON has neither), and written with at most 1,000 characters."""
    if not values.is_finite(value):
        text = "NaN" if values.is_nan(value) else ("-Infinity" if value < 0 else "Infinity")
        raise FilterPatternError(
            path, f"{text} is not a JSON number (AWS's JSON parser refuses it)"
        )
    if value.__class__ is not float and values.too_long(value):
        raise FilterPatternError(
            path,
            f"a number of more than {values.MAX_NUMBER_CHARS} characters (AWS's JSON parser "
            "refuses it)",
        )
    return value


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
    """JSON for messages (Decimals from JSON text included), shortened when long; a value
    ``json`` cannot write (nested too deep, an integer too long) is named by its kind."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return "an array" if isinstance(value, list) else type(value).__name__
    return text if len(text) <= 80 else f"{text[:77]}..."


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_size(node: Node) -> None:
    """At most 256 leaf paths in any alternative the $or branches expand to."""
    if _max_paths(node) > MAX_FIELD_PATHS:
        raise FilterPatternError(
            "", f"the pattern has more than {MAX_FIELD_PATHS} field paths in one alternative"
        )


def _max_paths(root: Node) -> int:
    """The most leaf paths any one ``$or`` alternative has (children add up, the branches of a
    ``$or`` count for their largest); computed children first, without recursion."""
    paths: dict[int, int] = {}
    for node, _, _ in reversed(walk(root)):
        total = 1 if node.leaf is not None else 0
        total += sum(paths[id(child)] for child in node.children.values())
        total += sum(max(paths[id(b)] for b in branches) for branches in node.ors)
        paths[id(node)] = total
    return paths[id(root)]


# --- JSON ----------------------------------------------------------------------------------------


def check_nesting(pattern: Any) -> None:
    """:class:`FilterPatternError` when ``pattern`` (a dict) nests objects and arrays more than
    :data:`MAX_NESTING` deep, naming where; looks no deeper than that."""
    # (container, its depth, how it was reached: (parent's link, key or index) or None)
    stack: list[tuple[Any, int, Any]] = [(pattern, 1, None)]
    while stack:
        value, depth, link = stack.pop()
        if depth > MAX_NESTING:
            raise FilterPatternError(_path_of(link), _too_deep())
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(item, (dict, list)):
                stack.append((item, depth + 1, (link, key if isinstance(value, dict) else [key])))


def _path_of(link: Any) -> str:
    """The path a ``check_nesting`` link stands for (``a.b[2].c``)."""
    steps: list[Any] = []
    while link is not None:
        link, step = link
        steps.append(step)
    path = ""
    for step in reversed(steps):
        path = f"{path}[{step[0]}]" if isinstance(step, list) else _join(path, str(step))
    return path


def _too_deep() -> str:
    return (
        f"nested more than {MAX_NESTING} levels deep (objects and arrays); AWS's JSON parser "
        "refuses deeper documents"
    )


_SPACE = r"[ \t\n\r]*"
_NUMBER = r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?"  # compiled on first use
_LITERALS = {"true": True, "false": False, "null": None}


def _skip(text: str, at: int) -> int:
    """The first position from ``at`` that is not JSON whitespace."""
    space = re.compile(_SPACE).match(text, at)  # re caches compiled patterns
    return space.end() if space else at


def read_pattern_text(text: str | bytes | bytearray) -> Any:
    """A pattern's JSON text, read as AWS's parser (Jackson, with its default limits) reads it:
    numbers exact (``Decimal`` for non-integers), duplicate keys last; ``NaN``, ``Infinity``,
    numbers longer than 1,000 characters and nesting deeper than 1,000 levels refused. Without
    recursion: nesting costs no stack."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
        except UnicodeDecodeError as exc:
            raise FilterPatternError("", f"not valid JSON ({exc})") from None
    return _read_text(text)


def _read_text(text: str) -> Any:
    from decimal import Decimal

    JSONDecodeError = json.JSONDecodeError
    # The C string scanner json.loads uses (typeshed does not declare it).
    scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

    if text.startswith("\ufeff"):
        raise FilterPatternError("", "not valid JSON (Unexpected UTF-8 BOM)")
    # Open containers, innermost last: [container, the key its next value goes under].
    stack: list[list[Any]] = []

    def fail(problem: str, at: int) -> FilterPatternError:
        return FilterPatternError("", f"not valid JSON ({JSONDecodeError(problem, text, at)})")

    def where() -> str:
        path = ""
        for container, key in stack:
            step = f"[{len(container)}]" if isinstance(container, list) else None
            path = f"{path}{step}" if step else _join(path, key)
        return path

    def key_at(at: int) -> tuple[str, int]:
        """The key starting at ``at`` (after spaces), and where its value starts."""
        at = _skip(text, at)
        if text[at : at + 1] != '"':
            raise fail("Expecting property name enclosed in double quotes", at)
        try:
            key, at = scanstring(text, at + 1, True)
        except JSONDecodeError as exc:
            raise FilterPatternError("", f"not valid JSON ({exc})") from None
        at = _skip(text, at)
        if text[at : at + 1] != ":":
            raise fail("Expecting ':' delimiter", at)
        return key, at + 1

    position = 0
    while True:
        # A value starts here.
        position = _skip(text, position)
        char = text[position : position + 1]
        value: Any
        if char in ("{", "["):
            if len(stack) >= MAX_NESTING:
                raise FilterPatternError(where(), _too_deep())
            after = _skip(text, position + 1)
            closing = "}" if char == "{" else "]"
            if text[after : after + 1] == closing:
                value = {} if char == "{" else []
                position = after + 1
            elif char == "{":
                key, position = key_at(position + 1)
                stack.append([{}, key])
                continue
            else:
                stack.append([[], None])
                position += 1
                continue
        elif char == '"':
            try:
                value, position = scanstring(text, position + 1, True)
            except JSONDecodeError as exc:
                raise FilterPatternError("", f"not valid JSON ({exc})") from None
        else:
            word = next((w for w in _NOT_JSON_NUMBERS if text.startswith(w, position)), None)
            if word is not None:
                raise FilterPatternError(
                    where(), f"{word} is not a JSON number (AWS's JSON parser refuses it)"
                )
            number = re.compile(_NUMBER).match(text, position)
            if number is not None:
                digits = number.group()
                if len(digits.lstrip("-")) > values.MAX_NUMBER_CHARS:
                    raise FilterPatternError(
                        where(),
                        f"a number of more than {values.MAX_NUMBER_CHARS} characters (AWS's "
                        "JSON parser refuses it)",
                    )
                integer, fraction, exponent = number.groups()
                value = Decimal(digits) if fraction or exponent else values.text_int(integer)
                position = number.end()
            else:
                literal = next((w for w in _LITERALS if text.startswith(w, position)), None)
                if literal is None:
                    raise fail("Expecting value", position)
                value = _LITERALS[literal]
                position += len(literal)
        # The value is complete: it goes into its container, which may then close.
        while True:
            if not stack:
                end = _skip(text, position)
                if end != len(text):
                    raise fail("Extra data", end)
                return value
            container, key = stack[-1]
            if isinstance(container, list):
                container.append(value)
            else:
                container[key] = value
            position = _skip(text, position)
            char = text[position : position + 1]
            if char == ",":
                if isinstance(container, dict):
                    stack[-1][1], position = key_at(position + 1)
                else:
                    position += 1
                break
            if char != ("]" if isinstance(container, list) else "}"):
                raise fail("Expecting ',' delimiter", position)
            stack.pop()
            value = container
            position += 1


class _Raw(str):
    """Punctuation on :func:`dump_json`'s work list (written as it is, unlike a string value)."""

    __slots__ = ()


def _key_text(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"keys must be str, not {type(key).__name__}")
    return json.dumps(key)


def dump_json(value: Any) -> str:
    """``json.dumps(value)`` (its default separators and ASCII escapes), without recursion; a
    ``Decimal`` is written as its text. ``TypeError`` for what is not JSON."""
    from decimal import Decimal

    out: list[str] = []
    work: list[Any] = [value]  # what is still to write, the next last: values and punctuation
    while work:
        item = work.pop()
        if item.__class__ is _Raw:
            out.append(item)
        elif isinstance(item, (dict, list, tuple)):
            if isinstance(item, dict):
                brackets, members = "{}", [(_key_text(k) + ": ", v) for k, v in item.items()]
            else:
                brackets, members = "[]", [("", v) for v in item]
            if not members:
                out.append(brackets)
                continue
            out.append(brackets[0])
            work.append(_Raw(brackets[1]))
            for index in range(len(members) - 1, -1, -1):
                prefix, child = members[index]
                work.append(child)
                if index or prefix:
                    work.append(_Raw((", " if index else "") + prefix))
        elif isinstance(item, Decimal):
            out.append(str(item))
        else:
            out.append(json.dumps(item))
    return "".join(out)
