"""CloudWatch's wire forms (the JSON form of the botocore ``cloudwatch`` shapes) of the domain's
objects, the domain errors as wire errors, and the NextTokens of the alarm operations.

Timestamps are epoch seconds here; each protocol writes them its own way.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from typing import Any, Iterator, Mapping

import orjson

from ..monitoring.alarms import HistoryItem, MetricAlarm
from ..monitoring.errors import MonitoringError
from ..monitoring.metric_data import Datapoint, Metric
from .cloudwatch_errors import WIRE_ERRORS, InvalidNextToken


@contextlib.contextmanager
def monitoring_errors() -> Iterator[None]:
    """Re-raise a :class:`MonitoringError` raised inside the block as the wire error of its model
    shape (``InvalidParameterValue`` -> InvalidParameterValueException, Query code
    InvalidParameterValue), with its message."""
    try:
        yield
    except MonitoringError as exc:
        raise WIRE_ERRORS[exc.shape](exc.message or None) from None


def metric_alarm(alarm: MetricAlarm) -> dict[str, Any]:
    """The ``MetricAlarm`` member of DescribeAlarms / DescribeAlarmsForMetric."""
    out: dict[str, Any] = {"AlarmName": alarm.name, "AlarmArn": alarm.arn}
    if alarm.description is not None:
        out["AlarmDescription"] = alarm.description
    out.update({
        "AlarmConfigurationUpdatedTimestamp": alarm.configuration_updated_s,
        "ActionsEnabled": alarm.actions_enabled,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "StateValue": alarm.state_value,
        "StateReason": alarm.state_reason,
    })
    if alarm.state_reason_data is not None:
        out["StateReasonData"] = alarm.state_reason_data
    out["StateUpdatedTimestamp"] = alarm.state_updated_s
    out["MetricName"] = alarm.metric_name
    if alarm.namespace is not None:
        out["Namespace"] = alarm.namespace
    if alarm.statistic is not None:
        out["Statistic"] = alarm.statistic
    if alarm.extended_statistic is not None:
        out["ExtendedStatistic"] = alarm.extended_statistic
    out["Dimensions"] = [{"Name": n, "Value": v} for n, v in alarm.dimensions]
    out["Period"] = alarm.period_s
    if alarm.unit is not None:
        out["Unit"] = alarm.unit
    out["EvaluationPeriods"] = alarm.evaluation_periods
    if alarm.datapoints_to_alarm is not None:
        out["DatapointsToAlarm"] = alarm.datapoints_to_alarm
    out["Threshold"] = alarm.threshold
    out["ComparisonOperator"] = alarm.comparison_operator
    if alarm.treat_missing_data is not None:
        out["TreatMissingData"] = alarm.treat_missing_data
    if alarm.evaluate_low_sample_count_percentile is not None:
        out["EvaluateLowSampleCountPercentile"] = alarm.evaluate_low_sample_count_percentile
    out["StateTransitionedTimestamp"] = alarm.state_transitioned_s
    return out


def history_item(item: HistoryItem) -> dict[str, Any]:
    """An ``AlarmHistoryItem``."""
    return {"AlarmName": item.alarm_name, "AlarmType": item.alarm_type, "Timestamp": item.timestamp_s,
            "HistoryItemType": item.item_type, "HistorySummary": item.summary, "HistoryData": item.data}


def datapoint(point: Datapoint, statistics: list[str], extended: list[str]) -> dict[str, Any]:
    """A GetMetricStatistics ``Datapoint`` with the statistics asked for."""
    out: dict[str, Any] = {"Timestamp": float(point.timestamp_s)}
    for name in statistics:
        out[name] = point.aggregate.simple(name)
    if extended:
        values = {name: point.value(name) for name in extended}
        out["ExtendedStatistics"] = {k: v for k, v in values.items() if v is not None}
    out["Unit"] = point.unit
    return out


def metric(m: Metric) -> dict[str, Any]:
    """A ListMetrics ``Metric``."""
    return {"Namespace": m.namespace, "MetricName": m.metric_name,
            "Dimensions": [{"Name": n, "Value": v} for n, v in m.dimensions]}


def dimensions(params: Mapping[str, Any], member: str = "Dimensions") -> dict[str, str]:
    """``[{"Name", "Value"}]`` as a dict."""
    return {d["Name"]: d["Value"] for d in params.get(member) or ()}


# --- NextTokens ---------------------------------------------------------------------------------


def _digest(filters: Any) -> str:
    return hashlib.sha256(orjson.dumps(filters, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def encode_token(position: Any, filters: Any) -> str:
    """An opaque NextToken for ``position`` (JSON) of a listing made with ``filters``."""
    return base64.urlsafe_b64encode(orjson.dumps({"p": position, "f": _digest(filters)})).decode()


def decode_token(token: str, filters: Any) -> Any:
    """The position of ``token``; InvalidNextToken when it was not issued for these ``filters``."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        if not isinstance(data, dict) or data.get("f") != _digest(filters) or "p" not in data:
            raise ValueError
        return data["p"]
    except (ValueError, TypeError, UnicodeEncodeError, orjson.JSONDecodeError):
        raise InvalidNextToken("The service returned an invalid NextToken.") from None
