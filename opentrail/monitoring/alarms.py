"""A metric alarm as CloudWatch keeps it (plain data, no I/O, no wire casing), its ARN and the items
of its history.

Fields are PutMetricAlarm's members (botocore ``cloudwatch`` model) plus the state CloudWatch
keeps: ``state_value`` (OK, ALARM, INSUFFICIENT_DATA), ``state_reason``, ``state_reason_data`` (JSON
text or None), ``state_updated_s`` (the last change of state value or reason by an evaluation or
SetAlarmState), ``state_transitioned_s`` (the last change of state value) and
``configuration_updated_s``; times in epoch seconds. A new alarm starts in INSUFFICIENT_DATA with the
reason ``Unchecked: Initial alarm creation`` (what DescribeAlarms shows for a new alarm on AWS).

``metric_queries`` keeps a metric math alarm's ``Metrics`` member as given (its JSON form):
opentrail stores such alarms but evaluates only a single ``MetricStat`` query that returns data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .alarm_model import INSUFFICIENT_DATA, AlarmConfig

#: StateReason of a new alarm.
INITIAL_REASON = "Unchecked: Initial alarm creation"
#: HistoryItemType values.
CONFIGURATION_UPDATE = "ConfigurationUpdate"
STATE_UPDATE = "StateUpdate"
ACTION = "Action"
HISTORY_ITEM_TYPES = (CONFIGURATION_UPDATE, STATE_UPDATE, ACTION)


def alarm_arn(region: str, account_id: str, name: str) -> str:
    """``arn:aws:cloudwatch:<region>:<account>:alarm:<name>``."""
    return f"arn:aws:cloudwatch:{region}:{account_id}:alarm:{name}"


@dataclass(frozen=True)
class MetricAlarm:
    """One metric alarm (see the module docstring)."""

    account_id: str
    region: str
    name: str
    period_s: int | None = None
    evaluation_periods: int = 1
    threshold: float | None = None
    comparison_operator: str = "GreaterThanOrEqualToThreshold"
    namespace: str | None = None
    metric_name: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    statistic: str | None = None
    extended_statistic: str | None = None
    unit: str | None = None
    datapoints_to_alarm: int | None = None
    treat_missing_data: str | None = None
    evaluate_low_sample_count_percentile: str | None = None
    description: str | None = None
    actions_enabled: bool = True
    ok_actions: tuple[str, ...] = ()
    alarm_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    metric_queries: tuple[dict[str, Any], ...] | None = None
    threshold_metric_id: str | None = None
    configuration_updated_s: float = 0.0
    state_value: str = INSUFFICIENT_DATA
    state_reason: str = INITIAL_REASON
    state_reason_data: str | None = None
    state_updated_s: float = 0.0
    state_transitioned_s: float = 0.0

    @property
    def arn(self) -> str:
        return alarm_arn(self.region, self.account_id, self.name)

    @property
    def metric_key(self) -> tuple[str, str, str, str, tuple[tuple[str, str], ...]] | None:
        """(account, region, namespace, metric name, sorted dimensions) of the metric evaluated, or
        None for an alarm opentrail does not evaluate (see :meth:`evaluated_stat`)."""
        stat = self.evaluated_stat()
        if stat is None:
            return None
        namespace, metric_name, dimensions = stat[0], stat[1], stat[2]
        return (self.account_id, self.region, namespace, metric_name, tuple(sorted(dimensions)))

    def evaluated_stat(self) -> tuple[str, str, tuple[tuple[str, str], ...], int, str, str | None] | None:
        """(namespace, metric name, dimensions, period, statistic, unit) the alarm evaluates: its own
        metric, or the single ``MetricStat`` query of a ``Metrics`` alarm; None when it has neither
        (metric math, anomaly bands)."""
        if self.metric_queries is None:
            if self.namespace and self.metric_name and self.period_s and (self.statistic or self.extended_statistic):
                return (self.namespace, self.metric_name, self.dimensions, self.period_s,
                        self.statistic or self.extended_statistic or "", self.unit)
            return None
        returned = [q for q in self.metric_queries if q.get("ReturnData", True)]
        if len(returned) != 1 or "MetricStat" not in returned[0]:
            return None
        stat = returned[0]["MetricStat"]
        metric = stat.get("Metric", {})
        dims = tuple((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
        if not metric.get("Namespace") or not metric.get("MetricName") or not stat.get("Period"):
            return None
        return (metric["Namespace"], metric["MetricName"], dims, int(stat["Period"]), stat.get("Stat", ""),
                stat.get("Unit"))

    def config(self) -> AlarmConfig | None:
        """The evaluator's settings (:class:`AlarmConfig`), or None when not evaluated."""
        stat = self.evaluated_stat()
        if stat is None or self.threshold is None or self.comparison_operator not in _STATIC:
            return None
        namespace, _, _, period, statistic, unit = stat
        simple = statistic in _SIMPLE
        return AlarmConfig(
            period_s=period, evaluation_periods=self.evaluation_periods, threshold=self.threshold,
            comparison_operator=self.comparison_operator, statistic=statistic if simple else None,
            extended_statistic=None if simple else statistic, datapoints_to_alarm=self.datapoints_to_alarm,
            treat_missing_data=self.treat_missing_data,
            evaluate_low_sample_count_percentile=self.evaluate_low_sample_count_percentile, unit=unit,
            namespace=namespace)

    def actions_for(self, state: str) -> tuple[str, ...]:
        """The actions of a transition to ``state``."""
        if state == "ALARM":
            return self.alarm_actions
        if state == "OK":
            return self.ok_actions
        return self.insufficient_data_actions

    def replace(self, **changes: Any) -> MetricAlarm:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (what the alarm store keeps)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MetricAlarm:
        """The inverse of :meth:`to_json`."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["dimensions"] = tuple((n, v) for n, v in values.get("dimensions", ()))
        for name in ("ok_actions", "alarm_actions", "insufficient_data_actions"):
            values[name] = tuple(values.get(name, ()))
        if values.get("metric_queries") is not None:
            values["metric_queries"] = tuple(values["metric_queries"])
        return cls(**values)


_STATIC = ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold")
_SIMPLE = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


@dataclass(frozen=True)
class HistoryItem:
    """One DescribeAlarmHistory item; ``data`` is the HistoryData JSON text."""

    alarm_name: str
    timestamp_s: float
    item_type: str
    summary: str
    data: str
    alarm_type: str = "MetricAlarm"
    id: int = field(default=0, compare=False)
