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

Both take time linear in the event (the general algorithm: times a logarithm), whatever its
nesting: nothing here recurses on the event, copies what it has seen at each level, or retries
the same choices. Without ``exists: false`` the order of the paths does not matter and
:func:`_covered` decides an alternative children first. With it, an alternative of at most
``_CHOSEN_PATHS`` paths is decided children first too (:func:`_chosen`), by what each
subtree's choices leave visible to the paths after them: a slot's options are bounded by the
pattern, so elements of two arrays (one opened by a dotted key in the event) are never paired.
Longer alternatives race it against a search state by state (its options would grow with
the subsets of the paths): there, states pair the elements' *shapes* (:class:`_Shapes`), a
state looks at each array beside its elements once per shape (``_Step._nexts_of_chains``), and
what remains is the product of *distinct* shapes of two arrays, which an event must spend
characters on (see docs/filtering.md). Both are exact; :func:`_race` takes the first answer.
Paths no array of the event links are decided apart (:func:`_independent`), each part by
its own race, so halves of an event built against each algorithm do not add up; halves inside
one array's elements still do (documented as the one case not yet linear).
"""

from __future__ import annotations

from lambdakit.filtering._tree import MISSING, Leaf, Node, walk

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Hashable, Iterator
    from typing import Any

    Rule = dict[str, Leaf]
    State = tuple[int, ...]


# The longest alternative with exists:false decided children first (:func:`_chosen`) alone: its
# work per slot grows with the subsets of the paths (3**7 pairs of options at most), the state
# search's with the distinct shapes of the event's arrays.
_CHOSEN_PATHS = 7
# Longer ones race it against the state search (:func:`_race`). A state the search moves to
# costs about as long as this many pairs of options combined by :func:`_chosen` (measured:
# 100-1500 on events built against either).
_SEARCH_WEIGHT = 250


class Undecided(Exception):
    """The fast path cannot decide this event; the general algorithm must."""


# --- the general algorithm -------------------------------------------------------------------


class Flat:
    """An event flattened: every leaf value by dotted path, with its *slot*, the innermost array
    element (an object or an array itself) holding it; slot 0 is outside every array element.

    event-ruler records, for each value, the index it takes in every array around it; two
    values can be chosen together when no array holds them at different indices. Here that
    record is the chain of slots from a value's slot up through ``parents``: slots are numbered
    in depth-first order, so a slot's descendants are the range ``s .. ends[s]``, and the
    elements of array ``a`` the range ``array_lo[a] .. array_hi[a]``. Two values conflict when
    they sit in different elements of one array, which these ranges decide without walking.
    """

    __slots__ = ("array_hi", "array_lo", "array_paths", "arrays", "ends", "fields", "parents")

    def __init__(self) -> None:
        self.fields: dict[str, list[tuple[Any, int]]] = {}
        self.parents: list[int] = [0]
        self.arrays: list[int] = [-1]  # the array each slot is an element of
        self.array_paths: list[str] = []
        self.ends: list[int] = [0]
        self.array_lo: list[int] = []
        self.array_hi: list[int] = []

    def values(self, path: str) -> list[Any]:
        return [value for value, _ in self.fields.get(path, ())]


def flatten(event: Any, relevant: set[str] | None = None) -> Flat:
    """``event`` as a :class:`Flat`. Empty arrays and objects contribute nothing; an array's
    primitive elements are values of the array's own path, in the slot holding the array.
    With ``relevant`` (every prefix of every path a pattern names), the rest is not visited.
    Iterative, one step per node: nesting costs neither stack nor time."""
    flat = Flat()
    if not isinstance(event, dict):
        return flat
    fields = flat.fields
    parents = flat.parents
    arrays = flat.arrays
    array_paths = flat.array_paths
    # (value, its path, the slot holding it, the array it is a container element of or -1)
    stack: list[tuple[Any, Any, int, int]] = [(event, None, 0, -1)]
    while stack:
        value, path, slot, array = stack.pop()
        if array >= 0:
            parents.append(slot)
            arrays.append(array)
            slot = len(parents) - 1
        if isinstance(value, dict):
            for key, item in value.items():
                name = str(key) if path is None else f"{path}.{key}"
                if relevant is None or name in relevant:
                    stack.append((item, name, slot, -1))
        elif isinstance(value, (list, tuple)):
            array = len(array_paths)
            array_paths.append(path)
            for item in value:
                container = isinstance(item, (dict, list, tuple))
                stack.append((item, path, slot, array if container else -1))
        elif path is not None:
            fields.setdefault(path, []).append((value, slot))
    ends = flat.ends = list(range(len(parents)))
    for slot in range(len(parents) - 1, 0, -1):
        parent = parents[slot]
        if ends[slot] > ends[parent]:
            ends[parent] = ends[slot]
    lo = flat.array_lo = [len(parents)] * len(array_paths)
    hi = flat.array_hi = [-1] * len(array_paths)
    for slot in range(1, len(parents)):
        array = arrays[slot]
        if slot < lo[array]:
            lo[array] = slot
        if ends[slot] > hi[array]:
            hi[array] = ends[slot]
    return flat


def expand(root: Node) -> list[Rule]:
    """The pattern as its ``$or`` alternatives: each a path → value list mapping. A branch's
    value list for a path replaces its parent's (the later one wins). Computed children first,
    without recursion."""
    rules_of: dict[int, list[Rule]] = {}
    for node, prefix, _ in reversed(walk(root)):
        rules: list[Rule] = (
            [{prefix: node.leaf}] if node.leaf is not None and prefix is not None else [{}]
        )
        for child in node.children.values():
            below = rules_of.pop(id(child))
            rules = [{**rule, **more} for rule in rules for more in below]
        for branches in node.ors:
            alternatives = [rule for branch in branches for rule in rules_of.pop(id(branch))]
            rules = [{**rule, **more} for rule in rules for more in alternatives]
        rules_of[id(node)] = rules
    return rules_of[id(root)]


class _Groups:
    """The values at one path, by slot: the slots in order, and whether some value of each
    slot satisfies the path's value list."""

    __slots__ = ("matched", "slots")

    def __init__(self, leaf: Leaf, fields: list[tuple[Any, int]]) -> None:
        matched: dict[int, bool] = {}
        matches_value = leaf.matches_value
        for value, slot in fields:
            if not matched.get(slot) and matches_value(value):
                matched[slot] = True
            else:
                matched.setdefault(slot, False)
        self.matched = matched
        self.slots = sorted(matched)


def rule_matches(
    rule: Rule, flat: Flat, groups: dict[tuple[str, int], _Groups] | None = None
) -> bool:
    """event-ruler's search for one alternative: take the paths in sorted order; each must have
    a field satisfying its value list that lies in no other element of an array than the fields
    chosen before it, or no such field at all when the list holds ``exists: false``.

    Searched as reachability over states ``(paths done, elements chosen)``, where the elements
    kept are only those of arrays that later paths run through: the deepest element of each
    chosen field's chain, cut at the last array that matters. A state is visited once, and the
    fields that lead to the same next state are looked at as one (see :class:`_Step`), so the
    search costs steps per state reached, not per combination of fields. Once a state holds
    elements of two arrays, states alike to the paths still to take are one (:class:`_Shapes`):
    elements of two wide arrays are not paired one by one. Alternatives of few paths skip the
    search: :func:`_chosen` decides them in one pass, whatever the elements' shapes; longer
    ones run both, a step of each in turn, so an event built against one is decided by the
    other.
    """
    keys = sorted(rule)
    if not keys:
        return True
    groups = {} if groups is None else groups
    if not any(rule[key].absent_ok for key in keys):
        return _covered(keys, rule, flat, groups)
    # An exists:false path with no value in the event is satisfied whatever the others choose.
    keys = [
        key
        for key in keys
        if not rule[key].absent_ok or _groups_of(key, rule[key], flat, groups).slots
    ]
    return all(_decided(part, rule, flat, groups) for part in _independent(keys, flat))


def _decided(
    keys: list[str], rule: Rule, flat: Flat, groups: dict[tuple[str, int], _Groups]
) -> bool:
    """One independent part of an alternative (see :func:`_independent`), its paths in order."""
    if not any(rule[key].absent_ok for key in keys):
        return _covered(keys, rule, flat, groups)
    chosen = _chosen(keys, rule, flat, groups)
    if len(keys) <= _CHOSEN_PATHS:
        return _race(chosen)
    return _race(chosen, _searched(keys, rule, flat, groups))


def _independent(keys: list[str], flat: Flat) -> list[list[str]]:
    """``keys`` split into parts no array of the event links, each in order.

    Fields of two paths can only conflict, and a value of an ``exists: false`` path only be
    hidden by a field of another path, inside an array holding both; such an array's path is a
    prefix of both paths. Paths no chain of such arrays links are therefore decided apart, and
    the alternative holds when every part does: an event cannot make one part's work multiply
    another's. Linear in the event's arrays."""
    owners: dict[str, list[int]] = {}  # a prefix of the paths -> the paths it is a prefix of
    for index, key in enumerate(keys):
        end = -1
        while True:
            end = key.find(".", end + 1)
            owners.setdefault(key if end < 0 else key[:end], []).append(index)
            if end < 0:
                break
    roots = list(range(len(keys)))

    def root(index: int) -> int:
        while roots[index] != index:
            roots[index] = roots[roots[index]]
            index = roots[index]
        return index

    for path in set(flat.array_paths):
        linked = owners.get(path)
        if linked:
            first = root(linked[0])
            for other in linked[1:]:
                roots[root(other)] = first
    parts: dict[int, list[str]] = {}
    for index, key in enumerate(keys):
        parts.setdefault(root(index), []).append(key)
    return list(parts.values())


def _race(*runs: Generator[int, None, bool]) -> bool:
    """The answer of whichever exact run finishes first, each advanced while it has done no
    more work than the others (the work each reports, in units of about the same time): the
    whole costs at most about ``len(runs)`` times the cheapest run's work on this event, so an
    event built against one algorithm is decided by the other."""
    spent = [0] * len(runs)
    while True:
        index = spent.index(min(spent))
        try:
            spent[index] += 1 + next(runs[index])
        except StopIteration as done:
            return bool(done.value)


def _searched(
    keys: list[str], rule: Rule, flat: Flat, groups: dict[tuple[str, int], _Groups]
) -> Generator[int, None, bool]:
    """The search state by state (see :func:`rule_matches`), reporting the states it moves
    to as its work."""
    count = len(keys)
    # The array paths that matter from each position on: prefixes of the paths still to take.
    relevant: list[set[str]] = [set() for _ in range(count + 1)]
    for position in range(count - 1, -1, -1):
        parts = keys[position].split(".")
        relevant[position] = relevant[position + 1] | {
            ".".join(parts[:length]) for length in range(1, len(parts) + 1)
        }
    steps: list[_Step | None] = [None] * count
    seen: set[tuple[int, State]] = {(0, ())}
    todo: list[tuple[int, State]] = [(0, ())]
    # Once a state holds elements of two arrays (dotted keys in the event), states are also
    # told apart by their shape only: pairs of elements are then as many as the shapes.
    shapes: _Shapes | None = None
    visited: set[tuple[int, Hashable]] = set()
    while todo:
        position, state = todo.pop()
        if shapes is not None:
            shape = (position, shapes.of(position, state))
            if shape in visited:
                continue
            visited.add(shape)
        step = steps[position]
        if step is None:
            key = keys[position]
            found = _groups_of(key, rule[key], flat, groups)
            step = _Step(flat, found, rule[key].absent_ok, relevant[position + 1], position + 1)
            step.shapes = shapes
            steps[position] = step
        following = position + 1
        work = 0
        for following_state in step.nexts(state):
            work += 1
            if following == count:
                return True
            if (following, following_state) not in seen:
                if shapes is None and len(following_state) > 1:
                    shapes = _Shapes(keys, rule, flat, groups, relevant)
                    visited.add((position, shapes.of(position, state)))
                    for known in steps:
                        if known is not None:
                            known.shapes = shapes
                seen.add((following, following_state))
                todo.append((following, following_state))
        yield work * _SEARCH_WEIGHT
    return False


class _Shapes:
    """What the rest of the search can tell apart in a state, as a key per position.

    From position ``p`` on, a state matters only through the fields of the paths still to
    take that it allows, and the states those fields lead to. Two states whose elements look
    alike to those paths (the same *shape*) therefore lead to the end alike, and the search
    takes one of them. The shape of a slot is what lies below it as those paths see it: which
    of them have a value there (and whether it satisfies the path's value list), and for each
    array it holds that could hold such a value, the array's path and the *set* of its
    elements' shapes (which element of an array is chosen is all the search records, so
    elements of one shape are one choice). The shape of a state is the root's, with the
    arrays on its chains reduced to the element chosen.

    Elements of one array differ in shape only as far as the pattern's paths can tell them
    apart: wide arrays of alike elements collapse to a handful of shapes, and states pairing
    the elements of two arrays to a handful of pairs. Made lazily, per position, in one pass
    over the event, children first."""

    __slots__ = ("flat", "groups", "holders", "ids", "keys", "relevant", "rule", "tables")

    def __init__(
        self,
        keys: list[str],
        rule: Rule,
        flat: Flat,
        groups: dict[tuple[str, int], _Groups],
        relevant: list[set[str]],
    ) -> None:
        self.keys, self.rule, self.flat, self.groups = keys, rule, flat, groups
        self.relevant = relevant
        self.ids: dict[Hashable, int] = {}
        self.tables: dict[int, _Shapes.Table] = {}
        self.holders: dict[int, list[int]] | None = None

    def held_by(self) -> dict[int, list[int]]:
        """The arrays (with elements) each slot holds, made once per search."""
        holders = self.holders
        if holders is None:
            holders = self.holders = {}
            flat = self.flat
            for array, first in enumerate(flat.array_lo):
                if first < len(flat.parents):
                    holders.setdefault(flat.parents[first], []).append(array)
        return holders

    class Table:
        """The shapes at one position: of each slot, of each array (path and element
        shapes), a slot's own values, and the context of each array's elements."""

        __slots__ = ("arrays", "context", "held", "own", "slots")

        def __init__(self) -> None:
            self.own: dict[int, tuple[tuple[int, bool], ...]] = {}
            self.slots: list[int] = []
            self.arrays: dict[int, tuple[str, int]] = {}
            self.held: dict[int, list[tuple[str, int]]] = {}
            self.context: dict[int, int] = {}

    def _id(self, shape: Hashable) -> int:
        return self.ids.setdefault(shape, len(self.ids))

    def _table(self, position: int) -> _Shapes.Table:
        table = self.tables[position] = _Shapes.Table()
        flat, keys, own = self.flat, self.keys, table.own
        owning: dict[int, list[tuple[int, bool]]] = {}
        for index in range(position, len(keys)):
            key = keys[index]
            for slot, matched in _groups_of(key, self.rule[key], flat, self.groups).matched.items():
                owning.setdefault(slot, []).append((index, matched))
        for slot, values in owning.items():
            own[slot] = tuple(values)
        parents, arrays, paths, lows = flat.parents, flat.arrays, flat.array_paths, flat.array_lo
        relevant = self.relevant[position]
        slots = table.slots = [0] * len(parents)
        held = table.held
        members: dict[int, set[int]] = {}
        for slot in range(len(parents) - 1, -1, -1):  # children first
            inside = held.get(slot)
            if inside is not None:
                inside.sort()
            slots[slot] = self._id(("slot", own.get(slot, ()), tuple(inside or ())))
            array = arrays[slot]
            if slot and paths[array] in relevant:
                members.setdefault(array, set()).add(slots[slot])
                if slot == lows[array]:  # the array's last element, children first
                    entry = (paths[array], self._id(frozenset(members.pop(array))))
                    table.arrays[array] = entry
                    held.setdefault(parents[slot], []).append(entry)
        table.context[-1] = self._id(("root",))
        return table

    def _holding(self, table: _Shapes.Table, slot: int, chosen: list[tuple[int, int]]) -> list[Any]:
        """The arrays ``slot`` holds as the shape of a state sees them: the ``chosen``
        elements' arrays reduced to those elements (their shapes given as negative)."""
        inside: list[Any] = list(table.held.get(slot, ()))
        for element, shape in chosen:
            entry = table.arrays.get(self.flat.arrays[element])
            if entry is not None and entry in inside:
                inside.remove(entry)
            inside.append((self.flat.array_paths[self.flat.arrays[element]], -1 - shape))
        inside.sort()
        return inside

    def _context(self, table: _Shapes.Table, array: int) -> int:
        """The shape of everything outside an element of ``array`` once it is chosen:
        the same for all its elements, remembered per array."""
        flat, memo = self.flat, table.context
        walked = []
        while array not in memo:
            walked.append(array)
            array = flat.arrays[flat.parents[flat.array_lo[array]]]
        answer = memo[array]
        for step in reversed(walked):
            holder = flat.parents[flat.array_lo[step]]
            entry = table.arrays.get(step)
            inside = list(table.held.get(holder, ()))
            if entry is not None and entry in inside:
                inside.remove(entry)
            shape = ("context", answer, table.own.get(holder, ()), tuple(inside))
            answer = memo[step] = self._id((*shape, flat.array_paths[step]))
        return answer

    def of(self, position: int, state: State) -> Hashable:
        """The shape of ``state`` at ``position``: None for no chain, a pair for one (its end's
        array context, remembered, and its end's shape), a number for several (walked up to
        where they meet)."""
        table = self.tables.get(position) or self._table(position)
        if not state:
            return None
        flat = self.flat
        if len(state) == 1:
            array = flat.arrays[state[0]]
            context = table.context.get(array)
            if context is None:
                context = self._context(table, array)
            return (context, table.slots[state[0]])
        parents = flat.parents
        below: dict[int, list[int]] = {}
        for end in state:
            below.setdefault(end, [])
            slot = end
            while slot:
                parent = parents[slot]
                known = below.get(parent)
                if known is not None:
                    known.append(slot)
                    break
                below[parent] = [slot]
                slot = parent
        shapes: dict[int, int] = {}
        for slot in sorted(below, reverse=True):  # children first
            chosen = below[slot]
            if not chosen:
                shapes[slot] = table.slots[slot]
                continue
            inside = self._holding(table, slot, [(child, shapes[child]) for child in chosen])
            shapes[slot] = self._id(("chosen", table.own.get(slot, ()), tuple(inside)))
        return shapes[0]


def _groups_of(key: str, leaf: Leaf, flat: Flat, groups: dict[tuple[str, int], _Groups]) -> _Groups:
    """The values at ``key`` grouped by slot, made once per path and value list (the
    alternatives of a ``$or`` share them)."""
    found = groups.get((key, id(leaf)))
    if found is None:
        found = groups[(key, id(leaf))] = _Groups(leaf, flat.fields.get(key, []))
    return found


def _covered(
    keys: list[str], rule: Rule, flat: Flat, groups: dict[tuple[str, int], _Groups]
) -> bool:
    """The search when no path of the alternative holds ``exists: false``: the order of the
    paths is then irrelevant, and the question is whether the chains of some matched value of
    each path form a tree taking at most one element of each array. Decided children first,
    once per slot: each slot gets the sets of paths (bit masks) that values below it can cover
    together, keeping only the largest; an array offers the sets of its elements, a slot
    combines the arrays it holds. Linear in the event, whatever its arrays and dotted keys."""
    at: dict[int, int] = {}  # slot -> the paths with a matched value there
    for bit, key in enumerate(keys):
        found = _groups_of(key, rule[key], flat, groups)
        slots = [slot for slot, matched in found.matched.items() if matched]
        if not slots:
            return False
        for slot in slots:
            at[slot] = at.get(slot, 0) | 1 << bit
    full = (1 << len(keys)) - 1
    parents, arrays = flat.parents, flat.arrays
    elements: dict[int, list[int]] = {}  # array -> its elements on a matched value's chain
    held: dict[int, list[int]] = {}  # slot -> the arrays it holds with such elements
    marked = {0}  # the slots on those chains
    for slot in at:
        while slot not in marked:
            marked.add(slot)
            array = arrays[slot]
            if array not in elements:
                elements[array] = []
                held.setdefault(parents[slot], []).append(array)
            elements[array].append(slot)
            slot = parents[slot]
    covers: dict[int, list[int]] = {}
    for slot in sorted(marked, reverse=True):  # children first: they have larger numbers
        options = [at.get(slot, 0)]
        for array in held.get(slot, ()):
            members = elements[array]
            if len(members) == 1:  # a chain through one element: its masks are kept as they are
                choices = covers.pop(members[0])
            else:
                choices = _largest([mask for element in members for mask in covers.pop(element)])
            if options == [0]:
                options = choices
            else:
                options = _largest([option | choice for option in options for choice in choices])
        if full in options:
            return True
        covers[slot] = options
    return False


def _chosen(
    keys: list[str], rule: Rule, flat: Flat, groups: dict[tuple[str, int], _Groups]
) -> Generator[int, None, bool]:
    """The search when some path holds ``exists: false``, decided children first as
    :func:`_covered` does; it reports as its work the pairs of options it combines.

    A choice of fields (one per path taken, at most one element per array) is valid when
    every path is taken or, for ``exists: false``, has no value consistent with the fields of
    the paths *before* it. All a subtree's choices show to the rest of the event is their
    *option*: the paths taken there (the low bits) and the ``exists: false`` paths with a value
    there they leave visible (the high bits). A value in an element of an array other than the
    chosen one is hidden from path ``p`` exactly when the chosen element holds a field of a
    path before ``p``: the lowest path taken there decides. So an array's options follow from
    its elements' and a slot's from its own values and its arrays', and a slot has at most
    one option per subset of the paths (with its least visible sets), however many elements
    of however many arrays lie below it: elements of two arrays opened by dotted keys are
    never paired. Slots holding one element of one array and no value pass its options up as
    they are, so deep nesting costs a step per level."""
    count = len(keys)
    full = (1 << count) - 1
    absent = 0
    take: dict[int, int] = {}  # slot -> the paths with a matched value there
    seen: dict[int, int] = {}  # slot -> the exists:false paths with any value there
    for index, key in enumerate(keys):
        leaf = rule[key]
        found = _groups_of(key, leaf, flat, groups)
        bit = 1 << index
        if leaf.absent_ok:
            absent |= bit
            for slot in found.slots:
                seen[slot] = seen.get(slot, 0) | bit
        elif not any(found.matched.values()):
            return False
        for slot, matched in found.matched.items():
            if matched:
                take[slot] = take.get(slot, 0) | bit
    parents, arrays = flat.parents, flat.arrays
    children = {0: 0}  # the slots on the values' chains -> how many of their children are
    for slot in (*take, *seen):
        if slot in children:
            continue
        children[slot] = 0
        while slot:
            slot = parents[slot]
            if slot in children:
                children[slot] += 1
                break
            children[slot] = 1
    # slot -> array -> (options, visible paths) of its elements on the chains
    below: dict[int, dict[int, list[tuple[set[int], int]]]] = {}
    meeting = sorted(
        (slot for slot, held in children.items() if held != 1 or slot in take or slot in seen),
        reverse=True,  # children first: they have larger numbers
    )
    if meeting[-1]:
        meeting.append(0)
    for slot in meeting:
        own, shown = take.get(slot, 0), seen.get(slot, 0)
        options = set()
        chosen = own
        while True:  # every subset of the paths taken here
            options.add(chosen | (shown & ~chosen) << count)
            if not chosen:
                break
            chosen = (chosen - 1) & own
        for members in below.pop(slot, {}).values():
            anywhere = 0
            for _, visible in members:
                anywhere |= visible
            shown |= anywhere
            choices = set()
            for element_options, _ in members:
                for option in element_options:
                    paths = option & full
                    # Paths after the lowest one taken see only the chosen element.
                    after = full & ~(((paths & -paths) << 1) - 1) if paths else 0
                    hidden = (option >> count & after) | (anywhere & ~after)
                    choices.add(paths | (hidden & ~paths) << count)
            yield len(options) * len(choices)
            options = _fewest_visible(
                {
                    (a | b) & full | ((a | b) >> count & ~(a | b)) << count
                    for a in options
                    for b in choices
                    if not a & b & full
                },
                count,
            )
        if not slot:
            return any(
                (option & full) | (absent & ~(option >> count)) == full for option in options
            )
        child, slot = slot, parents[slot]
        while slot and children[slot] == 1 and slot not in take and slot not in seen:
            child, slot = slot, parents[slot]  # one element of one array: passed up as it is
        below.setdefault(slot, {}).setdefault(arrays[child], []).append((options, shown))
    raise AssertionError("unreachable: the root is the last slot")


def _fewest_visible(options: set[int], count: int) -> set[int]:
    """The options no other one taking the same paths beats by leaving fewer visible."""
    full = (1 << count) - 1
    by_paths: dict[int, list[int]] = {}
    for option in sorted(options, key=lambda option: (option >> count).bit_count()):
        kept = by_paths.setdefault(option & full, [])
        shown = option >> count
        if all(other & ~shown for other in kept):
            kept.append(shown)
    return {paths | shown << count for paths, kept in by_paths.items() for shown in kept}


def _largest(masks: list[int]) -> list[int]:
    """The masks no other one includes."""
    kept: list[int] = []
    for mask in sorted(set(masks), key=int.bit_count, reverse=True):
        if all(mask & ~other for other in kept):
            kept.append(mask)
    return kept


class _Step:
    """One position of the search: a path of the pattern, its values in the event, and the
    states the search moves to from each state it reaches.

    A state with one chain ends at slot ``c`` (0 when no element is chosen yet). The values
    that may be chosen with it are those below ``c`` and those *beside* its chain: for each
    array on the chain, the values of the slot holding the array that lie outside it (the
    "off" region of the array). Everything a state needs is precomputed per array, and summed
    up the chain once per slot, so a state costs a few bisections however deep its chain.
    States with several chains (only events with dotted keys aliasing a path lead to them)
    list the excluded ranges instead, and the arrays held along their chains.
    """

    __slots__ = (
        "absent_ok",
        "alike",
        "alive",
        "apart",
        "flat",
        "following",
        "matched",
        "members",
        "off",
        "paths",
        "shapes",
        "slot_set",
        "slots",
        "target_of",
        "targets",
        "to_cut",
        "up",
    )

    def __init__(
        self, flat: Flat, found: _Groups, absent_ok: bool, paths: set[str], following: int
    ) -> None:
        self.flat = flat
        self.absent_ok = absent_ok
        self.paths = paths  # the array paths that matter after this position
        self.following = following  # the position after this one
        self.shapes: _Shapes | None = None  # set once states hold several chains
        self.apart: dict[int, list[int]] = {}
        self.alike: dict[int, list[int]] = {}
        self.to_cut: dict[int, int] = {}
        self.slots = found.slots  # slots holding a value of the path
        self.slot_set = set(found.slots)
        self.matched = [slot for slot in found.slots if found.matched[slot]]
        self.target_of = {slot: self.cut(slot) for slot in self.matched}
        self.targets = sorted(set(self.target_of.values()))
        self.members: dict[int, list[int]] = {}
        for slot in self.matched:
            self.members.setdefault(self.target_of[slot], []).append(slot)
        self.alive = list(range(len(self.targets) + 1))  # next target not yet taken
        # Per array: (any value beside it, any matched value beside it whose next state is
        # the chain's, matched values beside it leading elsewhere).
        self.off: dict[int, tuple[bool, bool, list[int]]] = {}
        self.up: dict[int, tuple[bool, bool, int]] = {0: (False, False, 0)}

    def cut(self, slot: int) -> int:
        """The deepest slot on ``slot``'s chain in an array that matters after this position
        (0 when none does)."""
        flat, memo, paths = self.flat, self.to_cut, self.paths
        walked = []
        while slot:
            known = memo.get(slot)
            if known is not None:
                slot = known
                break
            if flat.array_paths[flat.arrays[slot]] in paths:
                break
            walked.append(slot)
            slot = flat.parents[slot]
        for step in walked:
            memo[step] = slot
        return slot

    def nexts(self, state: State) -> set[State]:
        if len(state) > 1:
            return self._nexts_of_chains(state)
        chain = state[0] if state else 0
        flat = self.flat
        end = flat.ends[chain] if chain else 1 << 62
        after = self.cut(chain)
        beside_any, beside_on_chain, slot = self._up(chain)
        if not (beside_any or _any_between(self.slots, chain, end)):
            return {_single(after)} if self.absent_ok else set()
        found: set[State] = set()
        if after == chain:  # below the chain, values lead to their own targets
            found.update(_single(target) for target in self._take(chain, end))
        elif _any_between(self.matched, chain, end):
            found.add(_single(after))
        if beside_on_chain:
            found.add(_single(after))
        while slot:  # beside the chain, values leading off it (dotted keys in the event)
            for target in self._apart(flat.arrays[slot]):
                found.add(_state_of([after, target], flat.ends))
            slot = self._up(flat.parents[slot])[2]
        return found

    def _apart(self, array: int) -> list[int]:
        """The targets beside ``array`` leading off the chain, one per shape once states are
        told apart by shape: such targets all lie below the slot holding ``array``, at the
        same depth, so alike targets make alike states with any chain through ``array``."""
        if self.shapes is None:
            return self.off[array][2]
        known = self.apart.get(array)
        if known is None:
            known = self.apart[array] = self._one_per_shape(self.off[array][2])
        return known

    def _take(self, first: int, last: int) -> list[int]:
        """The targets between ``first`` and ``last`` not taken before, now taken: the state a
        target below the chain leads to is the target's own, whichever state leads there."""
        from bisect import bisect_left

        targets, alive = self.targets, self.alive
        taken = []
        index = _find(alive, bisect_left(targets, first))
        while index < len(targets) and targets[index] <= last:
            taken.append(targets[index])
            alive[index] = index + 1
            index = _find(alive, index + 1)
        return taken

    def _beside(self, array: int) -> tuple[bool, bool, list[int]]:
        """What lies beside ``array`` in the slot holding it, computed once per array."""
        from bisect import bisect_left, bisect_right

        known = self.off.get(array)
        if known is not None:
            return known
        flat = self.flat
        first, last = flat.array_lo[array], flat.array_hi[array]
        holder = flat.parents[first]
        if first == holder + 1 and last == flat.ends[holder]:
            # The common case (an array in an array, or alone in its object): beside it is
            # only the holding slot's own values, whose next state is the chain's.
            values = holder in self.target_of
            known = (values or _any_between(self.slots, holder, holder), values, [])
        else:
            ranges = ((holder, first - 1), (last + 1, flat.ends[holder]))
            any_value = any(_any_between(self.slots, low, high) for low, high in ranges)
            on_chain = False
            elsewhere: set[int] = set()
            matched = self.matched
            for low, high in ranges:
                for slot in matched[bisect_left(matched, low) : bisect_right(matched, high)]:
                    target = self.target_of[slot]
                    if target <= holder:
                        on_chain = True
                    else:
                        elsewhere.add(target)
            known = (any_value, on_chain, sorted(elsewhere))
        self.off[array] = known
        return known

    def _up(self, slot: int) -> tuple[bool, bool, int]:
        """For the arrays on ``slot``'s chain: whether a value lies beside one, whether a
        matched value beside one leads to the chain's own next state, and the nearest slot
        (0 for none) whose array has matched values beside it leading elsewhere. Remembered
        per slot: a slot's answer is its own array's combined with its parent's."""
        memo, flat = self.up, self.flat
        parents, arrays, ends, lows = flat.parents, flat.arrays, flat.ends, flat.array_lo
        walked = []
        while slot not in memo:
            walked.append(slot)
            slot = parents[slot]
        answer = memo[slot]
        for step in reversed(walked):
            array = arrays[step]
            first = lows[array]
            holder = parents[first]
            if first == holder + 1 and flat.array_hi[array] == ends[holder]:
                # The common case, inlined: see _beside.
                if holder in self.slot_set:
                    on_chain = answer[1] or holder in self.target_of
                    answer = (True, on_chain, answer[2])
            else:
                any_value, on_chain, elsewhere = self._beside(array)
                answer = (
                    answer[0] or any_value,
                    answer[1] or on_chain,
                    step if elsewhere else answer[2],
                )
            memo[step] = answer
        return answer

    def _nexts_of_chains(self, state: State) -> set[State]:
        """The general case. The elements a state chooses (its chains) split the event: the
        slots on the chains, and the arrays they hold of which no element is chosen. A target
        on a chain may have values in excluded elements below it, so its values are looked
        up in the allowed ranges (:func:`_allowed`). A target in such an array has none: an
        excluded slot below it would put a chosen element below it too. So every target in
        the array may be taken, and those of one shape lead to states of one shape
        (:meth:`_alike`): a wide array beside the chains costs a step per shape it holds,
        not per element, for each state."""
        flat = self.flat
        pinned = _pinned(state, flat)
        allowed = _allowed(pinned, flat)
        ends = flat.ends
        kept = [self.cut(slot) for slot in state]
        if not _any_within(self.slots, allowed):
            return {_state_of(kept, ends)} if self.absent_ok else set()
        assert self.shapes is not None  # set before any state with several chains is made
        held_by = self.shapes.held_by()
        found: set[State] = set()
        for slot in (0, *pinned.values()):
            members = self.members.get(slot)
            if members and _any_within(members, allowed, slot, ends[slot] if slot else 1 << 62):
                found.add(_state_of([*kept, slot], ends))
            for array in held_by.get(slot, ()):
                if array not in pinned:  # nothing in it is excluded: all its targets are free
                    found.update(_state_of([*kept, target], ends) for target in self._alike(array))
        return found

    def _alike(self, array: int) -> list[int]:
        """The targets inside ``array`` (at any depth), one per shape, remembered per array.
        Targets of one shape there lead alike from any state holding no element of ``array``:
        the shape of a target alone (:meth:`_Shapes.of`) fixes what its chain looks like up
        to the root, and the state meets that chain at the same slot, the one holding
        ``array``."""
        from bisect import bisect_left, bisect_right

        known = self.alike.get(array)
        if known is None:
            flat, targets = self.flat, self.targets
            first, last = flat.array_lo[array], flat.array_hi[array]
            inside = targets[bisect_left(targets, first) : bisect_right(targets, last)]
            known = self.alike[array] = self._one_per_shape(inside)
        return known

    def _one_per_shape(self, targets: list[int]) -> list[int]:
        """The first of ``targets`` of each shape, as a state of one chain at the next
        position (all of them while states are not told apart by shape)."""
        shapes = self.shapes
        if shapes is None or len(targets) < 2:
            return targets
        following = self.following
        by_shape: dict[Hashable, int] = {}
        for target in targets:
            by_shape.setdefault(shapes.of(following, (target,)), target)
        return list(by_shape.values())


def _single(slot: int) -> State:
    return (slot,) if slot else ()


def _state_of(slots: list[int], ends: list[int]) -> State:
    """The chosen elements as a state: no slot 0, no slot whose chain another one extends."""
    chosen = sorted({slot for slot in slots if slot})
    return tuple(a for a in chosen if not any(a < b <= ends[a] for b in chosen))


def _find(alive: list[int], index: int) -> int:
    """The first index from ``index`` on not taken (union-find with path halving)."""
    while alive[index] != index:
        alive[index] = alive[alive[index]]
        index = alive[index]
    return index


def _any_between(items: list[int], first: int, last: int) -> bool:
    """Whether the sorted ``items`` hold one between ``first`` and ``last``."""
    from bisect import bisect_left

    index = bisect_left(items, first)
    return index < len(items) and items[index] <= last


_EVERYWHERE = [(0, 1 << 62)]


def _pinned(state: State, flat: Flat) -> dict[int, int]:
    """The arrays on the chains of ``state``, each with the element chosen in it."""
    parents, arrays = flat.parents, flat.arrays
    pinned: dict[int, int] = {}
    for slot in state:
        while slot and arrays[slot] not in pinned:
            pinned[arrays[slot]] = slot
            slot = parents[slot]
    return pinned


def _allowed(pinned: dict[int, int], flat: Flat) -> list[tuple[int, int]]:
    """The slot ranges (sorted, disjoint, inclusive) lying in no other element of an array than
    the ``pinned`` ones (:func:`_pinned`): all slots but the other elements of those arrays."""
    if not pinned:
        return _EVERYWHERE
    ends, lo, hi = flat.ends, flat.array_lo, flat.array_hi
    excluded: list[tuple[int, int]] = []  # disjoint: the arrays' other elements
    for array, element in pinned.items():
        if lo[array] < element:
            excluded.append((lo[array], element - 1))
        if ends[element] < hi[array]:
            excluded.append((ends[element] + 1, hi[array]))
    excluded.sort()
    allowed: list[tuple[int, int]] = []
    start = 0
    for first, last in excluded:
        if start < first:
            allowed.append((start, first - 1))
        start = last + 1
    allowed.append((start, 1 << 62))
    return allowed


def _any_within(
    items: list[int], allowed: list[tuple[int, int]], low: int = 0, high: int = 1 << 62
) -> bool:
    """Whether an item (of the sorted ``items``) between ``low`` and ``high`` lies in the
    ``allowed`` ranges; a bisection per range overlapping ``low .. high``."""
    from bisect import bisect_left, bisect_right

    if not items:
        return False
    start = max(0, bisect_right(allowed, (low, 1 << 62)) - 1)
    for first, last in allowed[start:]:
        if first > high:
            break
        first, last = max(first, low), min(last, high)
        if first <= last:
            index = bisect_left(items, first)
            if index < len(items) and items[index] <= last:
                return True
    return False


def general_match(rules: list[Rule], event: Any, relevant: set[str] | None = None) -> bool:
    flat = flatten(event, relevant)
    groups: dict[tuple[str, int], _Groups] = {}
    return any(rule_matches(rule, flat, groups) for rule in rules)


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
    none there), in order. Iterative: nesting costs neither stack nor time."""
    pending = [iter(value)]
    while pending:
        for item in pending[-1]:
            if isinstance(item, (list, tuple)):
                pending.append(iter(item))
                break
            if not isinstance(item, dict):
                yield item
        else:
            pending.pop()


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
