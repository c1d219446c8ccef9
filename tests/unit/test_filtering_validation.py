"""Invalid filter patterns are refused with a :class:`FilterPatternError` naming where and why.

Every rejection event-ruler's ``JsonRuleCompiler`` makes (the compiler behind EventBridge and
Lambda event filtering) is refused here too. The message starts with the path of the offending
part (``detail.state[0].prefix``) and carries the key words of event-ruler's own reason, so
that someone who searches for the AWS error text finds the same rule. Patterns that look wrong
but that event-ruler accepts (a field named ``prefix``, an empty prefix, host bits in a CIDR,
over-precise numbers in a value list...) compile. ``explain`` says why an event does not match.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from lambdakit.errors import LambdakitError
from lambdakit.filtering import (
    FilterCriteria,
    FilterPatternError,
    compile_pattern,
    filter_records,
    matches,
)


def rejected(name: str, pattern: Any, path: str, *keywords: str) -> Any:
    """A pattern AWS rejects; the message must start with ``path`` and hold each keyword."""
    return pytest.param(pattern, path, keywords, id=name)


def assert_rejected(pattern: Any, path: str, keywords: tuple[str, ...]) -> None:
    with pytest.raises(FilterPatternError) as caught:
        compile_pattern(pattern)
    message = str(caught.value)
    assert message.startswith(path), f"{message!r} does not start with the path {path!r}"
    for keyword in keywords:
        assert keyword.lower() in message.lower(), f"{message!r} lacks {keyword!r}"


def state(*items: Any) -> dict[str, Any]:
    """A pattern whose ``detail.state`` value list holds ``items``."""
    return {"detail": {"state": list(items)}}


AT = "detail.state[0]"
PARAMS = ("pattern", "path", "keywords")

# --- the pattern as a whole ---------------------------------------------------------------

NOT_AN_OBJECT = "Filter is not an object"

ROOT = [
    rejected("a list is not a pattern", [1], "", NOT_AN_OBJECT),
    rejected("a JSON list is not a pattern", "[1, 2, 3]", "", NOT_AN_OBJECT),
    rejected("a JSON string is not a pattern", '"x"', "", NOT_AN_OBJECT),
    rejected("a JSON number is not a pattern", "1", "", NOT_AN_OBJECT),
    rejected("JSON null is not a pattern", "null", "", NOT_AN_OBJECT),
    rejected("None is not a pattern", None, "", NOT_AN_OBJECT),
    rejected("a number is not a pattern", 5, "", NOT_AN_OBJECT),
    rejected("a boolean is not a pattern", True, "", NOT_AN_OBJECT),
    rejected("empty text is not JSON", "", ""),
    rejected("unfinished JSON", "{", ""),
    rejected("single quotes are not JSON", "{'a': ['x']}", ""),
    rejected("an invalid JSON escape", r'{"a": [{"wildcard": "a*c\def"}]}', ""),
    rejected("an empty pattern", {}, "", "Empty objects are not allowed"),
    rejected("an empty JSON pattern", "{}", "", "Empty objects are not allowed"),
]

# --- fields and value lists ---------------------------------------------------------------

MUST_BE_OBJECT_OR_ARRAY = "must be an object or an array"

STRUCTURE = [
    rejected("a nested empty object", {"detail": {}}, "detail", "Empty objects are not allowed"),
    rejected(
        "a deeper empty object",
        {"detail": {"state": {}}},
        "detail.state",
        "Empty objects are not allowed",
    ),
    rejected(
        "[AWS] a string instead of a value list",
        {"detail": "x"},
        "detail",
        '"detail" must be an object or an array',
    ),
    rejected(
        "[AWS] a number instead of a value list",
        {"detail": {"state": 42}},
        "detail.state",
        '"state" must be an object or an array',
    ),
    rejected(
        "null instead of a value list",
        {"detail": {"state": None}},
        "detail.state",
        MUST_BE_OBJECT_OR_ARRAY,
    ),
    rejected(
        "a boolean instead of a value list",
        {"detail": {"state": True}},
        "detail.state",
        MUST_BE_OBJECT_OR_ARRAY,
    ),
    rejected(
        "an operator outside a value list is a field with a bare value",
        {"detail": {"prefix": "x"}},
        "detail.prefix",
        '"prefix" must be an object or an array',
    ),
    rejected(
        "[AWS] an empty value list",
        {"detail": {"state": []}},
        "detail.state",
        "Empty arrays are not allowed",
    ),
    rejected(
        "a list inside a value list",
        state([1]),
        AT,
        "Match value must be String, number, true, false, or null",
    ),
    rejected(
        "a list as the second value",
        state("x", [1]),
        "detail.state[1]",
        "Match value must be String, number, true, false, or null",
    ),
    rejected("an empty match expression", state({}), AT, "Match expression name not found"),
    rejected("an unknown operator", state({"foo": 1}), AT, "Unrecognized match type foo"),
    rejected(
        "[AWS] operators are case-sensitive (NUMERIC)",
        state({"NUMERIC": ["=", 5]}),
        AT,
        "Unrecognized match type NUMERIC",
    ),
    rejected(
        "[AWS] operators are case-sensitive (EXISTS)",
        state({"EXISTS": True}),
        AT,
        "Unrecognized match type EXISTS",
    ),
    rejected("$or is not an operator", state({"$or": [1, 2]}), AT, "Unrecognized match type $or"),
    rejected(
        "regex is reserved, not supported",
        state({"regex": "x"}),
        AT,
        "Unrecognized match type regex",
    ),
    rejected("html is not supported", state({"html": "x"}), AT, "Unrecognized match type html"),
    rejected("an empty operator name", state({"": 1}), AT, "Unrecognized match type"),
    rejected(
        "a second operator in one match expression",
        state({"prefix": "a", "suffix": "b"}),
        AT,
        "Only one key allowed in match expression",
    ),
    rejected(
        "exists with an extra key",
        state({"exists": True, "extraKey": 1}),
        AT,
        "Only one key allowed in match expression",
    ),
    rejected(
        "equals-ignore-case with an extra key",
        state({"equals-ignore-case": "a", "x": 1}),
        AT,
        "Only one key allowed in match expression",
    ),
    rejected(
        "wildcard with an extra key",
        state({"wildcard": "a*", "x": 1}),
        AT,
        "Only one key allowed in match expression",
    ),
    rejected(
        "cidr with an extra key",
        state({"cidr": "10.0.0.0/8", "x": 1}),
        AT,
        "Only one key allowed in match expression",
    ),
    rejected(
        "exactly with an extra key",
        state({"exactly": "a", "x": 1}),
        AT,
        "Only one key allowed in match expression",
    ),
    rejected(
        "numeric with an extra key",
        state({"numeric": [">", 0], "x": 1}),
        AT,
        "Too many elements in numeric expression",
    ),
    rejected(
        "anything-but with an extra key",
        state({"anything-but": "a", "x": 1}),
        AT,
        "Too many elements",
    ),
    rejected(
        "a deeper path names every step",
        {"detail": {"state": ["x", {"prefix": 1}]}},
        "detail.state[1].prefix",
        "prefix match pattern must be a string",
    ),
]

# --- string operators ---------------------------------------------------------------------

STRING_OPERATORS = [
    rejected(
        "[AWS] prefix of a number",
        state({"prefix": 1}),
        f"{AT}.prefix",
        "prefix match pattern must be a string",
    ),
    rejected(
        "[AWS] prefix of a list",
        state({"prefix": ["x"]}),
        f"{AT}.prefix",
        "prefix match pattern must be a string",
    ),
    rejected(
        "prefix of null",
        state({"prefix": None}),
        f"{AT}.prefix",
        "prefix match pattern must be a string",
    ),
    rejected(
        "prefix of a boolean",
        state({"prefix": True}),
        f"{AT}.prefix",
        "prefix match pattern must be a string",
    ),
    rejected(
        "[AWS] suffix of a number",
        state({"suffix": 1}),
        f"{AT}.suffix",
        "suffix match pattern must be a string",
    ),
    rejected(
        "[AWS] suffix of a list",
        state({"suffix": ["x"]}),
        f"{AT}.suffix",
        "suffix match pattern must be a string",
    ),
    rejected(
        "prefix with an unknown inner operator",
        state({"prefix": {"foo": "x"}}),
        f"{AT}.prefix",
        "Unsupported prefix pattern: foo",
    ),
    rejected(
        "suffix with an unknown inner operator",
        state({"suffix": {"foo": "x"}}),
        f"{AT}.suffix",
        "Unsupported suffix pattern: foo",
    ),
    rejected(
        "prefix of an empty object",
        state({"prefix": {}}),
        f"{AT}.prefix",
        "Prefix expression name not found",
    ),
    rejected(
        "suffix of an empty object",
        state({"suffix": {}}),
        f"{AT}.suffix",
        "Suffix expression name not found",
    ),
    rejected(
        "prefix ignoring case of a number",
        state({"prefix": {"equals-ignore-case": 1}}),
        f"{AT}.prefix",
        "equals-ignore-case match pattern must be a string",
    ),
    rejected(
        "suffix ignoring case of a list",
        state({"suffix": {"equals-ignore-case": ["x"]}}),
        f"{AT}.suffix",
        "equals-ignore-case match pattern must be a string",
    ),
    rejected(
        "prefix ignoring case with an extra key",
        state({"prefix": {"equals-ignore-case": "x", "y": 1}}),
        f"{AT}.prefix",
        "Only one key allowed in match expression",
    ),
    rejected(
        "equals-ignore-case of a number",
        state({"equals-ignore-case": 5}),
        f"{AT}.equals-ignore-case",
        "equals-ignore-case match pattern must be a string",
    ),
    rejected(
        "[AWS] equals-ignore-case of a list",
        state({"equals-ignore-case": ["abc"]}),
        f"{AT}.equals-ignore-case",
        "equals-ignore-case match pattern must be a string",
    ),
    rejected(
        "[AWS] equals-ignore-case of an operator",
        state({"equals-ignore-case": {"prefix": "ec2"}}),
        f"{AT}.equals-ignore-case",
        "equals-ignore-case match pattern must be a string",
    ),
    rejected(
        "equals-ignore-case of null",
        state({"equals-ignore-case": None}),
        f"{AT}.equals-ignore-case",
        "equals-ignore-case match pattern must be a string",
    ),
    rejected(
        "exactly of a number",
        state({"exactly": 33}),
        f"{AT}.exactly",
        "exact match pattern must be a string",
    ),
    rejected(
        "exactly of null",
        state({"exactly": None}),
        f"{AT}.exactly",
        "exact match pattern must be a string",
    ),
    rejected(
        "exactly of a list",
        state({"exactly": ["x"]}),
        f"{AT}.exactly",
        "exact match pattern must be a string",
    ),
]

# --- exists --------------------------------------------------------------------------------

EXISTS_BOOLEAN = "exists match pattern must be either true or false"

EXISTS = [
    rejected(
        "exists of the string true", state({"exists": "true"}), f"{AT}.exists", EXISTS_BOOLEAN
    ),
    rejected("exists of a string", state({"exists": "badString"}), f"{AT}.exists", EXISTS_BOOLEAN),
    rejected("exists of null", state({"exists": None}), f"{AT}.exists", EXISTS_BOOLEAN),
    rejected("exists of 1", state({"exists": 1}), f"{AT}.exists", EXISTS_BOOLEAN),
    rejected("exists of 0", state({"exists": 0}), f"{AT}.exists", EXISTS_BOOLEAN),
    rejected("exists of a list", state({"exists": [True]}), f"{AT}.exists", EXISTS_BOOLEAN),
]

# --- wildcard ------------------------------------------------------------------------------

WILDCARD_STRING = "wildcard match pattern must be a string"

WILDCARD = [
    rejected(
        "[AWS] wildcard of a number", state({"wildcard": 5}), f"{AT}.wildcard", WILDCARD_STRING
    ),
    rejected(
        "[AWS] wildcard of a list", state({"wildcard": ["abc"]}), f"{AT}.wildcard", WILDCARD_STRING
    ),
    rejected("wildcard of null", state({"wildcard": None}), f"{AT}.wildcard", WILDCARD_STRING),
    rejected(
        "[AWS] consecutive stars",
        state({"wildcard": "a**"}),
        f"{AT}.wildcard",
        "Consecutive wildcard characters at pos 2",
    ),
    rejected(
        "consecutive stars in the middle",
        state({"wildcard": "abc**def"}),
        f"{AT}.wildcard",
        "Consecutive wildcard characters at pos 4",
    ),
    rejected(
        "only stars",
        state({"wildcard": "**"}),
        f"{AT}.wildcard",
        "Consecutive wildcard characters at pos 1",
    ),
    rejected(
        "an escaped star then two stars",
        state({"wildcard": "\\***"}),
        f"{AT}.wildcard",
        "Consecutive wildcard characters at pos 3",
    ),
    rejected(
        "positions count UTF-8 bytes",
        state({"wildcard": "é**"}),
        f"{AT}.wildcard",
        "Consecutive wildcard characters at pos 3",
    ),
    rejected(
        "a backslash before a letter",
        state({"wildcard": "a\\b"}),
        f"{AT}.wildcard",
        "Invalid escape character at pos 2",
    ),
    rejected(
        "a trailing backslash",
        state({"wildcard": "foo*bar\\"}),
        f"{AT}.wildcard",
        "Invalid escape character at pos 8",
    ),
    rejected(
        "a lone backslash",
        state({"wildcard": "\\"}),
        f"{AT}.wildcard",
        "Invalid escape character at pos 1",
    ),
    rejected(
        "JSON text: a backslash before a letter",
        '{"detail": {"state": [{"wildcard": "a\\\\b"}]}}',
        f"{AT}.wildcard",
        "Invalid escape character at pos 2",
    ),
]

# --- cidr ----------------------------------------------------------------------------------


def cidr(block: Any) -> dict[str, Any]:
    return state({"cidr": block})


CIDR_AT = f"{AT}.cidr"
ONE_SLASH = "Malformed CIDR, one '/' required"
MASK_INTEGER = "Malformed CIDR, mask bits must be an integer"
NONSTANDARD = "Nonstandard IP address"

CIDR = [
    rejected("an IPv4 /32", cidr("10.0.0.0/32"), CIDR_AT, "IPv4 mask bits must be < 32"),
    rejected("an IPv4 /33", cidr("10.0.0.0/33"), CIDR_AT, "IPv4 mask bits must be < 32"),
    rejected("an IPv6 /128", cidr("2001:db8::/128"), CIDR_AT, "IPv6 mask bits must be < 128"),
    rejected("an IPv6 /200", cidr("::/200"), CIDR_AT, "IPv6 mask bits must be < 128"),
    rejected("no mask", cidr("10.0.0.0"), CIDR_AT, ONE_SLASH),
    rejected("an empty mask", cidr("10.0.0.0/"), CIDR_AT, ONE_SLASH),
    rejected("two slashes", cidr("a/b/c"), CIDR_AT, ONE_SLASH),
    rejected("a word", cidr("foo"), CIDR_AT, ONE_SLASH),
    rejected("a word as the mask", cidr("10.0.0.0/x"), CIDR_AT, MASK_INTEGER),
    rejected("a space in the mask", cidr("10.0.0.0/ 8"), CIDR_AT, MASK_INTEGER),
    rejected("a fractional mask", cidr("10.0.0.0/8.0"), CIDR_AT, MASK_INTEGER),
    rejected(
        "a negative mask",
        cidr("10.0.0.0/-1"),
        CIDR_AT,
        "Malformed CIDR, mask bits must not be negative",
    ),
    rejected("no address", cidr("/8"), CIDR_AT, NONSTANDARD),
    rejected("[AWS] letters in an IPv4 address", cidr("xx.11.xx/8"), CIDR_AT, NONSTANDARD),
    rejected(
        "[AWS] letters in an IPv6 address", cidr("xxxx:db8:1234:1a00::/64"), CIDR_AT, NONSTANDARD
    ),
    rejected("[AWS] a malformed address and mask", cidr("bad-/64filter"), CIDR_AT),
    rejected("an IPv6 zone id", cidr("fe80::1%eth0/64"), CIDR_AT, NONSTANDARD),
    rejected("a dotted IPv4-mapped IPv6 address", cidr("::ffff:1.2.3.4/96"), CIDR_AT, NONSTANDARD),
    rejected("an octet above 255", cidr("999.1.1.1/8"), CIDR_AT, "Invalid IP address"),
    rejected("[AWS] cidr of a number", cidr(5), CIDR_AT, "must be a string"),
    rejected("cidr of null", cidr(None), CIDR_AT, "must be a string"),
    rejected("cidr of a list", cidr(["10.0.0.0/8"]), CIDR_AT, "must be a string"),
]

# --- anything-but --------------------------------------------------------------------------


def but(operand: Any) -> dict[str, Any]:
    return state({"anything-but": operand})


BUT_AT = f"{AT}.anything-but"
BUT_VALUE = "Value of anything-but must be an array or single string/number value"
BUT_MIXED = "either all values are number or string, mixed type is not supported"
BUT_KINDS = "Inside anything but list, start|null|boolean is not supported"
BUT_IC_KINDS = (
    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported"
)
NULL_PREFIX = "Null prefix/suffix not allowed"
PREFIX_SUFFIX_STRING = "prefix/suffix match pattern must be a string"

ANYTHING_BUT = [
    rejected("[AWS] anything-but null", but(None), BUT_AT, BUT_VALUE),
    rejected("anything-but true", but(True), BUT_AT, BUT_VALUE),
    rejected("anything-but false", but(False), BUT_AT, BUT_VALUE),
    rejected("anything-but an empty list", but([]), BUT_AT, BUT_MIXED),
    rejected("anything-but strings and numbers", but(["x", 1]), BUT_AT, BUT_MIXED),
    rejected(
        "anything-but strings around a number", but(["child0", 111, "child2"]), BUT_AT, BUT_MIXED
    ),
    rejected("anything-but a list with null", but([None]), BUT_AT, BUT_KINDS),
    rejected("anything-but a list with a boolean", but([True]), BUT_AT, BUT_KINDS),
    rejected("anything-but a list with an object", but(["x", {"a": 1}]), BUT_AT, BUT_KINDS),
    rejected("anything-but a list with a list", but([["x"]]), BUT_AT, BUT_KINDS),
    rejected(
        "anything-but exists",
        but({"exists": True}),
        BUT_AT,
        "Unsupported anything-but pattern: exists",
    ),
    rejected(
        "anything-but numeric",
        but({"numeric": [">", 1]}),
        BUT_AT,
        "Unsupported anything-but pattern: numeric",
    ),
    rejected(
        "anything-but cidr",
        but({"cidr": "10.0.0.0/8"}),
        BUT_AT,
        "Unsupported anything-but pattern: cidr",
    ),
    rejected(
        "anything-but anything-but",
        but({"anything-but": "x"}),
        BUT_AT,
        "Unsupported anything-but pattern: anything-but",
    ),
    rejected(
        "anything-but exactly",
        but({"exactly": "x"}),
        BUT_AT,
        "Unsupported anything-but pattern: exactly",
    ),
    rejected(
        "anything-but an unknown operator",
        but({"foo": "x"}),
        BUT_AT,
        "Unsupported anything-but pattern: foo",
    ),
    rejected(
        "anything-but an empty object", but({}), BUT_AT, "Anything-But expression name not found"
    ),
    rejected(
        "[AWS] anything-but an empty prefix", but({"prefix": ""}), f"{BUT_AT}.prefix", NULL_PREFIX
    ),
    rejected(
        "[AWS] anything-but an empty suffix", but({"suffix": ""}), f"{BUT_AT}.suffix", NULL_PREFIX
    ),
    rejected(
        "anything-but an empty prefix in a list",
        but({"prefix": ["a", ""]}),
        f"{BUT_AT}.prefix",
        NULL_PREFIX,
    ),
    rejected(
        "anything-but prefix of a number",
        but({"prefix": 1}),
        f"{BUT_AT}.prefix",
        PREFIX_SUFFIX_STRING,
    ),
    rejected(
        "anything-but prefix list with a number",
        but({"prefix": [1]}),
        f"{BUT_AT}.prefix",
        PREFIX_SUFFIX_STRING,
    ),
    rejected(
        "anything-but suffix of null",
        but({"suffix": None}),
        f"{BUT_AT}.suffix",
        PREFIX_SUFFIX_STRING,
    ),
    rejected(
        "anything-but suffix list with a boolean",
        but({"suffix": [True]}),
        f"{BUT_AT}.suffix",
        PREFIX_SUFFIX_STRING,
    ),
    rejected(
        "anything-but equals-ignore-case list with a number",
        but({"equals-ignore-case": [1]}),
        f"{BUT_AT}.equals-ignore-case",
        BUT_IC_KINDS,
    ),
    rejected(
        "anything-but equals-ignore-case of a number",
        but({"equals-ignore-case": 5}),
        f"{BUT_AT}.equals-ignore-case",
        BUT_IC_KINDS,
    ),
    rejected(
        "anything-but equals-ignore-case of null",
        but({"equals-ignore-case": None}),
        f"{BUT_AT}.equals-ignore-case",
        BUT_IC_KINDS,
    ),
    rejected(
        "anything-but wildcard of a number",
        but({"wildcard": 5}),
        f"{BUT_AT}.wildcard",
        WILDCARD_STRING,
    ),
    rejected(
        "anything-but wildcard list with null",
        but({"wildcard": [None]}),
        f"{BUT_AT}.wildcard",
        WILDCARD_STRING,
    ),
    rejected(
        "anything-but wildcard with consecutive stars",
        but({"wildcard": "a**"}),
        f"{BUT_AT}.wildcard",
        "Consecutive wildcard characters at pos 2",
    ),
    rejected(
        "anything-but wildcard list with a bad escape",
        but({"wildcard": ["ok", "a\\b"]}),
        f"{BUT_AT}.wildcard",
        "Invalid escape character at pos 2",
    ),
    rejected(
        "[AWS] anything-but prefix ignoring case",
        but({"prefix": {"equals-ignore-case": "x"}}),
        BUT_AT,
    ),
    rejected(
        "[AWS] anything-but suffix ignoring case",
        but({"suffix": {"equals-ignore-case": "x"}}),
        BUT_AT,
    ),
    rejected(
        "anything-but an operator with an extra key",
        but({"prefix": "a", "a": 1}),
        AT,
        "Too many elements",
    ),
    rejected(
        "JSON text: anything-but a number that is not a double",
        '{"detail": {"state": [{"anything-but": 1.00000000000000001}]}}',
        BUT_AT,
    ),
    rejected("anything-but a number beyond double range", but(10**400), BUT_AT),
    rejected("anything-but a list with a number beyond double range", but([1, 10**400]), BUT_AT),
]

# --- numeric -------------------------------------------------------------------------------


def num(operand: Any) -> dict[str, Any]:
    return state({"numeric": operand})


NUM_AT = f"{AT}.numeric"
TOO_MANY = "Too many elements in numeric expression"
BOTTOM_TOP = "Bottom must be less than top"

NUMERIC = [
    rejected("[AWS] numeric of a number", num(5), NUM_AT, "Value of numeric must be an array"),
    rejected("numeric of a string", num("> 5"), NUM_AT, "Value of numeric must be an array"),
    rejected("numeric of an object", num({">": 5}), NUM_AT, "Value of numeric must be an array"),
    rejected("numeric of null", num(None), NUM_AT, "Value of numeric must be an array"),
    rejected("an empty numeric list", num([]), NUM_AT, "Invalid member in numeric match: ]"),
    rejected(
        "a number without an operator", num([5]), NUM_AT, "Invalid member in numeric match: 5"
    ),
    rejected(
        "null as the operator", num([None, 5]), NUM_AT, "Invalid member in numeric match: null"
    ),
    rejected(
        "true as the operator", num([True, 5]), NUM_AT, "Invalid member in numeric match: true"
    ),
    rejected(
        "== is not an operator", num(["==", 1]), NUM_AT, "Unrecognized numeric range operator: =="
    ),
    rejected(
        "!= is not an operator", num(["!=", 5]), NUM_AT, "Unrecognized numeric range operator: !="
    ),
    rejected(
        "<> is not an operator", num(["<>", 5]), NUM_AT, "Unrecognized numeric range operator: <>"
    ),
    rejected(
        "≥ is not an operator", num(["≥", 5]), NUM_AT, "Unrecognized numeric range operator: ≥"
    ),
    rejected(
        "=< is not an operator", num(["=<", 5]), NUM_AT, "Unrecognized numeric range operator: =<"
    ),
    rejected(
        "numeric operators are exact strings",
        num(["GT", 5]),
        NUM_AT,
        "Unrecognized numeric range operator: GT",
    ),
    rejected("= without a value", num(["="]), NUM_AT, "Value of equals must be numeric"),
    rejected("= of a string", num(["=", "5"]), NUM_AT, "Value of equals must be numeric"),
    rejected("= of a boolean", num(["=", True]), NUM_AT, "Value of equals must be numeric"),
    rejected("= of null", num(["=", None]), NUM_AT, "Value of equals must be numeric"),
    rejected("> without a value", num([">"]), NUM_AT, "Value of > must be numeric"),
    rejected("> of a string", num([">", "5"]), NUM_AT, "Value of > must be numeric"),
    rejected(">= of null", num([">=", None]), NUM_AT, "Value of >= must be numeric"),
    rejected("< of a boolean", num(["<", True]), NUM_AT, "Value of < must be numeric"),
    rejected("<= of a list", num(["<=", [1]]), NUM_AT, "Value of <= must be numeric"),
    rejected("= must be alone", num(["=", 5, "<", 6]), NUM_AT, TOO_MANY),
    rejected("an upper bound must come second", num(["<", 5, ">", 0]), NUM_AT, TOO_MANY),
    rejected("<= must come second", num(["<=", 1, ">", 0]), NUM_AT, TOO_MANY),
    rejected(
        "[AWS] two lower bounds", num([">", 0, ">", 5]), NUM_AT, "Bad numeric range operator: >"
    ),
    rejected(
        "= as the upper bound", num([">", 0, "=", 5]), NUM_AT, "Bad numeric range operator: ="
    ),
    rejected(
        "a value where the upper operator goes",
        num([">", 0, 5]),
        NUM_AT,
        "Bad value in numeric range: 5",
    ),
    rejected(
        "[AWS] an upper bound without a value",
        num([">", 0, "<"]),
        NUM_AT,
        "Value of < must be numeric",
    ),
    rejected(
        "an upper bound of a string", num([">", 0, "<", "5"]), NUM_AT, "Value of < must be numeric"
    ),
    rejected(
        "a fifth element",
        num([">", 1, "<", 30, False]),
        NUM_AT,
        "Too many terms in numeric range expression",
    ),
    rejected("bottom above top", num([">", 30, "<", 1]), NUM_AT, BOTTOM_TOP),
    rejected("an empty open range", num([">", 1, "<", 1]), NUM_AT, BOTTOM_TOP),
    rejected("a closed range of one point", num([">=", 5, "<=", 5]), NUM_AT, BOTTOM_TOP),
    rejected("a half-open range of one point", num([">", 5, "<=", 5]), NUM_AT, BOTTOM_TOP),
    rejected("another half-open range of one point", num([">=", 5, "<", 5]), NUM_AT, BOTTOM_TOP),
    rejected(
        "JSON text: an operand beyond double range",
        '{"detail": {"state": [{"numeric": [">", 1e400]}]}}',
        NUM_AT,
    ),
    rejected(
        "JSON text: an operand that is not exactly a double",
        '{"detail": {"state": [{"numeric": ["<", 1.00000000000000001]}]}}',
        NUM_AT,
    ),
    rejected("an integer operand beyond double range", num([">", 10**400]), NUM_AT),
    rejected("a 20-digit integer operand", num(["=", 12345678901234567891]), NUM_AT),
    rejected("an upper bound beyond double range", num([">", 0, "<", 10**400]), NUM_AT),
]

# --- $or -----------------------------------------------------------------------------------

RESERVED_IN_OR = [
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
]
AT_LEAST_TWO = "There must have at least 2 Objects in $or relationship"

OR = [
    # Refused by both of event-ruler's compilers: the $or-aware one's reason is given.
    rejected("$or of a string", {"$or": "x"}, "$or", "It must be an Array followed with $or"),
    rejected("$or with one branch", {"$or": [{"a": ["x"]}]}, "$or", AT_LEAST_TWO),
    rejected("$or with no branch", {"$or": []}, "$or", AT_LEAST_TWO),
    rejected(
        "$or of one operator object",
        {"$or": [{"numeric": [">", "x"]}]},
        "$or",
        AT_LEAST_TWO,
    ),
    rejected(
        "$or of an object, with a sibling the legacy compiler refuses",
        {"$or": {"a": ["x"]}, "b": [{"anything-but": {"prefix": ["p", "q"]}}]},
        "$or",
        "It must be an Array followed with $or",
    ),
    rejected(
        "a $or branch that is not an object",
        {"$or": ["a", {"b": ["y"]}]},
        "$or[0]",
        "Only JSON object is allowed in array of $or relationship",
    ),
    rejected(
        "an empty $or branch",
        {"$or": [{"a": ["x"]}, {}]},
        "$or[1]",
        "Empty objects are not allowed",
    ),
    rejected(
        "an empty value list in a $or branch",
        {"$or": [{"a": []}, {"b": ["y"]}]},
        "$or[0].a",
        "Empty arrays are not allowed",
    ),
    rejected(
        "a bad operator in a $or branch",
        {"$or": [{"a": ["x"]}, {"b": [{"prefix": 1}]}]},
        "$or[1].b[0].prefix",
        "prefix match pattern must be a string",
    ),
    rejected(
        "a nested $or with one branch",
        {"detail": {"$or": [{"a": ["x"]}]}},
        "detail.$or",
        AT_LEAST_TWO,
    ),
    rejected(
        "a $or in a $or branch with one branch",
        {"$or": [{"a": ["x"]}, {"$or": [{"b": ["y"]}]}]},
        "$or[1].$or",
        AT_LEAST_TWO,
    ),
    rejected(
        "a reserved word nested in a $or branch",
        {"$or": [{"a": {"numeric": ["x"]}}, {"b": ["y"]}]},
        "$or[0].a.numeric",
        "numeric is Ruler reserved fieldName which cannot be used inside $or",
    ),
    rejected(
        "a reserved word in a nested $or",
        {"detail": {"$or": [{"a": ["x"]}, {"b": {"prefix": ["y"]}}]}},
        "detail.$or[1].b.prefix",
        "prefix is Ruler reserved fieldName which cannot be used inside $or",
    ),
    rejected(
        "a sibling of $or with a bare value",
        {"$or": [{"a": ["x"]}, {"b": ["y"]}], "c": "z"},
        "c",
        '"c" must be an object or an array',
    ),
    *(
        rejected(
            f"{word} is reserved inside $or",
            {"$or": [{word: ["x"]}, {"b": ["y"]}]},
            f"$or[0].{word}",
            f"{word} is Ruler reserved fieldName which cannot be used inside $or",
        )
        for word in RESERVED_IN_OR
    ),
]

# --- size ----------------------------------------------------------------------------------


def many_keys(count: int) -> dict[str, Any]:
    return {f"k{index}": ["x"] for index in range(count)}


SIZE = [
    rejected("257 field paths in one rule", many_keys(257), "", "256"),
    rejected(
        "257 field paths in one rule after $or expansion",
        {**many_keys(255), "$or": [{"y1": ["x"], "y2": ["x"]}, {"z": ["x"]}]},
        "",
        "256",
    ),
]


class TestRejectedPatterns:
    @pytest.mark.parametrize(PARAMS, ROOT)
    def test_root(self, pattern: Any, path: str, keywords: tuple[str, ...]) -> None:
        assert_rejected(pattern, path, keywords)

    @pytest.mark.parametrize(PARAMS, STRUCTURE)
    def test_structure(self, pattern: Any, path: str, keywords: tuple[str, ...]) -> None:
        assert_rejected(pattern, path, keywords)

    @pytest.mark.parametrize(PARAMS, STRING_OPERATORS)
    def test_string_operators(self, pattern: Any, path: str, keywords: tuple[str, ...]) -> None:
        assert_rejected(pattern, path, keywords)

    @pytest.mark.parametrize(PARAMS, EXISTS)
    def test_exists(self, pattern: Any, path: str, keywords: tuple[str, ...]) -> None:
        assert_rejected(pattern, path, keywords)

    @pytest.mark.parametrize(PARAMS, WILDCARD)
    def test_wildcard(self, pattern: Any, path: str, keywords: tuple[str, ...]) -> None:
        assert_rejected(pattern, path, keywords)

    @pytest.mark.parametrize(PARAMS, CIDR)
    def test_cidr(self, pattern: Any, path: str, keywords: tuple[str, ...]) -> None:
        assert_rejected(pattern, path, keywords)

    @pytest.mark.parametrize(PARAMS, ANYTHING_BUT)
    def test_anything_but(self, pattern: Any, path: str, keywords: tuple[str, ...]) -> None:
        assert_rejected(pattern, path, keywords)

    @pytest.mark.parametrize(PARAMS, NUMERIC)
    def test_numeric(self, pattern: Any, path: str, keywords: tuple[str, ...]) -> None:
        assert_rejected(pattern, path, keywords)

    @pytest.mark.parametrize(PARAMS, OR)
    def test_or(self, pattern: Any, path: str, keywords: tuple[str, ...]) -> None:
        assert_rejected(pattern, path, keywords)

    @pytest.mark.parametrize(PARAMS, SIZE)
    def test_size(self, pattern: Any, path: str, keywords: tuple[str, ...]) -> None:
        assert_rejected(pattern, path, keywords)

    def test_the_error_is_a_lambdakit_error(self) -> None:
        assert issubclass(FilterPatternError, LambdakitError)

    def test_matches_refuses_an_invalid_pattern_too(self) -> None:
        with pytest.raises(FilterPatternError, match="Empty arrays are not allowed"):
            matches({"a": []}, {"a": "x"})


# --- accepted ------------------------------------------------------------------------------


def accepted(name: str, pattern: Any) -> Any:
    return pytest.param(pattern, id=name)


ACCEPTED = [
    accepted("a field named prefix", {"prefix": ["x"]}),
    accepted("a field named anything-but", {"anything-but": ["x"]}),
    accepted("a nested field named numeric", {"a": {"numeric": [">", 1]}}),
    accepted("reserved words as fields outside $or", {"a": {"prefix": {"regex": ["x"]}}}),
    accepted("an empty prefix", {"a": [{"prefix": ""}]}),
    accepted("an empty suffix", {"a": [{"suffix": ""}]}),
    accepted("an empty equals-ignore-case", {"a": [{"equals-ignore-case": ""}]}),
    accepted("prefix ignoring case", {"a": [{"prefix": {"equals-ignore-case": "x"}}]}),
    accepted("suffix ignoring case", {"a": [{"suffix": {"equals-ignore-case": "x"}}]}),
    accepted("an empty wildcard", {"a": [{"wildcard": ""}]}),
    accepted("an escaped star then a star", {"a": [{"wildcard": "\\**"}]}),
    accepted("an escaped backslash", {"a": [{"wildcard": "a\\\\b"}]}),
    accepted("anything-but an empty wildcard", {"a": [{"anything-but": {"wildcard": ""}}]}),
    accepted(
        "anything-but an empty equals-ignore-case",
        {"a": [{"anything-but": {"equals-ignore-case": ""}}]},
    ),
    accepted("anything-but a prefix list", {"a": [{"anything-but": {"prefix": ["a", "b"]}}]}),
    accepted("anything-but an empty prefix list", {"a": [{"anything-but": {"prefix": []}}]}),
    accepted("anything-but a suffix list", {"a": [{"anything-but": {"suffix": ["a", "b"]}}]}),
    accepted("anything-but a wildcard list", {"a": [{"anything-but": {"wildcard": ["a*", "*b"]}}]}),
    accepted("anything-but a huge double", {"a": [{"anything-but": 1e300}]}),
    accepted("anything-but integers and floats", {"a": [{"anything-but": [1, 2.5]}]}),
    accepted("exists:false with a value", {"a": [{"exists": False}, "x"]}),
    accepted("exists:true and exists:false together", {"a": [{"exists": True}, {"exists": False}]}),
    accepted("a 12-digit number in a value list", {"a": [123456789012]}),
    accepted("a 20-digit number in a value list", {"a": [12345678901234567891]}),
    accepted("a number beyond double range in a value list", {"a": [10**400]}),
    accepted("JSON text: an over-precise number in a value list", '{"a": [1.00000000000000001]}'),
    accepted("JSON text: 1e400 in a value list", '{"a": [1e400]}'),
    accepted("null, true and a huge double", {"a": [None, True, 1.5e300]}),
    accepted(
        "every kind in one list", {"a": ["x", 5, None, True, {"prefix": "a"}, {"exists": False}]}
    ),
    accepted("numeric above 5e9", {"a": [{"numeric": [">", 5e9]}]}),
    accepted("numeric below 1e300", {"a": [{"numeric": ["<", 1e300]}]}),
    accepted("numeric with 7 decimals", {"a": [{"numeric": [">", 0.0000001]}]}),
    accepted("a numeric range", {"a": [{"numeric": [">", -1, "<", 1]}]}),
    accepted("a closed numeric range", {"a": [{"numeric": [">=", 0, "<=", 0.1]}]}),
    accepted("numeric = -0.0", {"a": [{"numeric": ["=", -0.0]}]}),
    accepted("cidr with host bits set", {"a": [{"cidr": "10.1.2.3/8"}]}),
    accepted("cidr /0", {"a": [{"cidr": "0.0.0.0/0"}]}),
    accepted("cidr /31", {"a": [{"cidr": "10.0.0.0/31"}]}),
    accepted("cidr IPv6 /127", {"a": [{"cidr": "2001:db8::/127"}]}),
    accepted("exactly", {"a": [{"exactly": "x"}]}),
    accepted("JSON text: duplicate keys (the last wins)", '{"a": ["x"], "a": ["y"]}'),
    accepted("the empty field name", {"": ["x"]}),
    accepted("a dotted field name", {"a.b": {"c": ["x"]}}),
    accepted("$or with a sibling", {"$or": [{"a": ["x"]}, {"b": ["y"]}], "c": ["z"]}),
    accepted("$or inside $or", {"$or": [{"a": ["x"]}, {"$or": [{"b": ["y"]}, {"c": ["z"]}]}]}),
    accepted("$or nested in a field", {"detail": {"$or": [{"a": ["x"]}, {"b": ["y"]}]}}),
    accepted("256 field paths", many_keys(256)),
    # event-ruler's Machine.addRule retries a pattern its $or-aware compiler refuses with the
    # legacy compiler, for which "$or" is a field name like any other.
    accepted("$or of an object: a field named $or", {"$or": {"a": ["x"]}}),
    accepted("$or of values: a field named $or", {"$or": ["x"]}),
    accepted("$or of one operator: a field named $or", {"$or": [{"prefix": "x"}]}),
    accepted(
        "$or of operators, reserved inside $or: a field named $or",
        {"$or": [{"prefix": "a"}, {"suffix": "b"}]},
    ),
    accepted("a field named $or beside a field", {"src": ["s"], "$or": {"t": ["T"]}}),
    accepted("a field named $or inside $or branches", {"a": {"$or": {"b": ["x"]}}}),
]


class TestAcceptedPatterns:
    @pytest.mark.parametrize("pattern", ACCEPTED)
    def test_compiles(self, pattern: Any) -> None:
        compile_pattern(pattern)


# --- explain -------------------------------------------------------------------------------

EC2_PATTERN = {
    "source": ["aws.ec2"],
    "detail": {"state": ["running", "stopped"]},
}


class TestExplain:
    def test_none_when_the_event_matches(self) -> None:
        pattern = compile_pattern(EC2_PATTERN)
        assert pattern.explain({"source": "aws.ec2", "detail": {"state": "running"}}) is None

    def test_a_value_not_in_the_list_names_the_field_the_value_and_the_list(self) -> None:
        explanation = compile_pattern(EC2_PATTERN).explain(
            {"source": "aws.ec2", "detail": {"state": "pending"}}
        )
        assert explanation is not None
        assert explanation.startswith("detail.state: ")
        for text in ('"pending"', '"running"', '"stopped"'):
            assert text in explanation

    def test_a_missing_field_is_named_and_said_to_be_missing(self) -> None:
        explanation = compile_pattern(EC2_PATTERN).explain({"source": "aws.ec2", "detail": {}})
        assert explanation is not None
        assert explanation.startswith("detail.state")
        words = ("missing", "absent", "not present", "no value", "does not exist", "not found")
        assert any(word in explanation.lower() for word in words), explanation

    def test_a_failed_operator_names_the_field_and_the_value(self) -> None:
        pattern = compile_pattern({"detail": {"count": [{"numeric": [">", 10]}]}})
        explanation = pattern.explain({"detail": {"count": 3}})
        assert explanation is not None
        assert explanation.startswith("detail.count")
        assert "3" in explanation

    def test_a_failed_prefix_names_the_field_and_the_value(self) -> None:
        pattern = compile_pattern({"detail": {"id": [{"prefix": "i-"}]}})
        explanation = pattern.explain({"detail": {"id": "x-1"}})
        assert explanation is not None
        assert explanation.startswith("detail.id")
        assert '"x-1"' in explanation

    def test_only_the_failing_field_is_named(self) -> None:
        explanation = compile_pattern(EC2_PATTERN).explain(
            {"source": "aws.ec2", "detail": {"state": "pending"}}
        )
        assert explanation is not None
        assert not explanation.startswith("source")

    def test_a_non_object_event_is_explained(self) -> None:
        explanation = compile_pattern(EC2_PATTERN).explain(["not", "an", "object"])
        assert isinstance(explanation, str)
        assert explanation


# --- what AWS's JSON parser refuses: deep nesting, NaN and Infinity, long numbers -------------


def nested_pattern(levels: int) -> dict[str, Any]:
    """``{"a": {"a": ... ["x"]}}``: ``levels`` objects around a value list, so ``levels + 1``
    levels of JSON nesting (Jackson, AWS's parser, counts objects and arrays alike)."""
    pattern: Any = ["x"]
    for _ in range(levels):
        pattern = {"a": pattern}
    assert isinstance(pattern, dict)
    return pattern


def nested_text(levels: int, separator: str = ": ") -> str:
    """:func:`nested_pattern` as JSON text (written by hand: ``json.dumps`` recurses)."""
    return f'{{"a"{separator}' * levels + '["x"]' + "}" * levels


def nested_event(levels: int) -> dict[str, Any]:
    event: Any = "x"
    for _ in range(levels):
        event = {"a": event}
    assert isinstance(event, dict)
    return event


def nested_or(levels: int) -> tuple[dict[str, Any], str]:
    """A ``$or`` whose first branch is a ``$or``, ``levels`` deep (3 JSON levels each), as a
    dict and as text."""
    pattern: dict[str, Any] = {"z": ["x"]}
    for _ in range(levels):
        pattern = {"$or": [pattern, {"y": ["x"]}]}
    text = '{"$or": [' * levels + '{"z": ["x"]}' + ', {"y": ["x"]}]}' * levels
    return pattern, text


DEEP_PATH = ".".join(["a"] * 1000)  # where the 1,001st level opens in nested_pattern(1000)


class TestNesting:
    """Jackson refuses documents nested more than 1,000 levels; deeper patterns are refused
    with a FilterPatternError naming the depth and where, shallower ones compile. Neither
    recurses: Python's own limit (about 1,000 frames) is not what decides."""

    @pytest.mark.parametrize("levels", [330, 999])
    def test_a_pattern_up_to_1000_levels_compiles_and_matches(self, levels: int) -> None:
        for pattern in (nested_pattern(levels), nested_text(levels)):
            compiled = compile_pattern(pattern)
            assert compiled.matches(nested_event(levels))
            assert not compiled.matches(nested_event(levels - 1))
            explanation = compiled.explain({"a": {"a": "x"}})
            assert explanation is not None
            assert "missing" in explanation
            assert matches(pattern, nested_event(levels))
            assert repr(compiled).startswith("Pattern(")

    @pytest.mark.parametrize("levels", [1000, 5000])
    def test_a_deeper_pattern_is_refused_naming_the_depth_and_where(self, levels: int) -> None:
        for pattern in (nested_pattern(levels), nested_text(levels)):
            with pytest.raises(FilterPatternError, match="nested more than 1000 levels") as caught:
                compile_pattern(pattern)
            assert caught.value.path == DEEP_PATH
            with pytest.raises(FilterPatternError, match="nested more than 1000 levels"):
                matches(pattern, {})

    @pytest.mark.parametrize("levels", [330, 1000, 5000])
    def test_nested_or_is_compiled_or_refused(self, levels: int) -> None:
        pattern, text = nested_or(levels)
        if 3 * levels + 2 <= 1000:
            assert compile_pattern(pattern).matches({"z": "x"})
            assert compile_pattern(text).matches({"y": "x"})
        else:
            for form in (pattern, text):
                with pytest.raises(FilterPatternError, match="nested more than 1000 levels"):
                    compile_pattern(form)

    def test_a_pattern_under_lambdas_4096_characters_compiles_at_its_deepest(self) -> None:
        levels = 681  # 6 characters a level ({"a": and }): 681 levels and ["x"] are 4,091
        text = nested_text(levels, separator=":")
        assert len(text) <= 4096
        criteria = FilterCriteria.from_dict({"Filters": [{"Pattern": text}]})
        assert criteria.matches(nested_event(levels))
        assert not criteria.matches(nested_event(levels + 1))
        assert criteria.patterns[0].explain(nested_event(3)) is not None

    def test_filter_criteria_compile_a_pattern_330_levels_deep(self) -> None:
        for pattern in (nested_pattern(330), nested_text(330)):
            criteria = FilterCriteria.from_dict({"Filters": [{"Pattern": pattern}]})
            assert criteria.matches(nested_event(330))
        decorated = filter_records(nested_pattern(330))(lambda event, context: "called")
        assert decorated(nested_event(330), None) == "called"
        assert decorated(nested_event(329), None) is None

    @pytest.mark.parametrize("levels", [1000, 5000])
    def test_filter_criteria_refuse_deeper_patterns_as_too_long(self, levels: int) -> None:
        # 7 characters a level: Lambda's 4,096-character limit comes first.
        for pattern in (nested_pattern(levels), nested_text(levels)):
            with pytest.raises(FilterPatternError, match="Lambda allows 4096 per pattern"):
                FilterCriteria.from_dict({"Filters": [{"Pattern": pattern}]})
        with pytest.raises(FilterPatternError, match="Lambda allows 4096 per pattern"):
            filter_records(nested_pattern(levels))

    def test_a_deep_value_inside_an_operator_is_refused(self) -> None:
        deep: Any = "x"
        for _ in range(5000):
            deep = [deep]
        with pytest.raises(FilterPatternError, match="nested more than 1000 levels"):
            compile_pattern({"a": [{"prefix": deep}]})
        with pytest.raises(FilterPatternError, match="prefix match pattern must be a string"):
            compile_pattern({"a": [{"prefix": [[1]]}]})


NOT_JSON = [
    pytest.param("NaN", float("nan"), id="NaN"),
    pytest.param("Infinity", float("inf"), id="Infinity"),
    pytest.param("-Infinity", float("-inf"), id="-Infinity"),
]
NUMBER_PLACES = [
    pytest.param(lambda n: {"a": ["x", n]}, "a[1]", id="a value list"),
    pytest.param(lambda n: {"a": [{"numeric": [">", n]}]}, "a[0].numeric[1]", id="numeric"),
    pytest.param(
        lambda n: {"a": [{"numeric": [">", 0, "<", n]}]}, "a[0].numeric[3]", id="numeric range"
    ),
    pytest.param(lambda n: {"a": [{"anything-but": n}]}, "a[0].anything-but", id="anything-but"),
    pytest.param(
        lambda n: {"a": [{"anything-but": [1, n]}]}, "a[0].anything-but[1]", id="anything-but list"
    ),
    pytest.param(lambda n: {"$or": [{"a": [n]}, {"b": ["x"]}]}, "$or[0].a[0]", id="$or branch"),
]


class TestNotJsonNumbers:
    """JSON has no NaN or infinities: AWS's parser refuses them. Python's json reads them, and
    Python's floats and Decimals hold them; a pattern holding one is refused, saying where."""

    @pytest.mark.parametrize(("word", "number"), NOT_JSON)
    @pytest.mark.parametrize(("place", "path"), NUMBER_PLACES)
    def test_refused_as_text_and_as_a_value(
        self, word: str, number: float, place: Any, path: str
    ) -> None:
        text = json.dumps(place(number))  # json writes NaN, Infinity, -Infinity
        assert word in text
        for pattern in (text, place(number), place(Decimal(word))):
            with pytest.raises(FilterPatternError, match=word) as caught:
                compile_pattern(pattern)
            assert caught.value.path == path
            assert "not a JSON number" in caught.value.problem

    def test_refused_in_filter_criteria(self) -> None:
        with pytest.raises(FilterPatternError, match=r"Filters\[0\]\.Pattern body\.a\[0\]: NaN"):
            FilterCriteria.from_dict({"Filters": [{"Pattern": '{"body": {"a": [NaN]}}'}]})

    def test_refused_anywhere_in_the_text(self) -> None:
        # Jackson refuses the token wherever it is, even where a number would be refused anyway.
        with pytest.raises(FilterPatternError, match="NaN is not a JSON number") as caught:
            compile_pattern('{"a": [{"prefix": NaN}]}')
        assert caught.value.path == "a[0].prefix"


class TestLongNumbers:
    """Jackson refuses numbers written with more than 1,000 characters (and Python cannot even
    write an integer of more than 4,300 digits as text)."""

    def test_a_number_of_1000_digits_is_accepted(self) -> None:
        for pattern in ({"a": [10**999]}, f'{{"a": [{10**999}]}}'):
            compiled = compile_pattern(pattern)
            assert compiled.matches({"a": 10**999})
            assert not compiled.matches({"a": 10**999 + 1})

    @pytest.mark.parametrize(
        "number",
        [10**1000, -(10**1000), 10**5000, Decimal("1." + "0" * 1000)],
        ids=["1001 digits", "minus 1001 digits", "5001 digits", "a decimal"],
    )
    def test_a_longer_number_is_refused(self, number: Any) -> None:
        for pattern in ({"a": ["x", number]}, {"a": [{"numeric": ["<", number]}]}):
            with pytest.raises(FilterPatternError, match="more than 1000 characters"):
                compile_pattern(pattern)
        if isinstance(number, int) and abs(number) < 10**4000:
            with pytest.raises(FilterPatternError, match="more than 1000 characters") as caught:
                compile_pattern(f'{{"a": ["x", {number}]}}')
            assert caught.value.path == "a[1]"


class TestALoweredIntegerDigitLimit:
    """CPython advises services that read untrusted input to lower the integer/text conversion
    limit (``sys.set_int_max_str_digits``); patterns and explanations must not depend on it
    (found by an acceptance pass: a raw ValueError from both)."""

    @pytest.fixture(autouse=True)
    def lowered_limit(self) -> Any:
        import sys

        previous = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(640)
        yield
        sys.set_int_max_str_digits(previous)

    def test_a_pattern_number_of_701_digits_compiles_from_text(self) -> None:
        pattern = compile_pattern('{"a": [1' + "0" * 700 + "]}")
        assert pattern.matches({"a": 10**700})
        assert not pattern.matches({"a": 10**700 + 1})

    def test_explain_shows_a_701_digit_integer_of_the_event(self) -> None:
        reason = compile_pattern({"a": ["x"]}).explain({"a": 10**700})
        assert reason is not None
        assert "1000000" in reason
        assert len(reason) < 2000
