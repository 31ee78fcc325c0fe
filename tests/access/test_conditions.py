"""Condition operators, table-driven from the IAM User Guide's *Condition operators* and
*Single-valued vs. multivalued context keys* pages, plus a wildcard property against an oracle."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.access.conditions import ConditionSyntaxError, parse_condition_block, parse_date
from opentrail.access.patterns import Pattern

MISSING = object()


class Ctx:
    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, ...]] = {}

    def values(self, key: str) -> tuple[str, ...] | None:
        return self.keys.get(key)


def holds(block: dict[str, Any], key: str, value: Any, variables: bool = True) -> bool:
    ctx = Ctx()
    if value is not MISSING:
        ctx.keys[key.lower()] = tuple(value) if isinstance(value, list) else (value,)
    (cond,) = parse_condition_block(block, variables)
    return cond.evaluate(ctx)


def one(op: str, key: str, values: Any) -> dict[str, Any]:
    return {op: {key: values}}


# (operator, policy values, request value (list = multivalued, MISSING = absent), expected)
SINGLE = [
    # String: exact, case-sensitive; IgnoreCase; Like with * and ?
    ("StringEquals", "iamuser-admin", "iamuser-admin", True),
    ("StringEquals", "iamuser-admin", "IAMuser-admin", False),
    ("StringEquals", "iamuser-admin", MISSING, False),
    ("StringNotEquals", "iamuser-admin", MISSING, True),  # negated + missing key -> true
    ("StringNotEquals", "iamuser-admin", "other", True),
    ("StringNotEquals", ["audit", "security"], "audit", False),  # NOR over values
    ("StringNotEquals", ["audit", "security"], "security", False),
    ("StringNotEquals", ["audit", "security"], "dev", True),
    ("StringEquals", ["audit", "security"], "security", True),  # OR over values
    ("StringEqualsIgnoreCase", "Prod", "PROD", True),
    ("StringNotEqualsIgnoreCase", "Prod", "prod", False),
    ("StringLike", "home/*", "home/alice/x", True),
    ("StringLike", "home/*", "Home/alice", False),
    ("StringLike", "t?.micro", "t2.micro", True),
    ("StringLike", "t?.micro", "t22.micro", False),
    ("StringNotLike", "home/*", "tmp/x", True),
    ("StringNotLike", "home/*", MISSING, True),
    ("StringEquals", "a*", "abc", False),  # no wildcards in StringEquals
    ("StringEquals", "a*", "a*", True),
    # IfExists
    ("StringLikeIfExists", ["t1.*", "t2.*", "m3.*"], MISSING, True),
    ("StringLikeIfExists", ["t1.*", "t2.*", "m3.*"], "t2.micro", True),
    ("StringLikeIfExists", ["t1.*", "t2.*", "m3.*"], "m4.large", False),
    ("StringNotEqualsIfExists", "x", MISSING, True),
    # Numeric
    ("NumericLessThanEquals", "10", "10", True),
    ("NumericLessThanEquals", "10", "11", False),
    ("NumericLessThan", "10", "9.5", True),
    ("NumericGreaterThan", "10", "10", False),
    ("NumericGreaterThanEquals", "10", "10", True),
    ("NumericEquals", "10", "10.0", True),
    ("NumericNotEquals", ["1", "2"], "2", False),
    ("NumericNotEquals", ["1", "2"], "3", True),
    ("NumericEquals", "10", "ten", False),
    ("NumericLessThan", "10", MISSING, False),
    # Date (ISO 8601 or epoch on either side)
    ("DateGreaterThan", "2020-04-01T00:00:00Z", "2026-12-02T17:00:00Z", True),
    ("DateGreaterThan", "2027-01-01T00:00:00Z", "2026-12-02T17:00:00Z", False),
    ("DateLessThan", "2026-12-03", "2026-12-02T23:59:59Z", True),
    ("DateGreaterThanEquals", "1764694800", "2025-12-02T17:00:00Z", True),
    ("DateEquals", "2026-12-02T17:00:00Z", "1796230800", True),
    ("DateNotEquals", "2026-12-02T17:00:00Z", "2026-12-02T17:00:01Z", True),
    ("DateLessThan", "2026-12-03", "not a date", False),
    # Bool
    ("Bool", "false", "false", True),
    ("Bool", "true", "false", False),
    ("Bool", True, "true", True),
    ("Bool", "true", MISSING, False),
    ("BoolIfExists", "true", MISSING, True),
    # Binary
    ("BinaryEquals", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", True),
    # IP addresses, v4 and v6
    ("IpAddress", ["203.0.113.0/24", "2001:DB8:1234:5678::/64"], "203.0.113.5", True),
    ("IpAddress", ["203.0.113.0/24", "2001:DB8:1234:5678::/64"], "198.51.100.1", False),
    ("IpAddress", ["203.0.113.0/24", "2001:DB8:1234:5678::/64"], "2001:db8:1234:5678::1", True),
    ("IpAddress", "203.0.113.7", "203.0.113.7", True),
    ("IpAddress", "203.0.113.0/24", "not-an-ip", False),
    ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
    ("NotIpAddress", "203.0.113.0/24", "203.0.113.1", False),
    ("NotIpAddress", "203.0.113.0/24", MISSING, True),
    # ARN: six parts matched separately; ArnEquals behaves as ArnLike
    ("ArnLike", "arn:aws:cloudtrail:*:111122223333:trail/*", "arn:aws:cloudtrail:us-east-1:111122223333:trail/t1", True),
    ("ArnLike", "arn:aws:cloudtrail:*:111122223333:trail/*", "arn:aws:cloudtrail:us-east-1:999988887777:trail/t1", False),
    ("ArnLike", "arn:aws:cloudtrail:*:111122223333:trail/*", "arn:aws:cloudtrail:us:east:111122223333:trail/t1", False),
    ("ArnEquals", "arn:aws:sns:*:111122223333:t?pic", "arn:aws:sns:eu-west-1:111122223333:topic", True),
    ("ArnEquals", "arn:aws:sns:us-east-1:111122223333:Topic", "arn:aws:sns:us-east-1:111122223333:topic", False),
    ("ArnNotLike", "arn:aws:iam::*:role/admin*", "arn:aws:iam::111122223333:role/dev", True),
    ("ArnNotLike", "arn:aws:iam::*:role/admin*", MISSING, True),
    ("ArnNotEquals", "arn:aws:iam::*:role/admin*", "arn:aws:iam::111122223333:role/admin1", False),
    # Null: presence test
    ("Null", "true", MISSING, True),
    ("Null", "true", "2026-12-02T17:00:00Z", False),
    ("Null", "false", "2026-12-02T17:00:00Z", True),
    ("Null", "false", MISSING, False),
    ("Null", "true", [], True),  # an empty multivalued key is null
]


@pytest.mark.parametrize("op, values, request_value, expected", SINGLE)
def test_operator_table(op: str, values: Any, request_value: Any, expected: bool) -> None:
    assert holds(one(op, "k:key", values), "k:key", request_value) is expected


# Multivalued keys (aws:TagKeys), with the set operators.
TAGS = ["environment", "cost-center"]
MULTI = [
    ("ForAllValues:StringEquals", ["environment"], True),
    ("ForAllValues:StringEquals", ["environment", "cost-center"], True),
    ("ForAllValues:StringEquals", ["environment", "cost-center", "owner"], False),
    ("ForAllValues:StringEquals", ["owner"], False),
    ("ForAllValues:StringEquals", MISSING, True),  # true on a missing key
    ("ForAllValues:StringEquals", [], True),  # and on an empty one
    ("ForAnyValue:StringEquals", ["environment"], True),
    ("ForAnyValue:StringEquals", ["owner", "environment"], True),
    ("ForAnyValue:StringEquals", ["owner"], False),
    ("ForAnyValue:StringEquals", MISSING, False),
    ("ForAnyValue:StringEquals", [], False),
    ("ForAllValues:StringNotEquals", ["owner"], True),
    ("ForAllValues:StringNotEquals", ["owner", "environment"], False),
    ("ForAllValues:StringNotEquals", MISSING, True),
    ("ForAnyValue:StringNotEquals", ["environment"], False),
    ("ForAnyValue:StringNotEquals", ["environment", "owner"], True),
    ("ForAnyValue:StringNotEquals", MISSING, False),
    ("ForAllValues:StringLike", ["env*"], False),  # request values are not patterns
    ("ForAnyValue:StringLike", ["cost-center", "x"], True),
    ("ForAllValues:StringEqualsIfExists", MISSING, True),
    ("ForAnyValue:StringEqualsIfExists", MISSING, True),
    ("forallvalues:stringequals", ["environment"], True),  # operator names in any case
    # Without a set operator a multivalued key matches when any value does (negated: when none)
    ("StringEquals", ["owner", "environment"], True),
    ("StringNotEquals", ["owner", "environment"], False),
    ("StringNotEquals", ["owner"], True),
]


@pytest.mark.parametrize("op, request_value, expected", MULTI)
def test_multivalued_table(op: str, request_value: Any, expected: bool) -> None:
    assert holds(one(op, "aws:TagKeys", TAGS), "aws:TagKeys", request_value) is expected


def test_prefix_wildcards_in_tag_keys() -> None:
    # The guide's deny example: ForAnyValue:StringLike with prefixes
    block = one("ForAnyValue:StringLike", "aws:TagKeys", ["key1*", "key2*"])
    assert holds(block, "aws:TagKeys", ["key1-a", "other"]) is True
    assert holds(block, "aws:TagKeys", ["other", "key3"]) is False


def test_several_operators_and_keys_are_anded() -> None:
    block = {"StringEquals": {"a:x": "1", "a:y": "2"}, "Bool": {"a:z": "true"}}
    conds = parse_condition_block(block, True)
    assert [c.key for c in conds] == ["a:x", "a:y", "a:z"]
    ctx = Ctx()
    ctx.keys = {"a:x": ("1",), "a:y": ("2",), "a:z": ("true",)}
    assert all(c.evaluate(ctx) for c in conds)
    ctx.keys["a:y"] = ("3",)
    assert [c.evaluate(ctx) for c in conds] == [True, False, True]


def test_condition_keys_are_case_insensitive() -> None:
    assert holds(one("StringEquals", "AWS:PrincipalTag/Team", "ops"), "aws:principaltag/team", "ops") is True


VARIABLES = [
    ("StringLike", "home/${aws:username}/*", {"aws:username": ("alice",)}, "home/alice/x", True),
    ("StringLike", "home/${aws:username}/*", {"aws:username": ("alice",)}, "home/bob/x", False),
    ("StringLike", "home/${aws:username}/*", {}, "home/${aws:username}/x", False),  # unresolved: no match
    ("StringEquals", "${aws:username}", {"aws:username": ("a*",)}, "abc", False),  # values are literal
    ("StringEquals", "${aws:PrincipalTag/team, 'none'}", {}, "none", True),  # default value
    ("StringEquals", "${*}${?}${$}", {}, "*?$", True),  # escapes
    ("StringLike", "${*}x", {}, "yx", False),  # ${*} is a literal star
    ("StringNotEquals", "${aws:username}", {}, "x", True),  # unresolved under negation
]


@pytest.mark.parametrize("op, value, keys, request_value, expected", VARIABLES)
def test_policy_variables(op: str, value: str, keys: dict[str, tuple[str, ...]], request_value: str, expected: bool) -> None:
    (cond,) = parse_condition_block(one(op, "s3:prefix", value), True)
    ctx = Ctx()
    ctx.keys = {"s3:prefix": (request_value,), **keys}
    assert cond.evaluate(ctx) is expected


def test_variables_are_text_in_version_2008() -> None:
    (cond,) = parse_condition_block(one("StringEquals", "s3:prefix", "${aws:username}"), False)
    ctx = Ctx()
    ctx.keys = {"s3:prefix": ("${aws:username}",), "aws:username": ("alice",)}
    assert cond.evaluate(ctx) is True


@pytest.mark.parametrize("block", [
    {"StringEqual": {"a:b": "c"}},
    {"NullIfExists": {"a:b": "true"}},
    {"ForSomeValues:StringEquals": {"a:b": "c"}},
    {"StringEquals": "a:b"},
    {"StringEquals": {}},
    {"StringEquals": {"a:b": []}},
    {"StringEquals": {"a:b": {"c": "d"}}},
    ["StringEquals"],
])
def test_syntax_errors(block: Any) -> None:
    with pytest.raises(ConditionSyntaxError):
        parse_condition_block(block, True)


@pytest.mark.parametrize("text, expected", [
    ("2026-12-02T17:00:00Z", 1796230800.0),
    ("2026-12-02T17:00:00+00:00", 1796230800.0),
    ("2026-12-02T18:00:00+01:00", 1796230800.0),
    ("2026-12-02T17:00:00.500Z", 1796230800.5),
    ("2026-12-02", 1796169600.0),
    ("1796230800", 1796230800.0),
    ("yesterday", None),
])
def test_parse_date(text: str, expected: float | None) -> None:
    assert parse_date(text) == expected


# --- wildcard matcher vs an oracle --------------------------------------------------------------

def oracle(pattern: str, value: str) -> bool:
    """Naive recursive glob: * any run, ? one character."""
    if not pattern:
        return not value
    if pattern[0] == "*":
        return any(oracle(pattern[1:], value[i:]) for i in range(len(value) + 1))
    if not value:
        return False
    return (pattern[0] == "?" or pattern[0] == value[0]) and oracle(pattern[1:], value[1:])


ALPHABET = "ab:/*?.$"


@settings(max_examples=400, deadline=None)
@given(st.text(ALPHABET, max_size=8), st.text("ab:/.$", max_size=10))
def test_string_pattern_matches_oracle(pattern: str, value: str) -> None:
    assert Pattern(pattern, "string").match(value) is oracle(pattern, value)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text("ab*?", max_size=3), min_size=6, max_size=6), st.lists(st.text("ab", max_size=3), min_size=6, max_size=6), st.text("ab:", max_size=3))
def test_arn_pattern_matches_part_by_part(parts: list[str], value_parts: list[str], tail: str) -> None:
    pattern = ":".join(parts)
    value = ":".join(value_parts) + tail
    got = value.split(":", 5)
    expected = all(oracle(p, v) for p, v in zip(parts[:5], got[:5])) and oracle(parts[5], got[5])
    assert Pattern(pattern, "arn").match(value) is expected


@settings(max_examples=200, deadline=None)
@given(st.text("aAbB*?", max_size=6), st.text("aAbB", max_size=8))
def test_action_pattern_ignores_case(pattern: str, value: str) -> None:
    p = Pattern("svc:" + pattern, "action", ignore_case=True)
    assert p.match("svc:" + value) is oracle(pattern.lower(), value.lower())


def resource_oracle(pattern: str, value: str) -> bool:
    """Resource rule: a * ending a segment (before ':' or at the end) matches anything, another *
    any run without ':', ? one character other than ':'."""
    if not pattern:
        return not value
    if pattern[0] == "*":
        crosses = len(pattern) == 1 or pattern[1] == ":"
        stops = [i for i in range(len(value) + 1) if crosses or ":" not in value[:i]]
        return any(resource_oracle(pattern[1:], value[i:]) for i in stops)
    if not value:
        return False
    if pattern[0] == "?":
        return value[0] != ":" and resource_oracle(pattern[1:], value[1:])
    return pattern[0] == value[0] and resource_oracle(pattern[1:], value[1:])


@settings(max_examples=400, deadline=None)
@given(st.text("ab:*?", max_size=8), st.text("ab:", max_size=10))
def test_resource_pattern_matches_oracle(pattern: str, value: str) -> None:
    assert Pattern(pattern, "resource").match(value) is resource_oracle(pattern, value)


@pytest.mark.parametrize("pattern, value, expected", [
    ("arn:aws:logs:*:111122223333:log-group:a*", "arn:aws:logs:us-east-1:111122223333:log-group:a:log-stream:x", True),
    ("arn:aws:logs:*:111122223333:log-group:a*b", "arn:aws:logs:us-east-1:111122223333:log-group:a:b", False),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y:z", True),
    ("arn:aws:s3:::b/?", "arn:aws:s3:::b/:", False),
    ("arn:aws:cloudtrail:*", "arn:aws:cloudtrail:us-east-1:111122223333:trail/t", True),
    ("arn:aws:cloudtrail:*:111122223333:trail/T", "arn:aws:cloudtrail:us-east-1:111122223333:trail/t", False),
])
def test_resource_patterns(pattern: str, value: str, expected: bool) -> None:
    assert Pattern(pattern, "resource").match(value) is expected
