"""The pure dashboard rules: scheduled times, placeholder binding, parameter values."""

from __future__ import annotations

import datetime as dt

import pytest

from opentrail.lake.dashboard_errors import InvalidQueryStatementException, ValidationException
from opentrail.lake.dashboards import (RefreshSchedule, Widget, bind, bind_list, check_widgets, placeholder_count,
                                       resolve_values, schedule_slots)


def ts(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def test_schedule_slots() -> None:
    hourly = RefreshSchedule("HOURS", 1, "ENABLED", "07:15")  # only the minutes count
    assert [iso(t) for t in schedule_slots(hourly, ts("2024-05-01 10:15:00"), ts("2024-05-01 13:15:00"))] == [
        "2024-05-01 11:15", "2024-05-01 12:15", "2024-05-01 13:15"]
    six = RefreshSchedule("HOURS", 6, "ENABLED", "01:30")
    assert [iso(t) for t in schedule_slots(six, ts("2024-05-01 00:00:00"), ts("2024-05-02 02:00:00"))] == [
        "2024-05-01 01:30", "2024-05-01 07:30", "2024-05-01 13:30", "2024-05-01 19:30", "2024-05-02 01:30"]
    daily = RefreshSchedule("DAYS", 1, "ENABLED", "23:59")
    assert [iso(t) for t in schedule_slots(daily, ts("2024-05-01 23:59:00"), ts("2024-05-03 00:00:00"))] == [
        "2024-05-02 23:59"]
    assert schedule_slots(RefreshSchedule("DAYS", 1, "DISABLED"), 0, 10 * 86400) == []


def test_bind_quotes_values_and_keeps_literals() -> None:
    statement = "SELECT '?' AS q, 'it''s' FROM ? WHERE eventTime >= '?' AND eventName = 'a?b'"
    assert placeholder_count(statement) == 3
    values = {"$Period$": "hour", "$EventDataStoreId$": "0233062b-51c6-4d18-8dec-a8c90da840d9",
              "$StartTime$": "2024-05-01 00:00:00"}
    assert bind(statement, ("$Period$", "$EventDataStoreId$", "$StartTime$"), values) == (
        "SELECT 'hour' AS q, 'it''s' FROM 0233062b-51c6-4d18-8dec-a8c90da840d9 WHERE eventTime >= "
        "'2024-05-01 00:00:00' AND eventName = 'a?b'")
    assert bind_list("SELECT 1 FROM x WHERE a = '?'", ["it's"]) == "SELECT 1 FROM x WHERE a = 'it''s'"
    with pytest.raises(InvalidQueryStatementException):
        bind_list("SELECT 1 FROM ?", ["x; DROP"])  # a bare placeholder takes only a store ID
    with pytest.raises(InvalidQueryStatementException):
        check_widgets((Widget("SELECT 1 FROM x WHERE eventTime > ?", ("$StartTime$",)),))


def test_resolve_values() -> None:
    now = ts("2024-05-02 10:30:00")
    assert resolve_values({}, now) == {"$StartTime$": "2024-05-01 10:30:00", "$EndTime$": "2024-05-02 10:30:00",
                                       "$Period$": "hour"}
    got = resolve_values({"$StartTime$": "2024-04-01", "$EndTime$": str(int(now))}, now)
    assert got == {"$StartTime$": "2024-04-01 00:00:00", "$EndTime$": "2024-05-02 10:30:00", "$Period$": "day"}
    with pytest.raises(ValidationException):
        resolve_values({"$Period$": "fortnight"}, now)
    with pytest.raises(ValidationException):
        resolve_values({"$EventDataStoreId$": "x"}, now)
