from __future__ import annotations

import pytest

from opentrail.events.times import format_event_time, parse_event_time

# 2022-02-07T22:23:37Z
T = 1644272617


@pytest.mark.parametrize(
    "value",
    [
        "2022-02-07T22:23:37Z",
        "2022-02-07T22:23:37.000Z",
        "2022-02-07T22:23:37.999999999Z",
        "2022-02-07 22:23:37",
        "2022-02-07 22:23:37Z",
        "2022-02-07 22:23:37.000",
        "2022-02-07 22:23:37.000000000",
        "2022-02-07T22:23:37",
        "2022-02-08 09:23:37+11:00",
        "2022-02-08T09:23:37+1100",
        "2022-02-07T20:23:37-02",
        "2022-02-07t22:23:37z",
    ],
)
def test_parse_event_time_variants(value: str) -> None:
    assert parse_event_time(value) == T


def test_parse_event_time_minutes_only_and_epoch() -> None:
    assert parse_event_time("2022-02-07T22:23Z") == T - 37
    assert parse_event_time("1970-01-01T00:00:00Z") == 0
    assert parse_event_time("1969-12-31T23:59:59Z") == -1


@pytest.mark.parametrize(
    "value",
    ["redacted", "...", "", "2022-13-01T00:00:00Z", "2022-02-30T00:00:00Z", "2022-02-07T24:00:00Z",
     "2022-02-07T22:23:37+25:00", "2022-02-07", "0000-01-01T00:00:00Z", "ThisIsAWrongEventTime"],
)
def test_parse_event_time_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        parse_event_time(value)


@pytest.mark.parametrize("value", [None, 1644272617, 1.5, ["2022-02-07T22:23:37Z"]])
def test_parse_event_time_rejects_non_strings(value: object) -> None:
    with pytest.raises(ValueError, match="must be a string"):
        parse_event_time(value)


def test_format_event_time() -> None:
    assert format_event_time(T) == "2022-02-07T22:23:37Z"
    assert format_event_time(0) == "1970-01-01T00:00:00Z"
    assert parse_event_time(format_event_time(253402300799)) == 253402300799
