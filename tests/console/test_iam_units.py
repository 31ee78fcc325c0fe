"""The simulator's context lines and the sign-in throttle, without a server (injected clock)."""

from __future__ import annotations

import pytest

from opentrail.console.signin import SignInThrottle
from opentrail.console.simulation import ContextError, parse_context


def test_context_lines() -> None:
    assert parse_context("aws:SourceIp=203.0.113.7\n\n# note\naws:TagKeys=[env, team]\nk=a\nk=b") == {
        "aws:SourceIp": "203.0.113.7", "aws:TagKeys": ["env", "team"], "k": ["a", "b"]}
    with pytest.raises(ContextError, match="Context line 2 is not key=value: 'oops'"):
        parse_context("a=b\noops")


def test_throttle_refuses_after_five_failures_for_a_minute() -> None:
    now = [1000.0]
    throttle = SignInThrottle(lambda: now[0])
    for _ in range(5):
        assert not throttle.refused("111122223333", "auditor")
        throttle.failed("111122223333", "auditor")
        now[0] += 1
    assert throttle.refused("111122223333", "auditor")
    assert not throttle.refused("111122223333", "other")
    now[0] = 1060.0  # the first failure (t=1000) is a minute old
    assert not throttle.refused("111122223333", "auditor")
    throttle.failed("111122223333", "auditor")
    assert throttle.refused("111122223333", "auditor")
    throttle.succeeded("111122223333", "auditor")
    assert not throttle.refused("111122223333", "auditor")
