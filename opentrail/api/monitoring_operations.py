"""CloudWatch (metrics and alarms) on opentrail's port: the explicit operation table (every
operation of ``botocore/data/cloudwatch/2010-08-01``: 59) -> handler, IAM action
``cloudwatch:<Operation>`` and the resource type that action is authorized on (Service
Authorization Reference, "Actions defined by Amazon CloudWatch": ``alarm``, ``dashboard``,
``insight-rule``, ``metric-stream``, ``named`` (the ARN given), ``*`` (none)).

SigV4 signing name ``monitoring``; the model lists the protocols ``smithy-rpc-v2-cbor``, ``json``
(1.0, ``X-Amz-Target: GraniteServiceVersion20100801.<Operation>``, what botocore ≥ 1.42.7 sends) and
``query`` (``Action=<Operation>&Version=2010-08-01``, older clients): all three are served. The model
is ``awsQueryCompatible``: errors carry the Query code (:mod:`.cloudwatch_errors`). Calls recorded
with eventSource ``monitoring.amazonaws.com``; the metric data operations (:data:`DATA_EVENTS`) as
data events.
"""

from __future__ import annotations

from .services import Service, handlers_of, operation_table

#: The model's ``targetPrefix`` (JSON 1.0) and the Smithy service shape name (CBOR path).
TARGET_PREFIX = "GraniteServiceVersion20100801"

#: Every operation of the model -> the resource type of its IAM action.
OPERATION_RESOURCES: dict[str, str] = {
    "AssociateDatasetKmsKey": "*",
    "CreateResourceMetricsConfiguration": "*",
    "DeleteAlarmMuteRule": "*",
    "DeleteAlarms": "alarm",
    "DeleteAnomalyDetector": "*",
    "DeleteDashboards": "dashboard",
    "DeleteInsightRules": "insight-rule",
    "DeleteMetricDataQueryDefinition": "*",
    "DeleteMetricStream": "metric-stream",
    "DeleteResourceMetricsConfiguration": "*",
    "DescribeAlarmContributors": "alarm",
    "DescribeAlarmHistory": "alarm",
    "DescribeAlarms": "alarm",
    "DescribeAlarmsForMetric": "*",
    "DescribeAnomalyDetectors": "*",
    "DescribeInsightRules": "insight-rule",
    "DisableAlarmActions": "alarm",
    "DisableInsightRules": "insight-rule",
    "DisassociateDatasetKmsKey": "*",
    "EnableAlarmActions": "alarm",
    "EnableInsightRules": "insight-rule",
    "GetAlarmMuteRule": "*",
    "GetDashboard": "dashboard",
    "GetDataset": "*",
    "GetInsightRuleReport": "insight-rule",
    "GetMetricData": "*",
    "GetMetricDataQueryDefinition": "*",
    "GetMetricStatistics": "*",
    "GetMetricStream": "metric-stream",
    "GetMetricWidgetImage": "*",
    "GetOTelEnrichment": "*",
    "GetResourceMetricsConfiguration": "*",
    "ListAlarmMuteRules": "*",
    "ListDashboards": "dashboard",
    "ListManagedInsightRules": "insight-rule",
    "ListMetricDataQueryDefinitions": "*",
    "ListMetricStreams": "metric-stream",
    "ListMetrics": "*",
    "ListTagsForResource": "named",
    "PutAlarmMuteRule": "*",
    "PutAnomalyDetector": "*",
    "PutCompositeAlarm": "alarm",
    "PutDashboard": "dashboard",
    "PutInsightRule": "insight-rule",
    "PutLogAlarm": "alarm",
    "PutManagedInsightRules": "insight-rule",
    "PutMetricAlarm": "alarm",
    "PutMetricData": "*",
    "PutMetricDataQueryDefinition": "*",
    "PutMetricStream": "metric-stream",
    "SetAlarmState": "alarm",
    "StartMetricStreams": "metric-stream",
    "StartOTelEnrichment": "*",
    "StopMetricStreams": "metric-stream",
    "StopOTelEnrichment": "*",
    "TagResource": "named",
    "UntagResource": "named",
    "UpdateOTelEnrichment": "*",
    "UpdateResourceMetricsConfiguration": "*",}

#: Metric data operations CloudTrail records as data events (resources.type AWS::CloudWatch::Metric;
#: a trail logs them only when its advanced event selectors ask for that type).
DATA_EVENTS: dict[str, str] = {op: "AWS::CloudWatch::Metric" for op in (
    "GetMetricData", "GetMetricStatistics", "ListMetrics", "PutMetricData")}


def _service() -> Service:
    handlers = handlers_of("monitoring_handlers", "MONITORING_HANDLERS")
    return Service(name="monitoring", model="cloudwatch", iam_prefix="cloudwatch",
                   event_source="monitoring.amazonaws.com", target_prefix=TARGET_PREFIX,
                   operations=operation_table("monitoring", OPERATION_RESOURCES, handlers),
                   resources=OPERATION_RESOURCES, json_content_type="application/x-amz-json-1.0",
                   query_compatible=True, data_events=DATA_EVENTS)


#: CloudWatch as a :class:`Service`.
MONITORING: Service = _service()
