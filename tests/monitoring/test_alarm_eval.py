"""The alarm evaluator against the CloudWatch User Guide's tables ("How alarm state is evaluated when
data is missing", AlarmThatSendsEmail), with the state reasons AWS writes.

Data points are written as in the guide, oldest first: ``0`` a non-breaching datapoint, ``X`` a
breaching one, ``-`` a missing one. The evaluation range is 5 periods for N = 3, as in the guide.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from opentrail.monitoring.alarm_eval import (
    evaluate,
    evaluation_interval_s,
    evaluation_range,
    query_window,
    slots_from_datapoints,
)
from opentrail.monitoring.alarm_model import ALARM, INSUFFICIENT_DATA, OK, AlarmConfig, Slot
from opentrail.monitoring.metric_store import SqliteMetricStore

RETAIN = "retain"
MODES = ("missing", "ignore", "breaching", "notBreaching")


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


#: Newest slot of the range starts 2026-12-02 10:00:00 UTC; evaluated at 10:01:05.123.
NEWEST = _ts("2026-12-02T10:00:00")
NOW = NEWEST + 65.123


def slots(pattern: str, period: int = 60) -> list[Slot]:
    marks = pattern.split()
    first = NEWEST - (len(marks) - 1) * period
    values = {"0": 0.0, "X": 5.0, "-": None}
    return [Slot(first + i * period, values[m], None if values[m] is None else 1.0) for i, m in enumerate(marks)]


def config(n: int = 3, m: int | None = 3, treat: str | None = "missing", **extra: object) -> AlarmConfig:
    base: dict[str, object] = dict(
        period_s=60, evaluation_periods=n, datapoints_to_alarm=m, threshold=1.0,
        comparison_operator="GreaterThanOrEqualToThreshold", statistic="Sum", treat_missing_data=treat,
    )
    base.update(extra)
    return AlarmConfig(**base)  # type: ignore[arg-type]


# (data points, MISSING, IGNORE, BREACHING, NOT BREACHING): the guide's first table (Datapoints to
# Alarm = Evaluation Periods = 3) in its current edition, then the two rows of the older edition
# (awsdocs/amazon-cloudwatch-user-guide AlarmThatSendsEmail.md) that the current one dropped.
TABLE_3_OF_3 = [
    ("0 - X - X", OK, OK, OK, OK),
    ("0 - - - -", OK, OK, OK, OK),
    ("- - - - -", INSUFFICIENT_DATA, RETAIN, ALARM, OK),
    ("0 X X - X", ALARM, ALARM, ALARM, ALARM),
    ("- - X - -", ALARM, RETAIN, ALARM, OK),
    ("- - - - X", INSUFFICIENT_DATA, RETAIN, ALARM, OK),
    ("X - - - -", ALARM, RETAIN, ALARM, OK),
]
# The second table: Datapoints to Alarm 2 of Evaluation Periods 3; last row from the older edition.
TABLE_2_OF_3 = [
    ("0 - X - X", ALARM, ALARM, ALARM, ALARM),
    ("0 0 X 0 X", ALARM, ALARM, ALARM, ALARM),
    ("0 - X - -", OK, OK, ALARM, OK),
    ("- - - - 0", OK, OK, ALARM, OK),
    ("- - - X -", ALARM, RETAIN, ALARM, OK),
    ("- - - - X", INSUFFICIENT_DATA, RETAIN, ALARM, OK),
]


def _cases(table: list[tuple[str, str, str, str, str]], m: int) -> list[tuple[str, int, str, str]]:
    return [(row[0], m, mode, row[1 + i]) for row in table for i, mode in enumerate(MODES)]


@pytest.mark.parametrize("pattern,m,mode,expected", _cases(TABLE_3_OF_3, 3) + _cases(TABLE_2_OF_3, 2))
@pytest.mark.parametrize("current", [OK, ALARM, INSUFFICIENT_DATA])
def test_documented_tables(pattern: str, m: int, mode: str, expected: str, current: str) -> None:
    outcome = evaluate(config(n=3, m=m, treat=mode), slots(pattern), current, NOW)
    if expected == RETAIN:
        assert (outcome.state, outcome.changed, outcome.reason) == (current, False, None)
    else:
        assert (outcome.state, outcome.changed) == (expected, expected != current)
        assert outcome.reason is not None and outcome.reason_data is not None


def test_premature_rule_needs_the_breach_to_be_m_periods_old() -> None:
    # "the alarm does not go immediately into ALARM state when the data is either - - - - X or
    # - - - X - and Datapoints to Alarm is 3"; it does for - - X - -.
    assert evaluate(config(), slots("- - - X -"), OK, NOW).state == INSUFFICIENT_DATA
    assert evaluate(config(), slots("- - X - -"), OK, NOW).state == ALARM
    # "- - - X O" and "- - X - O" go OK.
    assert evaluate(config(), slots("- - - X 0"), ALARM, NOW).state == OK
    assert evaluate(config(), slots("- - X - 0"), ALARM, NOW).state == OK


def test_missing_data_is_ignored_when_n_real_points_exist() -> None:
    # Gaps, but 3 real datapoints in the range: the 3 most recent real ones decide, whatever the mode.
    for mode in MODES:
        assert evaluate(config(treat=mode), slots("X X - 0 -"), ALARM, NOW).state == OK
        assert evaluate(config(treat=mode), slots("X X - X -"), OK, NOW).state == ALARM


def test_dynamodb_alarms_always_ignore_missing_data() -> None:
    outcome = evaluate(config(treat="breaching", namespace="AWS/DynamoDB"), slots("- - - - -"), OK, NOW)
    assert (outcome.state, outcome.changed) == (OK, False)


def test_comparison_operators() -> None:
    points = [Slot(NEWEST - 120, None), Slot(NEWEST - 60, None), Slot(NEWEST, 1.0, 1.0)]
    expected = {
        "GreaterThanOrEqualToThreshold": ALARM,
        "GreaterThanThreshold": OK,
        "LessThanThreshold": OK,
        "LessThanOrEqualToThreshold": ALARM,
    }
    for op, state in expected.items():
        assert evaluate(config(n=1, m=1, comparison_operator=op), points, INSUFFICIENT_DATA, NOW).state == state


def test_low_sample_percentile_ignore_keeps_state() -> None:
    # p99 needs 10 / (1 - 0.99) = 1000 samples to be evaluated when the alarm says "ignore".
    low = [Slot(NEWEST - 120, None), Slot(NEWEST - 60, None), Slot(NEWEST, 5.0, 999.0)]
    enough = [Slot(NEWEST - 120, None), Slot(NEWEST - 60, None), Slot(NEWEST, 5.0, 1000.0)]
    cfg = config(n=1, m=1, statistic=None, extended_statistic="p99", evaluate_low_sample_count_percentile="ignore")
    assert evaluate(cfg, low, OK, NOW).changed is False
    assert evaluate(cfg, enough, OK, NOW).state == ALARM
    evaluate_anyway = config(n=1, m=1, statistic=None, extended_statistic="p99",
                             evaluate_low_sample_count_percentile="evaluate")
    assert evaluate(evaluate_anyway, low, OK, NOW).state == ALARM


# --- state reasons -------------------------------------------------------------------------------


def _one_point(value: float) -> list[Slot]:
    return [Slot(NEWEST - 120, None), Slot(NEWEST - 60, None), Slot(NEWEST, value, 1.0)]


def test_reason_m_of_n_to_alarm() -> None:
    outcome = evaluate(config(n=1, m=1), _one_point(5.0), OK, NOW)
    assert outcome.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (02/12/26 10:00:00)] was greater than or equal to "
        "the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )
    assert outcome.reason_data == (
        '{"version":"1.0","queryDate":"2026-12-02T10:01:05.123+0000","startDate":"2026-12-02T10:00:00.000+0000",'
        '"statistic":"Sum","period":60,"recentDatapoints":[5.0],"threshold":1.0,"evaluatedDatapoints":'
        '[{"timestamp":"2026-12-02T10:00:00.000+0000","sampleCount":1.0,"value":5.0}]}'
    )


def test_reason_short_form_without_datapoints_to_alarm() -> None:
    outcome = evaluate(config(n=1, m=None, unit="Count"), _one_point(5.0), OK, NOW)
    assert outcome.reason == (
        "Threshold Crossed: 1 datapoint [5.0 (02/12/26 10:00:00)] was greater than or equal to the threshold (1.0)."
    )
    assert json.loads(outcome.reason_data or "")["unit"] == "Count"


def test_reason_to_ok_lists_the_non_breaching_points() -> None:
    # 2 of 2: one non-breaching datapoint is enough for OK.
    points = [Slot(NEWEST - 180, None), Slot(NEWEST - 120, None), Slot(NEWEST - 60, 5.0, 2.0), Slot(NEWEST, 0.0, 2.0)]
    outcome = evaluate(config(n=2, m=2), points, ALARM, NOW)
    assert outcome.reason == (
        "Threshold Crossed: 1 out of the last 2 datapoints [0.0 (02/12/26 10:00:00)] was not greater than or equal to "
        "the threshold (1.0) (minimum 1 datapoint for ALARM -> OK transition)."
    )
    data = json.loads(outcome.reason_data or "")
    assert data["recentDatapoints"] == [5.0, 0.0]
    assert data["startDate"] == "2026-12-02T09:59:00.000+0000"
    assert data["evaluatedDatapoints"] == [{"timestamp": "2026-12-02T10:00:00.000+0000", "sampleCount": 2.0, "value": 0.0}]


def test_reason_all_missing_treated_as_breaching() -> None:
    outcome = evaluate(config(n=2, m=None, treat="breaching"), slots("- - - -"), INSUFFICIENT_DATA, NOW)
    assert outcome.reason == (
        "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as "
        "[Breaching]."
    )
    assert outcome.reason_data == (
        '{"version":"1.0","queryDate":"2026-12-02T10:01:05.123+0000","statistic":"Sum","period":60,'
        '"recentDatapoints":[],"threshold":1.0,"evaluatedDatapoints":[{"timestamp":"2026-12-02T10:00:00.000+0000"},'
        '{"timestamp":"2026-12-02T09:59:00.000+0000"}]}'
    )


def test_reason_all_missing_not_breaching_single_period() -> None:
    outcome = evaluate(config(n=1, m=1, treat="notBreaching"), slots("- - -"), ALARM, NOW)
    assert outcome.reason == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as "
        "[NonBreaching]."
    )


def test_reason_filled_points_with_a_real_one() -> None:
    outcome = evaluate(config(n=3, m=1, treat="notBreaching"), slots("- - - - X"), OK, NOW)
    assert outcome.reason == (
        "Threshold Crossed: 1 out of the last 3 datapoints [5.0 (02/12/26 10:00:00)] was greater than or equal to "
        "the threshold (1.0) and 2 missing datapoints were treated as [NonBreaching] (minimum 1 datapoint for "
        "OK -> ALARM transition)."
    )
    short = evaluate(config(n=3, m=None, treat="breaching"), slots("- - - - 0"), OK, NOW)
    # 1 real non-breaching datapoint and 2 missing ones treated as breaching: 2 < 3, OK.
    assert short.state == OK
    assert short.reason == (
        "Threshold Crossed: 1 datapoint [0.0 (02/12/26 10:00:00)] was not greater than or equal to the threshold "
        "(1.0) and 2 missing datapoints were treated as [Breaching]."
    )


def test_reason_only_filled_points_crossed() -> None:
    outcome = evaluate(config(n=3, m=2, treat="breaching"), slots("- - - - 0"), OK, NOW)
    assert outcome.state == ALARM
    assert outcome.reason == (
        "Threshold Crossed: 1 datapoint was received for 3 periods and 2 missing datapoints were treated as "
        "[Breaching]."
    )


def test_reason_insufficient_data() -> None:
    outcome = evaluate(config(n=1, m=1), slots("- - -"), OK, NOW)
    assert outcome.reason == "Insufficient Data: 1 datapoint was unknown."
    assert outcome.reason_data == (
        '{"version":"1.0","queryDate":"2026-12-02T10:01:05.123+0000","statistic":"Sum","period":60,'
        '"recentDatapoints":[],"threshold":1.0,"evaluatedDatapoints":[{"timestamp":"2026-12-02T10:00:00.000+0000"}]}'
    )
    assert evaluate(config(n=5, m=5), slots("- - - - - - -"), OK, NOW).reason == (
        "Insufficient Data: 5 datapoints were unknown."
    )


def test_reason_premature_alarm_names_the_single_point() -> None:
    outcome = evaluate(config(), slots("- - X - -"), OK, NOW)
    assert outcome.reason == (
        "Threshold Crossed: 1 out of the last 3 datapoints [5.0 (02/12/26 09:58:00)] was greater than or equal to "
        "the threshold (1.0) (minimum 3 datapoints for OK -> ALARM transition)."
    )


def test_reason_many_datapoints_lists_the_five_newest() -> None:
    values = [0.0] * 6
    points = [Slot(NEWEST - 360, None)] + [Slot(NEWEST - (5 - i) * 60, v, 1.0) for i, v in enumerate(values)]
    cfg = config(n=5, m=5, comparison_operator="LessThanThreshold", threshold=65.0)
    outcome = evaluate(cfg, points, INSUFFICIENT_DATA, NOW)
    assert outcome.reason == (
        "Threshold Crossed: 5 out of the last 5 datapoints were less than the threshold (65.0). The most recent "
        "datapoints which crossed the threshold: [0.0 (02/12/26 10:00:00), 0.0 (02/12/26 09:59:00), "
        "0.0 (02/12/26 09:58:00), 0.0 (02/12/26 09:57:00), 0.0 (02/12/26 09:56:00)] (minimum 5 datapoints for "
        "OK -> ALARM transition)."
    )
    short = evaluate(config(n=6, m=None, comparison_operator="LessThanOrEqualToThreshold", threshold=0.0),
                     points, OK, NOW)
    assert short.reason == (
        "Threshold Crossed: 6 datapoints were less than or equal to the threshold (0.0). The most recent "
        "datapoints which crossed the threshold: [0.0 (02/12/26 10:00:00), 0.0 (02/12/26 09:59:00), "
        "0.0 (02/12/26 09:58:00), 0.0 (02/12/26 09:57:00), 0.0 (02/12/26 09:56:00)]."
    )
    assert len(json.loads(short.reason_data or "")["evaluatedDatapoints"]) == 6


def test_reason_three_datapoints_inline() -> None:
    points = [Slot(NEWEST - 240, None), Slot(NEWEST - 180, None),
              Slot(NEWEST - 120, 1390.0, 1.0), Slot(NEWEST - 60, 1226.0, 1.0), Slot(NEWEST, 1141.0, 1.0)]
    cfg = config(threshold=30.0)
    assert evaluate(cfg, points, OK, NOW).reason == (
        "Threshold Crossed: 3 out of the last 3 datapoints [1141.0 (02/12/26 10:00:00), 1226.0 (02/12/26 09:59:00), "
        "1390.0 (02/12/26 09:58:00)] were greater than or equal to the threshold (30.0) (minimum 3 datapoints for "
        "OK -> ALARM transition)."
    )


# --- when and what to evaluate -------------------------------------------------------------------


def test_evaluation_schedule_and_window() -> None:
    standard = config(n=3)
    assert evaluation_range(standard) == 5
    assert evaluation_interval_s(standard) == 60
    assert query_window(standard, NOW) == (NEWEST + 60 - 5 * 60, NEWEST + 60)
    high_res = config(n=3, period_s=10)
    assert evaluation_interval_s(high_res) == 10
    assert query_window(high_res, NEWEST + 27.5) == (NEWEST + 20 - 50, NEWEST + 20)
    multi_day = config(n=48, m=48, period_s=3600)
    assert evaluation_interval_s(multi_day) == 3600
    assert query_window(multi_day, NEWEST + 1800) == (NEWEST - 50 * 3600, NEWEST)


def test_store_to_evaluator(tmp_path: Path) -> None:
    """Data put in the metric store, fetched for the alarm's window and evaluated."""
    store = SqliteMetricStore(tmp_path / "metrics.db", clock=lambda: NOW)
    for minute, value in ((-2, 0.0), (0, 3.0), (0, 4.0)):
        store.put("123456789012", "us-east-1", "CIS", "RootUse", {}, NEWEST + minute * 60 + 5, value=value)
    cfg = config(n=1, m=1, treat="notBreaching")
    start, end = query_window(cfg, NOW)
    points = store.statistics("123456789012", "us-east-1", "CIS", "RootUse", {}, start, end, 60,
                              statistics=["Sum"], align_start=False, limit=None)
    window = slots_from_datapoints(cfg, start, points)
    assert window == [Slot(NEWEST - 120, 0.0, 1.0), Slot(NEWEST - 60, None), Slot(NEWEST, 7.0, 2.0)]
    outcome = evaluate(cfg, window, INSUFFICIENT_DATA, NOW)
    assert outcome.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [7.0 (02/12/26 10:00:00)] was greater than or equal to "
        "the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )
    store.close()
