"""Filter patterns match events exactly as aws/event-ruler (EventBridge, Lambda) matches them.

Each case is ``(pattern, event, expected)``; its id states the rule. Cases marked ``[AWS]`` in
a comment were checked against real EventBridge (LocalStack's AWS-validated templates); the
others come from event-ruler's README, source and tests, or the AWS documentation examples.
Where the AWS docs and event-ruler's current ``main`` disagree, event-ruler wins: numbers
compare numerically when both are exact doubles, any finite double is a valid operand,
anything-but matches null but never a missing field, multi-field matches across an array of
objects must come from one element.

Every case is checked three ways: the compiled pattern, the same pattern given as JSON text,
and the module-level :func:`matches`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdakit.filtering import compile_pattern, matches


def case(name: str, pattern: dict[str, Any] | str, event: Any, expected: bool) -> Any:
    return pytest.param(pattern, event, expected, id=name)


def check(pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
    compiled = compile_pattern(pattern)
    assert compiled.matches(event) is expected
    assert matches(pattern, event) is expected
    if isinstance(pattern, dict):
        as_text = json.dumps(pattern)
        assert compile_pattern(as_text).matches(event) is expected, f"as JSON text: {as_text}"


PARAMS = ("pattern", "event", "expected")

# The EC2 state-change event of the EventBridge documentation.
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "running"},
}
EC2_PATTERN: dict[str, Any] = {
    "source": ["aws.ec2"],
    "detail-type": ["EC2 Instance State-change Notification"],
    "detail": {"state": ["running", "stopped"]},
}


def ec2(**detail: Any) -> dict[str, Any]:
    """The documentation's EC2 event with ``detail`` replaced."""
    return {**EC2_EVENT, "detail": detail}


# --- exact values --------------------------------------------------------------------------

EXACT = [
    case("doc EC2 pattern matches a running instance", EC2_PATTERN, EC2_EVENT, True),
    case("doc EC2 pattern matches a stopped instance", EC2_PATTERN, ec2(state="stopped"), True),
    case("doc EC2 pattern rejects a pending instance", EC2_PATTERN, ec2(state="pending"), False),
    case(
        "doc EC2 pattern rejects another source",
        EC2_PATTERN,
        {**EC2_EVENT, "source": "aws.s3"},
        False,
    ),
    case("doc EC2 pattern rejects an event without detail", EC2_PATTERN, {"source": "x"}, False),
    case("string equals itself", {"a": ["x"]}, {"a": "x"}, True),
    case("string comparison is case-sensitive", {"a": ["x"]}, {"a": "X"}, False),
    case("string must equal the whole value", {"a": ["x"]}, {"a": "xx"}, False),
    case("string is not trimmed", {"a": ["x"]}, {"a": " x"}, False),
    case("unicode string equals itself", {"a": ["日本"]}, {"a": "日本"}, True),
    case(
        "no unicode normalisation (é vs e + combining acute)",
        {"a": ["\u00e9"]},
        {"a": "e\u0301"},
        False,
    ),
    case("lambda doc: Equals is case-sensitive", {"Name": ["Alice"]}, {"Name": "alice"}, False),
    case(
        "lambda doc: SQS body field",
        {"body": {"RequestCode": ["BBBB"]}},
        {"body": {"RequestCode": "BBBB"}},
        True,
    ),
    case("key names are case-sensitive [AWS]", {"Source": ["x"]}, {"source": "x"}, False),
    case("other fields of the event are ignored", {"a": ["x"]}, {"a": "x", "b": "y"}, True),
    case("a missing field does not match", {"a": ["x"]}, {"b": "x"}, False),
    case("an empty event does not match", {"a": ["x"]}, {}, False),
    case("an object value is not a leaf", {"a": ["x"]}, {"a": {"b": "x"}}, False),
    case("a leaf has no children", {"a": {"b": ["x"]}}, {"a": "x"}, False),
    case(
        "a string holding JSON is not parsed [AWS]",
        {"detail": {"my-key": ["v"]}},
        {"detail": '{"my-key": "v"}'},
        False,
    ),
    case("integer equals the same integer", {"a": [5]}, {"a": 5}, True),
    case("integer pattern matches the same value as a float", {"a": [5]}, {"a": 5.0}, True),
    case("float pattern matches the same value as an integer", {"a": [5.0]}, {"a": 5}, True),
    case("300 matches 300.0 (event-ruler, not the docs) [AWS]", {"a": [300]}, {"a": 300.0}, True),
    case("3.0e2 matches 300", {"a": [3.0e2]}, {"a": 300}, True),
    case("different numbers do not match", {"a": [5]}, {"a": 6}, False),
    case("number does not match its string", {"a": [5]}, {"a": "5"}, False),
    case("string does not match the number", {"a": ["5"]}, {"a": 5}, False),
    case("zero matches negative zero", {"a": [0]}, {"a": -0.0}, True),
    case("negative zero matches zero", {"a": [-0.0]}, {"a": 0}, True),
    case("decimal fraction matches the same double", {"a": [0.1]}, {"a": 0.1}, True),
    case("numbers compare as doubles: 0.1 + 0.2 is not 0.3", {"a": [0.3]}, {"a": 0.1 + 0.2}, False),
    case("negative numbers", {"a": [-7]}, {"a": -7.0}, True),
    case("huge doubles compare numerically", {"a": [1e300]}, {"a": 1e300}, True),
    case("smallest subnormal double", {"a": [5e-324]}, {"a": 5e-324}, True),
    case(
        "a 12-digit account number matches its float (no ±5e9 limit)",
        {"a": [123456789012]},
        {"a": 123456789012.0},
        True,
    ),
    case(
        "2**53 matches its float",
        {"a": [9007199254740992]},
        {"a": 9007199254740992.0},
        True,
    ),
    case(
        "an integer that is not a double (2**53 + 1) only matches its exact text",
        {"a": [9007199254740993]},
        {"a": 9007199254740992},
        False,
    ),
    case(
        "an integer that does not round-trip through a double (2**63) is not numeric",
        {"a": [2**63]},
        {"a": 9223372036854775808.0},
        False,
    ),
    case(
        "a 20-digit integer matches its exact text",
        {"a": [12345678901234567891]},
        {"a": 12345678901234567891},
        True,
    ),
    case(
        "20-digit integers with the same double but different text differ",
        {"a": [12345678901234567891]},
        {"a": 12345678901234567890},
        False,
    ),
    case(
        "a 20-digit integer does not match the nearest double",
        {"a": [12345678901234567891]},
        {"a": 1.2345678901234567e19},
        False,
    ),
    case("a number beyond double range matches its text", {"a": [10**400]}, {"a": 10**400}, True),
    case(
        "numbers beyond double range differ by text",
        {"a": [10**400]},
        {"a": 10**400 + 1},
        False,
    ),
    case("JSON text: 5.0 matches 5", '{"a": [5.0]}', {"a": 5}, True),
    case("JSON text: 1e2 matches 100", '{"a": [1e2]}', {"a": 100}, True),
    case("JSON text: 1E2 matches 100.0", '{"a": [1E2]}', {"a": 100.0}, True),
    case(
        "JSON text: an over-precise literal keeps its text and does not match 1",
        '{"a": [1.00000000000000001]}',
        {"a": 1},
        False,
    ),
    case(
        "JSON text: an over-precise literal does not match 1.0",
        '{"a": [1.00000000000000001]}',
        {"a": 1.0},
        False,
    ),
    case("JSON text: duplicate keys, the last wins", '{"a": ["x"], "a": ["y"]}', {"a": "y"}, True),
    case(
        "JSON text: duplicate keys, the first is forgotten",
        '{"a": ["x"], "a": ["y"]}',
        {"a": "x"},
        False,
    ),
    case("true matches true", {"a": [True]}, {"a": True}, True),
    case("false matches false", {"a": [False]}, {"a": False}, True),
    case("true does not match false", {"a": [True]}, {"a": False}, False),
    case("true does not match the string true", {"a": [True]}, {"a": "true"}, False),
    case("the string true does not match true", {"a": ["true"]}, {"a": True}, False),
    case("true does not match 1", {"a": [True]}, {"a": 1}, False),
    case("true does not match 1.0", {"a": [True]}, {"a": 1.0}, False),
    case("1 does not match true", {"a": [1]}, {"a": True}, False),
    case("0 does not match false", {"a": [0]}, {"a": False}, False),
    case("false does not match 0", {"a": [False]}, {"a": 0}, False),
    case("null matches null [AWS]", {"a": [None]}, {"a": None}, True),
    case("null does not match the string null [AWS]", {"a": [None]}, {"a": "null"}, False),
    case("the string null does not match null", {"a": ["null"]}, {"a": None}, False),
    case("null does not match a missing field", {"a": [None]}, {}, False),
    case("null does not match an empty array [AWS]", {"a": [None]}, {"a": []}, False),
    case("null does not match an empty object", {"a": [None]}, {"a": {}}, False),
    case("null matches a null array element", {"a": [None]}, {"a": [1, None]}, True),
    case("null does not match false", {"a": [None]}, {"a": False}, False),
    case("null does not match 0", {"a": [None]}, {"a": 0}, False),
    case("null does not match the empty string", {"a": [None]}, {"a": ""}, False),
    case("lambda doc: Null", {"UserID": [None]}, {"UserID": None}, True),
    case("empty string matches the empty string [AWS]", {"a": [""]}, {"a": ""}, True),
    case("lambda doc: Empty", {"LastName": [""]}, {"LastName": ""}, True),
    case("empty string does not match null", {"a": [""]}, {"a": None}, False),
    case("empty string does not match a missing field", {"a": [""]}, {}, False),
    case("empty string does not match a space", {"a": [""]}, {"a": " "}, False),
    case("a string does not match the empty string", {"a": ["x"]}, {"a": ""}, False),
    case("a non-object event (string) has no fields", {"a": ["x"]}, "x", False),
    case("a non-object event (list of objects) has no fields", {"a": ["x"]}, [{"a": "x"}], False),
    case("a non-object event (null) has no fields", {"a": [None]}, None, False),
    case("a non-object event (number) has no fields", {"a": [5]}, 5, False),
    case("exactly matches the same string", {"a": [{"exactly": "x"}]}, {"a": "x"}, True),
    case("exactly is case-sensitive", {"a": [{"exactly": "x"}]}, {"a": "X"}, False),
    case("exactly of a digit string is not a number", {"a": [{"exactly": "5"}]}, {"a": 5}, False),
    case("exactly of 'null' is not null", {"a": [{"exactly": "null"}]}, {"a": None}, False),
    case("exactly of the empty string", {"a": [{"exactly": ""}]}, {"a": ""}, True),
]

# --- arrays --------------------------------------------------------------------------------

ARRAYS = [
    case(
        "any element of an array matches [AWS]",
        {"tags": ["admin"]},
        {"tags": ["user", "admin"]},
        True,
    ),
    case("no element matches", {"tags": ["admin"]}, {"tags": ["user", "guest"]}, False),
    case("an empty array has no value", {"a": ["x"]}, {"a": []}, False),
    case("nested arrays are flattened", {"a": ["x"]}, {"a": [["x"]]}, True),
    case("deeply nested arrays are flattened", {"a": ["x"]}, {"a": [["q"], ["r", ["x"]]]}, True),
    case("nested empty arrays have no value", {"a": [{"exists": True}]}, {"a": [[], [[]]]}, False),
    case("any pattern value vs any element", {"a": ["x", "y"]}, {"a": ["z", "y"]}, True),
    case("numbers in arrays compare numerically", {"a": [1]}, {"a": [0, 1.0]}, True),
    case("a scalar element among objects", {"a": ["x"]}, {"a": ["x", {"b": 1}]}, True),
    case("an object element among scalars", {"a": {"b": [1]}}, {"a": ["x", {"b": 1}]}, True),
    case(
        "a field inside an array of objects",
        {"a": {"b": ["x"]}},
        {"a": [{"b": "y"}, {"b": "x"}]},
        True,
    ),
    case(
        "an array inside an array of objects",
        {"a": {"b": ["x"]}},
        {"a": [{"b": ["y", "x"]}]},
        True,
    ),
    case(
        "arrays of objects inside arrays of objects",
        {"a": {"b": {"c": ["x"]}}},
        {"a": [{"b": [{"c": "y"}, {"c": "x"}]}]},
        True,
    ),
    case(
        "README: one field in an array of objects",
        {"employees": {"firstName": ["Anna"]}},
        {
            "employees": [
                {"firstName": "John", "lastName": "Doe"},
                {"firstName": "Anna", "lastName": "Smith"},
            ]
        },
        True,
    ),
    case(
        "README: two fields must come from the same element",
        {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
        {
            "employees": [
                {"firstName": "Anna", "lastName": "Smith"},
                {"firstName": "Peter", "lastName": "Jones"},
            ]
        },
        False,
    ),
    case(
        "two fields from the same element match",
        {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
        {
            "employees": [
                {"firstName": "Peter", "lastName": "Jones"},
                {"firstName": "Anna", "lastName": "Smith"},
            ]
        },
        True,
    ),
    case(
        "fields split across elements do not match",
        {"d": {"a": [1], "b": [2]}},
        {"d": [{"a": 1}, {"b": 2}]},
        False,
    ),
    case(
        "fields in one element match",
        {"d": {"a": [1], "b": [2]}},
        {"d": [{"a": 1, "b": 2}]},
        True,
    ),
    case(
        "one element must hold both, even among others",
        {"d": {"a": [1], "b": [2]}},
        {"d": [{"a": 1, "b": 3}, {"a": 4, "b": 2}, {"a": 1, "b": 2}]},
        True,
    ),
    case(
        "dotted pattern keys are held to one element too",
        {"d.a": [1], "d.b": [2]},
        {"d": [{"a": 1}, {"b": 2}]},
        False,
    ),
    case(
        "[AWS] exists inside a list of dicts",
        {"detail": {"automations": {"id": [{"exists": True}]}}},
        {"detail": {"automations": [{"key1": "v"}, {"id": "x"}, {"key2": "v"}]}},
        True,
    ),
    case(
        "inner array: fields in different inner elements do not match",
        {"a": {"b": {"c": [1], "d": [2]}}},
        {"a": [{"b": [{"c": 1}, {"d": 2}]}]},
        False,
    ),
    case(
        "inner arrays: fields in different outer elements do not match",
        {"a": {"b": {"c": [1], "d": [2]}}},
        {"a": [{"b": [{"c": 1}]}, {"b": [{"d": 2}]}]},
        False,
    ),
    case(
        "inner arrays: fields in the same element match",
        {"a": {"b": {"c": [1], "d": [2]}}},
        {"a": [{"b": [{"c": 1, "d": 2}]}]},
        True,
    ),
    case(
        "a field of the outer element and one of an inner element match",
        {"a": {"x": [1], "b": {"c": [2]}}},
        {"a": [{"x": 1, "b": [{"c": 3}, {"c": 2}]}, {"x": 0}]},
        True,
    ),
    case(
        "a field of one outer element and an inner field of another do not match",
        {"a": {"x": [1], "b": {"c": [2]}}},
        {"a": [{"x": 1, "b": [{"c": 3}]}, {"x": 0, "b": [{"c": 2}]}]},
        False,
    ),
    case(
        "arrays of arrays of objects: different outer positions do not match",
        {"a": {"b": [1], "c": [2]}},
        {"a": [[{"b": 1}], [{"c": 2}]]},
        False,
    ),
    case(
        "arrays of arrays of objects: different inner positions do not match",
        {"a": {"b": [1], "c": [2]}},
        {"a": [[{"b": 1}, {"c": 2}]]},
        False,
    ),
    case(
        "arrays of arrays of objects: the same object matches",
        {"a": {"b": [1], "c": [2]}},
        {"a": [[{"b": 1, "c": 2}]]},
        True,
    ),
    case(
        "two separate arrays do not constrain each other",
        {"x": {"a": [1]}, "y": {"b": [2]}},
        {"x": [{"a": 0}, {"a": 1}], "y": [{"b": 2}, {"b": 3}]},
        True,
    ),
    case(
        "a field outside the array combines with any element",
        {"id": ["1"], "items": {"sku": ["A"]}},
        {"id": "1", "items": [{"sku": "B"}, {"sku": "A"}]},
        True,
    ),
    case(
        "arrays of scalars never constrain",
        {"d": {"a": [1], "b": [2]}},
        {"d": {"a": [0, 1], "b": [2, 3]}},
        True,
    ),
    case(
        "a scalar array inside an element belongs to that element",
        {"d": {"a": ["x"], "b": ["y"]}},
        {"d": [{"a": ["q", "x"], "b": "y"}]},
        True,
    ),
    case(
        "a scalar array in one element and a field in another do not match",
        {"d": {"a": ["x"], "b": ["y"]}},
        {"d": [{"a": ["x"]}, {"b": "y"}]},
        False,
    ),
    case(
        "an empty array of objects has no fields",
        {"d": {"a": [{"exists": True}]}},
        {"d": []},
        False,
    ),
    case(
        "a value and a field below it, in different elements of an outer array, do not match",
        {"a": ["x"], "a.b": ["y"]},
        {"a": [["x", {"b": "z"}], ["w", {"b": "y"}]]},
        False,
    ),
    case(
        "a value and a field below it, in one element of an outer array, match",
        {"a": ["x"], "a.b": ["y"]},
        {"a": [["x", {"b": "y"}], ["w", {"b": "z"}]]},
        True,
    ),
    case(
        "a value of an array and a field of its element object match",
        {"a": ["x"], "a.b": ["y"]},
        {"a": ["x", {"b": "y"}]},
        True,
    ),
]

# --- nested objects and dotted keys -------------------------------------------------------

NESTED = [
    case("nested objects", {"a": {"b": {"c": ["x"]}}}, {"a": {"b": {"c": "x"}}}, True),
    case("nested objects, wrong leaf", {"a": {"b": {"c": ["x"]}}}, {"a": {"b": {"c": "y"}}}, False),
    case("nested objects, missing parent", {"a": {"b": {"c": ["x"]}}}, {"a": {"c": "x"}}, False),
    case(
        "ten levels deep",
        {"l0": {"l1": {"l2": {"l3": {"l4": {"l5": {"l6": {"l7": {"l8": {"l9": [1]}}}}}}}}}},
        {"l0": {"l1": {"l2": {"l3": {"l4": {"l5": {"l6": {"l7": {"l8": {"l9": 1}}}}}}}}}},
        True,
    ),
    case(
        "a dotted pattern key matches nested event keys [AWS]",
        {"detail.state": ["running"]},
        {"detail": {"state": "running"}},
        True,
    ),
    case(
        "nested pattern keys match a dotted event key [AWS]",
        {"detail": {"state": ["running"]}},
        {"detail.state": "running"},
        True,
    ),
    case("a dotted key matches a dotted key", {"a.b": ["x"]}, {"a.b": "x"}, True),
    case(
        "dots split anywhere alias each other",
        {"a": {"b.c": ["x"]}},
        {"a.b": {"c": "x"}},
        True,
    ),
    case(
        "[AWS] a dotted event key makes a longer path",
        {"detail": {"state": {"status": ["running"]}}},
        {"detail": {"state.status": {"status": "running"}}},
        False,
    ),
    case(
        "an event with both spellings has both values",
        {"a.b": ["x"]},
        {"a.b": "y", "a": {"b": "x"}},
        True,
    ),
    case(
        "a key given twice through a dotted alias: the last wins",
        {"a.b": ["x"], "a": {"b": ["y"]}},
        {"a": {"b": "y"}},
        True,
    ),
    case(
        "a key given twice through a dotted alias: the first is forgotten",
        {"a.b": ["x"], "a": {"b": ["y"]}},
        {"a": {"b": "x"}},
        False,
    ),
    case("a key is not a prefix of a longer key", {"a": ["x"]}, {"ab": "x"}, False),
    case("the empty key", {"": ["x"]}, {"": "x"}, True),
    case("the empty key is not another key", {"": ["x"]}, {"a": "x"}, False),
    case("an empty nested key ends the path with a dot", {"a": {"": ["x"]}}, {"a.": "x"}, True),
    case("an empty top key starts the path with a dot", {"": {"a": ["x"]}}, {".a": "x"}, True),
    case("keys with spaces and symbols", {"a b": {"c-d$": ["x"]}}, {"a b": {"c-d$": "x"}}, True),
    case("an operator name as a top-level field", {"prefix": ["x"]}, {"prefix": "x"}, True),
    case("an operator name as a field is not an operator", {"prefix": ["x"]}, {"a": "xyz"}, False),
    case(
        "numeric as a nested key is a field matching '>'",
        {"a": {"numeric": [">", 1]}},
        {"a": {"numeric": ">"}},
        True,
    ),
    case(
        "numeric as a nested key is a field matching 1",
        {"a": {"numeric": [">", 1]}},
        {"a": {"numeric": 1}},
        True,
    ),
    case(
        "numeric as a nested key is not a range",
        {"a": {"numeric": [">", 1]}},
        {"a": 2},
        False,
    ),
]

# --- AND of fields ------------------------------------------------------------------------

AND = [
    case(
        "lambda doc And: both fields match",
        {"Location": ["New York"], "Day": ["Monday"]},
        {"Location": "New York", "Day": "Monday"},
        True,
    ),
    case(
        "lambda doc And: one field differs",
        {"Location": ["New York"], "Day": ["Monday"]},
        {"Location": "New York", "Day": "Tuesday"},
        False,
    ),
    case(
        "lambda doc And: one field is missing",
        {"Location": ["New York"], "Day": ["Monday"]},
        {"Location": "New York"},
        False,
    ),
    case(
        "top-level and nested fields",
        {"source": ["s"], "detail": {"a": [1], "b": {"c": ["x"]}}},
        {"source": "s", "detail": {"a": 1, "b": {"c": "x"}}},
        True,
    ),
    case(
        "top-level and nested fields, nested mismatch",
        {"source": ["s"], "detail": {"a": [1], "b": {"c": ["x"]}}},
        {"source": "s", "detail": {"a": 1, "b": {"c": "y"}}},
        False,
    ),
    case(
        "doc example: prefix, anything-but and numeric together",
        {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"anything-but": [100, 200, 300]}],
            },
        },
        {
            "time": "2017-10-02T18:43:48Z",
            "detail": {"state": "running", "c-count": 5, "d-count": 7, "x-limit": 301.8},
        },
        True,
    ),
    case(
        "doc example: one failing field fails the whole pattern",
        {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "x-limit": [{"anything-but": [100, 200, 300]}],
            },
        },
        {
            "time": "2017-10-02T18:43:48Z",
            "detail": {"state": "running", "c-count": 5, "x-limit": 200},
        },
        False,
    ),
]

# --- OR of values --------------------------------------------------------------------------

OR_VALUES = [
    case(
        "lambda doc Or: one of the values",
        {"PaymentType": ["Credit", "Debit"]},
        {"PaymentType": "Debit"},
        True,
    ),
    case(
        "lambda doc Or: none of the values",
        {"PaymentType": ["Credit", "Debit"]},
        {"PaymentType": "Cash"},
        False,
    ),
    case("mixed kinds: null", {"a": ["x", 5, None, True]}, {"a": None}, True),
    case("mixed kinds: number", {"a": ["x", 5, None, True]}, {"a": 5.0}, True),
    case("mixed kinds: boolean", {"a": ["x", 5, None, True]}, {"a": True}, True),
    case("mixed kinds: a string is not the number", {"a": ["x", 5, None, True]}, {"a": "5"}, False),
    case("mixed kinds: false is none of them", {"a": ["x", 5, None, True]}, {"a": False}, False),
    case("a value or an operator", {"a": ["x", {"prefix": "ab"}]}, {"a": "abc"}, True),
    case(
        "[AWS] several operators in one list are ORed",
        {"a": [{"exists": True}, {"prefix": "IGNORED"}]},
        {"a": "my-value"},
        True,
    ),
    case(
        "numeric objects are ORed, not ANDed",
        {"a": [{"numeric": [">", 10]}, {"numeric": ["<", 0]}]},
        {"a": -1},
        True,
    ),
    case(
        "numeric objects are ORed: between them matches neither",
        {"a": [{"numeric": [">", 10]}, {"numeric": ["<", 0]}]},
        {"a": 5},
        False,
    ),
    case(
        "[AWS] numeric or anything-but: the excluded string",
        {"N": [{"numeric": [">", 100]}, {"anything-but": "101"}]},
        {"N": "101"},
        False,
    ),
    case(
        "numeric or anything-but: the number 101 is in range",
        {"N": [{"numeric": [">", 100]}, {"anything-but": "101"}]},
        {"N": 101},
        True,
    ),
    case(
        "numeric or anything-but: another string is not excluded",
        {"N": [{"numeric": [">", 100]}, {"anything-but": "101"}]},
        {"N": "5"},
        True,
    ),
]

# --- $or -----------------------------------------------------------------------------------

README_OR = {
    "source": ["aws.cloudwatch"],
    "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
}
DOC_DETAIL_OR = {
    "detail": {
        "$or": [
            {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
            {"d-count": [{"numeric": ["<", 10]}]},
            {"x-limit": [{"numeric": ["=", 3.018e2]}]},
        ]
    }
}
NESTED_OR = {"$or": [{"a": ["1"]}, {"$or": [{"b": ["2"]}, {"c": ["3"]}]}]}
TWO_ORS = {
    "$or": [{"a": ["1"]}, {"b": ["2"]}],
    "x": {"$or": [{"c": ["3"]}, {"d": ["4"]}]},
}
# event-ruler's Machine.addRule compiles with the $or-aware compiler and, when that refuses the
# pattern, with the legacy compiler, for which "$or" is an ordinary field name.
OR_AS_FIELD = {"src": ["s"], "$or": {"t": ["T"]}}
OR_AS_VALUES = {"$or": ["x"]}
OR_OF_OPERATORS = {"$or": [{"prefix": "a"}, {"suffix": "b"}]}
EXISTS_OR = {"$or": [{"a": [{"exists": False}]}, {"b": ["x"]}]}

OR_PRIMITIVE = [
    case(
        "README $or: source and the first branch",
        README_OR,
        {"source": "aws.cloudwatch", "metricName": "CPUUtilization"},
        True,
    ),
    case(
        "README $or: source and the second branch",
        README_OR,
        {"source": "aws.cloudwatch", "namespace": "AWS/EC2"},
        True,
    ),
    case(
        "README $or: siblings are ANDed with every branch",
        README_OR,
        {"source": "aws.ec2", "metricName": "CPUUtilization"},
        False,
    ),
    case("README $or: no branch matches", README_OR, {"source": "aws.cloudwatch"}, False),
    case(
        "lambda doc $or: the second field alone",
        {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]},
        {"Day": "Monday"},
        True,
    ),
    case(
        "lambda doc $or: neither field",
        {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]},
        {"Location": "Boston", "Day": "Friday"},
        False,
    ),
    case("doc nested $or: first branch", DOC_DETAIL_OR, {"detail": {"c-count": 3}}, True),
    case("doc nested $or: third branch", DOC_DETAIL_OR, {"detail": {"x-limit": 301.8}}, True),
    case(
        "doc nested $or: the path prefix is kept",
        DOC_DETAIL_OR,
        {"c-count": 3, "detail": {"d-count": 20}},
        False,
    ),
    case(
        "doc nested $or: no branch",
        DOC_DETAIL_OR,
        {"detail": {"c-count": 9, "d-count": 10, "x-limit": 300}},
        False,
    ),
    case("$or inside a $or branch", NESTED_OR, {"c": "3"}, True),
    case("$or inside a $or branch: outer branch", NESTED_OR, {"a": "1"}, True),
    case("$or inside a $or branch: nothing", NESTED_OR, {"d": "4"}, False),
    case("two $ors multiply", TWO_ORS, {"a": "1", "x": {"d": "4"}}, True),
    case("two $ors: both must hold", TWO_ORS, {"a": "1", "b": "2"}, False),
    case(
        "a branch with two fields ANDs them",
        {"$or": [{"a": ["1"], "b": ["2"]}, {"c": ["3"]}]},
        {"a": "1"},
        False,
    ),
    case(
        "a branch with two fields, both present",
        {"$or": [{"a": ["1"], "b": ["2"]}, {"c": ["3"]}]},
        {"a": "1", "b": "2"},
        True,
    ),
    case("[AWS] exists:false in a $or branch, field absent", EXISTS_OR, {"c": 1}, True),
    case("exists:false in a $or branch, field present", EXISTS_OR, {"a": 1}, False),
    case(
        "$or of an object is a field named $or", OR_AS_FIELD, {"src": "s", "$or": {"t": "T"}}, True
    ),
    case("a field named $or: its value", OR_AS_FIELD, {"src": "s", "$or": {"t": "U"}}, False),
    case("a field named $or: not a $or", OR_AS_FIELD, {"src": "s", "t": "T"}, False),
    case("a field named $or: with the others", OR_AS_FIELD, {"$or": {"t": "T"}}, False),
    case("$or of values is a field named $or", OR_AS_VALUES, {"$or": "x"}, True),
    case("a field named $or of values: another value", OR_AS_VALUES, {"$or": "y"}, False),
    case("a field named $or of values: in an array", OR_AS_VALUES, {"$or": ["y", "x"]}, True),
    case("$or of operators is a field named $or", OR_OF_OPERATORS, {"$or": "xb"}, True),
    case("a field named $or of operators: prefix", OR_OF_OPERATORS, {"$or": "ax"}, True),
    case("a field named $or of operators: neither", OR_OF_OPERATORS, {"$or": "x"}, False),
    case(
        "a field named $or, nested",
        {"a": {"$or": {"b": ["x"]}}},
        {"a": {"$or": {"b": "x"}}},
        True,
    ),
    case(
        "a field named $or, as a dotted key",
        {"a": {"$or": {"b": ["x"]}}},
        {"a.$or.b": "x"},
        True,
    ),
    case("exists:false in a $or branch, other branch holds", EXISTS_OR, {"a": 1, "b": "x"}, True),
    case(
        "$or branches with nested objects",
        {"$or": [{"a": {"b": ["x"]}}, {"c": {"d": ["y"]}}]},
        {"c": {"d": "y"}},
        True,
    ),
    case(
        "$or branches with dotted keys",
        {"$or": [{"a.b": ["x"]}, {"c.d": ["y"]}]},
        {"a": {"b": "x"}},
        True,
    ),
    case(
        "nested $or with a sibling field",
        {"detail": {"state": ["x"], "$or": [{"a": ["1"]}, {"b": ["2"]}]}},
        {"detail": {"state": "x", "b": "2"}},
        True,
    ),
    case(
        "nested $or with a sibling field that fails",
        {"detail": {"state": ["x"], "$or": [{"a": ["1"]}, {"b": ["2"]}]}},
        {"detail": {"state": "y", "b": "2"}},
        False,
    ),
    case(
        "a $or branch is held to one array element",
        {"d": {"$or": [{"a": [1], "b": [2]}, {"c": [3]}]}},
        {"d": [{"a": 1}, {"b": 2}]},
        False,
    ),
    case(
        "doc: $or with operators in its branches",
        {
            "source": ["aws.ec2"],
            "$or": [
                {"detail": {"state": [{"prefix": "run"}]}},
                {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
            ],
        },
        ec2(state="stopped"),
        True,
    ),
]

# --- prefix and suffix ----------------------------------------------------------------------

TIME_PREFIX = {"time": [{"prefix": "2017-10-02"}]}
PNG = {"FileName": [{"suffix": ".png"}]}
PREFIX_IC = {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}}
SUFFIX_IC = {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}

PREFIX_SUFFIX = [
    case("doc prefix: a timestamp", TIME_PREFIX, {"time": "2017-10-02T18:43:48Z"}, True),
    case("doc prefix: another day", TIME_PREFIX, {"time": "2017-10-03T18:43:48Z"}, False),
    case("prefix never matches a number", TIME_PREFIX, {"time": 20171002}, False),
    case("lambda doc: Begins with", {"Region": [{"prefix": "us-"}]}, {"Region": "us-east-1"}, True),
    case("prefix equal to the whole value", {"a": [{"prefix": "abc"}]}, {"a": "abc"}, True),
    case("prefix longer than the value", {"a": [{"prefix": "abcd"}]}, {"a": "abc"}, False),
    case("prefix is case-sensitive", {"a": [{"prefix": "AB"}]}, {"a": "abc"}, False),
    case("prefix is anchored at the start", {"a": [{"prefix": "bc"}]}, {"a": "abc"}, False),
    case("prefix on any array element", {"a": [{"prefix": "ab"}]}, {"a": ["x", "abc"]}, True),
    case("unicode prefix", {"a": [{"prefix": "日"}]}, {"a": "日本"}, True),
    case("empty prefix matches any string", {"a": [{"prefix": ""}]}, {"a": "abc"}, True),
    case("empty prefix matches the empty string", {"a": [{"prefix": ""}]}, {"a": ""}, True),
    case("empty prefix does not match a number", {"a": [{"prefix": ""}]}, {"a": 5}, False),
    case("empty prefix does not match null", {"a": [{"prefix": ""}]}, {"a": None}, False),
    case("empty prefix does not match a missing field", {"a": [{"prefix": ""}]}, {}, False),
    case("prefix does not match a number's digits", {"a": [{"prefix": "1"}]}, {"a": 123}, False),
    case("prefix t does not match true", {"a": [{"prefix": "t"}]}, {"a": True}, False),
    case("prefix n does not match null", {"a": [{"prefix": "n"}]}, {"a": None}, False),
    case(
        "prefix ignoring case: lower case", PREFIX_IC, {"detail": {"service": "eventbridge"}}, True
    ),
    case(
        "prefix ignoring case: upper case", PREFIX_IC, {"detail": {"service": "EVENTBRIDGE"}}, True
    ),
    case("prefix ignoring case is anchored", PREFIX_IC, {"detail": {"service": "xeventb"}}, False),
    case("prefix ignoring case needs a string", PREFIX_IC, {"detail": {"service": 5}}, False),
    case(
        "empty prefix ignoring case matches any string",
        {"a": [{"prefix": {"equals-ignore-case": ""}}]},
        {"a": "anything"},
        True,
    ),
    case(
        "prefix ignoring case: ß also matches SS",
        {"a": [{"prefix": {"equals-ignore-case": "straß"}}]},
        {"a": "STRASSE"},
        True,
    ),
    case("doc suffix: .png", PNG, {"FileName": "image.png"}, True),
    case("suffix is case-sensitive", PNG, {"FileName": "image.PNG"}, False),
    case("suffix is anchored at the end", PNG, {"FileName": "image.png.bak"}, False),
    case("suffix equal to the whole value", PNG, {"FileName": ".png"}, True),
    case("suffix longer than the value", PNG, {"FileName": "png"}, False),
    case("suffix on any array element", PNG, {"FileName": ["a.gif", "b.png"]}, True),
    case("empty suffix matches any string", {"a": [{"suffix": ""}]}, {"a": "x"}, True),
    case("empty suffix matches the empty string", {"a": [{"suffix": ""}]}, {"a": ""}, True),
    case("empty suffix does not match a number", {"a": [{"suffix": ""}]}, {"a": 5}, False),
    case("suffix does not match a number's digits", {"a": [{"suffix": "5"}]}, {"a": 15}, False),
    case("suffix e does not match true", {"a": [{"suffix": "e"}]}, {"a": True}, False),
    case("multi-byte suffix", {"a": [{"suffix": "本"}]}, {"a": "日本"}, True),
    case("accented suffix", {"a": [{"suffix": "é"}]}, {"a": "café"}, True),
    case("accented suffix is not its base letter", {"a": [{"suffix": "é"}]}, {"a": "cafe"}, False),
    case("astral-plane suffix", {"a": [{"suffix": "🎉"}]}, {"a": "party🎉"}, True),
    case("suffix ignoring case: upper case", SUFFIX_IC, {"FileName": "IMAGE.PNG"}, True),
    case("suffix ignoring case: mixed case", SUFFIX_IC, {"FileName": "image.Png"}, True),
    case("suffix ignoring case: another suffix", SUFFIX_IC, {"FileName": "image.jpg"}, False),
    case("suffix ignoring case needs a string", SUFFIX_IC, {"FileName": None}, False),
    case(
        "suffix ignoring case: ß matches SS",
        {"a": [{"suffix": {"equals-ignore-case": "ß"}}]},
        {"a": "GROSS"},
        True,
    ),
    case(
        "suffix ignoring case: ß does not match ss",
        {"a": [{"suffix": {"equals-ignore-case": "ß"}}]},
        {"a": "gross"},
        False,
    ),
]

# --- equals-ignore-case --------------------------------------------------------------------

ALICE = {"name": [{"equals-ignore-case": "alice"}]}


def eic(text: str) -> dict[str, Any]:
    return {"a": [{"equals-ignore-case": text}]}


EQUALS_IGNORE_CASE = [
    case("equals-ignore-case: all upper", ALICE, {"name": "ALICE"}, True),
    case("equals-ignore-case: capitalised", ALICE, {"name": "Alice"}, True),
    case("equals-ignore-case: mixed", ALICE, {"name": "aLiCe"}, True),
    case("equals-ignore-case is not a prefix match", ALICE, {"name": "ALICE "}, False),
    case("equals-ignore-case: another name", ALICE, {"name": "alicia"}, False),
    case("equals-ignore-case: any array element", ALICE, {"name": ["bob", "ALICE"]}, True),
    case(
        "lambda doc: Equals (ignore case)",
        {"Name": [{"equals-ignore-case": "alice"}]},
        {"Name": "ALICE"},
        True,
    ),
    case(
        "doc: detail-type ignoring case",
        {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
        EC2_EVENT,
        True,
    ),
    case("equals-ignore-case of the empty string", eic(""), {"a": ""}, True),
    case("[AWS] equals-ignore-case empty does not match text", eic(""), {"a": "test-value"}, False),
    case("equals-ignore-case 'true' does not match true", eic("true"), {"a": True}, False),
    case("equals-ignore-case '5' does not match 5", eic("5"), {"a": 5}, False),
    case("equals-ignore-case 'null' does not match null", eic("null"), {"a": None}, False),
    case("equals-ignore-case: digits and symbols as they are", eic("a-1_b"), {"a": "A-1_B"}, True),
    case("equals-ignore-case: accented letters", eic("é"), {"a": "É"}, True),
    case("equals-ignore-case: German umlaut", eic("ÄBC"), {"a": "äbc"}, True),
    case("equals-ignore-case ß matches ß", eic("ß"), {"a": "ß"}, True),
    case("equals-ignore-case ß matches SS (its upper case)", eic("ß"), {"a": "SS"}, True),
    case("equals-ignore-case ß does not match ss (no case folding)", eic("ß"), {"a": "ss"}, False),
    case("equals-ignore-case ß does not match Ss", eic("ß"), {"a": "Ss"}, False),
    case("equals-ignore-case SS matches ss", eic("SS"), {"a": "ss"}, True),
    case("equals-ignore-case SS matches sS", eic("SS"), {"a": "sS"}, True),
    case("equals-ignore-case SS does not match ß", eic("SS"), {"a": "ß"}, False),
    case("equals-ignore-case Kelvin sign matches k", eic("\u212a"), {"a": "k"}, True),
    case("equals-ignore-case Kelvin sign matches itself", eic("\u212a"), {"a": "\u212a"}, True),
    case("equals-ignore-case Kelvin sign does not match K", eic("\u212a"), {"a": "K"}, False),
    case("equals-ignore-case k does not match the Kelvin sign", eic("k"), {"a": "\u212a"}, False),
    case("equals-ignore-case K matches k", eic("K"), {"a": "k"}, True),
    case("equals-ignore-case İ matches i + combining dot", eic("\u0130"), {"a": "i\u0307"}, True),
    case("equals-ignore-case İ matches itself", eic("\u0130"), {"a": "\u0130"}, True),
    case("equals-ignore-case İ does not match i", eic("\u0130"), {"a": "i"}, False),
    case("equals-ignore-case İ does not match I", eic("\u0130"), {"a": "I"}, False),
    case(
        "equals-ignore-case capital sigma matches small sigma", eic("\u03a3"), {"a": "\u03c3"}, True
    ),
    case(
        "equals-ignore-case capital sigma does not match final sigma",
        eic("\u03a3"),
        {"a": "\u03c2"},
        False,
    ),
    case("equals-ignore-case titlecase ǅ matches lower ǆ", eic("ǅ"), {"a": "ǆ"}, True),
    case("equals-ignore-case titlecase ǅ matches upper Ǆ", eic("ǅ"), {"a": "Ǆ"}, True),
    case("equals-ignore-case titlecase ǅ is only lower or upper", eic("ǅ"), {"a": "ǅ"}, False),
]

# --- anything-but --------------------------------------------------------------------------

BUT_X = {"s": [{"anything-but": "x"}]}
BUT_ZERO = {"x": [{"anything-but": 0}]}
BUT_LIST = {"state": [{"anything-but": ["stopped", "overloaded"]}]}
BUT_NUMBERS = {"x-limit": [{"anything-but": [100, 200, 300]}]}
BUT_PREFIX = {"state": [{"anything-but": {"prefix": "init"}}]}
BUT_PREFIXES = {"state": [{"anything-but": {"prefix": ["init", "test"]}}]}
BUT_SUFFIX = {"id": [{"anything-but": {"suffix": "1234"}}]}
BUT_IC = {"state": [{"anything-but": {"equals-ignore-case": "Stopped"}}]}
BUT_WILDCARD = {"p": [{"anything-but": {"wildcard": "*/dir/*"}}]}

ANYTHING_BUT = [
    case("anything-but: another string", BUT_X, {"s": "y"}, True),
    case("anything-but: the excluded string", BUT_X, {"s": "x"}, False),
    case("anything-but is case-sensitive", BUT_X, {"s": "X"}, True),
    case("anything-but: the empty string is another string", BUT_X, {"s": ""}, True),
    case("[AWS] anything-but never matches a missing field", BUT_X, {}, False),
    case("[AWS] anything-but matches null", BUT_X, {"s": None}, True),
    case("anything-but string matches a number", BUT_X, {"s": 5}, True),
    case("anything-but string matches true", BUT_X, {"s": True}, True),
    case("anything-but string matches false", BUT_X, {"s": False}, True),
    case("anything-but does not match an empty array", BUT_X, {"s": []}, False),
    case("anything-but does not match an object", BUT_X, {"s": {"t": "y"}}, False),
    case("anything-but: one element not excluded is enough", BUT_X, {"s": ["x", "ok"]}, True),
    case("anything-but: every element excluded", BUT_X, {"s": ["x", "x"]}, False),
    case(
        "doc anything-but: running is not initializing",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        ec2(state="running"),
        True,
    ),
    case(
        "doc anything-but: initializing is excluded",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        ec2(state="initializing"),
        False,
    ),
    case("[AWS] anything-but 0 matches 789", BUT_ZERO, {"x": 789}, True),
    case("anything-but 0 excludes 0", BUT_ZERO, {"x": 0}, False),
    case("anything-but 0 excludes 0.0", BUT_ZERO, {"x": 0.0}, False),
    case("anything-but 0 excludes -0.0", BUT_ZERO, {"x": -0.0}, False),
    case("anything-but 0 matches the string '0'", BUT_ZERO, {"x": "0"}, True),
    case("anything-but 0 matches null", BUT_ZERO, {"x": None}, True),
    case("anything-but 0 matches false (booleans are not numbers)", BUT_ZERO, {"x": False}, True),
    case("anything-but 0 never matches a missing field", BUT_ZERO, {}, False),
    case(
        "anything-but 123 excludes 123.0",
        {"x": [{"anything-but": 123}]},
        {"x": 123.0},
        False,
    ),
    case(
        "anything-but 123 matches the string '123'",
        {"x": [{"anything-but": 123}]},
        {"x": "123"},
        True,
    ),
    case(
        "anything-but 5 matches a number beyond double range",
        {"x": [{"anything-but": 5}]},
        {"x": 10**400},
        True,
    ),
    case("anything-but list: another string", BUT_LIST, {"state": "running"}, True),
    case("anything-but list: first excluded", BUT_LIST, {"state": "stopped"}, False),
    case("anything-but list: second excluded", BUT_LIST, {"state": "overloaded"}, False),
    case("[AWS] anything-but list matches null", BUT_LIST, {"state": None}, True),
    case("[AWS] anything-but list never matches a missing field", BUT_LIST, {}, False),
    case("anything-but list of strings matches a number", BUT_LIST, {"state": 7}, True),
    case(
        "lambda doc Not",
        {"Weather": [{"anything-but": ["Raining"]}]},
        {"Weather": "Sunny"},
        True,
    ),
    case("anything-but numbers: excluded", BUT_NUMBERS, {"x-limit": 100}, False),
    case("anything-but numbers: excluded as a float", BUT_NUMBERS, {"x-limit": 100.0}, False),
    case("anything-but numbers: not excluded", BUT_NUMBERS, {"x-limit": 150}, True),
    case("anything-but numbers: a string is not excluded", BUT_NUMBERS, {"x-limit": "100"}, True),
    case(
        "anything-but numbers: all elements excluded", BUT_NUMBERS, {"x-limit": [100, 200]}, False
    ),
    case("anything-but numbers: one element passes", BUT_NUMBERS, {"x-limit": [100, 150]}, True),
    case("anything-but prefix: excluded", BUT_PREFIX, {"state": "initializing"}, False),
    case("anything-but prefix: the prefix itself", BUT_PREFIX, {"state": "init"}, False),
    case("anything-but prefix: another string", BUT_PREFIX, {"state": "running"}, True),
    case("anything-but prefix is case-sensitive", BUT_PREFIX, {"state": "Init"}, True),
    case("anything-but prefix: the empty string passes", BUT_PREFIX, {"state": ""}, True),
    case("[AWS] anything-but prefix matches a number", BUT_PREFIX, {"state": 12}, True),
    case("[AWS] anything-but prefix matches null", BUT_PREFIX, {"state": None}, True),
    case("[AWS] anything-but prefix never matches a missing field", BUT_PREFIX, {}, False),
    case(
        "anything-but prefix: every element excluded",
        BUT_PREFIX,
        {"state": ["init-1", "init-2"]},
        False,
    ),
    case("[AWS] anything-but prefix list: excluded", BUT_PREFIXES, {"state": "testing"}, False),
    case("anything-but prefix list: not excluded", BUT_PREFIXES, {"state": "running"}, True),
    case("[AWS] anything-but prefix list matches a number", BUT_PREFIXES, {"state": 12}, True),
    case(
        "anything-but an empty prefix list excludes nothing",
        {"state": [{"anything-but": {"prefix": []}}]},
        {"state": "anything"},
        True,
    ),
    case("anything-but suffix: excluded", BUT_SUFFIX, {"id": "i-1234"}, False),
    case("anything-but suffix: not excluded", BUT_SUFFIX, {"id": "i-12345"}, True),
    case("[AWS] anything-but suffix matches null", BUT_SUFFIX, {"id": None}, True),
    case(
        "anything-but suffix matches a number ending in the digits", BUT_SUFFIX, {"id": 1234}, True
    ),
    case("[AWS] anything-but suffix never matches a missing field", BUT_SUFFIX, {}, False),
    case(
        "anything-but suffix list",
        {"f": [{"anything-but": {"suffix": [".png", ".jpg"]}}]},
        {"f": "a.gif"},
        True,
    ),
    case(
        "anything-but suffix list: excluded",
        {"f": [{"anything-but": {"suffix": [".png", ".jpg"]}}]},
        {"f": "a.jpg"},
        False,
    ),
    case("anything-but ignoring case: excluded", BUT_IC, {"state": "STOPPED"}, False),
    case("anything-but ignoring case: not excluded", BUT_IC, {"state": "running"}, True),
    case("[AWS] anything-but ignoring case matches null", BUT_IC, {"state": None}, True),
    case("anything-but ignoring case never matches a missing field", BUT_IC, {}, False),
    case(
        "anything-but ignoring case list: excluded",
        {"s": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]},
        {"s": "A"},
        False,
    ),
    case(
        "anything-but ignoring case list: not excluded",
        {"s": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]},
        {"s": "c"},
        True,
    ),
    case(
        "anything-but ignoring case of the empty string excludes only it",
        {"s": [{"anything-but": {"equals-ignore-case": ""}}]},
        {"s": ""},
        False,
    ),
    case(
        "anything-but ignoring case of the empty string passes text",
        {"s": [{"anything-but": {"equals-ignore-case": ""}}]},
        {"s": "x"},
        True,
    ),
    case(
        "anything-but ignoring case ß excludes SS",
        {"s": [{"anything-but": {"equals-ignore-case": "ß"}}]},
        {"s": "SS"},
        False,
    ),
    case(
        "anything-but ignoring case ß does not exclude ss",
        {"s": [{"anything-but": {"equals-ignore-case": "ß"}}]},
        {"s": "ss"},
        True,
    ),
    case("anything-but wildcard: excluded", BUT_WILDCARD, {"p": "/a/dir/b"}, False),
    case("anything-but wildcard: not excluded", BUT_WILDCARD, {"p": "/a/lib/b"}, True),
    case("[AWS] anything-but wildcard matches a number", BUT_WILDCARD, {"p": 123}, True),
    case("[AWS] anything-but wildcard matches null", BUT_WILDCARD, {"p": None}, True),
    case("anything-but wildcard never matches a missing field", BUT_WILDCARD, {}, False),
    case(
        "[AWS] anything-but empty wildcard passes text",
        {"p": [{"anything-but": {"wildcard": ""}}]},
        {"p": "dir/init/file"},
        True,
    ),
    case(
        "anything-but empty wildcard excludes the empty string",
        {"p": [{"anything-but": {"wildcard": ""}}]},
        {"p": ""},
        False,
    ),
    case(
        "[AWS] anything-but wildcard list: excluded",
        {"p": [{"anything-but": {"wildcard": ["*.png", "*.jpg"]}}]},
        {"p": "a.png"},
        False,
    ),
    case(
        "anything-but wildcard list: not excluded",
        {"p": [{"anything-but": {"wildcard": ["*.png", "*.jpg"]}}]},
        {"p": "a.gif"},
        True,
    ),
    case(
        "anything-but wildcard * excludes every string",
        {"p": [{"anything-but": {"wildcard": "*"}}]},
        {"p": ""},
        False,
    ),
    case(
        "anything-but wildcard * still passes a number",
        {"p": [{"anything-but": {"wildcard": "*"}}]},
        {"p": 5},
        True,
    ),
    case(
        "anything-but or exists:false: field absent",
        {"s": [{"anything-but": "a"}, {"exists": False}]},
        {},
        True,
    ),
    case(
        "anything-but or exists:false: excluded value",
        {"s": [{"anything-but": "a"}, {"exists": False}]},
        {"s": "a"},
        False,
    ),
    case(
        "[AWS] anything-but list or exists:false, field absent",
        {"S": [{"anything-but": ["roses"]}, {"exists": False}]},
        {"T": "x"},
        True,
    ),
]

# --- numeric -------------------------------------------------------------------------------


def num(*expression: Any) -> dict[str, Any]:
    return {"a": [{"numeric": list(expression)}]}


DOC_NUMERIC = {
    "detail": {
        "c-count": [{"numeric": [">", 0, "<=", 5]}],
        "d-count": [{"numeric": ["<", 10]}],
        "x-limit": [{"numeric": ["=", 3.018e2]}],
    }
}

NUMERIC = [
    case("a huge integer is out of any numeric range", num(">", 0), {"a": 10**5000}, False),
    case("a huge negative integer is out of range", num("<", 0), {"a": -(10**5000)}, False),
    case(
        "anything-but a number lets a huge integer through",
        {"a": [{"anything-but": [5]}]},
        {"a": 10**5000},
        True,
    ),
    case("= matches the same integer", num("=", 100), {"a": 100}, True),
    case("= matches the same value as a float", num("=", 100), {"a": 100.0}, True),
    case("= matches 1e2", num("=", 100), {"a": 1e2}, True),
    case("= does not match another number", num("=", 100), {"a": 101}, False),
    case("= does not match the string", num("=", 100), {"a": "100"}, False),
    case("README = 3.018e2 matches 301.8", num("=", 3.018e2), {"a": 301.8}, True),
    case("< below", num("<", 10), {"a": 9}, True),
    case("< at the bound", num("<", 10), {"a": 10}, False),
    case("< with a negative exponent event", num("<", 10), {"a": -1e3}, True),
    case("< just below", num("<", 10), {"a": 9.999}, True),
    case("<= at the bound", num("<=", 10), {"a": 10}, True),
    case("<= at the bound as a float", num("<=", 10), {"a": 10.0}, True),
    case("<= just above", num("<=", 10), {"a": 10.000001}, False),
    case("> at the bound", num(">", 0), {"a": 0}, False),
    case("> a tiny positive number", num(">", 0), {"a": 1e-300}, True),
    case("> the smallest subnormal", num(">", 0), {"a": 5e-324}, True),
    case("> 0 does not match -0.0", num(">", 0), {"a": -0.0}, False),
    case(">= at the bound", num(">=", 0), {"a": 0}, True),
    case(">= 0 matches -0.0", num(">=", 0), {"a": -0.0}, True),
    case(">= just below", num(">=", 0), {"a": -1e-300}, False),
    case("(0, 5] at the top", num(">", 0, "<=", 5), {"a": 5}, True),
    case("(0, 5] at the bottom", num(">", 0, "<=", 5), {"a": 0}, False),
    case("(0, 5] inside", num(">", 0, "<=", 5), {"a": 0.5}, True),
    case("(0, 5] just above", num(">", 0, "<=", 5), {"a": 5.0000001}, False),
    case("(0, 5] far above", num(">", 0, "<=", 5), {"a": 6}, False),
    case("[0, 5) at the bottom", num(">=", 0, "<", 5), {"a": 0}, True),
    case("[0, 5) at the top", num(">=", 0, "<", 5), {"a": 5}, False),
    case("[0, 5) just below the top", num(">=", 0, "<", 5), {"a": 4.999999999}, True),
    case("(0, 5) at the bottom", num(">", 0, "<", 5), {"a": 0}, False),
    case("(0, 5) at the top", num(">", 0, "<", 5), {"a": 5}, False),
    case("(0, 5) inside", num(">", 0, "<", 5), {"a": 2.5}, True),
    case("[0, 5] at the bottom", num(">=", 0, "<=", 5), {"a": 0}, True),
    case("[0, 5] at the top", num(">=", 0, "<=", 5), {"a": 5}, True),
    case(
        "epoch timestamp range, float event",
        num(">=", 1628872008, "<=", 1629044808),
        {"a": 1628872008.0},
        True,
    ),
    case("tiny range: inside", num(">", 2.0e-6, "<", 4.0e-6), {"a": 3.0e-6}, True),
    case("tiny range: the open bottom", num(">", 2.0e-6, "<", 4.0e-6), {"a": 2.0e-6}, False),
    case("[AWS] int pattern, float event", num(">", 100), {"a": 101.0}, True),
    case("float pattern, int event", num("<", 100.5), {"a": 100}, True),
    case("[AWS] a numeric string never matches", num(">", 0), {"a": "5"}, False),
    case("[AWS] null never matches", num(">", 0), {"a": None}, False),
    case("true is not 1", num("=", 1), {"a": True}, False),
    case("false is not 0", num("=", 0), {"a": False}, False),
    case("false is not below 1", num("<", 1), {"a": False}, False),
    case("a missing field never matches", num(">", 0), {}, False),
    case("any array element in range", num(">", 0, "<", 10), {"a": [100, 5, 200]}, True),
    case("no array element in range", num(">", 0, "<", 10), {"a": [100, 200]}, False),
    case("an empty array never matches", num(">", 0, "<", 10), {"a": []}, False),
    case("a numeric string in an array never matches", num(">", 0, "<", 10), {"a": ["5"]}, False),
    case("no ±5e9 limit: above 5e9", num(">", 5e9), {"a": 6e9}, True),
    case("no ±5e9 limit: below -5e9", num("<", -5e9), {"a": -6e9}, True),
    case("huge bounds", num(">", 1e300), {"a": 1e301}, True),
    case("12-digit bound", num(">", 123456789012), {"a": 123456789013}, True),
    case("more than 6 decimals: = 1e-7", num("=", 0.0000001), {"a": 1e-7}, True),
    case("more than 6 decimals are compared", num(">", 1.0000001), {"a": 1.0000002}, True),
    case("more than 6 decimals are not truncated", num("=", 1.0000001), {"a": 1.0}, False),
    case(
        "a number beyond double range is not numeric",
        num(">", 0),
        {"a": 10**400},
        False,
    ),
    case(
        "a negative number beyond double range is not numeric",
        num("<", 0),
        {"a": -(10**400)},
        False,
    ),
    case(
        "a 20-digit integer is not numeric (not an exact double)",
        num(">", 0),
        {"a": 12345678901234567891},
        False,
    ),
    case(
        "2**53 + 1 is not numeric (not an exact double)",
        num(">", 0),
        {"a": 9007199254740993},
        False,
    ),
    case(
        "JSON text operand with an exponent", '{"a": [{"numeric": [">", 1e2]}]}', {"a": 101}, True
    ),
    case(
        "lambda doc: Numeric (equals)",
        {"Price": [{"numeric": ["=", 100]}]},
        {"Price": 100},
        True,
    ),
    case(
        "lambda doc: Numeric (range)",
        {"Price": [{"numeric": [">", 10, "<=", 20]}]},
        {"Price": 20},
        True,
    ),
    case(
        "lambda doc: numeric in an SQS body",
        {"body": {"RecordNumber": [{"numeric": [">", 9999]}]}},
        {"body": {"RecordNumber": 10000}},
        True,
    ),
    case(
        "doc numeric: all three fields",
        DOC_NUMERIC,
        {"detail": {"c-count": 5, "d-count": 7, "x-limit": 301.8}},
        True,
    ),
    case(
        "doc numeric: c-count out of range",
        DOC_NUMERIC,
        {"detail": {"c-count": 6, "d-count": 7, "x-limit": 301.8}},
        False,
    ),
]

# --- exists --------------------------------------------------------------------------------

STATE_EXISTS = {"detail": {"state": [{"exists": True}]}}
C_ABSENT = {"detail": {"c-count": [{"exists": False}]}}


def exists(flag: bool) -> dict[str, Any]:
    return {"a": [{"exists": flag}]}


# Beyond Python's 4,300-digit limit for converting an integer to text (built in Python: json
# refuses it). event-ruler reads numbers as doubles: this one is a number out of range.
HUGE = 10**5000

EXISTS = [
    case("a huge integer exists", exists(True), {"a": HUGE}, True),
    case(
        "a huge integer exists, after a number in the list",
        {"a": [5, {"exists": True}]},
        {"a": HUGE},
        True,
    ),
    case("a huge integer is not absent", exists(False), {"a": HUGE}, False),
    case("a huge integer is not a literal", {"a": [5, 10**20, "x"]}, {"a": HUGE}, False),
    case("a huge negative integer exists", exists(True), {"a": -HUGE}, True),
    case("doc exists:true on the EC2 event", STATE_EXISTS, EC2_EVENT, True),
    case("exists:true: missing", STATE_EXISTS, {"detail": {}}, False),
    case("exists:true: missing parent", STATE_EXISTS, {"source": "x"}, False),
    case("exists:true: the parent is a leaf", STATE_EXISTS, {"detail": "x"}, False),
    case("exists:true matches null", exists(True), {"a": None}, True),
    case("exists:true matches the empty string", exists(True), {"a": ""}, True),
    case("exists:true matches 0", exists(True), {"a": 0}, True),
    case("exists:true matches false", exists(True), {"a": False}, True),
    case("[AWS] exists:true does not match an empty array", exists(True), {"a": []}, False),
    case("exists:true matches an array of leaves", exists(True), {"a": ["a", "b"]}, True),
    case("exists:true matches an array holding null", exists(True), {"a": [None]}, True),
    case("exists:true does not match an empty object", exists(True), {"a": {}}, False),
    case("exists:true does not match an object (not a leaf)", exists(True), {"a": {"x": 1}}, False),
    case("exists:true does not match an array of empty objects", exists(True), {"a": [{}]}, False),
    case(
        "exists:true on any element of an array of objects",
        {"d": {"a": [{"exists": True}]}},
        {"d": [{"b": 1}, {"a": None}]},
        True,
    ),
    case(
        "lambda doc: Exists",
        {"ProductName": [{"exists": True}]},
        {"ProductName": "Widget"},
        True,
    ),
    case("exists:false: another field", C_ABSENT, {"detail": {"state": "x"}}, True),
    case(
        "README exists:false: an object is not a leaf",
        C_ABSENT,
        {"detail": {"c-count": {"c1": 100}}},
        True,
    ),
    case("exists:false: null is a leaf", C_ABSENT, {"detail": {"c-count": None}}, False),
    case("exists:false: an empty array has no leaf", C_ABSENT, {"detail": {"c-count": []}}, True),
    case("exists:false: an empty object has no leaf", C_ABSENT, {"detail": {"c-count": {}}}, True),
    case("exists:false: missing parents", C_ABSENT, {}, True),
    case("exists:false: the parent is a leaf", C_ABSENT, {"detail": "x"}, True),
    case("exists:false: 0 is present", C_ABSENT, {"detail": {"c-count": 0}}, False),
    case("exists:false: the empty string is present", C_ABSENT, {"detail": {"c-count": ""}}, False),
    case("exists:false: an array with a leaf", C_ABSENT, {"detail": {"c-count": [1]}}, False),
    case(
        "[AWS] exists:false deep: present",
        {"detail": {"level1": {"level2": {"level3": {"level4": [{"exists": False}]}}}}},
        {"detail": {"level1": {"level2": {"level3": {"level4": "x"}}}}},
        False,
    ),
    case(
        "exists:false deep: absent",
        {"detail": {"level1": {"level2": {"level3": {"level4": [{"exists": False}]}}}}},
        {"detail": {"level1": {"level2": {"level3": {"level5": "x"}}}}},
        True,
    ),
    case(
        "lambda doc: Does not exist",
        {"ProductName": [{"exists": False}]},
        {"Price": 5},
        True,
    ),
    case("exists:false matches a non-object event", exists(False), [1, 2], True),
    case("exists:false matches a null event", exists(False), None, True),
    case("exists:true never matches a non-object event", exists(True), "a", False),
    case(
        "exists:false ANDed with a value: both hold",
        {"a": ["x"], "b": [{"exists": False}]},
        {"a": "x"},
        True,
    ),
    case(
        "exists:false ANDed with a value: the field is there",
        {"a": ["x"], "b": [{"exists": False}]},
        {"a": "x", "b": 1},
        False,
    ),
    case(
        "exists:false ANDed with a value: the value is missing",
        {"a": ["x"], "b": [{"exists": False}]},
        {},
        False,
    ),
    case("exists:false or a value: absent", {"a": [{"exists": False}, "x"]}, {}, True),
    case("exists:false or a value: the value", {"a": [{"exists": False}, "x"]}, {"a": "x"}, True),
    case(
        "exists:false or a value: another value",
        {"a": [{"exists": False}, "x"]},
        {"a": "y"},
        False,
    ),
    case(
        "exists:true or exists:false: absent",
        {"a": [{"exists": True}, {"exists": False}]},
        {},
        True,
    ),
    case(
        "exists:true or exists:false: present",
        {"a": [{"exists": True}, {"exists": False}]},
        {"a": 1},
        True,
    ),
    case(
        "exists:false or prefix: present without the prefix",
        {"a": [{"exists": False}, {"prefix": "a"}]},
        {"a": "b"},
        False,
    ),
    case(
        "[AWS] exists:false in a $or branch",
        {"$or": [{"a": [{"exists": False}]}, {"b": [{"exists": True}]}]},
        {"a": 1, "b": None},
        True,
    ),
    case(
        "exists:false: a field in another element counts as absent (keys in sorted order)",
        {"d": {"a": [{"exists": True}], "b": [{"exists": False}]}},
        {"d": [{"a": 1}, {"b": 2}]},
        True,
    ),
    case(
        "exists:false checked first sees the field in any element",
        {"d": {"a": [{"exists": False}], "b": [{"exists": True}]}},
        {"d": [{"a": 1}, {"b": 2}]},
        False,
    ),
    case(
        "exists:false in an array of objects: absent",
        {"d": {"a": [{"exists": True}], "b": [{"exists": False}]}},
        {"d": [{"a": 1}]},
        True,
    ),
    case(
        "exists:false in an array of objects: in the same element",
        {"d": {"a": [{"exists": True}], "b": [{"exists": False}]}},
        {"d": [{"a": 1, "b": 2}]},
        False,
    ),
    case(
        "exists:false with an element that lacks the field",
        {"d": {"a": [1], "b": [{"exists": False}]}},
        {"d": [{"a": 1, "b": 2}, {"a": 1}]},
        True,
    ),
]

# --- cidr and IP addresses ----------------------------------------------------------------

SOURCE_IP = {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}


def cidr(block: str) -> dict[str, Any]:
    return {"ip": [{"cidr": block}]}


def ip(text: str) -> dict[str, Any]:
    return {"ip": [text]}


V6_RANGE = cidr("2001:db8:1234:1a00::/64")

CIDR = [
    case("doc cidr: inside", SOURCE_IP, {"detail": {"sourceIPAddress": "10.0.0.255"}}, True),
    case("doc cidr: network address", SOURCE_IP, {"detail": {"sourceIPAddress": "10.0.0.0"}}, True),
    case("doc cidr: outside", SOURCE_IP, {"detail": {"sourceIPAddress": "10.0.1.0"}}, False),
    case("host bits are ignored: /8", cidr("10.1.2.3/8"), {"ip": "10.200.0.1"}, True),
    case("host bits are ignored: outside /8", cidr("10.1.2.3/8"), {"ip": "11.0.0.0"}, False),
    case(
        "host bits are ignored: bottom of /24",
        cidr("54.240.196.171/24"),
        {"ip": "54.240.196.0"},
        True,
    ),
    case(
        "host bits are ignored: top of /24",
        cidr("54.240.196.171/24"),
        {"ip": "54.240.196.255"},
        True,
    ),
    case("/0 holds every IPv4 address", cidr("0.0.0.0/0"), {"ip": "255.255.255.255"}, True),
    case("/31 holds two addresses", cidr("10.0.0.0/31"), {"ip": "10.0.0.1"}, True),
    case("/31 holds only two addresses", cidr("10.0.0.0/31"), {"ip": "10.0.0.2"}, False),
    case("[AWS] IPv6 inside", V6_RANGE, {"ip": "2001:db8:1234:1a00::1"}, True),
    case("[AWS] IPv6 outside", V6_RANGE, {"ip": "2001:0db8:123f:1a01::"}, False),
    case(
        "IPv6 text forms are normalised",
        V6_RANGE,
        {"ip": "2001:DB8:1234:1A00:0:0:0:FFFF"},
        True,
    ),
    case("IPv6 next network", V6_RANGE, {"ip": "2001:db8:1234:1a01::1"}, False),
    case("IPv6 /127", cidr("::/127"), {"ip": "::1"}, True),
    case(
        "[AWS] cidr never matches a number", SOURCE_IP, {"detail": {"sourceIPAddress": 123}}, False
    ),
    case("cidr never matches null", cidr("10.0.0.0/8"), {"ip": None}, False),
    case("cidr never matches true", cidr("10.0.0.0/8"), {"ip": True}, False),
    case("cidr never matches a missing field", cidr("10.0.0.0/8"), {}, False),
    case("an octet above 255 is not an IP", cidr("10.0.0.0/8"), {"ip": "10.0.0.256"}, False),
    case("three octets are not an IP", cidr("10.0.0.0/8"), {"ip": "10.0.0"}, False),
    case("a word is not an IP", cidr("10.0.0.0/8"), {"ip": "hello"}, False),
    case("the empty string is not an IP", cidr("10.0.0.0/8"), {"ip": ""}, False),
    case(
        "an IP with a trailing space is not an IP", cidr("10.0.0.0/8"), {"ip": "10.0.0.1 "}, False
    ),
    case("IPv4 with leading zeros is not an IP", cidr("10.0.0.0/8"), {"ip": "010.0.0.1"}, False),
    case(
        "an IPv6 address is not in an IPv4 range", cidr("10.0.0.0/8"), {"ip": "2001:db8::1"}, False
    ),
    case(
        "an IPv4 address is not in an IPv6 range", cidr("2001:db8::/32"), {"ip": "10.0.0.1"}, False
    ),
    case("cidr on any array element", cidr("10.0.0.0/24"), {"ip": ["1.1.1.1", "10.0.0.5"]}, True),
    case("a plain IPv4 value matches the address", ip("10.0.0.1"), {"ip": "10.0.0.1"}, True),
    case("a plain IPv4 value: another address", ip("10.0.0.1"), {"ip": "10.0.0.2"}, False),
    case(
        "a plain IPv4 value: leading zeros are not an IP",
        ip("10.0.0.1"),
        {"ip": "010.0.0.1"},
        False,
    ),
    case("a plain IPv4 value does not match a number", ip("10.0.0.1"), {"ip": 10}, False),
    case("a plain IPv6 value matches upper case", ip("2001:db8::1"), {"ip": "2001:DB8::1"}, True),
    case(
        "a plain IPv6 value matches the uncompressed form",
        ip("2001:db8::1"),
        {"ip": "2001:db8:0:0:0:0:0:1"},
        True,
    ),
    case(
        "a plain IPv6 value matches the zero-padded form",
        ip("2001:db8::1"),
        {"ip": "2001:0db8:0000:0000:0000:0000:0000:0001"},
        True,
    ),
    case(
        "an uncompressed IPv6 value matches the compressed form",
        ip("2001:DB8:0:0:0:0:0:1"),
        {"ip": "2001:db8::1"},
        True,
    ),
    case("a plain IPv6 value: another address", ip("2001:db8::1"), {"ip": "2001:db8::2"}, False),
    case("08:23 looks like IPv6 but is not: exact text", ip("08:23"), {"ip": "08:23"}, True),
    case("08:23 is compared as text", ip("08:23"), {"ip": "8:23"}, False),
    case("a leading-zero IPv4 value is plain text", ip("010.0.0.1"), {"ip": "010.0.0.1"}, True),
    case(
        "a leading-zero IPv4 value is not the address", ip("010.0.0.1"), {"ip": "10.0.0.1"}, False
    ),
    case(
        "exactly compares an IPv6 address as text",
        {"ip": [{"exactly": "2001:db8::1"}]},
        {"ip": "2001:DB8::1"},
        False,
    ),
    case(
        "exactly matches the same IPv6 text",
        {"ip": [{"exactly": "2001:db8::1"}]},
        {"ip": "2001:db8::1"},
        True,
    ),
]

# --- wildcard ------------------------------------------------------------------------------


def wild(pattern: str) -> dict[str, Any]:
    return {"a": [{"wildcard": pattern}]}


EVENT_BUS = wild("arn:aws:events:us-east-1:*:event-bus/*")

WILDCARD = [
    case("* matches the empty string", wild("*"), {"a": ""}, True),
    case("* matches any string", wild("*"), {"a": "anything"}, True),
    case("* does not match a number", wild("*"), {"a": 5}, False),
    case("* does not match null", wild("*"), {"a": None}, False),
    case("* does not match true", wild("*"), {"a": True}, False),
    case("* does not match a missing field", wild("*"), {}, False),
    case("empty wildcard matches the empty string", wild(""), {"a": ""}, True),
    case("empty wildcard matches only the empty string", wild(""), {"a": "a"}, False),
    case("a*b: nothing in between", wild("a*b"), {"a": "ab"}, True),
    case("a*b: something in between", wild("a*b"), {"a": "axxb"}, True),
    case("a*b is anchored at the end", wild("a*b"), {"a": "abx"}, False),
    case("a*b is anchored at the start", wild("a*b"), {"a": "xab"}, False),
    case("doc: Simple*Service", wild("Simple*Service"), {"a": "SimpleNotificationService"}, True),
    case("wildcard is case-sensitive", wild("Simple*Service"), {"a": "simpleQueueService"}, False),
    case("*.png", wild("*.png"), {"a": "image.png"}, True),
    case("*.png is anchored", wild("*.png"), {"a": "image.png.bak"}, False),
    case("a*b*c: two stars", wild("a*b*c"), {"a": "aXbYc"}, True),
    case("a*b*c: order matters", wild("a*b*c"), {"a": "acb"}, False),
    case("a*b*c: backtracking", wild("a*b*c"), {"a": "abcbc"}, True),
    case("*a*: contains", wild("*a*"), {"a": "bab"}, True),
    case("*a*: does not contain", wild("*a*"), {"a": "bbb"}, False),
    case("* matches a newline", wild("a*b"), {"a": "a\nb"}, True),
    case("a dot is literal", wild("a.c"), {"a": "abc"}, False),
    case("regex characters are literal", wild("a+(c)[d]?"), {"a": "a+(c)[d]?"}, True),
    case("brackets are not a class", wild("[ab]"), {"a": "a"}, False),
    case("an escaped star is a literal star", wild("a\\*b"), {"a": "a*b"}, True),
    case("an escaped star is not a wildcard", wild("a\\*b"), {"a": "axb"}, False),
    case("an escaped backslash is a literal backslash", wild("a\\\\b"), {"a": "a\\b"}, True),
    case("an escaped backslash is required in the event", wild("a\\\\b"), {"a": "ab"}, False),
    case("a literal star then a wildcard", wild("\\**"), {"a": "*abc"}, True),
    case("a literal star then a wildcard needs the star", wild("\\**"), {"a": "abc"}, False),
    case("a literal backslash then a wildcard", wild("a\\\\*"), {"a": "a\\xyz"}, True),
    case("unicode around a star", wild("日*"), {"a": "日本"}, True),
    case("wildcard on any array element", wild("a*b"), {"a": ["x", "ab"]}, True),
    case(
        "doc wildcard: an event bus ARN",
        EVENT_BUS,
        {"a": "arn:aws:events:us-east-1:123456789012:event-bus/default"},
        True,
    ),
    case(
        "doc wildcard: another region",
        EVENT_BUS,
        {"a": "arn:aws:events:us-west-2:123456789012:event-bus/default"},
        False,
    ),
]

ALL_CASES = [
    *EXACT,
    *ARRAYS,
    *NESTED,
    *AND,
    *OR_VALUES,
    *OR_PRIMITIVE,
    *PREFIX_SUFFIX,
    *EQUALS_IGNORE_CASE,
    *ANYTHING_BUT,
    *NUMERIC,
    *EXISTS,
    *CIDR,
    *WILDCARD,
]


class TestExactValues:
    @pytest.mark.parametrize(PARAMS, EXACT)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestArrays:
    @pytest.mark.parametrize(PARAMS, ARRAYS)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestNestedObjectsAndDottedKeys:
    @pytest.mark.parametrize(PARAMS, NESTED)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestAndOfFields:
    @pytest.mark.parametrize(PARAMS, AND)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestOrOfValues:
    @pytest.mark.parametrize(PARAMS, OR_VALUES)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestOrPrimitive:
    @pytest.mark.parametrize(PARAMS, OR_PRIMITIVE)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestPrefixAndSuffix:
    @pytest.mark.parametrize(PARAMS, PREFIX_SUFFIX)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestEqualsIgnoreCase:
    @pytest.mark.parametrize(PARAMS, EQUALS_IGNORE_CASE)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestAnythingBut:
    @pytest.mark.parametrize(PARAMS, ANYTHING_BUT)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestNumeric:
    @pytest.mark.parametrize(PARAMS, NUMERIC)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestExists:
    @pytest.mark.parametrize(PARAMS, EXISTS)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestCidr:
    @pytest.mark.parametrize(PARAMS, CIDR)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestWildcard:
    @pytest.mark.parametrize(PARAMS, WILDCARD)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        check(pattern, event, expected)


class TestExplainAgreesWithMatches:
    """``explain`` is ``None`` exactly when the event matches, on every case above."""

    @pytest.mark.parametrize(PARAMS, ALL_CASES)
    def test_case(self, pattern: dict[str, Any] | str, event: Any, expected: bool) -> None:
        explanation = compile_pattern(pattern).explain(event)
        if expected:
            assert explanation is None
        else:
            assert isinstance(explanation, str)
            assert explanation
