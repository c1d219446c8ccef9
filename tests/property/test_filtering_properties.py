"""Filter patterns never fail on odd input, and match exactly as a slow reference does.

- Matching any JSON event (deep, odd keys, numbers no double holds, unicode) never raises, and
  long paths compile quickly.
- Compiling any JSON (or any text) either works or raises :class:`FilterPatternError`.
- ``matches`` agrees with the reference evaluator in ``filter_reference.py`` (which follows
  event-ruler's ``rulesForJSONEvent`` step by step): exhaustively on small domains for each
  operator, and on generated valid patterns (every operator, ``$or``, nesting, dotted keys)
  against events built from the pattern's own keys and values. The reference itself agrees
  with every case of the conformance table.
- ``explain(event)`` is ``None`` exactly when ``matches(event)``.
- The reference itself decides long values in linear time (no backtracking regex).
"""

from __future__ import annotations

import contextlib
import functools
import json
import signal
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdakit.filtering import FilterPatternError, Pattern, _match, compile_pattern
from lambdakit.filtering._parse import read_pattern_text
from tests.property.filter_reference import reference_matches
from tests.property.filter_strategies import (
    deep_json,
    fields_and_values,
    json_values,
    pattern_like,
    pattern_texts,
    patterns_and_events,
    small_domains,
    structures_and_events,
    valid_patterns,
)
from tests.unit.test_filtering_conformance import ALL_CASES

# Patterns touching every operator and the awkward key names the event strategies produce.
EVERY_OPERATOR: list[dict[str, Any]] = [
    {"a": ["x", 5, None, True, "10.0.0.1", "2001:db8::1", 10**400]},
    {"a": [{"prefix": "a"}, {"suffix": {"equals-ignore-case": "B"}}, {"exactly": "é"}]},
    {"a": [{"prefix": {"equals-ignore-case": "ß"}}, {"suffix": "🎉"}]},
    {"a": [{"equals-ignore-case": "\u212a"}, {"wildcard": "*\\**"}]},
    {"a": [{"anything-but": ["x", "y"]}], "b": [{"anything-but": [0, 1e300]}]},
    {"a": [{"anything-but": {"prefix": "a"}}], "b": [{"anything-but": {"wildcard": "*b"}}]},
    {"a": [{"anything-but": {"suffix": ["a"]}}, {"anything-but": {"equals-ignore-case": "A"}}]},
    {"a": [{"numeric": [">", -1e300, "<=", 1e300]}, {"numeric": ["=", 0]}]},
    {"a": [{"exists": True}], "b": [{"exists": False}]},
    {"a": [{"cidr": "10.0.0.0/8"}, {"cidr": "2001:db8::/32"}]},
    {"": [{"exists": True}], ".": [{"exists": False}], "a.b": [{"exists": True}]},
    {"$or": [{"a": {"b": [{"exists": True}]}}, {"detail.state": [{"anything-but": "x"}]}]},
    {"prefix": ["x"], "numeric": {"anything-but": [{"exists": False}]}},
]
SMALL_DOMAINS = small_domains()


@functools.cache
def every_operator() -> list[Pattern]:
    return [compile_pattern(pattern) for pattern in EVERY_OPERATOR]


def check_never_raises(pattern: Pattern, event: Any) -> None:
    result = pattern.matches(event)
    assert isinstance(result, bool)
    explanation = pattern.explain(event)
    if result:
        assert explanation is None
    else:
        assert isinstance(explanation, str)


# --- (a) matching never raises ------------------------------------------------------------


@settings(max_examples=250, deadline=None)
@given(json_values())
def test_matching_any_json_event_never_raises(event: Any) -> None:
    for pattern in every_operator():
        check_never_raises(pattern, event)


@settings(max_examples=50, deadline=None)
@given(deep_json())
def test_matching_deeply_nested_events_never_raises(event: Any) -> None:
    for pattern in every_operator():
        check_never_raises(pattern, event)


@settings(max_examples=100, deadline=None)
@given(valid_patterns(), json_values(12))
def test_matching_generated_patterns_on_any_json_never_raises(
    pattern: dict[str, Any], event: Any
) -> None:
    check_never_raises(compile_pattern(pattern), event)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail (rather than hang) if the block runs longer than ``seconds``."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def path_pattern(depth: int, dotted: bool) -> dict[str, Any]:
    """``{"a": {"a": ... ["x"]}}`` ``depth`` levels deep, or the same as one dotted key."""
    if dotted:
        return {".".join(["a"] * depth): ["x"]}
    nested: Any = ["x"]
    for _ in range(depth):
        nested = {"a": nested}
    assert isinstance(nested, dict)
    return nested


needs_alarm = pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM")


@needs_alarm
def test_very_deep_events_are_matched_without_error() -> None:
    # As deep as json.loads itself will go: every level is an object and an array.
    shallow, deep = (json.loads('{"a": [' * n + '"x"' + "]}" * n) for n in (100, 200))
    for pattern in every_operator():
        check_never_raises(pattern, shallow)
        check_never_raises(pattern, deep)
    with time_limit(1):
        hundred_levels = compile_pattern(path_pattern(100, dotted=False))
    assert hundred_levels.matches(shallow)
    assert not hundred_levels.matches(deep)


@needs_alarm
@pytest.mark.parametrize("dotted", [False, True], ids=["nested", "dotted"])
@pytest.mark.parametrize("depth", [8, 12, 16, 23, 100])
def test_long_paths_compile_quickly(depth: int, dotted: bool) -> None:
    # 100 levels is at most 600 characters: well within Lambda's 4096-character limit. A
    # compile linear in the pattern's size takes milliseconds; a second is generous.
    with time_limit(1):
        pattern = compile_pattern(path_pattern(depth, dotted))
    event: Any = "x"
    for _ in range(depth):
        event = {"a": event}
    assert pattern.matches(event)
    assert pattern.matches({".".join(["a"] * depth): "x"})
    assert not pattern.matches({"a": event})


@needs_alarm
def test_the_reference_decides_long_values_in_linear_time() -> None:
    # The reference runs on whatever the strategies generate: its value tests must not
    # backtrack (as a regular expression, "*a*a*b" is cubic on a run of "a"; the IPv6 pattern
    # quadratic on a run of colons).
    cases = [
        ({"a": [{"wildcard": "*a*a*b"}]}, {"a": "a" * 5000}, False),
        ({"a": [{"wildcard": "*a*a*a"}]}, {"a": "b" + "a" * 5000}, True),
        ({"a": [{"cidr": "10.0.0.0/8"}]}, {"a": ":" * 40000 + "g"}, False),
        ({"a": ["2001:db8::1"]}, {"a": "1:" * 20000}, False),
        ({"a": [{"suffix": {"equals-ignore-case": "é" * 500 + "x"}}]}, {"a": "é" * 40000}, False),
        ({"a": [{"prefix": {"equals-ignore-case": "ß" * 500}}]}, {"a": "S" * 40000}, True),
    ]
    with time_limit(2):
        for pattern, event, expected in cases:
            assert reference_matches(pattern, event) is expected, pattern


def test_nan_and_infinity_from_json_loads_never_raise() -> None:
    # json.loads accepts these non-JSON constants by default; events may carry them.
    event = json.loads('{"a": [NaN, Infinity, -Infinity], "b": NaN}')
    for pattern in every_operator():
        check_never_raises(pattern, event)


# --- (b) compiling raises only FilterPatternError -----------------------------------------


def compile_or_refuse(pattern: Any) -> None:
    try:
        compiled = compile_pattern(pattern)
    except FilterPatternError:
        return
    check_never_raises(compiled, {"a": "x", "prefix": [1, None], "": {"": True}})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(pattern_like(), json_values()))
def test_compiling_any_json_raises_only_filter_pattern_error(pattern: Any) -> None:
    compile_or_refuse(pattern)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern_texts())
def test_compiling_any_text_raises_only_filter_pattern_error(text: str) -> None:
    compile_or_refuse(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values(), deep_json()), st.sampled_from([None, 2, (",", ":")]))
def test_pattern_text_is_read_as_json_loads_reads_it(value: Any, layout: Any) -> None:
    # lambdakit reads pattern text with its own (iterative) reader; on JSON within AWS's limits
    # it must read what json.loads(text, parse_float=Decimal) reads.
    indent, separators = (layout, None) if isinstance(layout, int) else (None, layout)
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=False)
    assert read_pattern_text(text) == json.loads(text, parse_float=Decimal)
    assert read_pattern_text(text.encode("utf-16")) == json.loads(text, parse_float=Decimal)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='{}[]",:0123456789.eE+-tnrufalsNIiy \\', max_size=20))
def test_pattern_text_json_refuses_is_refused(text: str) -> None:
    try:
        expected = json.loads(text, parse_float=Decimal)
    except ValueError:
        with pytest.raises(FilterPatternError):
            read_pattern_text(text)
        return
    if any(word in text for word in ("NaN", "Infinity")):
        with pytest.raises(FilterPatternError, match="not a JSON number"):
            read_pattern_text(text)
    else:
        assert read_pattern_text(text) == expected


# --- (c) agreement with the reference -----------------------------------------------------


@pytest.mark.parametrize(("pattern", "event", "expected"), ALL_CASES)
def test_the_reference_agrees_with_the_conformance_table(
    pattern: dict[str, Any] | str, event: Any, expected: bool
) -> None:
    assert reference_matches(pattern, event) is expected


@pytest.mark.parametrize("family", sorted(SMALL_DOMAINS))
def test_every_condition_against_every_value_agrees_with_the_reference(family: str) -> None:
    """Exhaustive over small domains: all strings of up to two characters over a A s S ß k K
    and the Kelvin sign, globs of up to three tokens, numbers that are and are not doubles,
    one IP address in several spellings..."""
    conditions, values = SMALL_DOMAINS[family]
    disagreements = []
    for condition in conditions:
        pattern = {"f": [condition]}
        compiled = compile_pattern(pattern)
        for value in values:
            event = {"f": value}
            expected = reference_matches(pattern, event)
            if compiled.matches(event) is not expected:
                disagreements.append(f"{pattern} vs {event}: expected {expected}")
    assert not disagreements, f"{len(disagreements)} disagreements:\n" + "\n".join(
        disagreements[:20]
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields_and_values())
def test_one_field_matches_like_the_reference(case: tuple[dict[str, Any], Any]) -> None:
    pattern, event = case
    assert compile_pattern(pattern).matches(event) is reference_matches(pattern, event)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structures_and_events())
def test_pattern_shapes_match_like_the_reference(case: tuple[dict[str, Any], Any]) -> None:
    pattern, event = case
    assert compile_pattern(pattern).matches(event) is reference_matches(pattern, event)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns_and_events())
def test_matching_agrees_with_the_reference(case: tuple[dict[str, Any], Any]) -> None:
    pattern, event = case
    assert compile_pattern(pattern).matches(event) is reference_matches(pattern, event)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(structures_and_events(), patterns_and_events()))
def test_the_general_algorithm_alone_matches_like_the_reference(
    case: tuple[dict[str, Any], Any],
) -> None:
    # The generated fast path answers most events itself; event-ruler's full algorithm, which
    # it falls back to (exists:false in arrays, dotted keys, deep patterns), is checked here on
    # every event, not only on those the fast path hands over.
    pattern, event = case
    assert compile_pattern(pattern)._general(event) is reference_matches(pattern, event)


# Paths whose sorted order runs through "a", then "a.b", then "a" again: an event holding both
# "a" and "a.b" as arrays makes the search hold an element of each at once.
ALIASED_PATHS = ["a.a.b", "a.b", "a.b.c", "a.c.a"]
ALIASED_LISTS: list[list[Any]] = [
    [1],
    [1],
    [2],
    [1, 2],
    [{"exists": False}],
    [1, {"exists": False}],
    [{"exists": True}],
    [{"anything-but": 1}],
]
ALIASED_KEYS = ["a.c", "a.b.a", "a.a"]


def _aliased_value(draw: st.DrawFn, rests: list[list[str]], depth: int) -> Any:
    """A value for the path remainders ``rests`` (``[]`` for the path itself): mostly arrays
    whose elements repeat (alike elements are what the search merges), with keys that join
    several components."""
    inner = [rest for rest in rests if rest]
    if not inner or depth == 0 or draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([1, 1, 2, 3, [1, 2], [[1], [1]], [[1], 2]]))
    if draw(st.integers(0, 3)) == 0:
        return _aliased_object(draw, inner, depth)
    kinds: list[Any] = [_aliased_object(draw, inner, depth) for _ in range(draw(st.integers(1, 3)))]
    if [] in rests and draw(st.booleans()):  # values of the path itself, in elements of their own
        kinds.append(draw(st.sampled_from([1, [1], [1, 2], [[1]]])))
    order = draw(st.lists(st.integers(0, len(kinds) - 1), min_size=1, max_size=6))
    return [kinds[index] for index in order]


def _aliased_object(draw: st.DrawFn, rests: list[list[str]], depth: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 3))):
        rest = draw(st.sampled_from(rests))
        take = draw(st.integers(1, len(rest)))
        below = [other[take:] for other in rests if other[:take] == rest[:take]]
        found[".".join(rest[:take])] = _aliased_value(draw, below, depth - 1)
    return found


def _aliased_case(
    draw: st.DrawFn, paths: list[str], optional: list[str], keys: list[str], other_keys: list[str]
) -> tuple[dict[str, Any], Any]:
    """A pattern holding ``exists: false`` with ``paths`` (and up to two ``optional`` ones),
    and an event reaching them through the arrays at ``keys`` (and up to two ``other_keys``)
    side by side."""
    extra = draw(st.lists(st.sampled_from(optional), max_size=2, unique=True))
    pattern = {path: draw(st.sampled_from(ALIASED_LISTS)) for path in [*paths, *extra]}
    if not any({"exists": False} in values for values in pattern.values()):
        pattern[draw(st.sampled_from(list(pattern)))] = [{"exists": False}]
    rests = [path.split(".") for path in pattern]
    event: dict[str, Any] = {}
    others = draw(st.lists(st.sampled_from(other_keys), max_size=2, unique=True))
    for key in [*keys, *others]:
        parts = key.split(".")
        below = [rest[len(parts) :] for rest in rests if rest[: len(parts)] == parts]
        if below:
            event[key] = _aliased_value(draw, below, 4)
    return pattern, event


@st.composite
def aliased_patterns_and_events(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    """Paths under "a" and "a.b", reached through the arrays "a" and "a.b" side by side."""
    return _aliased_case(
        draw, ["a.a", "a.b.a", "a.b.b", "a.c"], ALIASED_PATHS, ["a", "a.b"], ALIASED_KEYS
    )


# Sorted, the paths run through "d", "d.b", "d.b.x", then back to "d.b" and "d": an event
# holding "d", "d.b" and "d.b.x" as arrays makes the search hold an element of two of them
# while it takes a field from the third.
THREE_PATHS = ["d.a", "d.b.w", "d.b.x", "d.b.z"]
THREE_OPTIONAL = ["d.b.x.y", "d.c", "d.q", "d.b.x.v", "q"]
THREE_KEYS = ["d", "d.b", "d.b.x"]
THREE_OTHER_KEYS = ["d.b.x.v", "d.b.x.y", "q"]


@st.composite
def three_aliased_arrays(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    """Paths reached through three or more arrays opened by dotted keys."""
    return _aliased_case(draw, THREE_PATHS, THREE_OPTIONAL, THREE_KEYS, THREE_OTHER_KEYS)


def assert_all_agree_with_the_reference(pattern: dict[str, Any], event: Any) -> None:
    """The general algorithm, the fast path and ``explain`` give the reference's answer."""
    compiled = compile_pattern(pattern)
    expected = reference_matches(pattern, event)
    assert compiled._general(event) is expected
    assert compiled.matches(event) is expected
    assert (compiled.explain(event) is None) is expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(aliased_patterns_and_events())
def test_fields_reached_through_two_arrays_at_once_match_like_the_reference(
    case: tuple[dict[str, Any], Any],
) -> None:
    # Dotted keys in the event open a second array on the way to the pattern's paths: the
    # search for exists:false then holds an element of each, and takes alike ones as one.
    assert_all_agree_with_the_reference(*case)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(three_aliased_arrays())
def test_fields_reached_through_three_arrays_at_once_match_like_the_reference(
    case: tuple[dict[str, Any], Any],
) -> None:
    # Holding an element of two arrays, the search takes each array beside them once per
    # shape of what it holds: elements of one shape there lead alike.
    assert_all_agree_with_the_reference(*case)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns_and_events())
def test_a_pattern_given_as_json_text_matches_like_the_object(
    case: tuple[dict[str, Any], Any],
) -> None:
    pattern, event = case
    assert compile_pattern(json.dumps(pattern)).matches(event) is reference_matches(pattern, event)


# --- (d) explain agrees with matches ------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns_and_events())
def test_explain_is_none_exactly_when_the_event_matches(
    case: tuple[dict[str, Any], Any],
) -> None:
    pattern, event = case
    compiled = compile_pattern(pattern)
    explanation = compiled.explain(event)
    if compiled.matches(event):
        assert explanation is None
    else:
        assert isinstance(explanation, str)
        assert explanation


def _never_done(*_: Any) -> Iterator[int]:
    """An algorithm that never finishes: the race is then won by the other one."""
    while True:
        yield 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.one_of(aliased_patterns_and_events(), three_aliased_arrays()))
@pytest.mark.parametrize("left_out", [None, "_chosen", "_searched"])
def test_long_alternatives_match_like_the_reference_by_either_algorithm(
    left_out: str | None, case: tuple[dict[str, Any], Any]
) -> None:
    # An alternative with exists:false and few paths is decided children first; one with more
    # paths than _CHOSEN_PATHS races that against the state search, and either's answer is
    # taken. The strategies' patterns are short, so the race is forced here, and each
    # algorithm is also checked alone (the other never finishing) on the same events.
    pattern, event = case
    alone = (
        contextlib.nullcontext()
        if left_out is None
        else mock.patch.object(_match, left_out, _never_done)
    )
    with mock.patch.object(_match, "_CHOSEN_PATHS", 0), alone:
        assert compile_pattern(pattern)._general(event) is reference_matches(pattern, event)
