"""What an alarm sends when its state changes: the SNS notification and the EventBridge event.

SNS (the message body CloudWatch publishes to each topic of the new state's actions), field order
and forms as in real notifications (quoted in public code; LocalStack's AWS-recorded snapshots)::

    {"AlarmName":"my-alarm","AlarmDescription":null,"AWSAccountId":"123456789012",
     "AlarmConfigurationUpdatedTimestamp":"2022-08-26T03:45:34.563+0000","NewStateValue":"OK",
     "NewStateReason":"Threshold Crossed: ...","StateChangeTime":"2022-08-26T03:46:29.897+0000",
     "Region":"Asia Pacific (Singapore)","AlarmArn":"arn:aws:cloudwatch:...:alarm:my-alarm",
     "OldStateValue":"ALARM","OKActions":[...],"AlarmActions":[...],"InsufficientDataActions":[],
     "Trigger":{"MetricName":"CPUUtilization","Namespace":"AWS/EC2","StatisticType":"Statistic",
       "Statistic":"AVERAGE","Unit":null,"Dimensions":[{"value":"i-0b85","name":"InstanceId"}],
       "Period":300,"EvaluationPeriods":3,"DatapointsToAlarm":3,
       "ComparisonOperator":"GreaterThanThreshold","Threshold":60.0,"TreatMissingData":"",
       "EvaluateLowSampleCountPercentile":""}}

``Statistic`` is upper-cased; a percentile alarm has ``"StatisticType":"ExtendedStatistic",
"ExtendedStatistic":"p99"``; ``DatapointsToAlarm`` only when set; ``TreatMissingData`` and
``EvaluateLowSampleCountPercentile`` are ``""`` when not set; numbers as Java prints doubles. The
subject is ``ALARM: "my-alarm" in Asia Pacific (Singapore)`` (SNS allows 100 characters).

EventBridge: the "CloudWatch Alarm State Change" event of source ``aws.cloudwatch`` (CloudWatch
User Guide, "Alarm events and EventBridge"), whose ``detail`` carries ``alarmName``, ``state`` and
``previousState`` (``value``, ``reason``, ``reasonData`` when there is one, ``timestamp``) and
``configuration`` (``description`` when set, ``metrics`` as one MetricStat query).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from .alarm_model import AlarmConfig
from .javajson import dumps, java_timestamp
from .regions import region_long_name

#: SNS refuses subjects longer than this.
SUBJECT_LIMIT = 100


@dataclass(frozen=True)
class AlarmIdentity:
    """The alarm as the messages name it."""

    account_id: str
    region: str
    alarm_name: str
    metric_name: str
    namespace: str | None
    dimensions: tuple[tuple[str, str], ...]
    alarm_description: str | None = None
    ok_actions: tuple[str, ...] = ()
    alarm_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()

    @property
    def alarm_arn(self) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{self.alarm_name}"


@dataclass(frozen=True)
class StateChange:
    """One transition: states, reasons (``*_reason_data`` JSON text or None) and times (s)."""

    old_state: str
    old_reason: str
    old_reason_data: str | None
    old_timestamp_s: float
    new_state: str
    new_reason: str
    new_reason_data: str | None
    new_timestamp_s: float


def sns_subject(alarm: AlarmIdentity, new_state: str) -> str:
    """``ALARM: "root-use" in US East (N. Virginia)``, cut to SNS's 100 characters."""
    return f'{new_state}: "{alarm.alarm_name}" in {region_long_name(alarm.region)}'[:SUBJECT_LIMIT]


def sns_message(
    alarm: AlarmIdentity, config: AlarmConfig, change: StateChange, configuration_updated_s: float
) -> str:
    """The SNS notification body (JSON text) of ``change`` (module docstring)."""
    trigger: dict[str, object] = {"MetricName": alarm.metric_name, "Namespace": alarm.namespace}
    if config.statistic:
        trigger["StatisticType"] = "Statistic"
        trigger["Statistic"] = config.statistic.upper()
    else:
        trigger["StatisticType"] = "ExtendedStatistic"
        trigger["ExtendedStatistic"] = config.extended_statistic
    trigger["Unit"] = config.unit
    trigger["Dimensions"] = [{"value": value, "name": name} for name, value in alarm.dimensions]
    trigger["Period"] = config.period_s
    trigger["EvaluationPeriods"] = config.evaluation_periods
    if config.datapoints_to_alarm is not None:
        trigger["DatapointsToAlarm"] = config.datapoints_to_alarm
    trigger["ComparisonOperator"] = config.comparison_operator
    trigger["Threshold"] = float(config.threshold)
    trigger["TreatMissingData"] = config.treat_missing_data or ""
    trigger["EvaluateLowSampleCountPercentile"] = config.evaluate_low_sample_count_percentile or ""
    message: dict[str, object] = {
        "AlarmName": alarm.alarm_name,
        "AlarmDescription": alarm.alarm_description,
        "AWSAccountId": alarm.account_id,
        "AlarmConfigurationUpdatedTimestamp": java_timestamp(configuration_updated_s),
        "NewStateValue": change.new_state,
        "NewStateReason": change.new_reason,
        "StateChangeTime": java_timestamp(change.new_timestamp_s),
        "Region": region_long_name(alarm.region),
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": change.old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": trigger,
    }
    return dumps(message)


def _state(value: str, reason: str, reason_data: str | None, timestamp_s: float) -> dict[str, object]:
    out: dict[str, object] = {"value": value, "reason": reason}
    if reason_data is not None:
        out["reasonData"] = reason_data
    out["timestamp"] = java_timestamp(timestamp_s)
    return out


def eventbridge_event(
    alarm: AlarmIdentity, config: AlarmConfig, change: StateChange, event_id: str, metric_id: str
) -> dict[str, object]:
    """The "CloudWatch Alarm State Change" event of ``change``; ``event_id`` and the query's
    ``metric_id`` are UUIDs the caller draws (AWS gives the single MetricStat query a UUID id)."""
    stat: dict[str, object] = {
        "metric": {
            "namespace": alarm.namespace,
            "name": alarm.metric_name,
            "dimensions": {name: value for name, value in alarm.dimensions},
        },
        "period": config.period_s,
        "stat": config.stat,
    }
    if config.unit:
        stat["unit"] = config.unit
    configuration: dict[str, object] = {}
    if alarm.alarm_description:
        configuration["description"] = alarm.alarm_description
    configuration["metrics"] = [{"id": metric_id, "metricStat": stat, "returnData": True}]
    moment = datetime.fromtimestamp(change.new_timestamp_s, timezone.utc)
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": alarm.account_id,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": alarm.region,
        "resources": [alarm.alarm_arn],
        "detail": {
            "alarmName": alarm.alarm_name,
            "state": _state(change.new_state, change.new_reason, change.new_reason_data, change.new_timestamp_s),
            "previousState": _state(change.old_state, change.old_reason, change.old_reason_data,
                                    change.old_timestamp_s),
            "configuration": configuration,
        },
    }


def eventbridge_event_json(event: dict[str, object]) -> str:
    """The event as JSON text (compact, key order kept)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def actions_for(alarm: AlarmIdentity, new_state: str) -> Sequence[str]:
    """The actions of the state entered: AlarmActions for ALARM, OKActions for OK,
    InsufficientDataActions for INSUFFICIENT_DATA."""
    return {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions}.get(new_state, alarm.insufficient_data_actions)
