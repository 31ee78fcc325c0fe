"""PutMetricAlarm validation: codes and messages (see the module docstring for their sources)."""

from __future__ import annotations

from typing import Any

import pytest

from opentrail.monitoring.alarm_model import AlarmConfig
from opentrail.monitoring.alarm_validation import validate_put_metric_alarm
from opentrail.monitoring.errors import InvalidParameterCombination, InvalidParameterValue, ValidationError

TOPIC = "arn:aws:sns:us-east-1:123456789012:security"


def request(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "AlarmName": "root-use", "MetricName": "RootUse", "Namespace": "CIS", "Statistic": "Sum", "Period": 60,
        "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "AlarmActions": [TOPIC],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def error_of(**changes: Any) -> tuple[str, str]:
    with pytest.raises((ValidationError, InvalidParameterValue, InvalidParameterCombination)) as caught:
        validate_put_metric_alarm(request(**changes), "us-east-1")
    return caught.value.code, caught.value.message


def test_valid_alarm() -> None:
    alarm = validate_put_metric_alarm(
        request(Dimensions=[{"Name": "B", "Value": "2"}, {"Name": "A", "Value": "1"}], DatapointsToAlarm=1,
                TreatMissingData="notBreaching", Unit="Count", AlarmDescription="root", ActionsEnabled=False,
                Tags=[{"Key": "team", "Value": "sec"}]),
        "us-east-1",
    )
    assert alarm.config == AlarmConfig(
        period_s=60, evaluation_periods=1, threshold=1.0, comparison_operator="GreaterThanOrEqualToThreshold",
        statistic="Sum", datapoints_to_alarm=1, treat_missing_data="notBreaching", unit="Count", namespace="CIS",
    )
    assert (alarm.alarm_name, alarm.metric_name, alarm.dimensions, alarm.alarm_actions, alarm.actions_enabled,
            alarm.tags) == ("root-use", "RootUse", (("B", "2"), ("A", "1")), (TOPIC,), False, (("team", "sec"),))


@pytest.mark.parametrize("period", [10, 20, 30, 60, 120, 3600, 86400])
def test_valid_periods(period: int) -> None:
    assert validate_put_metric_alarm(request(Period=period), "us-east-1").config.period_s == period


@pytest.mark.parametrize("period", [1, 5, 15, 45, 90])
def test_invalid_periods(period: int) -> None:
    assert error_of(Period=period) == ("ValidationError", "Period must be 10, 20, 30 or a multiple of 60")


def test_evaluation_span_limits() -> None:
    assert validate_put_metric_alarm(request(Period=60, EvaluationPeriods=1440), "us-east-1")
    assert error_of(Period=60, EvaluationPeriods=1441) == (
        "InvalidParameterCombination",
        "Metrics cannot be checked across more than a day (EvaluationPeriods * Period must be <= 86400).",
    )
    assert validate_put_metric_alarm(request(Period=3600, EvaluationPeriods=168), "us-east-1")
    assert error_of(Period=3600, EvaluationPeriods=169) == (
        "InvalidParameterCombination",
        "Metrics cannot be checked across more than a week (EvaluationPeriods * Period must be <= 604800).",
    )


def test_statistics() -> None:
    assert error_of(Statistic="Mean") == (
        "ValidationError",
        "1 validation error detected: Value 'Mean' at 'statistic' failed to satisfy constraint: Member must "
        "satisfy enum value set: [Maximum, SampleCount, Sum, Minimum, Average]",
    )
    assert error_of(ExtendedStatistic="p99") == (
        "ValidationError",
        "PutMetricAlarm request can not be made with both Statistic and ExtendedStatistic parameters. "
        "Only one of them should be present",
    )
    assert error_of(Statistic=None) == ("ValidationError", "PutMetricAlarm request should have a Statistic parameter")
    assert error_of(Statistic=None, ExtendedStatistic="90") == (
        "InvalidParameterValue", "The value 90 for parameter ExtendedStatistic is not supported."
    )
    for good in ("p99", "p99.9", "tm90", "IQM", "TM(10%:90%)", "wm99", "PR(:300)", "TC(100:2000)", "ts50"):
        alarm = validate_put_metric_alarm(request(Statistic=None, ExtendedStatistic=good), "us-east-1")
        assert alarm.config.extended_statistic == good
    for bad in ("p101", "P99", "tm", "PR(10%:90%)", "TM(90%:10%)", "TM(:)", "p99.12345678901"):
        assert error_of(Statistic=None, ExtendedStatistic=bad)[0] == "InvalidParameterValue"


def test_low_sample_count_option() -> None:
    assert error_of(Statistic=None, ExtendedStatistic="p90", EvaluateLowSampleCountPercentile="unknown") == (
        "ValidationError",
        "Option unknown is not supported. Supported options for parameter EvaluateLowSampleCountPercentile are "
        "evaluate and ignore.",
    )
    assert error_of(EvaluateLowSampleCountPercentile="ignore") == (
        "ValidationError",
        "Option evaluateLowSampleCountPercentile can not be applied with statistic Sum. This option is enabled "
        "only for percentile statistics.",
    )


def test_treat_missing_data_values() -> None:
    for value in ("breaching", "notBreaching", "ignore", "missing"):
        assert validate_put_metric_alarm(request(TreatMissingData=value), "us-east-1").config.treat_missing_data == value
    assert error_of(TreatMissingData="zero") == (
        "ValidationError",
        "The value zero is not supported for TreatMissingData parameter. Supported values are [breaching, "
        "notBreaching, ignore, missing].",
    )


def test_datapoints_to_alarm() -> None:
    assert error_of(EvaluationPeriods=1, DatapointsToAlarm=15) == (
        "ValidationError", "DatapointsToAlarm must be less than or equal to EvaluationPeriods"
    )
    assert error_of(DatapointsToAlarm=0) == (
        "ValidationError",
        "1 validation error detected: Value '0' at 'datapointsToAlarm' failed to satisfy constraint: Member must "
        "have value greater than or equal to 1",
    )


def test_required_members() -> None:
    assert error_of(AlarmName=None) == (
        "ValidationError",
        "1 validation error detected: Value null at 'alarmName' failed to satisfy constraint: Member must not be null",
    )
    assert error_of(MetricName=None) == ("ValidationError", "MetricName must not be null")
    assert error_of(Period=None) == ("ValidationError", "Period must not be null")
    assert error_of(Threshold=None) == ("ValidationError", "Threshold must not be null")
    assert error_of(Metrics=[{"Id": "m1"}]) == ("ValidationError", "Statistic should not be set if list of Metrics is set.")


def test_several_constraint_violations_are_counted() -> None:
    assert error_of(AlarmName="", Period=0) == (
        "ValidationError",
        "2 validation errors detected: Value '' at 'alarmName' failed to satisfy constraint: Member must have "
        "length greater than or equal to 1; Value '0' at 'period' failed to satisfy constraint: Member must have "
        "value greater than or equal to 1",
    )


def test_actions() -> None:
    six = [f"arn:aws:sns:us-east-1:123456789012:t{i}" for i in range(6)]
    assert error_of(OKActions=six) == (
        "ValidationError",
        "1 validation error detected: Value '[" + ", ".join(six) + "]' at 'oKActions' failed to satisfy "
        "constraint: Member must have length less than or equal to 5",
    )
    assert error_of(AlarmActions=["arn:aws:sns:eu-west-1:123456789012:security"]) == (
        "ValidationError", "Invalid region eu-west-1 specified. Only us-east-1 is supported."
    )
    assert error_of(AlarmActions=["security"]) == ("ValidationError", "Invalid arn syntax: security")
    assert error_of(InsufficientDataActions=["arn:aws:automate:us-east-1:ec2:stop"]) == (
        "ValidationError",
        "opentrail runs only Amazon SNS alarm actions; arn:aws:automate:us-east-1:ec2:stop is not an SNS topic ARN.",
    )
    five = six[:5]
    alarm = validate_put_metric_alarm(request(OKActions=five, AlarmActions=five, InsufficientDataActions=five),
                                      "us-east-1")
    assert alarm.ok_actions == tuple(five)


def test_unsupported_alarm_kinds() -> None:
    assert error_of(ComparisonOperator="GreaterThanUpperThreshold", ThresholdMetricId="ad1")[0] == "ValidationError"
    assert error_of(ComparisonOperator="Above")[1].startswith(
        "1 validation error detected: Value 'Above' at 'comparisonOperator' failed to satisfy constraint: Member "
        "must satisfy enum value set: [GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, "
    )
