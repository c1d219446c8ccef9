"""The fast path, generated as one Python function per pattern.

A pattern is compiled once and matched against thousands of events, so its tree is turned into
straight-line code: one dictionary lookup per field, and for the most common value list (plain
strings) an inline type check and set lookup, which is what a hand-written predicate does. No
user text ever becomes code: field names enter as string literals (``repr``) and every value
set or test is passed in as a constant of the generated function's namespace.

The generated function answers only while the pattern's paths cross objects; on an array on the
way to a field, or an event key with a dot that could alias a path, it hands the event to the
general algorithm (see :mod:`lambdakit.filtering._match`). It never raises.
"""

from __future__ import annotations

from lambdakit.filtering._match import Undecided, leaf_test, node_test
from lambdakit.filtering._tree import MISSING

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lambdakit.filtering._tree import Leaf, Node


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {}
        self.counter = 0

    def constant(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{len(self.constants)}"
        self.constants[name] = value
        return name

    def variable(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)


def generate(root: Node, general: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """``match(event) -> bool`` for the pattern ``root``; ``general`` decides what the
    generated code cannot.

    A key with a dot in the event (``{"detail.state": ...}``) is another route to a path, so it
    can add values to a field. More values can only turn a failed check into a match, except
    for ``exists: false``; so such keys are looked for before a field with ``exists: false``
    below it, and otherwise only once a check has failed (``miss``), which keeps the matching
    path free of them.
    """

    if _overrides(root):
        # A $or branch redefines a path its parent defines: the branch's value list replaces
        # the parent's in that alternative, which only the expanded form expresses.
        return general

    has_alias = _alias_finder(root)

    def miss(event: Any) -> bool:
        return general(event) if has_alias(event) else False

    writer = _Writer()
    writer.emit(0, "def match(e):")
    writer.emit(1, "if e.__class__ is not dict:")
    writer.emit(2, "if not isinstance(e, dict):")
    writer.emit(3, "e = EMPTY")
    writer.emit(1, "try:")
    _object_body(writer, root, "e", 2)
    writer.emit(1, "except Undecided:")
    writer.emit(2, "return general(e)")
    writer.emit(1, "except Exception:")
    writer.emit(2, "return general(e)")
    writer.emit(1, "return True")
    constants: dict[str, Any] = {
        "EMPTY": {},
        "M": MISSING,
        "Undecided": Undecided,
        "general": general,
        "miss": miss,
        **writer.constants,
    }
    # The constants are closure cells of ``match`` (a cell read costs less than a global's,
    # and, unlike defaults, nothing per call).
    names = ", ".join(constants)
    source = [f"def build({names}):", *("    " + line for line in writer.lines), "    return match"]
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(source), "<lambdakit pattern>", "exec"), namespace)
    match: Callable[[Any], bool] = namespace["build"](**constants)
    return match


# A route to the current path: for each object on the way, its variable and the segments that
# remain from it (a key joining several of them, with dots, reaches the same path).
Route = tuple[tuple[str, tuple[str, ...]], ...]


def _object_body(writer: _Writer, node: Node, obj: str, depth: int, route: Route = ()) -> None:
    """Checks for the fields of ``node`` in the dict named ``obj``."""
    for segment, child in node.children.items():
        if _absent_ok_below(child):
            for alias in _aliases(segment, child):
                writer.emit(depth, f"if {alias!r} in {obj}:")
                writer.emit(depth + 1, "raise Undecided")
        value = writer.variable()
        writer.emit(depth, f"{value} = {obj}.get({segment!r}, M)")
        below = (*tuple((o, (*rest, segment)) for o, rest in route), (obj, (segment,)))
        _node(writer, child, value, depth, below)
    for branches in node.ors:
        tests = [writer.constant("B", node_test(branch)) for branch in branches]
        writer.emit(depth, f"if not ({' or '.join(f'{t}({obj})' for t in tests)}):")
        writer.emit(depth + 1, "return miss(e)")


def _node(writer: _Writer, node: Node, value: str, depth: int, route: Route) -> None:
    """Checks for the event value named ``value`` at ``node``'s path."""
    if node.leaf is not None:
        _leaf(writer, node.leaf, value, depth, _failure(route))
    if not (node.children or node.ors):
        return
    obj = writer.variable()
    writer.emit(depth, f"if {value}.__class__ is dict:")
    writer.emit(depth + 1, f"{obj} = {value}")
    writer.emit(depth, f"elif {value}.__class__ is list or isinstance({value}, (list, tuple)):")
    writer.emit(depth + 1, "raise Undecided")
    writer.emit(depth, f"elif isinstance({value}, dict):")
    writer.emit(depth + 1, f"{obj} = {value}")
    writer.emit(depth, "else:")
    writer.emit(depth + 1, f"{obj} = EMPTY")
    _object_body(writer, node, obj, depth, route)


def _failure(route: Route) -> str:
    """The statement ending a failed check: ``False``, unless a dotted key on the route could
    hold more values for this path (then the general algorithm decides)."""
    checks = [
        f"{'.'.join(rest[:length])!r} in {obj}"
        for obj, rest in route
        for length in range(2, len(rest) + 1)
    ]
    if not checks:
        return "return False"
    return f"return general(e) if {' or '.join(checks)} else False"


def _leaf(writer: _Writer, leaf: Leaf, value: str, depth: int, failure: str) -> None:
    test = writer.constant("L", leaf_test(leaf))
    if leaf.only_exact_strings and not leaf.absent_ok:
        if len(leaf.exact_strings) == 1:
            (only,) = leaf.exact_strings
            failed = f"{value} != {writer.constant('T', only)}"
        else:
            failed = f"{value} not in {writer.constant('S', leaf.exact_strings)}"
        writer.emit(depth, f"if {value}.__class__ is str:")
        writer.emit(depth + 1, f"if {failed}:")
        writer.emit(depth + 2, failure)
        writer.emit(depth, f"elif not {test}({value}):")
        writer.emit(depth + 1, failure)
    else:
        writer.emit(depth, f"if not {test}({value}):")
        writer.emit(depth + 1, failure)


def _aliases(segment: str, child: Node) -> list[str]:
    """Keys with dots at this level that would reach a path below ``child``."""
    found: list[str] = []

    def walk(node: Node, prefix: str) -> None:
        for name, below in node.children.items():
            path = f"{prefix}.{name}"
            found.append(path)
            walk(below, path)
        for branches in node.ors:
            for branch in branches:
                walk(branch, prefix)

    walk(child, segment)
    return sorted(set(found))


def _absent_ok_below(node: Node) -> bool:
    if node.leaf is not None and node.leaf.absent_ok:
        return True
    children = list(node.children.values())
    children += [branch for branches in node.ors for branch in branches]
    return any(_absent_ok_below(child) for child in children)


def _alias_finder(root: Node) -> Callable[[Any], bool]:
    """``finds(event)``: whether the event holds a dotted key reaching a path of the pattern,
    or an array on the way to one (the general algorithm then decides). Aliases are worked
    out once, here."""

    def build(node: Node) -> Callable[[Any], bool]:
        steps = [
            (segment, tuple(_aliases(segment, child)), build(child))
            for segment, child in node.children.items()
        ]
        branches = [build(branch) for group in node.ors for branch in group]
        navigates = bool(steps or branches)

        def finds(obj: Any) -> bool:
            if not isinstance(obj, dict):
                return navigates and isinstance(obj, (list, tuple))
            for segment, aliases, below in steps:
                for alias in aliases:
                    if alias in obj:
                        return True
                if segment in obj and below(obj[segment]):
                    return True
            return any(branch(obj) for branch in branches)

        return finds

    return build(root)


def _paths(node: Node, prefix: str = "") -> set[str]:
    """Every leaf path of ``node``, its ``$or`` branches included."""
    found = {prefix} if node.leaf is not None else set()
    for segment, child in node.children.items():
        found |= _paths(child, f"{prefix}.{segment}")
    for branches in node.ors:
        for branch in branches:
            found |= _paths(branch, prefix)
    return found


def _overrides(node: Node, prefix: str = "") -> bool:
    """Whether a ``$or`` branch anywhere defines a path its surroundings define too."""
    own = {prefix} if node.leaf is not None else set()
    for segment, child in node.children.items():
        own |= _paths(child, f"{prefix}.{segment}")
    for branches in node.ors:
        for branch in branches:
            if own & _paths(branch, prefix):
                return True
        own |= {p for branch in branches for p in _paths(branch, prefix)}
    children = list(node.children.items())
    if any(_overrides(child, f"{prefix}.{segment}") for segment, child in children):
        return True
    return any(_overrides(branch, prefix) for group in node.ors for branch in group)
