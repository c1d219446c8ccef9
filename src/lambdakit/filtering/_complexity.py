"""How complex a pattern's wildcards are, measured as AWS's matcher measures it.

AWS refuses a pattern whose wildcards it judges too complex ("Rule is too complex - try using
fewer wildcard characters or fewer repeating character sequences after a wildcard
character"). aws/event-ruler, the matcher behind Lambda's and EventBridge's filtering, measures
that complexity per field (``MachineComplexityEvaluator``): the largest number of wildcard
pattern prefixes that one input value can be matching at the same time. ``"*a*a*a*"`` scores 7
(for ``"aaa"``, every prefix from ``"*"`` to ``"*a*a*a*"`` matches); a plain ``"*.png"`` scores
2. Every wildcard on the same field (``anything-but`` ones included) counts together, whatever
``$or`` branch it sits in, because the matcher builds one state machine per field.

The measure is computed by walking the subsets of pattern positions that some input can reach
(a subset construction over UTF-8 bytes, as the matcher works on bytes), stopping at ``cap``.
"""

from __future__ import annotations

from lambdakit.filtering._tree import AnythingBut, Wildcard, walk

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambdakit.filtering._tree import Node

_STAR = -1
_OTHER = 256  # a byte no pattern names: matches only wildcards
# Enough to tell "too complex" from fine with a wide margin; bounds the work on hostile input.
DEFAULT_CAP = 100
_MAX_SUBSETS = 20_000


def wildcard_complexity(root: Node, cap: int = DEFAULT_CAP) -> dict[str, int]:
    """Each field path that has wildcards, with its complexity (at most ``cap``)."""
    by_path: dict[str, list[tuple[int, ...]]] = {}
    for node, path, _ in walk(root):
        if node.leaf is None or path is None:
            continue
        for condition in node.leaf.conditions:
            # ``anything-but`` wildcards are built into the same machine and count alike.
            if isinstance(condition, Wildcard):
                wildcards: tuple[Wildcard, ...] = (condition,)
            elif isinstance(condition, AnythingBut):
                wildcards = condition.wildcards
            else:
                continue
            found = by_path.setdefault(path, [])
            for wildcard in wildcards:
                tokens = _tokens(wildcard.pieces)
                if tokens not in found:  # the same pattern twice shares its states
                    found.append(tokens)
    return {path: _complexity(patterns, cap) for path, patterns in by_path.items()}


def _tokens(pieces: tuple[str, ...]) -> tuple[int, ...]:
    out: list[int] = []
    for index, piece in enumerate(pieces):
        if index:
            out.append(_STAR)
        out.extend(piece.encode())
    return tuple(out)


def _closure(
    states: set[tuple[int, int]], patterns: list[tuple[int, ...]]
) -> frozenset[tuple[int, int]]:
    """Add, for each state before a ``*``, the state after it (a star matches nothing too)."""
    pending = list(states)
    while pending:
        which, at = pending.pop()
        tokens = patterns[which]
        if at < len(tokens) and tokens[at] == _STAR and (which, at + 1) not in states:
            states.add((which, at + 1))
            pending.append((which, at + 1))
    return frozenset(states)


def _complexity(patterns: list[tuple[int, ...]], cap: int) -> int:
    # A state (pattern, k) means: the input so far matches the pattern's first k tokens.
    alphabet = [*sorted({t for tokens in patterns for t in tokens if t != _STAR}), _OTHER]
    start = _closure({(which, 0) for which in range(len(patterns))}, patterns)
    seen = {start}
    pending = [start]
    best = 0
    while pending and len(seen) < _MAX_SUBSETS:
        current = pending.pop()
        for byte in alphabet:
            following: set[tuple[int, int]] = set()
            for which, at in current:
                tokens = patterns[which]
                if at < len(tokens) and tokens[at] == byte:
                    following.add((which, at + 1))
                if at and tokens[at - 1] == _STAR:  # the star takes this byte too
                    following.add((which, at))
            if not following:
                continue
            reached = _closure(following, patterns)
            if len(reached) >= cap:
                return cap
            best = max(best, len(reached))
            if reached not in seen:
                seen.add(reached)
                pending.append(reached)
    return best
