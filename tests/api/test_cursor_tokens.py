"""List NextTokens (ListTrails, ListEventDataStores, ListChannels): the cursor round-trips, and a
token that is not one of ours is refused (None), never an exception."""

from __future__ import annotations

import base64

import pytest

from opentrail.api.wire_common import cursor_of, cursor_token


def test_round_trip() -> None:
    assert cursor_of(cursor_token([1733184000.5, "eds-1"]), (float, str)) == [1733184000.5, "eds-1"]
    assert cursor_of(cursor_token([1733184000, "x"]), (float, str)) == [1733184000, "x"]
    assert cursor_of(cursor_token(["us-east-1", "main"]), (str, str)) == ["us-east-1", "main"]
    assert "=" not in cursor_token(["a", "b"])


@pytest.mark.parametrize("token", [
    "", "not base64!", base64.urlsafe_b64encode(b"{}").decode(), cursor_token([True, "x"]),
    cursor_token(["1", "x"]), cursor_token([1.0]), cursor_token([1.0, "x", "y"]), cursor_token([1.0, None]),
])
def test_foreign_tokens_are_refused(token: str) -> None:
    assert cursor_of(token, (float, str)) is None
