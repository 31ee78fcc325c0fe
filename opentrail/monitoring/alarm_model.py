"""A metric alarm's evaluation settings and the datapoints it is evaluated on (plain data, no I/O).

Field meanings are PutMetricAlarm's (botocore ``cloudwatch`` model): ``period_s`` Period,
``evaluation_periods`` N, ``datapoints_to_alarm`` M (None when not set: then M = N and state
reasons take their short form), ``treat_missing_data`` None when not set (behaves as ``missing``;
the SNS Trigger shows ``""``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
STATES = (OK, ALARM, INSUFFICIENT_DATA)

#: The four static comparison operators: (test value against threshold, words in state reasons).
COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
#: The anomaly-detection operators (need ThresholdMetricId and metric math; not evaluated here).
ANOMALY_COMPARISONS = (
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)
TREAT_MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")


@dataclass(frozen=True)
class AlarmConfig:
    """What the evaluator needs of a metric alarm (see the module docstring)."""

    period_s: int
    evaluation_periods: int
    threshold: float
    comparison_operator: str
    statistic: str | None = None
    extended_statistic: str | None = None
    datapoints_to_alarm: int | None = None
    treat_missing_data: str | None = None
    evaluate_low_sample_count_percentile: str | None = None
    unit: str | None = None
    namespace: str | None = None

    @property
    def m(self) -> int:
        """Datapoints to alarm (M), N when not set."""
        return self.datapoints_to_alarm or self.evaluation_periods

    @property
    def stat(self) -> str:
        """The statistic the alarm watches (simple or extended)."""
        return self.statistic or self.extended_statistic or ""

    @property
    def missing_data(self) -> str:
        """The TreatMissingData in force: ``missing`` when not set, always ``ignore`` for the
        ``AWS/DynamoDB`` namespace (as the PutMetricAlarm documentation states)."""
        if self.namespace == "AWS/DynamoDB":
            return "ignore"
        return self.treat_missing_data or "missing"

    def breaches(self, value: float) -> bool:
        """Whether ``value`` is on the alarm side of the threshold."""
        test, _ = COMPARISONS[self.comparison_operator]
        return test(value, self.threshold)


@dataclass(frozen=True)
class Slot:
    """One period of the evaluation range: its start, the statistic's value (None: missing) and
    the period's SampleCount (StateReasonData's ``sampleCount``)."""

    timestamp_s: int
    value: float | None
    sample_count: float | None = None
