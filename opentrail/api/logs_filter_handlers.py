"""CloudWatch Logs metric filter handlers: PutMetricFilter, DescribeMetricFilters,
DeleteMetricFilter, TestMetricFilter.

DescribeMetricFilters answers each filter as AWS does (LocalStack's AWS-validated snapshots):
``applyOnTransformedLogs`` always present (false unless set), ``defaultValue`` as a number only when
set, ``dimensions``/``unit`` only when set; sorted by filter name; ``filterNamePrefix`` is used only
with ``logGroupName``; ``metricName`` and ``metricNamespace`` go together (the refusal text for one
without the other is opentrail's). TestMetricFilter answers the 1-based ``eventNumber`` of each
matching message with its ``extractedValues``.
"""

from __future__ import annotations

from typing import Any

from ..monitoring.logs_model import MetricFilter, MetricTransformation
from .logs_errors import InvalidParameterException
from .logs_wire import Handler, domain_errors, make_token, read_token, service
from .wire_common import integer, who

DEFAULT_LIMIT = 50
_EXTRA = ("applyOnTransformedLogs", "fieldSelectionCriteria", "emitSystemFieldDimensions")


def _transformation(item: dict[str, Any]) -> MetricTransformation:
    default = item.get("defaultValue")
    return MetricTransformation(metric_name=item["metricName"], metric_namespace=item["metricNamespace"],
                                metric_value=item["metricValue"],
                                default_value=float(default) if default is not None else None,
                                dimensions=dict(item.get("dimensions") or {}), unit=item.get("unit"))


@domain_errors
def put_metric_filter(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    extra = {k: params[k] for k in _EXTRA if params.get(k) is not None}
    service(ctx, "PutMetricFilter").put_metric_filter(
        *who(ctx), params["logGroupName"], params["filterName"], params["filterPattern"],
        _transformation(params["metricTransformations"][0]), extra)
    return {}


def _filter_json(f: MetricFilter) -> dict[str, Any]:
    t = f.transformation
    transformation: dict[str, Any] = {"metricName": t.metric_name, "metricNamespace": t.metric_namespace,
                                      "metricValue": t.metric_value}
    if t.default_value is not None:
        transformation["defaultValue"] = t.default_value
    if t.dimensions:
        transformation["dimensions"] = dict(t.dimensions)
    if t.unit is not None:
        transformation["unit"] = t.unit
    out: dict[str, Any] = {"filterName": f.name, "filterPattern": f.pattern, "metricTransformations": [transformation],
                           "creationTime": f.creation_ms, "logGroupName": f.group_name,
                           "applyOnTransformedLogs": bool(f.extra.get("applyOnTransformedLogs", False))}
    for key in _EXTRA[1:]:
        if key in f.extra:
            out[key] = f.extra[key]
    return out


@domain_errors
def describe_metric_filters(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    name, namespace = params.get("metricName"), params.get("metricNamespace")
    if (name is None) != (namespace is None):
        raise InvalidParameterException("metricName and metricNamespace must be specified together.")
    group = params.get("logGroupName")
    prefix = params.get("filterNamePrefix")
    limit = integer(params, "limit") or DEFAULT_LIMIT
    binding = ["DescribeMetricFilters", *who(ctx), group, prefix if group is not None else None, name, namespace]
    after = read_token(ctx, binding, params)
    filters = service(ctx, "DescribeMetricFilters").describe_metric_filters(
        *who(ctx), group_name=group, prefix=prefix,
        metric=(name, namespace) if name is not None and namespace is not None else None,
        after=tuple(after) if after is not None else ("", ""), limit=limit + 1)
    out: dict[str, Any] = {"metricFilters": [_filter_json(f) for f in filters[:limit]]}
    if len(filters) > limit:
        last = filters[limit - 1]
        out["nextToken"] = make_token(ctx, binding, [last.name, last.group_name])
    return out


@domain_errors
def delete_metric_filter(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "DeleteMetricFilter").delete_metric_filter(*who(ctx), params["logGroupName"], params["filterName"])
    return {}


@domain_errors
def test_metric_filter(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    matches = service(ctx, "TestMetricFilter").test_metric_filter(params["filterPattern"], params["logEventMessages"])
    return {"matches": [{"eventNumber": number, "eventMessage": message, "extractedValues": values}
                        for number, message, values in matches]}


#: The metric filter operations.
FILTER_HANDLERS: dict[str, Handler] = {
    "PutMetricFilter": put_metric_filter,
    "DescribeMetricFilters": describe_metric_filters,
    "DeleteMetricFilter": delete_metric_filter,
    "TestMetricFilter": test_metric_filter,
}
