"""A compiled pattern: validated once, then matched (and explained) as often as needed."""

from __future__ import annotations

import json

from lambdakit.filtering import _values as values
from lambdakit.filtering._codegen import generate
from lambdakit.filtering._match import (
    expand,
    flatten,
    general_match,
    path_prefixes,
    rule_matches,
)
from lambdakit.filtering._parse import dump_json, parse
from lambdakit.filtering._tree import Leaf, Node, walk

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lambdakit.filtering._match import Flat, Rule


class Pattern:
    """An event pattern compiled for matching. Build it with :func:`compile_pattern`.

    ``matches`` never raises, whatever JSON value it is given; ``explain`` says why an event
    does not match. ``source`` is the pattern as given (dict or JSON text).
    """

    __slots__ = ("_relevant", "_rules", "matches", "root", "source")

    matches: Callable[[Any], bool]
    """``matches(event)``: whether ``event`` (parsed JSON) matches, exactly as AWS decides.
    Never raises. (A generated function, not a method: one call per event.)"""

    def __init__(self, pattern: Any) -> None:
        self.source = pattern
        self.root: Node = parse(pattern)
        self._rules: list[Rule] | None = None
        self._relevant: set[str] | None = None
        self.matches = generate(self.root, self._general)

    def _alternatives(self) -> list[Rule]:
        if self._rules is None:
            self._rules = expand(self.root)
        return self._rules

    def _general(self, event: Any) -> bool:
        """event-ruler's algorithm, for what the generated fast path cannot decide."""
        try:
            rules = self._alternatives()
            if self._relevant is None:
                self._relevant = path_prefixes(rules)
            return general_match(rules, event, self._relevant)
        except Exception:
            return False

    def __call__(self, event: Any) -> bool:
        return self.matches(event)

    def explain(self, event: Any) -> str | None:
        """``None`` when ``event`` matches; otherwise the first path and rule that failed,
        e.g. ``detail.state: "pending" is not one of ["running", "stopped"]``."""
        if self.matches(event):
            return None
        rules = self._alternatives()
        if self._relevant is None:
            self._relevant = path_prefixes(rules)
        flat = flatten(event, self._relevant)
        failure = _first_failure(self.root, flat)
        if failure is not None:
            return failure
        shared = sorted({p for rule in rules for p in rule if "." in p})
        groups: dict[Any, Any] = {}
        return (
            (
                "every field matches on its own, but not within one element of the array they "
                f"share (fields: {', '.join(shared) or 'n/a'})"
            )
            if not any(rule_matches(rule, flat, groups) for rule in rules)
            else "no match"
        )

    def __repr__(self) -> str:
        source = self.source
        if not isinstance(source, str):
            try:
                source = dump_json(source)
            except (TypeError, ValueError):
                source = repr(source)
        return f"Pattern({_clip(source)})"


def compile_pattern(pattern: Any) -> Pattern:
    """Validate ``pattern`` (a dict, or JSON text) and compile it for matching.

    Every rule AWS enforces is checked here; a violation raises
    :class:`~lambdakit.errors.FilterPatternError` naming the path and the rule.
    """
    if isinstance(pattern, Pattern):
        return pattern
    return Pattern(pattern)


# --- explanations ------------------------------------------------------------------------------


def _first_failure(root: Node, flat: Flat) -> str | None:
    """The first failure in the pattern's order: a node's own value list, then its fields in
    order, then its ``$or`` groups (all branches failing). Computed children first, without
    recursion (a pattern may nest a thousand levels)."""
    failures: dict[int, str | None] = {}
    for node, path, _ in reversed(walk(root)):
        failure = None
        if node.leaf is not None and path is not None:
            failure = _leaf_failure(node.leaf, path, flat.values(path))
        if failure is None:
            failure = next(
                (f for f in (failures[id(c)] for c in node.children.values()) if f is not None),
                None,
            )
        if failure is None:
            for branches in node.ors:
                found = [failures[id(branch)] for branch in branches]
                if all(f is not None for f in found):
                    where = f"{path}.$or" if path else "$or"
                    failure = (
                        f"{where}: none of the {len(branches)} alternatives matches ({found[0]})"
                    )
                    break
        failures[id(node)] = failure
    return failures[id(root)]


def _leaf_failure(leaf: Leaf, path: str, found: list[Any]) -> str | None:
    if any(leaf.matches_value(value) for value in found) or (leaf.absent_ok and not found):
        return None
    exact_only = all(type(c).__name__ == "Exact" for c in leaf.conditions) and not leaf.absent_ok
    rule = _clip(leaf.describe(), 200)
    if not found:
        expected = f"one of {rule}" if exact_only else f"a value matching {rule}"
        return f"{path}: missing (expected {expected})"
    if len(found) == 1:
        shown = _show(found[0])
    else:
        more = f", ... {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
        shown = "none of [" + ", ".join(_show(v) for v in found[:_SHOWN]) + more + "]"
    if exact_only:
        return f"{path}: {shown} is not one of {rule}"
    return f"{path}: {shown} does not match {rule}"


_SHOWN = 10  # values listed in an explanation


def _show(value: Any) -> str:
    """A value of the event for an explanation: its JSON, shortened when long. An integer too
    long for Python to write as text is described instead."""
    if value.__class__ is int and values.event_number_text(value) is None:
        return f"<an integer of {value.bit_length()} bits>"
    if value.__class__ is int:  # json.dumps obeys sys.set_int_max_str_digits(); this does not
        return _clip(values.int_text(value))
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # an integer nested in a list or object, past a lowered digit limit
        text = f"<a {type(value).__name__} holding a number too long to show>"
    return _clip(text)


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text)} characters)"
