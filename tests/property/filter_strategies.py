"""Hypothesis strategies (and small exhaustive domains) for filter patterns and events.

- :func:`json_values`, :func:`deep_json`: any JSON value, with awkward keys (dots, ``""``,
  operator names), numbers no double holds, unicode.
- :func:`pattern_like`, :func:`pattern_texts`: JSON built to look like a pattern (operator
  objects with arguments of every shape), valid or not, as objects and as JSON text.
- :func:`valid_patterns`: valid patterns using every operator, ``$or`` at several levels,
  nesting and dotted keys. Within one ``$or`` expansion no flattened key appears twice (the
  reference does not model which of two such keys event-ruler keeps).
- Pattern and event pairs, the events built from the pattern's own keys and values so that
  many match and the rest nearly do:

  - :func:`patterns_and_events`: any valid pattern (about 40% of the events match);
  - :func:`structures_and_events`: rich shapes (``$or``, nesting, dotted keys,
    ``exists: false``) with few values, and events with arrays of objects whose elements hold
    different fields (array consistency, the sorted-key ``exists: false`` rule), nested
    arrays, and dotted keys that reach the same paths through other arrays;
  - :func:`fields_and_values`: one field, and look-alikes of its operands (value semantics).

- :func:`small_domains`: for each operator, every condition and event value of a small domain,
  for an exhaustive comparison with the reference.
"""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

from hypothesis import strategies as st

# --- any JSON ---------------------------------------------------------------------------------

AWKWARD_KEYS = [
    "",
    ".",
    "..",
    "a.b",
    ".a",
    "a.",
    "a",
    "b",
    "$or",
    "prefix",
    "numeric",
    "anything-but",
    "exists",
    "detail",
    "detail.state",
    " ",
    "é",
    "🎉",
    "\u212a",
]
KEYS = st.one_of(st.sampled_from(AWKWARD_KEYS), st.text(max_size=6))
EDGE_NUMBERS = [
    0,
    -0.0,
    10**400,
    -(10**400),
    2**63,
    2**53 + 1,
    12345678901234567891,
    5e-324,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    1e-7,
    0.1,
]
NUMBERS = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(EDGE_NUMBERS),
)
JSON_SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=10))


def json_values(max_leaves: int = 25) -> st.SearchStrategy[Any]:
    return st.recursive(
        JSON_SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(KEYS, children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


@st.composite
def deep_json(draw: st.DrawFn) -> Any:
    """A value nested up to 150 objects and arrays deep."""
    value = draw(json_values(5))
    for _ in range(draw(st.integers(1, 150))):
        value = {draw(KEYS): value} if draw(st.booleans()) else [value]
    return value


# --- pattern-shaped JSON (valid or not) -----------------------------------------------------

OPERATOR_NAMES = [
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "$or",
    "NUMERIC",
    "regex",
    "foo",
    "",
]
NUMERIC_TOKENS = ["=", "<", "<=", ">", ">=", "==", "!=", "=<", "≥"]
CIDR_LIKE = [
    "10.0.0.0/8",
    "10.0.0.0/32",
    "10.0.0.0/",
    "10.0.0.0",
    "/8",
    "a/b/c",
    "10.0.0.0/-1",
    "10.0.0.0/x",
    "999.1.1.1/8",
    "::/0",
    "2001:db8::/128",
    "fe80::1%eth0/64",
    "::ffff:1.2.3.4/96",
    "::ffff:a00:1/96",
    "1.2.3.4/99999999999",
    "",
]


def _operator_arguments(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        JSON_SCALARS,
        children,
        st.lists(st.one_of(st.sampled_from(NUMERIC_TOKENS), NUMBERS, JSON_SCALARS), max_size=6),
        st.sampled_from(CIDR_LIKE),
        st.text(alphabet="ab*\\é", max_size=6),
        st.lists(st.one_of(st.text(alphabet="ab*\\", max_size=4), JSON_SCALARS), max_size=3),
    )


def _operator_objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.dictionaries(
        st.one_of(st.sampled_from(OPERATOR_NAMES), KEYS),
        _operator_arguments(children),
        max_size=2,
    )


def pattern_like() -> st.SearchStrategy[Any]:
    """Objects of fields whose values are value lists of scalars and operator objects (with
    arguments of every shape), nested objects, ``$or`` lists, and stray scalars."""
    operator = st.recursive(_operator_objects(JSON_SCALARS), _operator_objects, max_leaves=4)
    value_list = st.lists(st.one_of(JSON_SCALARS, operator, json_values(4)), max_size=4)
    return st.recursive(
        st.one_of(value_list, JSON_SCALARS),
        lambda children: st.one_of(
            st.dictionaries(st.one_of(KEYS, st.sampled_from(OPERATOR_NAMES)), children, max_size=4),
            st.lists(children, max_size=3),
        ),
        max_leaves=12,
    )


def pattern_texts() -> st.SearchStrategy[str]:
    """JSON text of pattern-shaped values, plus text that is not quite JSON."""
    dumped = pattern_like().map(json.dumps)
    return st.one_of(
        dumped,
        dumped.flatmap(lambda text: st.integers(0, len(text)).map(lambda cut: text[:cut])),
        st.sampled_from(
            [
                '{"a": [NaN]}',
                '{"a": [Infinity]}',
                '{"a": [-Infinity]}',
                '{"a": [{"numeric": [">", NaN]}]}',
                '{"a": [{"numeric": [">", 1e400]}]}',
                '{"a": [{"numeric": ["<", -1e400]}]}',
                '{"a": [{"anything-but": 1e400}]}',
                '{"a": [{"anything-but": [1e999, 2]}]}',
                '{"a": [1.00000000000000001, 1e400, -0.0, 0E-10]}',
                '{"a": [{"numeric": ["=", 0E-10]}]}',
                '{"a": ["x"], "a": {"b": ["y"]}}',
                '{"a": ["b"]} trailing',
                "",
                "   ",
                "[]",
                "{}",
                '{"a": [{"wildcard": "a*c\\def"}]}',
                '{"a": [{"wildcard": "\\u0000*"}]}',
            ]
        ),
        st.text(max_size=20),
    )


# --- valid patterns ---------------------------------------------------------------------------

NAMES = ["a", "b", "c", "d", "a", "b", "c", ""]  # repeated names are drawn more often
STRINGS = [
    "x",
    "y",
    "X",
    "",
    "ab",
    "abc",
    "ABC",
    "aBc",
    "b",
    "bc",
    "a*c",
    "a\\b",
    "ß",
    "SS",
    "ss",
    "\u212a",
    "k",
    "K",
    "é",
    "É",
    "10.0.0.1",
    "10.0.0.2",
    "010.0.0.1",
    "2001:db8::1",
    "2001:DB8:0:0:0:0:0:1",
    "5",
    "null",
    "true",
    "日本",
]
# Numbers that are exact doubles (valid numeric and anything-but operands) ...
DOUBLES = [0, 1, 5, -5, 5.0, 0.5, -0.0, 2.5, 100, 1e300, 1e-7, 123456789012, 3]
# ... and some that are not (exact text only).
NUMBERS_POOL = [*DOUBLES, 12345678901234567891, 2**63]
LITERALS = [True, False, None]
PLAIN_VALUES = [*STRINGS, *NUMBERS_POOL, *LITERALS]
PREFIXES = ["", "a", "ab", "A", "1", "x", "é", "日", "10.", "ß"]
SUFFIXES = ["", "c", "bc", "C", "1", "x", "本", "::1", "S"]
WILDCARDS = ["*", "", "a*", "*c", "a*c", "*b*", "\\*", "a\\\\b", "\\**", "x", "*.*", "1*", "*\\*"]
CIDRS = [
    "10.0.0.0/8",
    "10.0.0.0/31",
    "10.0.0.1/24",
    "10.0.0.2/31",
    "11.0.0.0/8",
    "2001:db8::/32",
    "2001:db8::/127",
    "2001:db8::1/64",
]
NUMERIC_OPERATORS = ["=", "<", "<=", ">", ">="]


def _one_or_list(values: list[Any], min_size: int = 1) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(values),
        st.lists(st.sampled_from(values), min_size=min_size, max_size=3),
    )


@st.composite
def _numeric(draw: st.DrawFn) -> list[Any]:
    if draw(st.booleans()):
        return [draw(st.sampled_from(NUMERIC_OPERATORS)), draw(st.sampled_from(DOUBLES))]
    low, high = draw(
        st.lists(st.sampled_from(DOUBLES), min_size=2, max_size=2, unique_by=float).map(
            lambda pair: sorted(pair, key=float)
        )
    )
    return [draw(st.sampled_from([">", ">="])), low, draw(st.sampled_from(["<", "<="])), high]


ANYTHING_BUT_OPERANDS = st.one_of(
    st.sampled_from(STRINGS),
    st.sampled_from(DOUBLES),
    st.lists(st.sampled_from(STRINGS), min_size=1, max_size=3),
    st.lists(st.sampled_from(DOUBLES), min_size=1, max_size=3),
    st.fixed_dictionaries({"prefix": _one_or_list([p for p in PREFIXES if p], 0)}),
    st.fixed_dictionaries({"suffix": _one_or_list([s for s in SUFFIXES if s], 0)}),
    st.fixed_dictionaries({"equals-ignore-case": _one_or_list(STRINGS)}),
    st.fixed_dictionaries({"wildcard": _one_or_list(WILDCARDS)}),
)

# One valid element of a value list.
CONDITIONS = st.one_of(
    st.sampled_from(PLAIN_VALUES),
    st.sampled_from(PLAIN_VALUES),
    st.sampled_from(PLAIN_VALUES),
    st.fixed_dictionaries({"exactly": st.sampled_from(STRINGS)}),
    st.fixed_dictionaries({"prefix": st.sampled_from(PREFIXES)}),
    st.fixed_dictionaries(
        {"prefix": st.fixed_dictionaries({"equals-ignore-case": st.sampled_from(PREFIXES)})}
    ),
    st.fixed_dictionaries({"suffix": st.sampled_from(SUFFIXES)}),
    st.fixed_dictionaries(
        {"suffix": st.fixed_dictionaries({"equals-ignore-case": st.sampled_from(SUFFIXES)})}
    ),
    st.fixed_dictionaries({"equals-ignore-case": st.sampled_from(STRINGS)}),
    st.fixed_dictionaries({"wildcard": st.sampled_from(WILDCARDS)}),
    st.fixed_dictionaries({"anything-but": ANYTHING_BUT_OPERANDS}),
    st.fixed_dictionaries({"numeric": _numeric()}),
    st.fixed_dictionaries({"exists": st.booleans()}),
    st.just({"exists": False}),
    st.fixed_dictionaries({"cidr": st.sampled_from(CIDRS)}),
)
SIZES = st.sampled_from([1, 1, 1, 2, 2, 3])  # mostly short: each extra entry is an OR
VALUE_LISTS = SIZES.flatmap(lambda size: st.lists(CONDITIONS, min_size=size, max_size=size))


@st.composite
def _pattern_object(
    draw: st.DrawFn,
    depth: int,
    taken: frozenset[str],
    value_lists: st.SearchStrategy[list[Any]] = VALUE_LISTS,
) -> dict[str, Any]:
    """A pattern object whose field names avoid ``taken`` (names already used at this level
    of the same ``$or`` expansion). Nested objects tend to have two fields, so that events
    holding arrays of them test array consistency."""
    free = [name for name in NAMES if name not in taken]
    size = draw(st.sampled_from([1, 2, 2, 3] if depth else [1, 1, 2, 2, 3]))
    names = draw(st.lists(st.sampled_from(free), min_size=1, max_size=size, unique=True))
    pattern: dict[str, Any] = {}
    for name in names:
        if depth < 2 and draw(st.integers(0, 4)) < 2 - depth:
            inner = draw(_pattern_object(depth + 1, frozenset(), value_lists))
            if len(inner) == 1 and "$or" not in inner and draw(st.booleans()):
                # {"a": {"b": [...]}} spelled {"a.b": [...]}
                ((key, value),) = inner.items()
                pattern[f"{name}.{key}"] = value
            else:
                pattern[name] = inner
        else:
            pattern[name] = draw(value_lists)
    if depth < 2 and set(free) - set(names) and draw(st.integers(0, 3)) == 0:
        branch_taken = taken | set(names)
        count = draw(st.integers(2, 3))
        pattern["$or"] = [
            draw(_pattern_object(depth + 1, branch_taken, value_lists)) for _ in range(count)
        ]
    return pattern


def valid_patterns(
    value_lists: st.SearchStrategy[list[Any]] = VALUE_LISTS,
) -> st.SearchStrategy[dict[str, Any]]:
    return _pattern_object(0, frozenset(), value_lists)


# A small vocabulary for patterns whose interest is their shape: $or, nesting, dotted keys,
# exists:false, and events with arrays of objects.
STRUCTURAL_CONDITIONS = st.sampled_from(
    [
        "x",
        "y",
        1,
        None,
        {"exists": True},
        {"exists": False},
        {"exists": False},
        {"anything-but": "x"},
        {"prefix": "x"},
        {"numeric": [">", 0]},
    ]
)
STRUCTURAL_VALUES = ["x", "y", "xz", 1, 1.0, 0, None]
STRUCTURAL_VALUE_LISTS = st.lists(STRUCTURAL_CONDITIONS, min_size=1, max_size=2)


# --- events built from a pattern ----------------------------------------------------------


def _leaf_paths(pattern: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[str, list[Any]]:
    """Every flattened key of the pattern (all ``$or`` branches) and its value lists joined."""
    paths: dict[str, list[Any]] = {}
    for key, value in pattern.items():
        if key == "$or":
            for branch in value:
                for path, items in _leaf_paths(branch, prefix).items():
                    paths.setdefault(path, []).extend(items)
        elif isinstance(value, dict):
            for path, items in _leaf_paths(value, (*prefix, key)).items():
                paths.setdefault(path, []).extend(items)
        else:
            paths.setdefault(".".join((*prefix, key)), []).extend(value)
    return paths


IP_TWINS = {
    "10.0.0.1": ["010.0.0.1", "10.0.0.01", "10.0.0.1 "],
    "10.0.0.2": ["10.0.0.02"],
    "2001:db8::1": ["2001:DB8::1", "2001:db8:0:0:0:0:0:1", "2001:0db8::0001", "2001:db8::01:1"],
    "2001:DB8:0:0:0:0:0:1": ["2001:db8::1"],
}


def _twins(value: Any) -> list[Any]:
    """``value`` and look-alikes: the same number as int and float, its text, other cases,
    other spellings of the same IP address."""
    if value is None or isinstance(value, bool):
        return [value, json.dumps(value), int(value or 0)]
    if isinstance(value, str):
        flips = [value[:i] + value[i].swapcase() + value[i + 1 :] for i in range(len(value))]
        return [
            value,
            value.upper(),
            value.lower(),
            value.swapcase(),
            value.casefold(),
            *flips,
            value.replace("ß", "SS"),
            value.replace("SS", "ß"),
            value.replace("K", "\u212a"),
            value.replace("\u212a", "K"),
            value + "a",
            "a" + value,
            value[:-1],
            value[1:],
            *IP_TWINS.get(value, []),
        ]
    twins: list[Any] = [value, str(value)]
    if abs(value) < 1e300:
        twins.append(float(value))
        if float(value).is_integer() and abs(value) < 1e20:
            twins.append(int(value))
    if value == 0:
        twins += [-0.0, False]
    if value == 1:
        twins.append(True)
    return twins


def _values_near(condition: Any) -> list[Any]:
    """Event values that match, or nearly match, one pattern condition."""
    if not isinstance(condition, dict):
        return _twins(condition)
    ((operator, operand),) = condition.items()
    if operator in ("prefix", "suffix"):
        text = operand if isinstance(operand, str) else operand["equals-ignore-case"]
        return [*_twins(text), text + text.upper(), text.upper() + text]
    if operator in ("exactly", "equals-ignore-case"):
        return _twins(operand)
    if operator == "wildcard":
        literal = operand.replace("\\\\", "\\").replace("\\*", "*")
        return [operand.replace("*", ""), operand.replace("*", "qq"), *_twins(literal)]
    if operator == "numeric":
        bounds = operand[1::2]
        return [*(t for b in bounds for t in _twins(b)), *(b + 1 for b in bounds)]
    if operator == "cidr":
        return ["10.0.0.1", "10.0.0.2", "010.0.0.1", "2001:db8::1", "11.1.1.1", "10.255.255.255"]
    if operator == "anything-but":
        if isinstance(operand, dict):
            ((_, texts),) = operand.items()
            texts = texts if isinstance(texts, list) else [texts]
            return [None, 5, *(t for text in texts for t in _twins(text))]
        excluded = operand if isinstance(operand, list) else [operand]
        return [None, True, *(t for value in excluded for t in _twins(value))]
    return [None, "", 0, False]  # exists


EVENT_POOL = [*PLAIN_VALUES, "xyz", "abz", "zbc", 6, 1e300, -1e-7, 10**400, 2**53 + 1]


# Hypothesis's own st.randoms() answers simple draws with simple numbers (0.0, again and
# again); a Random seeded from a drawn integer is evenly spread and still reproducible.
SEEDED_RANDOMS = st.integers(0, 2**32 - 1).map(random.Random)


def _leaf_value(rnd: random.Random, near: list[Any]) -> Any:
    """Mostly a value from the pattern's neighbourhood, sometimes any value, a list of values,
    or something with no leaf at all."""
    roll = rnd.random()
    if near and roll < 0.7:
        return rnd.choice(near)
    if roll < 0.8:
        return rnd.choice(EVENT_POOL)
    if roll < 0.95:
        return [rnd.choice(near + EVENT_POOL) for _ in range(rnd.randint(0, 3))]
    return rnd.choice([{}, [], [[]], [{}]])


def _event_object(
    rnd: random.Random, entries: dict[tuple[str, ...], list[Any]], sparse: bool = False
) -> dict[str, Any]:
    """An object holding (most of) the paths of ``entries``; ``sparse`` ones (array elements)
    miss fields more often, so that an array's elements hold different fields."""
    groups: dict[str, dict[tuple[str, ...], list[Any]]] = {}
    for path, near in entries.items():
        groups.setdefault(path[0], {})[path[1:]] = near
    event: dict[str, Any] = {}
    for name, rest in groups.items():
        if rnd.random() < (0.35 if sparse else 0.07):
            continue  # the field is missing
        here = rest.get(())
        deeper = {path: near for path, near in rest.items() if path}
        if here is not None and (not deeper or rnd.random() < 0.5):
            event[name] = _leaf_value(rnd, here)
            continue
        style = rnd.choice(["object", "array", "array", "array", "dotted", "nested", "aliased"])
        if style == "aliased":
            # The field as an array of objects, and also a dotted key (another route to the
            # paths below it) holding arrays: fields reached both ways share no array.
            event[name] = [_event_object(rnd, deeper, True) for _ in range(rnd.randint(1, 2))]
            sub = rnd.choice(sorted({path[0] for path in deeper}))
            below = {path[1:]: near for path, near in deeper.items() if path[0] == sub}
            here_below = below.pop((), None)
            items: list[Any] = [_event_object(rnd, below, True) for _ in range(rnd.randint(0, 2))]
            if here_below is not None:
                items.append([_leaf_value(rnd, here_below)])
            event[f"{name}.{sub}"] = [items] if rnd.random() < 0.3 else items
        elif style == "dotted" and len(deeper) == 1:
            ((path, near),) = deeper.items()
            event[".".join((name, *path))] = _leaf_value(rnd, near)
        elif style == "array":
            size = rnd.randint(1, 3)
            event[name] = [_event_object(rnd, deeper, True) for _ in range(size)]
        elif style == "nested":
            event[name] = [[_event_object(rnd, deeper, True)], _event_object(rnd, deeper, True)]
        else:
            event[name] = _event_object(rnd, deeper)
    if rnd.random() < 0.2:
        event["z"] = rnd.choice(EVENT_POOL)
    return event


def _event_for(draw: st.DrawFn, pattern: dict[str, Any], near: Any) -> Any:
    """An event built from the pattern's paths, its choices made by a seeded Random."""
    entries: dict[tuple[str, ...], list[Any]] = {}
    for path, items in _leaf_paths(pattern).items():
        entries[tuple(path.split("."))] = near(items)
    return _event_object(draw(SEEDED_RANDOMS), entries)


@st.composite
def patterns_and_events(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    """Any valid pattern, and an event built from its keys and values."""
    pattern = draw(valid_patterns())
    event = _event_for(draw, pattern, lambda items: [v for i in items for v in _values_near(i)])
    return pattern, event


@st.composite
def structures_and_events(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    """A pattern of rich shape under one parent (so that events may hold arrays of objects
    with its fields spread over the elements), with few distinct values, and an event built
    from its keys."""
    inner = draw(_pattern_object(1, frozenset(), STRUCTURAL_VALUE_LISTS))
    pattern: dict[str, Any] = {draw(st.sampled_from(["d", "d.e", ""])): inner}
    if draw(st.integers(0, 3)) == 0:
        pattern["s"] = draw(STRUCTURAL_VALUE_LISTS)
    event = _event_for(draw, pattern, lambda items: STRUCTURAL_VALUES)
    return pattern, event


# --- one field, values drawn from tiny alphabets ----------------------------------------------

# Letters whose cases are odd (ß upper-cases to SS, the Kelvin sign lower-cases to k) next to
# plain ones; all short strings over them, so that they collide often in every combination.
LETTERS = "aAsSßkK\u212a"
TEXTS = [
    "",
    *LETTERS,
    *(first + second for first in LETTERS for second in LETTERS),
    "aßa",
    "SSa",
    "sSK",
    "Kas",
    "aSSa",
    "\u212aSs",
]
SHORT_TEXT = st.sampled_from(TEXTS)
SHORT_NON_EMPTY = st.sampled_from(TEXTS[1:])
TEXT_VALUES = st.sampled_from(TEXTS)
# Wildcards: tokens of a glob, never two stars in a row.
WILDCARD_TOKENS = ["a", "s", "S", "*", "\\*", "\\\\"]
GLOB_VALUES = st.text(alphabet="asS*\\", max_size=4)
IP_TEXTS = [
    "10.0.0.0",
    "10.0.0.1",
    "10.0.0.255",
    "10.0.1.0",
    "010.0.0.1",
    "10.0.0.01",
    "10.0.0.1 ",
    "10.0.0",
    "2001:db8::",
    "2001:db8::1",
    "2001:DB8::1",
    "2001:db8:0:0:0:0:0:1",
    "2001:db8::1:0:0:1",
    "2001:db9::",
    "::1",
    "08:23",
]
SMALL_NUMBERS = [0, -0.0, 1, 1.0, 2, 2.5, -1, 3, 1e-7, 1e300, 123456789012, 123456789012.0]
# Numbers that are not exact doubles (compared by text only) next to their nearest doubles;
# 2**63 == float(2**63) in Python, but 2**63 does not round-trip through its double's text.
ODD_NUMBERS = [2**53 + 1, 9007199254740992.0, 12345678901234567891, 10**400, 2**63, 2.0**63]
NUMBER_VALUES = st.sampled_from([*SMALL_NUMBERS, *ODD_NUMBERS, True, False, None, "1", "0"])


@st.composite
def _glob(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(st.sampled_from(WILDCARD_TOKENS), max_size=4))
    kept = [
        token
        for index, token in enumerate(tokens)
        if token != "*" or tokens[index - 1 : index] != ["*"]
    ]
    return "".join(kept)


@st.composite
def _numeric_range(draw: st.DrawFn) -> list[Any]:
    if draw(st.booleans()):
        return [draw(st.sampled_from(NUMERIC_OPERATORS)), draw(st.sampled_from(SMALL_NUMBERS))]
    low, high = draw(
        st.lists(st.sampled_from(SMALL_NUMBERS), min_size=2, max_size=2, unique_by=float).map(
            lambda pair: sorted(pair, key=float)
        )
    )
    return [draw(st.sampled_from([">", ">="])), low, draw(st.sampled_from(["<", "<="])), high]


def _text_or_texts(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.one_of(text, st.lists(text, min_size=1, max_size=2))


# (conditions, values) families: a value list of one operator kind and event values of the
# kinds that operator cares about, plus a few of other kinds.
_FAMILIES: list[tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = [
    (
        st.one_of(SHORT_TEXT, st.sampled_from(IP_TEXTS)),
        st.one_of(TEXT_VALUES, st.sampled_from(IP_TEXTS)),
    ),
    (
        st.fixed_dictionaries({"exactly": st.one_of(SHORT_TEXT, st.sampled_from(IP_TEXTS))}),
        st.one_of(TEXT_VALUES, st.sampled_from(IP_TEXTS)),
    ),
    (st.fixed_dictionaries({"equals-ignore-case": SHORT_TEXT}), TEXT_VALUES),
    (st.fixed_dictionaries({"prefix": SHORT_TEXT}), TEXT_VALUES),
    (st.fixed_dictionaries({"suffix": SHORT_TEXT}), TEXT_VALUES),
    (
        st.fixed_dictionaries(
            {"prefix": st.fixed_dictionaries({"equals-ignore-case": SHORT_TEXT})}
        ),
        TEXT_VALUES,
    ),
    (
        st.fixed_dictionaries(
            {"suffix": st.fixed_dictionaries({"equals-ignore-case": SHORT_TEXT})}
        ),
        TEXT_VALUES,
    ),
    (st.fixed_dictionaries({"wildcard": _glob()}), GLOB_VALUES),
    (st.fixed_dictionaries({"anything-but": _text_or_texts(SHORT_TEXT)}), TEXT_VALUES),
    (
        st.fixed_dictionaries(
            {"anything-but": st.fixed_dictionaries({"prefix": _text_or_texts(SHORT_NON_EMPTY)})}
        ),
        TEXT_VALUES,
    ),
    (
        st.fixed_dictionaries(
            {"anything-but": st.fixed_dictionaries({"suffix": _text_or_texts(SHORT_NON_EMPTY)})}
        ),
        TEXT_VALUES,
    ),
    (
        st.fixed_dictionaries(
            {
                "anything-but": st.fixed_dictionaries(
                    {"equals-ignore-case": _text_or_texts(SHORT_TEXT)}
                )
            }
        ),
        TEXT_VALUES,
    ),
    (
        st.fixed_dictionaries(
            {"anything-but": st.fixed_dictionaries({"wildcard": _text_or_texts(_glob())})}
        ),
        GLOB_VALUES,
    ),
    (st.sampled_from([*SMALL_NUMBERS, *ODD_NUMBERS, True, False, None]), NUMBER_VALUES),
    (
        st.fixed_dictionaries(
            {
                "anything-but": st.one_of(
                    st.sampled_from(SMALL_NUMBERS),
                    st.lists(st.sampled_from(SMALL_NUMBERS), min_size=1, max_size=2),
                )
            }
        ),
        NUMBER_VALUES,
    ),
    (st.fixed_dictionaries({"numeric": _numeric_range()}), NUMBER_VALUES),
    (st.fixed_dictionaries({"cidr": st.sampled_from(CIDRS)}), st.sampled_from(IP_TEXTS)),
    (st.fixed_dictionaries({"exists": st.booleans()}), st.sampled_from(["", 0, None, False])),
]


@st.composite
def fields_and_values(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    """A one-field pattern (one or two conditions) and an event whose field holds a value, a
    list of values, or nothing. Values are mostly look-alikes of the pattern's operands (one
    letter's case flipped, ß for SS, 5.0 for 5, another spelling of the same IP address...),
    otherwise drawn from the same tiny sets as the operands, so near misses are common."""
    families = draw(st.lists(st.sampled_from(_FAMILIES), min_size=1, max_size=2))
    conditions = [draw(condition) for condition, _ in families]
    near = [value for condition in conditions for value in _values_near(condition)]
    others = [draw(st.lists(value, min_size=4, max_size=4)) for _, value in families]
    pool = [*(v for drawn in others for v in drawn), "", "a", 1, 0, None, True, False]
    rnd = draw(SEEDED_RANDOMS)

    def pick() -> Any:
        return rnd.choice(near) if near and rnd.random() < 0.7 else rnd.choice(pool)

    roll = rnd.random()
    if roll < 0.75:
        event: dict[str, Any] = {"field": pick()}
    elif roll < 0.95:
        event = {"field": [pick() for _ in range(rnd.randint(1, 3))]}
    else:
        event = rnd.choice([{}, {"field": {}}, {"field": []}, {"other": "a"}])
    return {"field": conditions}, event


# --- small domains, for exhaustive comparison ---------------------------------------------


def _globs() -> list[str]:
    """Every glob of up to three tokens over a, S, a star, an escaped star and an escaped
    backslash, without two stars in a row."""
    tokens = ["a", "S", "*", "\\*", "\\\\"]
    globs = [""]
    frontier = [("", "")]
    for _ in range(3):
        frontier = [
            (glob + token, token)
            for glob, last in frontier
            for token in tokens
            if not (token == "*" and last == "*")
        ]
        globs += [glob for glob, _ in frontier]
    return globs


def _strings(alphabet: str, longest: int) -> list[str]:
    """Every string over ``alphabet`` up to ``longest`` characters."""
    return [
        "".join(chars)
        for size in range(longest + 1)
        for chars in itertools.product(alphabet, repeat=size)
    ]


def small_domains() -> dict[str, tuple[list[Any], list[Any]]]:
    """For each operator family: every condition of a small domain, and every event value of a
    small domain (plus values of the other kinds). Small enough to try all pairs."""
    texts = TEXTS
    non_empty = TEXTS[1:]
    other_kinds: list[Any] = [None, True, False, 0, 1, 1.0, "", [], {}]
    text_values = [*texts, *other_kinds]
    globs = _globs()
    glob_values = [*_strings("aS*\\", 3), *other_kinds]
    numbers = [*SMALL_NUMBERS, *ODD_NUMBERS, 2**53, 9007199254740993.0]
    number_values = [*numbers, True, False, None, "1", "0", "1.0", "", [], {}]
    comparable_numbers = SMALL_NUMBERS
    single_bounds = [[op, n] for op in NUMERIC_OPERATORS for n in comparable_numbers]
    ranges = [
        [low_op, low, high_op, high]
        for low in comparable_numbers
        for high in comparable_numbers
        if float(low) < float(high)
        for low_op in (">", ">=")
        for high_op in ("<", "<=")
    ]
    ip_values = [*IP_TEXTS, *other_kinds]
    cidrs = [*CIDRS, "10.0.0.0/24", "10.0.0.128/25", "2001:db8::/64", "2001:db8::/126"]
    return {
        "exact strings and IP addresses": ([*texts, *IP_TEXTS], [*text_values, *IP_TEXTS]),
        "exactly": ([{"exactly": t} for t in [*texts, *IP_TEXTS]], [*text_values, *IP_TEXTS]),
        "equals-ignore-case": ([{"equals-ignore-case": t} for t in texts], text_values),
        "prefix": ([{"prefix": t} for t in texts], text_values),
        "suffix": ([{"suffix": t} for t in texts], text_values),
        "prefix ignoring case": (
            [{"prefix": {"equals-ignore-case": t}} for t in texts],
            text_values,
        ),
        "suffix ignoring case": (
            [{"suffix": {"equals-ignore-case": t}} for t in texts],
            text_values,
        ),
        "wildcard": ([{"wildcard": g} for g in globs], glob_values),
        "anything-but strings": (
            [{"anything-but": t} for t in texts] + [{"anything-but": [t, "a"]} for t in texts],
            text_values,
        ),
        "anything-but prefix": ([{"anything-but": {"prefix": t}} for t in non_empty], text_values),
        "anything-but suffix": ([{"anything-but": {"suffix": t}} for t in non_empty], text_values),
        "anything-but ignoring case": (
            [{"anything-but": {"equals-ignore-case": t}} for t in texts],
            text_values,
        ),
        "anything-but wildcard": (
            [{"anything-but": {"wildcard": g}} for g in globs],
            glob_values,
        ),
        "exact numbers and literals": ([*numbers, True, False, None], number_values),
        "anything-but numbers": (
            [{"anything-but": n} for n in comparable_numbers]
            + [{"anything-but": [n, 2.5]} for n in comparable_numbers],
            number_values,
        ),
        "numeric": ([{"numeric": bounds} for bounds in single_bounds + ranges], number_values),
        "cidr": ([{"cidr": block} for block in cidrs], ip_values),
        "exists": ([{"exists": True}, {"exists": False}], [*text_values, *number_values]),
    }
