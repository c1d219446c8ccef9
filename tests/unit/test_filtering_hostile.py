"""Matching takes time linear in the event, whatever the event holds.

Anyone who can put a message on a queue chooses the event a filter pattern is matched against.
A matcher that backtracks, or copies what it has already seen at each level of nesting, lets
that message time the function out, and the batch is then delivered again, and again. Each test
here gives one operator family an input of about 100,000 characters built to hurt it (the
shapes that made the old matcher take seconds to minutes) and checks the answer and the CPU
time of ``matches`` and ``explain``. The bound is generous (see ``BOUND``): linear work on
these inputs takes milliseconds to half a second, the old matcher seconds to minutes.

Deeply nested events are built in Python: ``json.loads`` stops at its recursion limit long
before 100,000 levels, but an event handed to ``matches`` may come from anywhere.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from lambdakit.filtering import FilterCriteria, compile_pattern

SIZE = 100_000  # characters (or elements, or levels) of each hostile input
# CPU seconds for one call of matches or explain. Linear work takes milliseconds to about half a
# second on the largest of these inputs (deep events, wide arrays of objects); each input is
# built so that the old, super-linear matcher took 9 s (equals-ignore-case on 4,000-character
# patterns) to minutes. 3 s separates the two with room for a loaded, shared machine, where a
# 0.5 s call was once measured at 1.3 s.
BOUND = 3.0
RUNAWAY = 20.0  # CPU seconds after which a test is stopped instead of left to run for minutes


class Runaway(BaseException):
    """Raised by the CPU-time alarm. A BaseException, so that no ``except Exception`` inside
    the matcher can swallow it."""


@contextlib.contextmanager
def linear_time(bound: float = BOUND) -> Iterator[None]:
    """The block must use less than ``bound`` CPU seconds (CPU time, not wall-clock time: the
    machine may be shared). A block still running after ``RUNAWAY`` seconds is stopped."""

    def stop(signum: int, frame: Any) -> None:
        raise Runaway(f"still running after {RUNAWAY} CPU seconds")

    alarm = hasattr(signal, "setitimer") and hasattr(signal, "SIGPROF")
    if alarm:
        previous = signal.signal(signal.SIGPROF, stop)
        signal.setitimer(signal.ITIMER_PROF, RUNAWAY)
    start = time.process_time()
    try:
        yield
    except Runaway:
        # Reported without the traceback: its frames include generated code.
        pytest.fail(f"still running after {RUNAWAY} CPU seconds", pytrace=False)
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous)
    spent = time.process_time() - start
    assert spent < bound, f"took {spent:.2f} CPU seconds (bound {bound})"


def decide(pattern: Any, event: Any, expected: bool) -> None:
    """``matches`` gives ``expected`` and ``explain`` agrees, each within the bound. The
    pattern is compiled first, outside the timed blocks."""
    compiled = compile_pattern(pattern)
    with linear_time():
        result = compiled.matches(event)
    with linear_time():
        explanation = compiled.explain(event)
    assert result is expected
    assert (explanation is None) is expected, str(explanation)[:200]


def nested_lists(depth: int, inner: Any) -> Any:
    """``[[[...inner...]]]``, ``depth`` lists deep."""
    value = inner
    for _ in range(depth):
        value = [value]
    return value


def nested(depth: int, make: Any, inner: Any) -> Any:
    value = inner
    for _ in range(depth):
        value = make(value)
    return value


# --- exact, prefix, suffix ---------------------------------------------------------------------

LONG = "x" * SIZE
ALMOST = "x" * 1000 + "y"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        pytest.param({"a": [ALMOST]}, False, id="exact"),
        pytest.param({"a": [{"exactly": ALMOST}]}, False, id="exactly"),
        pytest.param({"a": [{"prefix": ALMOST}]}, False, id="prefix"),
        pytest.param({"a": [{"suffix": ALMOST}]}, False, id="suffix"),
        pytest.param({"a": [{"prefix": "x" * 1000}]}, True, id="prefix that holds"),
        pytest.param({"a": [{"anything-but": [ALMOST, "x"]}]}, True, id="anything-but a list"),
        pytest.param({"a": [{"anything-but": {"prefix": ALMOST}}]}, True, id="anything-but prefix"),
        pytest.param({"a": [{"anything-but": {"suffix": "x"}}]}, False, id="anything-but suffix"),
    ],
)
def test_exact_prefix_suffix_and_anything_but_on_a_long_string_are_linear(
    pattern: Any, expected: bool
) -> None:
    decide(pattern, {"a": LONG}, expected)


def test_a_value_list_against_an_array_of_100000_strings_is_linear() -> None:
    event = {"a": ["x" * 10] * (SIZE // 10) + ["match"]}
    decide({"a": ["match", {"prefix": "y"}, {"suffix": "z"}]}, event, True)
    decide({"a": ["nothing", {"prefix": "y"}, {"suffix": "z"}]}, event, False)


# --- equals-ignore-case ------------------------------------------------------------------------

# Patterns of 4,000 characters (Lambda allows 4,096) that match all but their last character
# at every position of the event: tried position by position, that is 400 million steps.
ACUTE = "é" * 3999 + "x"
SHARP = "ß" * 3999 + "x"  # "ß" is "SS" in upper case: a form two characters long
PLAIN = "a" * 3999 + "b"  # an ASCII pattern, against text that is not ASCII


@pytest.mark.parametrize(
    ("operator", "event", "expected"),
    [
        pytest.param({"equals-ignore-case": ACUTE}, "é" * SIZE, False, id="equals, non-ASCII"),
        pytest.param({"prefix": {"equals-ignore-case": ACUTE}}, "É" * SIZE, False, id="prefix"),
        pytest.param({"suffix": {"equals-ignore-case": ACUTE}}, "é" * SIZE, False, id="suffix"),
        pytest.param(
            {"suffix": {"equals-ignore-case": ACUTE}}, "é" * SIZE + "X", True, id="suffix holds"
        ),
        pytest.param(
            {"suffix": {"equals-ignore-case": SHARP}}, "S" * SIZE, False, id="suffix, SS for ß"
        ),
        pytest.param(
            {"suffix": {"equals-ignore-case": SHARP}},
            "S" * SIZE + "x",
            True,
            id="suffix, SS for ß, holds",
        ),
        pytest.param(
            {"suffix": {"equals-ignore-case": PLAIN}}, "é" + "a" * SIZE, False, id="ASCII pattern"
        ),
        pytest.param({"equals-ignore-case": PLAIN}, "A" * SIZE, False, id="equals, ASCII"),
        pytest.param(
            {"anything-but": {"equals-ignore-case": [ACUTE, SHARP]}},
            "é" * SIZE,
            True,
            id="anything-but equals-ignore-case",
        ),
    ],
)
def test_equals_ignore_case_is_linear_on_non_ascii_text(
    operator: dict[str, Any], event: str, expected: bool
) -> None:
    decide({"a": [operator]}, {"a": event}, expected)


# --- numeric and numbers -----------------------------------------------------------------------

HUGE = 10**SIZE  # 100,001 digits: more than Python converts to text (4,300 digits by default)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        pytest.param({"a": [{"numeric": [">", 0]}]}, HUGE, False, id="numeric, huge integer"),
        pytest.param({"a": [{"numeric": [">", 0]}]}, -HUGE, False, id="numeric, huge negative"),
        pytest.param({"a": [5, {"exists": True}]}, HUGE, True, id="exists after a number"),
        pytest.param({"a": [5, 10**20]}, HUGE, False, id="number literals"),
        pytest.param({"a": [{"anything-but": [5]}]}, HUGE, True, id="anything-but a number"),
        pytest.param(
            {"a": [{"numeric": [">", 0]}]},
            Decimal("1." + "0" * SIZE),
            True,
            id="numeric, a 100,000-digit decimal",
        ),
        pytest.param(
            {"a": [{"numeric": [">", 0]}]}, "9" * SIZE, False, id="numeric, a string of digits"
        ),
    ],
)
def test_numbers_of_100000_digits_are_handled_in_linear_time(
    pattern: Any, value: Any, expected: bool
) -> None:
    decide(pattern, {"a": value}, expected)


def test_numeric_against_an_array_of_100000_numbers_is_linear() -> None:
    event = {"a": [*range(SIZE), HUGE]}
    decide({"a": [{"numeric": [">", SIZE]}]}, event, False)
    decide({"a": [{"numeric": [">=", SIZE - 1]}]}, event, True)


# --- cidr and IP addresses ---------------------------------------------------------------------

IP_SHAPED = [
    pytest.param(":" * SIZE + "g", id="colons then a letter"),
    pytest.param(":" * SIZE, id="colons"),
    pytest.param("1:" * (SIZE // 2), id="hextets"),
    pytest.param("f" * SIZE + "::", id="one long hextet"),
    pytest.param("1." * (SIZE // 2) + "1", id="dotted numbers"),
    pytest.param("1" * SIZE + ".1.1.1", id="a long first octet"),
]


@pytest.mark.parametrize("value", IP_SHAPED)
@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param({"a": [{"cidr": "10.0.0.0/8"}]}, id="cidr v4"),
        pytest.param({"a": [{"cidr": "2001:db8::/32"}]}, id="cidr v6"),
        pytest.param({"a": ["10.0.0.1"]}, id="IPv4 literal"),
        pytest.param({"a": ["2001:db8::1"]}, id="IPv6 literal"),
    ],
)
def test_ip_address_parsing_is_linear(pattern: Any, value: str) -> None:
    decide(pattern, {"a": value}, False)


def test_an_array_of_100000_ip_shaped_strings_is_linear() -> None:
    event = {"a": [":" * 40 + "g"] * (SIZE // 40) + ["10.1.2.3"]}
    decide({"a": [{"cidr": "10.0.0.0/8"}]}, event, True)


def test_a_long_cidr_operand_is_refused_in_linear_time() -> None:
    from lambdakit.filtering import FilterPatternError

    with linear_time(), pytest.raises(FilterPatternError, match="IP address"):
        compile_pattern({"a": [{"cidr": ":" * SIZE + "g/8"}]})


# --- wildcard ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wildcard", "value", "expected"),
    [
        pytest.param("*a" * 50 + "*b", "a" * SIZE, False, id="many stars, missing end"),
        pytest.param("*ab" * 50 + "*", "a" * SIZE, False, id="many stars, missing piece"),
        pytest.param("*" + "a" * 500 + "b*", "a" * SIZE, False, id="a long piece"),
        pytest.param("a*" * 50 + "a", "a" * SIZE, True, id="many stars, holds"),
        pytest.param("*a*a*a*a*a*b", "a" * SIZE + "b", True, id="ends with the last piece"),
    ],
)
def test_wildcard_matching_is_linear(wildcard: str, value: str, expected: bool) -> None:
    decide({"a": [{"wildcard": wildcard}]}, {"a": value}, expected)
    decide({"a": [{"anything-but": {"wildcard": wildcard}}]}, {"a": value}, not expected)


# --- exists, and arrays of objects (the general algorithm) -------------------------------------

ELEMENTS = SIZE // 20  # objects of about 20 characters each


def test_exists_false_in_a_wide_array_of_objects_is_linear() -> None:
    # exists:false inside an array of objects needs event-ruler's full algorithm, which pairs
    # the fields of each element; every element here fails on its last field.
    pattern = {"d": {"a": [1], "b": [2], "c": [3], "z": [{"exists": False}]}}
    failing = {"d": [{"a": 1, "b": 2, "c": 4} for _ in range(ELEMENTS)]}
    decide(pattern, failing, False)
    decide(pattern, {"d": [*failing["d"], {"a": 1, "b": 2, "c": 3}]}, True)
    decide(pattern, {"d": [{"a": 1, "b": 2, "c": 3, "z": 0} for _ in range(ELEMENTS)]}, False)


def test_fields_in_wide_arrays_of_primitives_are_paired_in_linear_time() -> None:
    pattern = {"d": {"a": [1], "b": [2], "c": [3], "z": [{"exists": False}]}}
    wide = {"a": [1] * ELEMENTS, "b": [2] * ELEMENTS, "c": [4] * ELEMENTS}
    decide(pattern, {"d": [wide]}, False)
    decide(pattern, {"d": [{**wide, "c": [4] * ELEMENTS + [3]}]}, True)


def test_exists_on_an_array_of_100000_values_is_linear() -> None:
    decide({"a": [{"exists": False}], "b": ["x"]}, {"a": [None] * SIZE, "b": "x"}, False)
    decide({"a": [{"exists": True}], "b": ["y"]}, {"a": [[]] * SIZE, "b": "y"}, False)


def test_dotted_keys_aliasing_a_wide_array_are_linear() -> None:
    # A key with a dot in the event is another route to a path of the pattern.
    pattern = {"d": {"a": [1], "b": [2], "c": [3]}}
    event = {"d": [{"a": 1, "b": 2} for _ in range(ELEMENTS)], "d.b": [[2]] * ELEMENTS}
    decide(pattern, event, False)


def test_dotted_keys_opening_a_second_wide_array_are_linear() -> None:
    # Fields of d.b can come from d's elements or from the elements of "d.b": pairing every
    # element of one array with every element of the other is quadratic.
    pattern = {"d": {"a": [1], "b": {"w": [2], "z": [2]}, "c": [3]}}
    event = {
        "d": [{"a": 1} for _ in range(ELEMENTS)],
        "d.b": [{"w": 2, "z": 2} for _ in range(ELEMENTS)],
    }
    decide(pattern, event, False)
    decide(pattern, {**event, "d": [*event["d"], {"c": 3}]}, False)
    decide(pattern, {**event, "d": [*event["d"], {"a": 1, "c": 3}]}, True)


ALIASED = 10_000  # elements in each of the two arrays a dotted key sets side by side
NOT_Q = {"d": {"a": [1], "b": {"w": [2], "z": [2]}, "c": [3], "q": [{"exists": False}]}}
# Fields of d.b come from d's elements or from the elements of "d.b": after d.a and d.b.w, a
# search of (fields done, elements chosen) holds an element of each array, one per pair.
BOTH_IN_D_B = {
    "d": [{"a": 1} for _ in range(ALIASED)],
    "d.b": [{"w": 2, "z": 2} for _ in range(ALIASED)],
}
# d.b.w from an element of "d.b", d.b.z from the element of d that d.a came from.
SPLIT = {
    "d": [{"a": 1, "b": {"z": 2}} for _ in range(ALIASED)],
    "d.b": [{"w": 2} for _ in range(ALIASED)],
}


@pytest.mark.parametrize(
    ("event", "last", "expected"),
    [
        pytest.param(BOTH_IN_D_B, None, False, id="no c"),
        pytest.param(BOTH_IN_D_B, {"c": 3}, False, id="c without a"),
        pytest.param(BOTH_IN_D_B, {"a": 1, "c": 3}, True, id="a and c, no q"),
        pytest.param(BOTH_IN_D_B, {"a": 1, "c": 3, "q": 0}, False, id="a and c, and q"),
        pytest.param(SPLIT, None, False, id="split, no c"),
        pytest.param(SPLIT, {"a": 1, "c": 3}, False, id="split, z not beside a and c"),
        pytest.param(SPLIT, {"a": 1, "b": {"z": 2}, "c": 3}, True, id="split, z beside a and c"),
        pytest.param(SPLIT, {"a": 1, "b": {"z": 2}, "c": 3, "q": 0}, False, id="split, and q"),
    ],
)
def test_exists_false_over_two_arrays_a_dotted_key_opens_is_linear(
    event: dict[str, Any], last: dict[str, Any] | None, expected: bool
) -> None:
    # The search pairs an element of d with one of "d.b" only while a later field can tell
    # the elements apart: elements that look alike to the fields still to take are one.
    decide(NOT_Q, event if last is None else {**event, "d": [*event["d"], last]}, expected)


def test_elements_alike_but_for_an_array_beside_the_chosen_ones_are_told_apart() -> None:
    # In each element of a, d.c and d.c.b choose an element each (dotted key "c.b"); the
    # elements of a differ only in the array d, which only the last path (exists:false) sees.
    pattern: dict[str, Any] = {"a.c.a": [1], "a.c.b.a": [1], "a.c.b.b": [1], "a.c.c": [1]}
    pattern["a.d.z"] = [{"exists": False}]

    def element(beside: dict[str, int]) -> dict[str, Any]:
        return {"c": [{"a": 1, "c": 1}], "c.b": [{"a": 1, "b": 1}], "d": [beside]}

    without_z, with_z = element({"y": 1}), element({"z": 1})
    decide(pattern, {"a": [without_z, with_z]}, True)
    decide(pattern, {"a": [with_z, without_z]}, True)
    decide(pattern, {"a": [with_z, without_z, with_z]}, True)
    decide(pattern, {"a": [with_z, with_z]}, False)


# --- deep nesting ------------------------------------------------------------------------------

DEEP = SIZE  # levels


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param({"a": ["x"]}, id="a value"),
        pytest.param({"a": [{"exists": False}], "b": [{"exists": False}]}, id="exists false"),
        pytest.param({"a": {"b": ["x"]}}, id="a field below"),
        pytest.param({"a": {"b": ["y"], "c": [{"exists": False}]}}, id="exists false below"),
        pytest.param({"a": ["y"], "a.b": ["x"]}, id="a value and a field below"),
        pytest.param({"$or": [{"a": ["y"]}, {"a": {"b": [{"exists": False}]}}]}, id="$or"),
    ],
)
@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"a": nested_lists(DEEP, "z")}, id="lists"),
        pytest.param({"a": nested_lists(DEEP, {"b": "z"})}, id="lists around an object"),
        pytest.param({"a": nested(DEEP // 2, lambda v: [1, v], 1)}, id="a value at every level"),
        pytest.param({"a": nested(DEEP, lambda v: {"a": v}, "z")}, id="objects"),
        pytest.param({"a": nested(DEEP // 2, lambda v: [{"a": v}], "z")}, id="lists of objects"),
        pytest.param({"a": nested(DEEP // 2, lambda v: [{"b": "z"}, v], 1)}, id="objects beside"),
    ],
)
def test_deeply_nested_events_are_matched_in_linear_time(pattern: Any, event: Any) -> None:
    compiled = compile_pattern(pattern)
    with linear_time():
        result = compiled.matches(event)
    with linear_time():
        explanation = compiled.explain(event)
    assert isinstance(result, bool)
    assert (explanation is None) is result


DEEP_X = {"a": nested_lists(DEEP, "x")}
DEEP_FIELDS = {"a": nested_lists(DEEP, {"b": "x", "c": "y"})}
DEEP_APART = {"a": [nested_lists(DEEP, {"b": "x"}), nested_lists(DEEP, {"c": "y"})]}
B_AND_C = {"a": {"b": ["x"], "c": ["y"]}}
B_AND_C_NOT_D = {"a": {"b": ["x"], "c": ["y"], "d": [{"exists": False}]}}


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        pytest.param({"a": ["x"]}, DEEP_X, True, id="a value deep down"),
        pytest.param(
            {"a": [{"prefix": "x"}], "b": [{"exists": False}]}, DEEP_X, True, id="and no b"
        ),
        pytest.param({"a": [{"exists": False}]}, DEEP_X, False, id="a is not absent"),
        pytest.param(B_AND_C_NOT_D, DEEP_FIELDS, True, id="fields of one object"),
        pytest.param(B_AND_C, DEEP_APART, False, id="fields apart"),
        pytest.param(B_AND_C_NOT_D, DEEP_APART, False, id="fields apart, exists false"),
    ],
)
def test_deep_nesting_gives_the_answers_event_ruler_gives(
    pattern: Any, event: Any, expected: bool
) -> None:
    decide(pattern, event, expected)


def test_filter_criteria_match_deeply_nested_records_in_linear_time() -> None:
    criteria = FilterCriteria.from_dict(
        {"Filters": [{"Pattern": '{"body": {"a": {"b": [{"exists": false}], "c": ["x"]}}}'}]},
        source="sqs",
    )
    # A body already parsed (a record view of the caller's) is matched as it is.
    record = {"eventSource": "aws:sqs", "body": {"a": nested_lists(DEEP, {"c": "y"})}}
    with linear_time():
        assert not criteria.matches_record(record)
    with linear_time():
        assert criteria.explain_record(record) is not None


# --- $or ---------------------------------------------------------------------------------------


def test_or_over_a_wide_array_of_objects_is_linear() -> None:
    # A $or branch that redefines its parent's path is matched by the general algorithm.
    pattern = {"d": {"a": [1], "$or": [{"a": [2], "b": [3]}, {"c": [4], "e": [{"exists": False}]}]}}
    event = {"d": [{"a": 1, "b": 3, "c": 5} for _ in range(ELEMENTS)]}
    decide(pattern, event, False)
    decide(pattern, {"d": [*event["d"], {"a": 2, "b": 3}]}, True)


def test_the_or_fallback_field_is_matched_in_linear_time() -> None:
    # event-ruler reads "$or" as a field name when its value is not a list of objects.
    pattern = {"$or": {"t": [{"suffix": {"equals-ignore-case": ACUTE}}]}}
    decide(pattern, {"$or": {"t": ["é" * SIZE] * 3}}, False)
