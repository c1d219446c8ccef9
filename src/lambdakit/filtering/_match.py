"""Deciding whether an event matches a parsed pattern: a fast path and the general algorithm.

The general algorithm is event-ruler's: the event is flattened into fields (a dotted path, a
leaf value, and the array elements the value sits in), the pattern is expanded into its
``$or`` alternatives, and an alternative matches when every path has a field satisfying its
value list, all chosen fields lying in the same element of any array they share, paths taken
in sorted order (which is what makes ``exists: false`` inside arrays of objects behave as it
does in AWS).

Most events never need that: the generated fast path (:mod:`lambdakit.filtering._codegen`)
decides them with dictionary lookups, and raises :class:`Undecided` for what only the general
algorithm can decide. ``leaf_test`` is the value-list check both share.
"""

from __future__ import annotations

from lambdakit.filtering._tree import MISSING, Leaf, Node

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    Membership = dict[int, int]
    Field = tuple[Any, Membership]
    Rule = dict[str, Leaf]


class Undecided(Exception):
    """The fast path cannot decide this event; the general algorithm must."""


# --- the general algorithm -------------------------------------------------------------------


def flatten(event: Any, relevant: set[str] | None = None) -> dict[str, list[Field]]:
    """Every leaf value of ``event`` by dotted path, with the array elements it sits in
    (``{array id: index}``). Empty arrays and objects contribute nothing; an array's primitive
    elements are values of the array's own path. Iterative, so deep events cannot overflow.
    With ``relevant`` (every prefix of every path a pattern names), the rest is not visited."""
    fields: dict[str, list[Field]] = {}
    if not isinstance(event, dict):
        return fields
    arrays = 0
    stack: list[tuple[Any, str | None, Membership]] = [(event, None, {})]
    while stack:
        value, path, membership = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                name = str(key) if path is None else f"{path}.{key}"
                if relevant is None or name in relevant:
                    stack.append((item, name, membership))
        elif isinstance(value, (list, tuple)):
            array = arrays
            arrays += 1
            for index, item in enumerate(value):
                if isinstance(item, (dict, list, tuple)):
                    stack.append((item, path, {**membership, array: index}))
                else:
                    stack.append((item, path, membership))
        elif path is not None:
            fields.setdefault(path, []).append((value, membership))
    return fields


def expand(node: Node, prefix: str | None = None) -> list[Rule]:
    """The pattern as its ``$or`` alternatives: each a path → value list mapping."""
    rules: list[Rule] = (
        [{prefix: node.leaf}] if node.leaf is not None and prefix is not None else [{}]
    )
    for segment, child in node.children.items():
        path = segment if prefix is None else f"{prefix}.{segment}"
        below = expand(child, path)
        rules = [{**rule, **more} for rule in rules for more in below]
    for branches in node.ors:
        alternatives = [rule for branch in branches for rule in expand(branch, prefix)]
        rules = [{**rule, **more} for rule in rules for more in alternatives]
    return rules


def consistent(first: Membership, second: Membership) -> bool:
    """Whether two fields can belong to one match: no array in which they sit apart."""
    if len(first) > len(second):
        first, second = second, first
    for array, index in first.items():
        other = second.get(array)
        if other is not None and other != index:
            return False
    return True


def rule_matches(rule: Rule, fields: dict[str, list[Field]]) -> bool:
    paths = sorted(rule)

    def search(position: int, membership: Membership) -> bool:
        if position == len(paths):
            return True
        path = paths[position]
        leaf = rule[path]
        candidates = [f for f in fields.get(path, ()) if consistent(f[1], membership)]
        for value, where in candidates:
            if leaf.matches_value(value) and search(position + 1, {**membership, **where}):
                return True
        return leaf.absent_ok and not candidates and search(position + 1, membership)

    return search(0, {})


def general_match(rules: list[Rule], event: Any, relevant: set[str] | None = None) -> bool:
    fields = flatten(event, relevant)
    return any(rule_matches(rule, fields) for rule in rules)


def path_prefixes(rules: list[Rule]) -> set[str]:
    """Every prefix of every path the rules name (``a``, ``a.b`` for ``a.b.c``) and the paths."""
    found: set[str] = set()
    for rule in rules:
        for path in rule:
            parts = path.split(".")
            found.update(".".join(parts[:length]) for length in range(1, len(parts) + 1))
    return found


# --- the fast path ---------------------------------------------------------------------------


def leaf_values(value: Any) -> Iterator[Any]:
    """The leaf values an array holds at its own path (nested arrays flattened; objects hold
    none there)."""
    for item in value:
        if isinstance(item, (list, tuple)):
            yield from leaf_values(item)
        elif not isinstance(item, dict):
            yield item


def leaf_test(leaf: Leaf) -> Callable[[Any], bool]:
    """Whether the event value at the leaf's path (a value, an array, an object, or MISSING)
    satisfies the leaf. Plain-string lists are one set lookup."""
    strings = leaf.exact_strings
    only_strings = leaf.only_exact_strings
    absent_ok = leaf.absent_ok
    conditions = leaf.conditions
    matches_value = leaf.matches_value

    def test_nested(value: Any) -> bool:
        seen = False
        for item in leaf_values(value):
            if matches_value(item):
                return True
            seen = True
        return absent_ok and not seen

    def test(value: Any) -> bool:
        kind = value.__class__
        if kind is str:
            if value in strings:
                return True
            if only_strings:
                return False
            return any(c.test(value) for c in conditions)
        if value is MISSING or kind is dict:
            return absent_ok
        if kind is list or kind is tuple:
            seen = False
            for item in value:
                item_kind = item.__class__
                if item_kind is dict:
                    continue  # an object has no value at this path
                if item_kind is list or item_kind is tuple or isinstance(item, (list, dict)):
                    return test_nested(value)
                if matches_value(item):
                    return True
                seen = True
            return absent_ok and not seen
        if isinstance(value, dict):
            return absent_ok
        return any(c.test(value) for c in conditions)

    return test
