"""CloudWatch handlers: request (the JSON form of the input shape, from any of the three protocols)
-> :class:`opentrail.monitoring.cloudwatch.CloudWatchService` call -> response. Nothing else: the
checks that are CloudWatch's own live in the domain (:mod:`opentrail.monitoring.alarm_validation`,
the metric store) and come back as wire errors through :func:`.monitoring_wire.monitoring_errors`.

Implemented: PutMetricData, GetMetricStatistics, GetMetricData (``MetricStat`` queries; a math
``Expression`` answers ValidationError), ListMetrics, PutMetricAlarm, DescribeAlarms,
DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState, DescribeAlarmHistory, EnableAlarmActions,
DisableAlarmActions, TagResource, UntagResource, ListTagsForResource.
"""

from __future__ import annotations

from typing import Any

from ..monitoring.alarm_validation import validate_put_metric_alarm
from ..monitoring.alarms import HISTORY_ITEM_TYPES, MetricAlarm
from ..monitoring.cloudwatch import MAX_TAGS
from ..monitoring.metric_data import MetricDatum, StatisticSet, default_labels
from .cloudwatch_errors import InvalidParameterValueException, ResourceNotFoundException, ValidationError
from .monitoring_wire import (
    datapoint,
    decode_token,
    dimensions,
    encode_token,
    history_item,
    metric,
    metric_alarm,
    monitoring_errors,
)
from .services import Handler, context_part
from .wire_common import who

#: PutMetricData: metrics per call (MetricData and EntityMetricData together).
MAX_METRIC_DATA = 1000
#: DescribeAlarms / DescribeAlarmHistory page size when MaxRecords is not given.
DESCRIBE_ALARMS_PAGE = 50
HISTORY_PAGE = 100


def _part(ctx: Any, operation: str) -> Any:
    return context_part(ctx, "monitoring", operation)


# --- metrics -----------------------------------------------------------------------------------


def _datum(namespace: str, raw: dict[str, Any], now: float, index: int) -> MetricDatum:
    resolution = raw.get("StorageResolution", 60)
    if resolution not in (1, 60):
        raise InvalidParameterValueException(
            f"The value {resolution} for parameter MetricData.member.{index}.StorageResolution is invalid.")
    stats = raw.get("StatisticValues")
    return MetricDatum(
        namespace=namespace, metric_name=raw["MetricName"], dimensions=dimensions(raw),
        timestamp_s=float(raw.get("Timestamp", now)), value=raw.get("Value"), values=raw.get("Values"),
        counts=raw.get("Counts"),
        statistic_set=StatisticSet(stats["SampleCount"], stats["Sum"], stats["Minimum"], stats["Maximum"])
        if stats else None,
        unit=raw.get("Unit"), storage_resolution=resolution)


def put_metric_data(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "PutMetricData")
    namespace = params["Namespace"]
    if namespace.startswith("AWS/"):
        raise InvalidParameterValueException(f"The value {namespace} for parameter Namespace is invalid.")
    raw = list(params.get("MetricData") or ())
    for entity in params.get("EntityMetricData") or ():
        raw.extend(entity.get("MetricData") or ())
    if len(raw) > MAX_METRIC_DATA:
        raise InvalidParameterValueException(
            f"The collection MetricData must not have a size greater than {MAX_METRIC_DATA}.")
    now = service.now()
    data = [_datum(namespace, d, now, i) for i, d in enumerate(raw, 1)]
    with monitoring_errors():
        service.put_metric_data(*who(ctx), data)
    return {}


def get_metric_statistics(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "GetMetricStatistics")
    statistics = list(params.get("Statistics") or ())
    extended = list(params.get("ExtendedStatistics") or ())
    with monitoring_errors():
        points = service.metrics.statistics(
            *who(ctx), params["Namespace"], params["MetricName"], dimensions(params), params["StartTime"],
            params["EndTime"], params["Period"], statistics, extended, params.get("Unit"))
    return {"Label": params["MetricName"], "Datapoints": [datapoint(p, statistics, extended) for p in points]}


def get_metric_data(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "GetMetricData")
    queries = params["MetricDataQueries"]
    for query in queries:
        if query.get("Expression") is not None:
            raise ValidationError(f"opentrail does not evaluate metric math expressions yet (query {query['Id']}); "
                                  "use MetricStat queries.")
        if query.get("MetricStat") is None:
            raise ValidationError(f"The query {query['Id']} must have exactly one of MetricStat and Expression.")
    scan_by = params.get("ScanBy", "TimestampDescending")
    labels = default_labels([(q["MetricStat"]["Metric"].get("MetricName", ""), q["MetricStat"]["Stat"],
                              q["MetricStat"]["Period"]) for q in queries])
    results = []
    for query, label in zip(queries, labels):
        stat = query["MetricStat"]
        m = stat["Metric"]
        with monitoring_errors():
            series = service.metrics.metric_data(
                *who(ctx), m.get("Namespace", ""), m.get("MetricName", ""), dimensions(m), params["StartTime"],
                params["EndTime"], stat["Period"], stat["Stat"], stat.get("Unit"), scan_by)
        if not query.get("ReturnData", True):
            continue
        result: dict[str, Any] = {"Id": query["Id"], "Label": query.get("Label", label),
                                  "Timestamps": [float(t) for t in series.timestamps_s], "Values": series.values,
                                  "StatusCode": "Complete"}
        if series.messages:
            result["Messages"] = series.messages
        results.append(result)
    return {"MetricDataResults": results, "Messages": []}


def list_metrics(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "ListMetrics")
    filters = [(d["Name"], d.get("Value")) for d in params.get("Dimensions") or ()]
    with monitoring_errors():
        found, token = service.metrics.list_metrics(
            *who(ctx), params.get("Namespace"), params.get("MetricName"), filters, params.get("RecentlyActive"),
            params.get("NextToken"))
    out: dict[str, Any] = {"Metrics": [metric(m) for m in found]}
    if token is not None:
        out["NextToken"] = token
    return out


# --- alarms ------------------------------------------------------------------------------------


def put_metric_alarm(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "PutMetricAlarm")
    account, region = who(ctx)
    with monitoring_errors():
        definition = validate_put_metric_alarm(params, region)
        service.put_metric_alarm(account, region, definition)
    return {}


def _matches(alarm: MetricAlarm, params: dict[str, Any]) -> bool:
    names = params.get("AlarmNames")
    if names is not None and alarm.name not in names:
        return False
    prefix = params.get("AlarmNamePrefix")
    if prefix is not None and not alarm.name.startswith(prefix):
        return False
    state = params.get("StateValue")
    if state is not None and alarm.state_value != state:
        return False
    action_prefix = params.get("ActionPrefix")
    if action_prefix is not None and not any(
            a.startswith(action_prefix) for a in alarm.ok_actions + alarm.alarm_actions + alarm.insufficient_data_actions):
        return False
    return True


def describe_alarms(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "DescribeAlarms")
    types = params.get("AlarmTypes") or ["MetricAlarm"]
    filters = {k: v for k, v in params.items() if k not in ("NextToken", "MaxRecords")}
    after = decode_token(params["NextToken"], filters) if params.get("NextToken") else None
    metric_alarms = []
    composite = params.get("ChildrenOfAlarmName") is not None or params.get("ParentsOfAlarmName") is not None
    if "MetricAlarm" in types and not composite:  # no composite alarms: none has children or parents
        metric_alarms = [a for a in service.alarms.alarms(*who(ctx))
                         if _matches(a, params) and (after is None or a.name > after)]
    limit = params.get("MaxRecords", DESCRIBE_ALARMS_PAGE)
    out: dict[str, Any] = {"MetricAlarms": [metric_alarm(a) for a in metric_alarms[:limit]]}
    if "CompositeAlarm" in types:
        out["CompositeAlarms"] = []
    if len(metric_alarms) > limit:
        out["NextToken"] = encode_token(metric_alarms[limit - 1].name, filters)
    return out


def describe_alarms_for_metric(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "DescribeAlarmsForMetric")
    wanted_dims = tuple(sorted(dimensions(params).items())) if params.get("Dimensions") is not None else None
    found = []
    for alarm in service.alarms.alarms(*who(ctx)):
        if alarm.namespace != params["Namespace"] or alarm.metric_name != params["MetricName"]:
            continue
        if wanted_dims is not None and tuple(sorted(alarm.dimensions)) != wanted_dims:
            continue
        if any(params.get(k) is not None and params[k] != v for k, v in (
                ("Statistic", alarm.statistic), ("ExtendedStatistic", alarm.extended_statistic),
                ("Period", alarm.period_s), ("Unit", alarm.unit))):
            continue
        found.append(metric_alarm(alarm))
    return {"MetricAlarms": found}


def delete_alarms(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "DeleteAlarms")
    service.delete_alarms(*who(ctx), params["AlarmNames"])
    return {}


def set_alarm_state(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "SetAlarmState")
    with monitoring_errors():
        service.set_alarm_state(*who(ctx), params["AlarmName"], params["StateValue"], params["StateReason"],
                                params.get("StateReasonData"))
    return {}


def describe_alarm_history(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "DescribeAlarmHistory")
    filters = {k: v for k, v in params.items() if k not in ("NextToken", "MaxRecords")}
    after = decode_token(params["NextToken"], filters) if params.get("NextToken") else None
    item_type = params.get("HistoryItemType")
    limit = params.get("MaxRecords", HISTORY_PAGE)
    types = params.get("AlarmTypes") or []
    if item_type is not None and item_type not in HISTORY_ITEM_TYPES:  # contributor items: none kept
        return {"AlarmHistoryItems": []}
    items = service.alarms.history(
        *who(ctx), alarm_name=params.get("AlarmName"), item_type=item_type, alarm_types=types,
        start_s=params.get("StartDate"), end_s=params.get("EndDate"),
        ascending=params.get("ScanBy") == "TimestampAscending", after=tuple(after) if after else None,
        limit=limit + 1)
    out: dict[str, Any] = {"AlarmHistoryItems": [history_item(i) for i in items[:limit]]}
    if len(items) > limit:
        last = items[limit - 1]
        out["NextToken"] = encode_token([last.timestamp_s, last.id], filters)
    return out


def enable_alarm_actions(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _part(ctx, "EnableAlarmActions").set_actions_enabled(*who(ctx), params["AlarmNames"], True)
    return {}


def disable_alarm_actions(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _part(ctx, "DisableAlarmActions").set_actions_enabled(*who(ctx), params["AlarmNames"], False)
    return {}


# --- tags --------------------------------------------------------------------------------------


def _tagged_alarm(ctx: Any, service: Any, arn: str) -> MetricAlarm:
    alarm = service.alarm_by_arn(arn)
    account, region = who(ctx)
    if alarm is None or alarm.account_id != account or alarm.region != region:
        raise ResourceNotFoundException(f"The resource {arn} does not exist.")
    assert isinstance(alarm, MetricAlarm)
    return alarm


def tag_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "TagResource")
    alarm = _tagged_alarm(ctx, service, params["ResourceARN"])
    tags = {t["Key"]: t["Value"] for t in params["Tags"]}
    if len(set(service.alarms.tags(alarm.arn)) | set(tags)) > MAX_TAGS:
        raise InvalidParameterValueException(f"A resource can have at most {MAX_TAGS} tags.")
    service.tag(alarm.arn, tags)
    return {}


def untag_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "UntagResource")
    alarm = _tagged_alarm(ctx, service, params["ResourceARN"])
    service.untag(alarm.arn, params["TagKeys"])
    return {}


def list_tags_for_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service = _part(ctx, "ListTagsForResource")
    alarm = _tagged_alarm(ctx, service, params["ResourceARN"])
    return {"Tags": [{"Key": k, "Value": v} for k, v in service.alarms.tags(alarm.arn).items()]}


#: Operation name -> handler, for :mod:`.monitoring_operations`.
MONITORING_HANDLERS: dict[str, Handler] = {
    "PutMetricData": put_metric_data,
    "GetMetricStatistics": get_metric_statistics,
    "GetMetricData": get_metric_data,
    "ListMetrics": list_metrics,
    "PutMetricAlarm": put_metric_alarm,
    "DescribeAlarms": describe_alarms,
    "DescribeAlarmsForMetric": describe_alarms_for_metric,
    "DeleteAlarms": delete_alarms,
    "SetAlarmState": set_alarm_state,
    "DescribeAlarmHistory": describe_alarm_history,
    "EnableAlarmActions": enable_alarm_actions,
    "DisableAlarmActions": disable_alarm_actions,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
