"""A parsed pattern: nodes (fields ANDed, ``$or`` branches) and leaves (value lists ORed).

Each condition tests one *leaf value* of the event (a string, a number, ``true``, ``false`` or
``null``): event-ruler flattens arrays into their elements and gives objects no value of their
own, so conditions never see containers. ``exists`` is the exception: ``exists: false`` is a
property of a field having no value at all, which :class:`Leaf` handles.
"""

from __future__ import annotations

import json

from lambdakit.filtering import _values as values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


class Condition:
    """One element of a value list."""

    __slots__ = ()

    def test(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class Exact(Condition):
    """A literal: string (an IP-address string compares as an address), number, bool, null."""

    __slots__ = ("ip", "number", "text", "value")

    def __init__(self, value: Any, *, ip: bool = True) -> None:
        self.value = value
        self.ip = values.ip_of(value) if ip and isinstance(value, str) else None
        self.number = values.comparable(value) if values.is_number(value) else None
        self.text = values.number_text(value) if values.is_number(value) else None

    def test(self, value: Any) -> bool:
        expected = self.value
        if expected.__class__ is str:
            if value.__class__ is not str:
                return False
            if self.ip is not None:
                return values.ip_of(value) == self.ip
            return bool(value == expected)
        if self.text is not None:
            if not values.is_number(value):
                return False
            if self.number is not None and values.comparable(value) == self.number:
                return True
            return values.event_number_text(value) == self.text
        return value is expected  # True, False, None

    def describe(self) -> str:
        return _json(self.value)


class Prefix(Condition):
    __slots__ = ("ignore_case", "text")

    def __init__(self, text: str, *, ignore_case: bool = False) -> None:
        self.text = text
        self.ignore_case = values.IgnoreCase(text, "prefix") if ignore_case else None

    def test(self, value: Any) -> bool:
        if value.__class__ is not str:
            return False
        if self.ignore_case is not None:
            return self.ignore_case.matches(value)
        return value.startswith(self.text)

    def describe(self) -> str:
        inner = {"equals-ignore-case": self.text} if self.ignore_case else self.text
        return _json({"prefix": inner})


class Suffix(Condition):
    __slots__ = ("ignore_case", "text")

    def __init__(self, text: str, *, ignore_case: bool = False) -> None:
        self.text = text
        self.ignore_case = values.IgnoreCase(text, "suffix") if ignore_case else None

    def test(self, value: Any) -> bool:
        if value.__class__ is not str:
            return False
        if self.ignore_case is not None:
            return self.ignore_case.matches(value)
        return value.endswith(self.text)

    def describe(self) -> str:
        inner = {"equals-ignore-case": self.text} if self.ignore_case else self.text
        return _json({"suffix": inner})


class EqualsIgnoreCase(Condition):
    __slots__ = ("matcher",)

    def __init__(self, text: str) -> None:
        self.matcher = values.IgnoreCase(text)

    def test(self, value: Any) -> bool:
        return value.__class__ is str and self.matcher.matches(value)

    def describe(self) -> str:
        return _json({"equals-ignore-case": self.matcher.text})


class Wildcard(Condition):
    __slots__ = ("pieces", "source")

    def __init__(self, pieces: tuple[str, ...], source: str = "") -> None:
        self.pieces = pieces
        self.source = source or "*".join(
            p.replace("\\", "\\\\").replace("*", "\\*") for p in pieces
        )

    def test(self, value: Any) -> bool:
        return value.__class__ is str and values.wildcard_matches(self.pieces, value)

    def describe(self) -> str:
        return _json({"wildcard": self.source})


class Numeric(Condition):
    __slots__ = ("high", "high_inclusive", "low", "low_inclusive")

    def __init__(
        self, low: float | None, low_inclusive: bool, high: float | None, high_inclusive: bool
    ) -> None:
        self.low = low
        self.low_inclusive = low_inclusive
        self.high = high
        self.high_inclusive = high_inclusive

    def test(self, value: Any) -> bool:
        number = values.comparable(value) if values.is_number(value) else None
        if number is None:
            return False
        low, high = self.low, self.high
        if low is not None and (number < low or (number == low and not self.low_inclusive)):
            return False
        return high is None or number < high or (number == high and self.high_inclusive)

    def describe(self) -> str:
        if self.low is not None and self.low == self.high:
            terms: list[Any] = ["=", self.low]
        else:
            terms = []
            if self.low is not None:
                terms += [">=" if self.low_inclusive else ">", self.low]
            if self.high is not None:
                terms += ["<=" if self.high_inclusive else "<", self.high]
        return _json({"numeric": [_plain_number(t) for t in terms]})


class Cidr(Condition):
    __slots__ = ("first", "last", "source", "version")

    def __init__(self, block: tuple[int, int, int], source: str = "") -> None:
        self.version, self.first, self.last = block
        self.source = source

    def test(self, value: Any) -> bool:
        if value.__class__ is not str:
            return False
        found = values.ip_of(value)
        return (
            found is not None and found[0] == self.version and self.first <= found[1] <= self.last
        )

    def describe(self) -> str:
        return _json({"cidr": self.source})


class Exists(Condition):
    """``exists: true`` holds for any leaf value (``null`` and ``""`` included);
    ``exists: false`` holds for no value and is decided by :class:`Leaf`."""

    __slots__ = ("present",)

    def __init__(self, present: bool) -> None:
        self.present = present

    def test(self, value: Any) -> bool:
        return self.present

    def describe(self) -> str:
        return _json({"exists": self.present})


class AnythingBut(Condition):
    """A value passes unless the exclusion matches it; values of another kind (a number against
    strings, ``null``, booleans) cannot be excluded and pass. A missing field never passes."""

    __slots__ = ("ignore_case", "numbers", "prefixes", "strings", "suffixes", "wildcards")

    def __init__(
        self,
        *,
        strings: frozenset[str] = frozenset(),
        numbers: frozenset[float] = frozenset(),
        prefixes: tuple[str, ...] = (),
        suffixes: tuple[str, ...] = (),
        ignore_case: tuple[values.IgnoreCase, ...] = (),
        wildcards: tuple[Wildcard, ...] = (),
    ) -> None:
        self.strings = strings
        self.numbers = numbers
        self.prefixes = prefixes
        self.suffixes = suffixes
        self.ignore_case = ignore_case
        self.wildcards = wildcards

    def test(self, value: Any) -> bool:
        if value.__class__ is str:
            if value in self.strings:
                return False
            if self.prefixes and value.startswith(self.prefixes):
                return False
            if self.suffixes and value.endswith(self.suffixes):
                return False
            if any(m.matches(value) for m in self.ignore_case):
                return False
            return not any(w.test(value) for w in self.wildcards)
        if self.numbers and values.is_number(value):
            return values.comparable(value) not in self.numbers
        return True

    def describe(self) -> str:
        if self.strings:
            excluded: Any = sorted(self.strings)
        elif self.numbers:
            excluded = sorted(_plain_number(n) for n in self.numbers)
        elif self.prefixes:
            excluded = {"prefix": list(self.prefixes)}
        elif self.suffixes:
            excluded = {"suffix": list(self.suffixes)}
        elif self.ignore_case:
            excluded = {"equals-ignore-case": [m.text for m in self.ignore_case]}
        else:
            excluded = {"wildcard": [w.source for w in self.wildcards]}
        if isinstance(excluded, list) and len(excluded) == 1:
            excluded = excluded[0]
        return _json({"anything-but": excluded})


class Leaf:
    """A value list: matches when some value of the field satisfies some condition, or when
    the field has no value and the list contains ``{"exists": false}``."""

    __slots__ = ("_tests", "absent_ok", "conditions", "exact_strings", "only_exact_strings")

    def __init__(self, conditions: list[Condition]) -> None:
        self.conditions = tuple(
            c for c in conditions if not (isinstance(c, Exists) and not c.present)
        )
        self.absent_ok = len(self.conditions) != len(conditions)
        # The common shape (a list of plain strings) gets a set lookup.
        exact = [c for c in self.conditions if isinstance(c, Exact)]
        self.exact_strings = frozenset(
            c.value for c in exact if c.value.__class__ is str and c.ip is None
        )
        self.only_exact_strings = len(self.exact_strings) == len(self.conditions) and bool(
            self.conditions
        )
        self._tests = tuple(c.test for c in self.conditions)

    def matches_value(self, value: Any) -> bool:
        """Whether one leaf value (never a container) satisfies the list."""
        if value.__class__ is str and value in self.exact_strings:
            return True
        if self.only_exact_strings:
            return False
        for test in self._tests:  # noqa: SIM110 - a loop is faster than any() over a genexpr
            if test(value):
                return True
        return False

    def describe(self) -> str:
        parts = [c.describe() for c in self.conditions]
        if self.absent_ok:
            parts.append(_json({"exists": False}))
        return "[" + ", ".join(parts) + "]"


class Node:
    """An object of the pattern: ``children`` by path segment (all must match), its own
    ``leaf`` (when the pattern names this exact path too, e.g. ``a`` and ``a.b``), and ``ors``,
    each a list of branches of which one must match."""

    __slots__ = ("children", "leaf", "ors")

    def __init__(self) -> None:
        self.children: dict[str, Node] = {}
        self.leaf: Leaf | None = None
        self.ors: list[list[Node]] = []


def walk(root: Node) -> list[tuple[Node, str | None, int]]:
    """Every node under ``root`` with its path (``None`` for the root; a ``$or`` branch has its
    parent's) and its depth (1 for the root), parents before children. A loop, not recursion:
    a pattern may nest a thousand levels, and the callers that need children first read the
    list backwards."""
    frames: list[tuple[Node, str | None, int]] = [(root, None, 1)]
    for node, path, depth in frames:  # the list grows as it is read
        for segment, child in node.children.items():
            frames.append((child, segment if path is None else f"{path}.{segment}", depth + 1))
        frames.extend((b, path, depth + 1) for branches in node.ors for b in branches)
    return frames


def _plain_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
