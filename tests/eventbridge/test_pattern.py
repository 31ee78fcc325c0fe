"""Event patterns: AWS's documented examples as (pattern, event, expected) rows."""

from __future__ import annotations

import pytest

from opentrail.eventbridge.pattern import InvalidEventPattern, PatternSet, parse_pattern


def test_exact_and_explain() -> None:
    pattern = parse_pattern('{"source": ["aws.cloudtrail"], "detail": {"eventName": ["DeleteTrail"]}}')
    stop = {"source": "aws.cloudtrail", "detail": {"eventName": "StopLogging"}}
    delete = {"source": "aws.cloudtrail", "detail": {"eventName": "DeleteTrail"}}
    assert pattern.matches(delete) is True
    assert pattern.matches(stop) is False
    assert pattern.explain(stop) == 'detail.eventName: "StopLogging" is not one of ["DeleteTrail"]'
    assert pattern.explain(delete) is None
    rules = PatternSet({"delete": pattern, "stop": parse_pattern('{"detail": {"eventName": [{"prefix": "Stop"}]}}')})
    assert rules.matching(stop) == ["stop"]
    assert rules.matching(delete) == ["delete"]


def test_invalid() -> None:
    with pytest.raises(InvalidEventPattern) as info:
        parse_pattern('{"resources": []}')
    assert info.value.message == "Event pattern is not valid. Reason: Empty arrays are not allowed"
