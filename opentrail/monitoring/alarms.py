"""A metric alarm as CloudWatch keeps it (plain data, no I/O, no wire casing), its ARN and the items
of its history.

Fields are PutMetricAlarm's members (botocore ``cloudwatch`` model) plus the state CloudWatch
keeps: ``state_value`` (OK, ALARM, INSUFFICIENT_DATA), ``state_reason``, ``state_reason_data`` (JSON
text or None), ``state_updated_s`` (the last change of state value or reason by an evaluation or
SetAlarmState), ``state_transitioned_s`` (the last change of state value) and
``configuration_updated_s``; times in epoch seconds. A new alarm starts in INSUFFICIENT_DATA with the
reason ``Unchecked: Initial alarm creation`` (what DescribeAlarms shows for a new alarm on AWS).
The alarm is made from a validated PutMetricAlarm (:class:`.alarm_validation.MetricAlarmDefinition`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .alarm_message import AlarmIdentity
from .alarm_model import INSUFFICIENT_DATA, AlarmConfig
from .alarm_validation import MetricAlarmDefinition

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
    def metric_key(self) -> tuple[str, str, str, str, tuple[tuple[str, str], ...]]:
        """(account, region, namespace, metric name, sorted dimensions) of the metric evaluated."""
        return (self.account_id, self.region, self.namespace or "", self.metric_name or "",
                tuple(sorted(self.dimensions)))

    def config(self) -> AlarmConfig:
        """The evaluator's settings."""
        return AlarmConfig(
            period_s=self.period_s or 60, evaluation_periods=self.evaluation_periods,
            threshold=self.threshold or 0.0, comparison_operator=self.comparison_operator,
            statistic=self.statistic, extended_statistic=self.extended_statistic,
            datapoints_to_alarm=self.datapoints_to_alarm, treat_missing_data=self.treat_missing_data,
            evaluate_low_sample_count_percentile=self.evaluate_low_sample_count_percentile, unit=self.unit,
            namespace=self.namespace)

    def identity(self) -> AlarmIdentity:
        """The alarm as its SNS message and EventBridge event name it."""
        return AlarmIdentity(self.account_id, self.region, self.name, self.metric_name or "", self.namespace,
                             self.dimensions, self.description, self.ok_actions, self.alarm_actions,
                             self.insufficient_data_actions)

    @classmethod
    def from_definition(cls, definition: MetricAlarmDefinition, account_id: str, region: str,
                        now_s: float) -> MetricAlarm:
        """A new alarm (INSUFFICIENT_DATA, :data:`INITIAL_REASON`) of a validated PutMetricAlarm."""
        c = definition.config
        return cls(
            account_id=account_id, region=region, name=definition.alarm_name, period_s=c.period_s,
            evaluation_periods=c.evaluation_periods, threshold=c.threshold,
            comparison_operator=c.comparison_operator, namespace=definition.namespace,
            metric_name=definition.metric_name, dimensions=definition.dimensions, statistic=c.statistic,
            extended_statistic=c.extended_statistic, unit=c.unit, datapoints_to_alarm=c.datapoints_to_alarm,
            treat_missing_data=c.treat_missing_data,
            evaluate_low_sample_count_percentile=c.evaluate_low_sample_count_percentile,
            description=definition.alarm_description, actions_enabled=definition.actions_enabled,
            ok_actions=definition.ok_actions, alarm_actions=definition.alarm_actions,
            insufficient_data_actions=definition.insufficient_data_actions, configuration_updated_s=now_s,
            state_updated_s=now_s, state_transitioned_s=now_s)

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
        return cls(**values)


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
