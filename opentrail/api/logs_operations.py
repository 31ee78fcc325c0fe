"""CloudWatch Logs on opentrail's port: the explicit operation table (every operation of
``botocore/data/logs/2014-03-28``: 118) -> handler, IAM action ``logs:<Operation>`` and the resource
type that action is authorized on (Service Authorization Reference, "Actions defined by Amazon
CloudWatch Logs": ``log-group``, ``log-stream``, ``destination``, ``delivery``,
``delivery-source``, ``delivery-destination``, ``anomaly-detector``, ``named`` (the ARN given),
``*`` (none)).

Protocol AWS JSON 1.1, ``X-Amz-Target: Logs_20140328.<Operation>``, SigV4 signing name ``logs``;
calls recorded with eventSource ``logs.amazonaws.com``, except the log-event operations CloudWatch
Logs does not log in CloudTrail (:data:`NOT_RECORDED`).
"""

from __future__ import annotations

from .services import Service, handlers_of, operation_table

#: The model's ``targetPrefix``.
TARGET_PREFIX = "Logs_20140328"

#: Every operation of the model -> the resource type of its IAM action.
OPERATION_RESOURCES: dict[str, str] = {
    "AssociateKmsKey": "log-group",
    "AssociateSourceToS3TableIntegration": "*",
    "CancelExportTask": "*",
    "CancelImportTask": "*",
    "CreateDelivery": "delivery",
    "CreateExportTask": "log-group",
    "CreateImportTask": "*",
    "CreateLogAnomalyDetector": "log-group",
    "CreateLogGroup": "log-group",
    "CreateLogStream": "log-stream",
    "CreateLookupTable": "*",
    "CreateScheduledQuery": "log-group",
    "DeleteAccountPolicy": "*",
    "DeleteDataProtectionPolicy": "log-group",
    "DeleteDelivery": "delivery",
    "DeleteDeliveryDestination": "delivery-destination",
    "DeleteDeliveryDestinationPolicy": "delivery-destination",
    "DeleteDeliverySource": "delivery-source",
    "DeleteDestination": "destination",
    "DeleteIndexPolicy": "log-group",
    "DeleteIntegration": "*",
    "DeleteLogAnomalyDetector": "anomaly-detector",
    "DeleteLogGroup": "log-group",
    "DeleteLogStream": "log-stream",
    "DeleteLookupTable": "*",
    "DeleteMetricFilter": "log-group",
    "DeleteQueryDefinition": "*",
    "DeleteResourcePolicy": "named",
    "DeleteRetentionPolicy": "log-group",
    "DeleteScheduledQuery": "*",
    "DeleteSubscriptionFilter": "log-group",
    "DeleteSyslogConfiguration": "log-group",
    "DeleteTransformer": "log-group",
    "DescribeAccountPolicies": "*",
    "DescribeConfigurationTemplates": "*",
    "DescribeDeliveries": "*",
    "DescribeDeliveryDestinations": "delivery-destination",
    "DescribeDeliverySources": "delivery-source",
    "DescribeDestinations": "destination",
    "DescribeExportTasks": "*",
    "DescribeFieldIndexes": "log-group",
    "DescribeImportTaskBatches": "*",
    "DescribeImportTasks": "*",
    "DescribeIndexPolicies": "log-group",
    "DescribeLogGroups": "*",
    "DescribeLogStreams": "log-group",
    "DescribeLookupTables": "*",
    "DescribeMetricFilters": "log-group",
    "DescribeQueries": "*",
    "DescribeQueryDefinitions": "*",
    "DescribeResourcePolicies": "named",
    "DescribeSubscriptionFilters": "log-group",
    "DisassociateKmsKey": "log-group",
    "DisassociateSourceFromS3TableIntegration": "*",
    "FilterLogEvents": "log-group",
    "GetDataProtectionPolicy": "log-group",
    "GetDelivery": "delivery",
    "GetDeliveryDestination": "delivery-destination",
    "GetDeliveryDestinationPolicy": "delivery-destination",
    "GetDeliverySource": "delivery-source",
    "GetIntegration": "*",
    "GetLogAnomalyDetector": "anomaly-detector",
    "GetLogEvents": "log-stream",
    "GetLogFields": "*",
    "GetLogGroupFields": "log-group",
    "GetLogObject": "*",
    "GetLogRecord": "*",
    "GetLookupTable": "*",
    "GetQueryResults": "*",
    "GetScheduledQuery": "*",
    "GetScheduledQueryHistory": "*",
    "GetStorageTierPolicy": "*",
    "GetTransformer": "log-group",
    "ListAggregateLogGroupSummaries": "*",
    "ListAnomalies": "anomaly-detector",
    "ListIntegrations": "*",
    "ListLogAnomalyDetectors": "log-group",
    "ListLogGroups": "*",
    "ListLogGroupsForQuery": "*",
    "ListScheduledQueries": "*",
    "ListSourcesForS3TableIntegration": "*",
    "ListSyslogConfigurations": "log-group",
    "ListTagsForResource": "named",
    "ListTagsLogGroup": "log-group",
    "PutAccountPolicy": "*",
    "PutBearerTokenAuthentication": "log-group",
    "PutDataProtectionPolicy": "log-group",
    "PutDeliveryDestination": "delivery-destination",
    "PutDeliveryDestinationPolicy": "delivery-destination",
    "PutDeliverySource": "delivery-source",
    "PutDestination": "destination",
    "PutDestinationPolicy": "destination",
    "PutIndexPolicy": "log-group",
    "PutIntegration": "*",
    "PutLogEvents": "log-stream",
    "PutLogGroupDeletionProtection": "log-group",
    "PutMetricFilter": "log-group",
    "PutQueryDefinition": "*",
    "PutResourcePolicy": "named",
    "PutRetentionPolicy": "log-group",
    "PutStorageTierPolicy": "*",
    "PutSubscriptionFilter": "log-group",
    "PutSyslogConfiguration": "log-group",
    "PutTransformer": "log-group",
    "StartLiveTail": "log-group",
    "StartQuery": "log-group",
    "StopQuery": "*",
    "TagLogGroup": "log-group",
    "TagResource": "named",
    "TestMetricFilter": "*",
    "TestTransformer": "*",
    "UntagLogGroup": "log-group",
    "UntagResource": "named",
    "UpdateAnomaly": "anomaly-detector",
    "UpdateDeliveryConfiguration": "delivery",
    "UpdateLogAnomalyDetector": "anomaly-detector",
    "UpdateLookupTable": "*",
    "UpdateScheduledQuery": "log-group",}

#: Log-event operations (data plane) that CloudWatch Logs does not log in CloudTrail ("Logging
#: CloudWatch Logs API and console operations in AWS CloudTrail"): not recorded.
NOT_RECORDED: frozenset[str] = frozenset({
    "PutLogEvents", "GetLogEvents", "FilterLogEvents", "GetLogRecord", "GetLogObject", "GetQueryResults",
    "StartLiveTail",
})


def _service() -> Service:
    handlers = handlers_of("logs_handlers", "LOGS_HANDLERS")
    return Service(name="logs", model="logs", iam_prefix="logs", event_source="logs.amazonaws.com",
                   target_prefix=TARGET_PREFIX,
                   operations=operation_table("logs", OPERATION_RESOURCES, handlers),
                   resources=OPERATION_RESOURCES, json_content_type="application/x-amz-json-1.1",
                   not_recorded=NOT_RECORDED)


#: CloudWatch Logs as a :class:`Service`.
LOGS: Service = _service()
