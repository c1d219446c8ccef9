"""Wildcard complexity, as aws/event-ruler's MachineComplexityEvaluator measures it: the most
wildcard-pattern prefixes one input value can match at once, per field. The expected figures are
event-ruler's own test vectors (MachineComplexityEvaluatorTest), each with the input that
reaches it."""

from __future__ import annotations

from typing import Any

import pytest

from lambdakit.filtering import compile_pattern
from lambdakit.filtering._complexity import wildcard_complexity


def complexity(*values: Any, field: str = "f") -> int:
    pattern = compile_pattern({field: list(values)})
    return wildcard_complexity(pattern.root).get(field, 0)


def w(text: str) -> dict[str, str]:
    return {"wildcard": text}


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["*"], 1),  # "a": "*"
        (["abc"], 1),  # a wildcard pattern without a star: "abc"
        (["*ab"], 2),  # "ab": "*", "*ab"
        (["*aa"], 3),  # "aa": "*", "*a", "*aa"
        (["a*b"], 2),  # "ab": "a*", "a*b"
        (["aa*"], 2),  # "aa": "aa", "aa*"
        (["a*bb"], 3),
        (["a*bcb"], 3),
        (["a*bbb"], 4),
        (["*ab*ad"], 4),  # "aba": "*", "*a", "*ab*", "*ab*a"
        (["*ab*d"], 3),
        (["*aba*"], 4),
        (["a*b*bb"], 5),
        (["a*b*cb"], 4),
        (["a*b*cd"], 3),
        (["a*b*b"], 4),
        (["a*bb*"], 4),
        (["ab*b*"], 3),
        (["*a*a*a*"], 7),  # "aaa": every prefix from "*" to "*a*a*a*"
        (["*ab*b*b*"], 7),
        (["*a*a*a*a*a*a*a*a*"], 17),
        (["*", "ab*c"], 3),
        (["ab*c", "x*xx"], 3),
        (["*abc", "*abcde"], 4),
        (["a*bcd", "ab*cd"], 4),
        (["a*bc", "a*bcde"], 4),
        (["a*aaa", "aa*aa"], 7),
        (["a*bc", "abc*d"], 4),
        (["a*aaa", "aaa*a"], 6),
        (["a*aax", "aaa*x"], 5),
        (["a*bc", "abc*"], 4),
        (["a*aa", "aaa*"], 5),
        (["abc*", "abcde*"], 3),
        (["ab*cd", "ab*wx", "ab*yz"], 6),
        (["ab*c", "ab*c"], 2),  # the same pattern twice shares its states
        (["F*eatureFeature", "Fe*atureFeature", "Fea*tureFeature"], 10),
    ],
)
def test_complexity_matches_event_rulers_measure(patterns: list[str], expected: int) -> None:
    assert complexity(*(w(p) for p in patterns)) == expected


def test_exact_prefix_and_ignore_case_values_add_nothing() -> None:
    assert complexity(w("abc*"), "abcde", {"prefix": "abcdef"}, {"equals-ignore-case": "ABC"}) == 2
    assert complexity("abc", "abcde") == 0


def test_anything_but_wildcards_count_like_wildcards() -> None:
    assert complexity({"anything-but": {"wildcard": "a*b*b"}}) == 4
    assert complexity({"anything-but": {"wildcard": "a*aaa"}}, w("aa*aa")) == 7


def test_each_field_is_measured_on_its_own() -> None:
    pattern = compile_pattern(
        {
            "abc": [{"prefix": "a"}, "abcdef"],
            "def": [{"prefix": "b"}, w("a*a*a*a*a*a*"), {"suffix": "c"}],
            "body": {"name": [w("*.png")]},
        }
    )
    assert wildcard_complexity(pattern.root) == {"def": 11, "body.name": 2}


def test_wildcards_of_one_field_in_different_or_branches_count_together() -> None:
    pattern = compile_pattern({"$or": [{"f": [w("a*aaa")]}, {"f": [w("aa*aa")]}]})
    assert wildcard_complexity(pattern.root) == {"f": 7}


def test_escaped_stars_are_literal_bytes_and_multibyte_characters_count_in_bytes() -> None:
    assert complexity(w("\\**\\**")) == complexity(w("x*x*"))
    assert complexity(w("*é*é*")) == complexity(w("*é*é*"))  # stable on UTF-8 input
    assert complexity(w("*éé")) == 3  # "*", "*é", "*éé" at the character boundaries only


def test_evaluation_stops_at_the_cap_on_a_huge_pattern() -> None:
    text = "F*e*a*t*u*r*e*" * 2000
    assert complexity(w(text)) == 100
