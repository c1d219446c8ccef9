"""A compiled pattern: validated once, then matched (and explained) as often as needed."""

from __future__ import annotations

import json

from lambdakit.filtering._codegen import generate
from lambdakit.filtering._match import (
    expand,
    flatten,
    general_match,
    path_prefixes,
    rule_matches,
)
from lambdakit.filtering._parse import parse
from lambdakit.filtering._tree import Leaf, Node

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lambdakit.filtering._match import Field, Rule


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
        fields = flatten(event)
        failure = _first_failure(self.root, None, fields)
        if failure is not None:
            return failure
        rules = self._alternatives()
        shared = sorted({p for rule in rules for p in rule if "." in p})
        return (
            (
                "every field matches on its own, but not within one element of the array they "
                f"share (fields: {', '.join(shared) or 'n/a'})"
            )
            if not any(rule_matches(rule, fields) for rule in rules)
            else "no match"
        )

    def __repr__(self) -> str:
        text = self.source if isinstance(self.source, str) else json.dumps(self.source, default=str)
        if len(text) > 80:
            text = text[:77] + "..."
        return f"Pattern({text})"


def compile_pattern(pattern: Any) -> Pattern:
    """Validate ``pattern`` (a dict, or JSON text) and compile it for matching.

    Every rule AWS enforces is checked here; a violation raises
    :class:`~lambdakit.errors.FilterPatternError` naming the path and the rule.
    """
    if isinstance(pattern, Pattern):
        return pattern
    return Pattern(pattern)


# --- explanations ------------------------------------------------------------------------------


def _first_failure(node: Node, path: str | None, fields: dict[str, list[Field]]) -> str | None:
    if node.leaf is not None and path is not None:
        failure = _leaf_failure(node.leaf, path, [value for value, _ in fields.get(path, ())])
        if failure is not None:
            return failure
    for segment, child in node.children.items():
        failure = _first_failure(child, segment if path is None else f"{path}.{segment}", fields)
        if failure is not None:
            return failure
    for branches in node.ors:
        failures = [_first_failure(branch, path, fields) for branch in branches]
        if all(f is not None for f in failures):
            where = f"{path}.$or" if path else "$or"
            return f"{where}: none of the {len(branches)} alternatives matches ({failures[0]})"
    return None


def _leaf_failure(leaf: Leaf, path: str, found: list[Any]) -> str | None:
    if any(leaf.matches_value(value) for value in found) or (leaf.absent_ok and not found):
        return None
    exact_only = all(type(c).__name__ == "Exact" for c in leaf.conditions) and not leaf.absent_ok
    rule = leaf.describe()
    if not found:
        expected = f"one of {rule}" if exact_only else f"a value matching {rule}"
        return f"{path}: missing (expected {expected})"
    shown = _show(found[0]) if len(found) == 1 else "none of " + _show(found)
    if exact_only:
        return f"{path}: {shown} is not one of {rule}"
    return f"{path}: {shown} does not match {rule}"


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
