"""Matching stays linear when dotted keys in the event open two, three or more arrays at once.

A key with a dot in the event is another route to a pattern's path: ``{"d": [...], "d.b":
[...], "d.b.x": [...]}`` reaches ``d.b.x`` through any of the three arrays. With ``exists:
false`` in the pattern, event-ruler's search (paths in sorted order, one element per array)
may hold an element of "d" and one of "d.b" while it takes a field from a third array. Each
such state used to look at every element of the third array: distinct shapes of "d" times the
width of the third array, seconds for 60 KB. The search now looks at each array beside the
chosen elements once per shape of what it holds.

Two arrays whose elements all differ in what the pattern's paths see were the last such case:
a state per pair of elements, seconds at 60 KB. With few enough paths, the search is now
decided children first, by what each subtree's choices leave visible, with no pairing at all.

Each case is checked at ~60-150 KB against the CPU-time bound of the hostile-event suite, and
the same builder at a small size against the reference evaluator, so the expected answers are
event-ruler's, not only reasoned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.property.filter_reference import reference_matches
from tests.unit.test_filtering_hostile import decide, nested_lists

# Sorted: d.a, d.b.w, d.b.x, d.b.x.y, d.b.z, d.c, d.q. After d.a (from an element of "d") and
# d.b.w (from the element of "d.b"), d.b.x comes from the third array, "d.b.x"; d.b.x.y must
# then be absent beside the chosen elements, d.c present in the chosen element of "d".
THREE = {
    "d.a": [1],
    "d.b.w": [2],
    "d.b.x": [1],
    "d.b.x.y": [{"exists": False}],
    "d.b.z": [2],
    "d.c": [3],
    "d.q": [{"exists": False}],
}
# The same with the last exists:false at the top level (taken last: "q" sorts after "d...").
TOP = {**{path: THREE[path] for path in THREE if path != "d.q"}, "q": [{"exists": False}]}
# A fourth array, "d.b.x.v", opened beside the three.
FOUR = {**THREE, "d.b.x.v": [1], "d.b.x.v.u": [{"exists": False}]}

Builder = Callable[[int, int], dict[str, Any]]


def distinct_d(shapes: int, last: dict[str, Any] | None) -> list[Any]:
    """Elements of "d" with d.a, each of its own shape (d.c at a distinct nesting depth, which
    the path d.c sees, so merging alike elements does not help), and ``last`` after them."""
    elements: list[Any] = [{"a": 1, "c": nested_lists(depth, 4)} for depth in range(shapes)]
    return elements if last is None else [*elements, last]


def three(third: Callable[[int], list[Any]], last: dict[str, Any] | None = None) -> Builder:
    def build(shapes: int, width: int) -> dict[str, Any]:
        return {"d": distinct_d(shapes, last), "d.b": [{"w": 2, "z": 2}], "d.b.x": third(width)}

    return build


def held_by_d_b(last: dict[str, Any] | None = None) -> Builder:
    """The third array under the element of "d.b" (key "x") rather than opened by a key."""

    def build(shapes: int, width: int) -> dict[str, Any]:
        return {"d": distinct_d(shapes, last), "d.b": [{"w": 2, "z": 2, "x": [[1]] * width}]}

    return build


def four(last: dict[str, Any] | None = None) -> Builder:
    def build(shapes: int, width: int) -> dict[str, Any]:
        event = three(alike, last)(shapes, width)
        return {**event, "d.b.x.v": [[1]] * width}

    return build


def with_q(build: Builder) -> Builder:
    return lambda shapes, width: {**build(shapes, width), "q": 0}


C = {"a": 1, "c": 3}  # an element of "d" satisfying d.a and d.c
C_AND_Q = {"a": 1, "c": 3, "q": 0}  # the same, but d.q is then present beside it


def alike(width: int) -> list[Any]:
    return [[1]] * width


def deeper(width: int) -> list[Any]:
    return [[[1]]] * width


def with_y(width: int) -> list[Any]:
    return [[1, {"y": 1}]] * width


def one_without_y(width: int) -> list[Any]:
    return [*with_y(width), [1]]


CASES = [
    # No element of "d" has d.c = 3: nothing matches, after every state has been reached.
    pytest.param(THREE, three(alike), False, id="three arrays, no c"),
    pytest.param(THREE, three(alike, C), True, id="three arrays, a and c"),
    pytest.param(THREE, three(alike, C_AND_Q), False, id="three arrays, a and c, and q"),
    # Each element of the third array is an array in an array: its d.b.x lies one level down,
    # in an array of its own, so the alike elements are in as many different arrays.
    pytest.param(THREE, three(deeper), False, id="third array nested deeper"),
    pytest.param(THREE, three(deeper, C), True, id="third array nested deeper, a and c"),
    # d.b.x.y beside every d.b.x: the exists:false fails in every element but one, or all.
    pytest.param(THREE, three(with_y, C), False, id="y beside every x"),
    pytest.param(THREE, three(one_without_y, C), True, id="y beside every x but one"),
    # The third array held by the chosen element of "d.b": beside the chains, not apart.
    pytest.param(THREE, held_by_d_b(), False, id="third array in the element of d.b"),
    pytest.param(THREE, held_by_d_b(C), True, id="third array in the element of d.b, a and c"),
    pytest.param(TOP, three(alike), False, id="exists false at the top, no c"),
    pytest.param(TOP, three(alike, C), True, id="exists false at the top, a and c"),
    pytest.param(TOP, with_q(three(alike, C)), False, id="exists false at the top, q present"),
    pytest.param(FOUR, four(), False, id="four arrays, no c"),
    pytest.param(FOUR, four(C), True, id="four arrays, a and c"),
    pytest.param(FOUR, four(C_AND_Q), False, id="four arrays, a and c, and q"),
]
SHAPES = 200  # distinct shapes of "d"
WIDTH = 6_000  # elements of the third (and fourth) array: 70-150 KB in all


@pytest.mark.parametrize(("pattern", "build", "expected"), CASES)
def test_the_answers_are_event_ruler_s(
    pattern: dict[str, Any], build: Builder, expected: bool
) -> None:
    # The reference evaluator backtracks: it decides the same events at a small size.
    assert reference_matches(pattern, build(3, 3)) is expected


@pytest.mark.parametrize(("pattern", "build", "expected"), CASES)
def test_a_third_array_beside_two_chosen_elements_is_linear(
    pattern: dict[str, Any], build: Builder, expected: bool
) -> None:
    decide(pattern, build(SHAPES, WIDTH), expected)


# Sorted: d.a, d.b.w, d.b.z, d.c, d.q. After d.a (from an element of "d") and d.b.w (from an
# element of "d.b"), the search holds one element of each array: d.b.z must be 2 in the one of
# "d.b", d.c 3 in the one of "d", and d.q absent beside both.
TWO = {"d.a": [1], "d.b.w": [2], "d.b.z": [2], "d.c": [3], "d.q": [{"exists": False}]}


def code(number: int) -> list[Any]:
    """A value of its own shape for each number: lists of 4 at the depths of its set bits.
    Elements holding different codes differ in what the path at them sees, so none are alike,
    at about 65 characters each."""
    return [nested_lists(depth, 4) for depth in range(number.bit_length()) if number >> depth & 1]


def two(d_last: dict[str, Any] | None = None, d_q: bool = False) -> Callable[[int], Any]:
    """Elements of "d" and of "d.b", each of its own shape, none satisfying d.b.z or d.c;
    then ``d_last`` in "d" and an element satisfying d.b.z in "d.b". With ``d_q`` every
    element of "d" holds d.q, each of its own shape too."""

    def build(shapes: int) -> Any:
        numbers = range(1, shapes + 1)
        d: list[Any] = [{"a": 1, "c": code(number)} for number in numbers]
        if d_q:
            d = [{"a": 1, "c": 3, "q": code(number)} for number in numbers]
        d_b: list[Any] = [{"w": 2, "z": code(number)} for number in numbers]
        if d_last is not None:
            d, d_b = [*d, d_last], [*d_b, {"w": 2, "z": 2}]
        return {"d": d, "d.b": d_b}

    return build


TWO_CASES = [
    pytest.param(two(), False, id="no element satisfies d.c"),
    pytest.param(two(C), True, id="the last elements satisfy all"),
    pytest.param(two(C_AND_Q), False, id="the last elements satisfy all, d.q beside them"),
    pytest.param(two(C, d_q=True), True, id="d.q beside every element of d but the last"),
    pytest.param(two(C_AND_Q, d_q=True), False, id="d.q beside every element of d"),
]
TWO_SHAPES = 700  # distinct shapes in each array: about 95-100 KB


@pytest.mark.parametrize(("build", "expected"), TWO_CASES)
def test_two_arrays_of_distinct_elements_give_event_ruler_s_answers(
    build: Callable[[int], Any], expected: bool
) -> None:
    assert reference_matches(TWO, build(3)) is expected


@pytest.mark.parametrize(("build", "expected"), TWO_CASES)
def test_two_arrays_of_distinct_elements_are_not_paired_element_by_element(
    build: Callable[[int], Any], expected: bool
) -> None:
    decide(TWO, build(TWO_SHAPES), expected)


# Alternatives longer than _CHOSEN_PATHS with exists:false: deciding them children first costs
# a step per pair of options where two arrays meet, up to 3**n for n paths; searching them
# state by state costs the product of two arrays' distinct shapes. Each algorithm has an event
# built against it (16 s and 40 s at 100 KB): the two are raced, and the first answer taken.


def many_paths(count: int) -> dict[str, Any]:
    """o.d.e.k0 ... o.d.e.k{count - 2} equal to 1, then o.d.e.z absent: ``count`` paths."""
    keys = {f"k{index}": [1] for index in range(count - 1)}
    return {"o": {"d": {"e": {**keys, "z": [{"exists": False}]}}}}


def met_in_two_arrays(count: int, last: dict[str, Any] | None) -> Callable[[int], Any]:
    """Elements of "o" each holding the arrays "d" and "d.e" (a dotted key), whose elements
    reach every k, or every k but one, and z: every subset of the paths is an option of each
    array, z always visible beside. Then ``last``."""

    def build(elements: int) -> Any:
        keys = [f"k{index}" for index in range(count - 1)]
        every = {**dict.fromkeys(keys, 1), "z": 1}
        all_but = [{**dict.fromkeys(keys[:skip] + keys[skip + 1 :], 1), "z": 1} for skip in (0, 1)]
        kinds: list[Any] = [
            {"d": [{"e": every}], "d.e": [every]},
            {"d": [{"e": all_but[0]}, {"e": all_but[1]}], "d.e": [all_but[0]]},
        ]
        found = [kinds[index % 2] for index in range(elements)]
        return {"o": found if last is None else [*found, last]}

    return build


def taking_all(count: int, z_beside: bool) -> dict[str, Any]:
    """An element of "o" whose element of "d" takes every k, with z in "d.e" or not at all."""
    keys = {f"k{index}": 1 for index in range(count - 1)}
    return {"d": [{"e": keys}], **({"d.e": [{"z": 1}]} if z_beside else {})}


MANY_CASES = [
    pytest.param(count, last, expected, id=f"{count} paths, {name}")
    for count in (9, 11, 12)
    for name, last, expected in [
        ("z beside every choice", None, False),
        ("one element takes all, z elsewhere", taking_all(count, False), True),
        ("one element takes all, z beside it", taking_all(count, True), False),
    ]
]
MANY_ELEMENTS = 400  # about 90-115 KB


@pytest.mark.parametrize(("count", "last", "expected"), MANY_CASES)
def test_many_paths_met_in_two_arrays_give_event_ruler_s_answers(
    count: int, last: dict[str, Any] | None, expected: bool
) -> None:
    assert reference_matches(many_paths(count), met_in_two_arrays(count, last)(3)) is expected


@pytest.mark.parametrize(("count", "last", "expected"), MANY_CASES)
def test_many_paths_met_in_two_arrays_are_not_combined_subset_by_subset(
    count: int, last: dict[str, Any] | None, expected: bool
) -> None:
    decide(many_paths(count), met_in_two_arrays(count, last)(MANY_ELEMENTS), expected)


# TWO with four more paths taken from the elements of "d.b": too long for _chosen alone, and
# the state search pairs the distinct elements of "d" and "d.b".
TWO_MORE = {**TWO, **{f"d.b.m{index}": [2] for index in range(4)}}


def two_more(build: Callable[[int], Any]) -> Callable[[int], Any]:
    def more(shapes: int) -> Any:
        event = build(shapes)
        for element in event["d.b"]:
            element.update({f"m{index}": 2 for index in range(4)})
        return event

    return more


@pytest.mark.parametrize(("build", "expected"), TWO_CASES)
def test_two_arrays_and_many_paths_give_event_ruler_s_answers(
    build: Callable[[int], Any], expected: bool
) -> None:
    assert reference_matches(TWO_MORE, two_more(build)(3)) is expected


@pytest.mark.parametrize(("build", "expected"), TWO_CASES)
def test_two_arrays_of_distinct_elements_and_many_paths_are_not_paired(
    build: Callable[[int], Any], expected: bool
) -> None:
    decide(TWO_MORE, two_more(build)(TWO_SHAPES), expected)


# Both at once: TWO's paths (against the state search) and many paths met in two arrays
# (against deciding children first) in one alternative, each half in its own top-level array.
# No array holds fields of both halves, so each is decided apart by the algorithm it does not
# hurt; together they used to cost about twice the cheaper algorithm on the whole (4.2 CPU s
# at 175 KB with 16 paths; now under 0.3 s).
BOTH_PATHS = 16
BOTH_SIZE = 500  # about 175 KB


def both_halves(build: Callable[[int], Any], last: dict[str, Any] | None) -> Callable[[int], Any]:
    def make(size: int) -> Any:
        return {**build(size), **met_in_two_arrays(BOTH_PATHS, last)(size * 4 // 7)}

    return make


BOTH_CASES = [
    pytest.param(two(C), None, False, id="the second half never matches"),
    pytest.param(two(), taking_all(BOTH_PATHS, False), False, id="the first half never matches"),
    pytest.param(two(C), taking_all(BOTH_PATHS, False), True, id="both halves match"),
    pytest.param(two(C), taking_all(BOTH_PATHS, True), False, id="z beside the one that takes all"),
]


@pytest.mark.parametrize(("build", "last", "expected"), BOTH_CASES)
def test_unlinked_halves_give_event_ruler_s_answers(
    build: Callable[[int], Any], last: dict[str, Any] | None, expected: bool
) -> None:
    pattern = {**TWO, **many_paths(BOTH_PATHS)}
    assert reference_matches(pattern, both_halves(build, last)(3)) is expected


@pytest.mark.parametrize(("build", "last", "expected"), BOTH_CASES)
def test_halves_no_array_links_are_decided_apart(
    build: Callable[[int], Any], last: dict[str, Any] | None, expected: bool
) -> None:
    decide({**TWO, **many_paths(BOTH_PATHS)}, both_halves(build, last)(BOTH_SIZE), expected)
