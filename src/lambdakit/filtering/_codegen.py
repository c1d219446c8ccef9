"""The fast path, generated as straight-line Python for each pattern.

A pattern is compiled once and matched against thousands of events, so its tree is turned into
code: one dictionary lookup per field, and each value list tested inline for the value kinds
events mostly hold (a string: equality, set membership, ``startswith``/``endswith``; a JSON
number: set membership and range comparisons), with a precompiled closure for the rest. No user
text ever becomes code: field names enter as string literals (``repr``) and every value, set or
test is a constant passed in as a closure cell.

The generated code answers only while the pattern's paths cross objects. On an array on the
way to a field it raises :class:`Undecided` and the general algorithm decides (see
:mod:`lambdakit.filtering._match`). A key with a dot in the event (``{"detail.state": ...}``)
is another route to a path and can add values to a field; more values can only turn a failed
check into a match, except for ``exists: false``, so such keys are looked for before fields
with ``exists: false`` below them, and otherwise only once a check has failed.
"""

from __future__ import annotations

from lambdakit.filtering._match import Undecided, leaf_test
from lambdakit.filtering._tree import (
    MISSING,
    AnythingBut,
    Exact,
    Exists,
    Numeric,
    Prefix,
    Suffix,
    Wildcard,
    walk,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from lambdakit.filtering._tree import Leaf, Node

    # For each object on the way to the current path: its variable, and the segments from it.
    Route = tuple[tuple[str, tuple[str, ...]], ...]

SAFE_INT = 2**53  # integers up to this are exactly doubles: compared as numbers directly
MAX_DEPTH = 24  # deeper patterns are matched by the general algorithm alone
MAX_ALIAS_CHECKS = 12  # beyond this many dotted keys to look for, look for any dotted key


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {}
        self.counter = 0
        # One element-checking function per node (by id), whatever number of places need it:
        # generating it again for each would double the code at every level of nesting.
        self.subtrees: dict[int, str] = {}

    def constant(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{len(self.constants)}"
        self.constants[name] = value
        return name

    def variable(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def block(self, depth: int, header: str, body: Iterable[str]) -> None:
        """``header`` (an ``if``/``elif``/``else`` line) and its ``body`` one level in."""
        self.emit(depth, header)
        for line in body:
            self.emit(depth + 1, line)


def generate(root: Node, general: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """``match(event) -> bool`` for the pattern ``root``; ``general`` decides what the
    generated code cannot. The function never raises."""
    if _depth(root) > MAX_DEPTH:
        # Python refuses deeply nested blocks; such patterns are rare. Checked first: the
        # helpers below recurse on the pattern's nesting.
        return general
    if _overrides(root):
        # A $or branch redefines a path its parent defines: the branch's value list replaces
        # the parent's in that alternative, which only the expanded form expresses.
        return general
    try:
        return _generate(root, general)
    except (SyntaxError, RecursionError, MemoryError):  # pragma: no cover - a safety net
        return general


def _generate(root: Node, general: Callable[[Any], bool]) -> Callable[[Any], bool]:
    writer = _Writer()
    functions: list[list[str]] = []
    writer.emit(0, "def match(e):")
    writer.emit(1, "if e.__class__ is not dict:")
    writer.emit(2, "if not isinstance(e, dict):")
    writer.emit(3, "e = EMPTY")
    writer.emit(1, "try:")
    _object_body(writer, functions, root, "e", 2, ())
    writer.emit(2, "return True")
    writer.emit(1, "except Undecided:")
    writer.emit(2, "return general(e)")
    writer.emit(1, "except Exception:")
    writer.emit(2, "return general(e)")
    constants: dict[str, Any] = {
        "EMPTY": {},
        "M": MISSING,
        "Undecided": Undecided,
        "general": general,
        "B": SAFE_INT,
        "INF": float("inf"),
        "DOTTED": _has_dotted_key,
        "NESTED": _has_nested_array,
        **writer.constants,
    }
    # The constants are closure cells of the generated functions: a cell read costs less than
    # a global's and, unlike a default, nothing per call.
    body = [line for function in functions for line in function] + writer.lines
    source = [
        f"def build({', '.join(constants)}):",
        *("    " + line for line in body),
        "    return match",
    ]
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(source), "<lambdakit pattern>", "exec"), namespace)
    match: Callable[[Any], bool] = namespace["build"](**constants)
    return match


def _object_body(
    writer: _Writer, functions: list[list[str]], node: Node, obj: str, depth: int, route: Route
) -> None:
    """Checks for the fields of ``node`` in the dict named ``obj``."""
    for segment, child in node.children.items():
        if _absent_ok_below(child):
            for alias in _aliases(segment, child):
                writer.emit(depth, f"if {alias!r} in {obj}:")
                writer.emit(depth + 1, "raise Undecided")
        value = writer.variable()
        writer.emit(depth, f"{value} = {obj}.get({segment!r}, M)")
        below = (*((o, (*rest, segment)) for o, rest in route), (obj, (segment,)))
        _node(writer, functions, child, value, depth, below)
    for branches in node.ors:
        names = [_node_function(writer, functions, branch) for branch in branches]
        tails = {tail for branch in branches for tail in _relative_paths(branch)}
        writer.block(
            depth, f"if not ({' or '.join(f'{n}({obj})' for n in names)}):", _failure(route, tails)
        )


def _relative_paths(node: Node) -> set[tuple[str, ...]]:
    """Every path below ``node`` (and ``node`` itself, ``()``), as segments."""
    found: set[tuple[str, ...]] = {()}
    for segment, child in node.children.items():
        found |= {(segment, *tail) for tail in _relative_paths(child)}
    for branches in node.ors:
        for branch in branches:
            found |= _relative_paths(branch)
    return found


def _node(
    writer: _Writer,
    functions: list[list[str]],
    node: Node,
    value: str,
    depth: int,
    route: Route,
) -> None:
    """Checks for the event value named ``value`` at ``node``'s path."""
    failure = _failure(route)
    if node.leaf is not None and (node.children or node.ors):
        # A value in a nested array and the fields below must then lie in one element of the
        # outer array, which the separate checks below do not see: the general algorithm does.
        writer.block(depth, f"if NESTED({value}):", ["raise Undecided"])
    if node.leaf is not None:
        _leaf(writer, node.leaf, value, depth, failure)
    if not (node.children or node.ors):
        return
    obj = writer.variable()
    if _absent_ok_below(node):
        # exists:false across the elements of an array depends on event-ruler's order of
        # evaluation: the general algorithm reproduces it.
        writer.emit(depth, f"if {value}.__class__ is dict:")
        writer.emit(depth + 1, f"{obj} = {value}")
        writer.emit(depth, f"elif {value}.__class__ is list or isinstance({value}, (list, tuple)):")
        writer.emit(depth + 1, "raise Undecided")
        writer.emit(depth, f"elif isinstance({value}, dict):")
        writer.emit(depth + 1, f"{obj} = {value}")
        writer.emit(depth, "else:")
        writer.emit(depth + 1, f"{obj} = EMPTY")
        _object_body(writer, functions, node, obj, depth, route)
        return
    # Without exists:false, array consistency means: some element matches the whole subtree
    # on its own; a generated function checks one element. No object at all: no match.
    failure = _failure(route, _relative_paths(node))
    check = _node_function(writer, functions, node)
    walk = _any_element(writer, functions, check)
    writer.emit(depth, f"if {value}.__class__ is dict:")
    writer.emit(depth + 1, f"{obj} = {value}")
    _object_body(writer, functions, node, obj, depth + 1, route)
    writer.emit(depth, f"elif {value}.__class__ is list or isinstance({value}, (list, tuple)):")
    writer.block(depth + 1, f"if not {walk}({value}):", failure)
    writer.emit(depth, f"elif isinstance({value}, dict):")
    writer.block(depth + 1, f"if not {check}({value}):", failure)
    writer.block(depth, "else:", failure)


def _any_element(writer: _Writer, functions: list[list[str]], check: str) -> str:
    """A generated function: does some object in the array (nested arrays included) pass
    ``check``? A flat array is one loop; nested arrays are walked with a stack of iterators,
    not by recursion (an event may nest them 100,000 deep)."""
    writer.counter += 1
    name = f"ANY{writer.counter}"
    is_object = "kind is dict or (kind is not list and isinstance({0}, dict))"
    is_array = "kind is list or isinstance({0}, (list, tuple))"
    functions.append(
        [
            f"def {name}(items):",
            "    for item in items:",
            "        kind = item.__class__",
            f"        if {is_object.format('item')}:",
            f"            if {check}(item):",
            "                return True",
            f"        elif {is_array.format('item')}:",
            "            pending = [iter(item)]",
            "            while pending:",
            "                for inner in pending[-1]:",
            "                    kind = inner.__class__",
            f"                    if {is_object.format('inner')}:",
            f"                        if {check}(inner):",
            "                            return True",
            f"                    elif {is_array.format('inner')}:",
            "                        pending.append(iter(inner))",
            "                        break",
            "                else:",
            "                    pending.pop()",
            "    return False",
        ]
    )
    return name


def _node_function(writer: _Writer, functions: list[list[str]], node: Node) -> str:
    """A generated function checking ``node``'s fields in one object (a ``$or`` branch at its
    object, or an array element). Dotted keys at outer levels are the caller's to check. Made
    once per node."""
    made = writer.subtrees.get(id(node))
    if made is not None:
        return made
    writer.counter += 1
    name = f"NODE{writer.counter}"
    outer_lines = writer.lines
    writer.lines = []
    obj = writer.variable()
    writer.emit(0, f"def {name}({obj}):")
    _object_body(writer, functions, node, obj, 1, ())
    writer.emit(1, "return True")
    functions.append(writer.lines)
    writer.lines = outer_lines
    writer.subtrees[id(node)] = name
    return name


def _failure(route: Route, tails: set[tuple[str, ...]] | None = None) -> list[str]:
    """The statements ending a failed check: ``return False``, unless a dotted key on the route
    could hold more values for this path (or, for ``$or``, the paths below it: ``tails``); the
    general algorithm decides then."""
    keys: set[tuple[str, str]] = set()
    for obj, rest in route:
        for tail in tails or {()}:
            full = (*rest, *tail)
            for length in range(2, len(full) + 1):
                keys.add((obj, ".".join(full[:length])))
    if not keys:
        return ["return False"]
    if len(keys) > MAX_ALIAS_CHECKS:
        objects = sorted({obj for obj, _ in keys})
        checks = " or ".join(f"DOTTED({obj})" for obj in objects)
    else:
        checks = " or ".join(f"{key!r} in {obj}" for obj, key in sorted(keys))
    return [f"if {checks}:", "    raise Undecided", "return False"]


def _leaf(writer: _Writer, leaf: Leaf, value: str, depth: int, failure: list[str]) -> None:
    """``value`` must satisfy ``leaf``: strings and numbers inline, the rest by closure."""
    for_string = _string_test(writer, leaf, value)
    other = writer.constant("L", leaf_test(leaf))
    if leaf.only_exact_strings:  # the commonest list: one check, then the closure for the rest
        writer.emit(depth, f"if {value}.__class__ is str:")
        writer.block(depth + 1, f"if not ({for_string}):", failure)
        writer.block(depth, f"elif not {other}({value}):", failure)
        return
    for_number = _number_test(writer, leaf, value)
    kind = writer.variable()
    writer.emit(depth, f"{kind} = {value}.__class__")
    writer.emit(depth, f"if {kind} is str:")
    writer.block(depth + 1, f"if not ({for_string}):", failure)
    if for_number is not None:
        writer.emit(depth, f"elif {kind} is float or ({kind} is int and -B <= {value} <= B):")
        writer.block(depth + 1, f"if not ({for_number}):", failure)
    writer.block(depth, f"elif not {other}({value}):", failure)


def _string_test(writer: _Writer, leaf: Leaf, value: str) -> str:
    """A Python expression: does the string ``value`` satisfy the leaf?"""
    terms: list[str] = []
    if leaf.exact_strings:
        if len(leaf.exact_strings) == 1:
            (only,) = leaf.exact_strings
            terms.append(f"{value} == {writer.constant('T', only)}")
        else:
            terms.append(f"{value} in {writer.constant('S', leaf.exact_strings)}")
    for condition in leaf.conditions:
        if isinstance(condition, Exact):
            if condition.value.__class__ is str and condition.ip is not None:
                terms.append(f"{writer.constant('C', condition.test)}({value})")
            continue  # plain strings are in the set; numbers, booleans, null never equal a str
        if isinstance(condition, Exists):
            return "True"
        if isinstance(condition, Numeric):
            continue  # strings are never numbers
        if isinstance(condition, (Prefix, Suffix)) and condition.ignore_case is None:
            method = "startswith" if isinstance(condition, Prefix) else "endswith"
            terms.append(f"{value}.{method}({writer.constant('T', condition.text)})")
        elif isinstance(condition, AnythingBut) and _only_strings(condition):
            terms.append(f"{value} not in {writer.constant('S', condition.strings)}")
        elif isinstance(condition, Wildcard) and len(condition.pieces) <= 2:
            terms.append(_wildcard_test(writer, condition.pieces, value))
        else:
            terms.append(f"{writer.constant('C', condition.test)}({value})")
    return " or ".join(terms) or "False"


def _wildcard_test(writer: _Writer, pieces: tuple[str, ...], value: str) -> str:
    """``a*b`` inline: long enough, starts with ``a``, ends with ``b`` (``*`` alone: True)."""
    if len(pieces) == 1:
        return f"{value} == {writer.constant('T', pieces[0])}"
    head, tail = pieces
    terms = []
    if head and tail:
        terms.append(f"len({value}) >= {len(head) + len(tail)}")
    if head:
        terms.append(f"{value}.startswith({writer.constant('T', head)})")
    if tail:
        terms.append(f"{value}.endswith({writer.constant('T', tail)})")
    return "(" + " and ".join(terms) + ")" if terms else "True"


def _number_test(writer: _Writer, leaf: Leaf, value: str) -> str | None:
    """A Python expression for a float, or an int small enough to be exactly a double (both
    compared by value, as comparable numbers are); ``None`` when the closure serves as well."""
    terms: list[str] = []
    numbers = {c.number for c in leaf.conditions if isinstance(c, Exact) and c.number is not None}
    if numbers:
        terms.append(f"{value} in {writer.constant('N', frozenset(numbers))}")
    for condition in leaf.conditions:
        if isinstance(condition, Exact):
            if condition.text is not None and condition.number is None:
                return None  # a literal only text can equal: the closure compares texts
            continue
        if isinstance(condition, Exists):
            return "True"
        if isinstance(condition, Numeric):
            parts = (
                []
                if condition.low is not None and condition.high is not None
                else [
                    f"-INF < {value} < INF"  # infinities are not comparable numbers
                ]
            )
            if condition.low is not None:
                operator = "<=" if condition.low_inclusive else "<"
                parts.append(f"{writer.constant('F', condition.low)} {operator} {value}")
            if condition.high is not None:
                operator = "<=" if condition.high_inclusive else "<"
                parts.append(f"{value} {operator} {writer.constant('F', condition.high)}")
            terms.append("(" + " and ".join(parts) + ")")
        elif isinstance(condition, AnythingBut):
            if condition.numbers:
                terms.append(f"{value} not in {writer.constant('N', condition.numbers)}")
            else:
                return "True"  # a number cannot be excluded by string exclusions
        # prefix, suffix, equals-ignore-case, wildcard, cidr: never a number
    return " or ".join(terms) or "False"


def _only_strings(condition: AnythingBut) -> bool:
    return not (
        condition.numbers
        or condition.prefixes
        or condition.suffixes
        or condition.ignore_case
        or condition.wildcards
    )


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


def _has_dotted_key(obj: Any) -> bool:
    return any("." in key for key in obj if isinstance(key, str))


def _has_nested_array(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and any(isinstance(i, (list, tuple)) for i in value)


def _depth(root: Node) -> int:
    """Levels of nesting (objects and ``$or`` branches)."""
    return max(depth for _, _, depth in walk(root))
