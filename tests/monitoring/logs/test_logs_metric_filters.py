"""Metric filters through boto3 against a real server: PutMetricFilter / DescribeMetricFilters /
DeleteMetricFilter / TestMetricFilter with AWS's shapes and messages, and the data points the
filters make from PutLogEvents and from the trail delivery's append_events (the injected sink)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from opentrail.monitoring.logs import LogsService
from opentrail.monitoring.logs_errors import LogGroupNotFound, LogStreamNotFound
from opentrail.monitoring.logs_metrics import metric_store_sink
from opentrail.monitoring.logs_model import MetricTransformation
from opentrail.monitoring.metric_store import SqliteMetricStore

from .conftest import ACCOUNT, REGION, LogsServer


def error_of(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def transformation(**extra: object) -> list[dict[str, object]]:
    return [{"metricName": "Latency", "metricNamespace": "App", "metricValue": "$.ms", **extra}]


def test_put_describe_delete(srv: LogsServer) -> None:
    logs = srv.client()
    logs.create_log_group(logGroupName="g1")
    logs.create_log_group(logGroupName="g2")
    logs.put_metric_filter(logGroupName="g1", filterName="slow", filterPattern="{ $.ms > 100 }",
                           metricTransformations=transformation(unit="Milliseconds", dimensions={"Svc": "$.svc"}))
    logs.put_metric_filter(logGroupName="g2", filterName="all", filterPattern=" ",
                           metricTransformations=[{"metricName": "Count", "metricNamespace": "App", "metricValue": "1",
                                                   "defaultValue": 0}])
    listed = logs.describe_metric_filters()["metricFilters"]
    for f in listed:
        assert f.pop("creationTime") > 0
    assert listed == [
        {"filterName": "all", "filterPattern": " ", "logGroupName": "g2", "applyOnTransformedLogs": False,
         "metricTransformations": [{"metricName": "Count", "metricNamespace": "App", "metricValue": "1",
                                    "defaultValue": 0.0}]},
        {"filterName": "slow", "filterPattern": "{ $.ms > 100 }", "logGroupName": "g1", "applyOnTransformedLogs": False,
         "metricTransformations": [{"metricName": "Latency", "metricNamespace": "App", "metricValue": "$.ms",
                                    "dimensions": {"Svc": "$.svc"}, "unit": "Milliseconds"}]},
    ]
    assert logs.describe_log_groups(logGroupNamePrefix="g1")["logGroups"][0]["metricFilterCount"] == 1
    by_metric = logs.describe_metric_filters(metricName="Count", metricNamespace="App")["metricFilters"]
    assert [f["filterName"] for f in by_metric] == ["all"]
    by_prefix = logs.describe_metric_filters(logGroupName="g1", filterNamePrefix="sl")["metricFilters"]
    assert [f["filterName"] for f in by_prefix] == ["slow"]
    assert error_of(logs.describe_metric_filters, metricName="Count") == (
        "InvalidParameterException", "metricName and metricNamespace must be specified together.")
    logs.delete_metric_filter(logGroupName="g1", filterName="slow")
    assert error_of(logs.delete_metric_filter, logGroupName="g1", filterName="slow") == (
        "ResourceNotFoundException", "The specified metric filter does not exist.")
    assert error_of(logs.put_metric_filter, logGroupName="missing", filterName="f", filterPattern="x",
                    metricTransformations=transformation()) == (
        "ResourceNotFoundException", "The specified log group does not exist.")


def test_refusals(srv: LogsServer) -> None:
    logs = srv.client()
    logs.create_log_group(logGroupName="g")
    put = logs.put_metric_filter
    assert error_of(put, logGroupName="g", filterName="f", filterPattern="{ $.a == 1 }",
                    metricTransformations=transformation()) == ("InvalidParameterException", "Invalid metric filter pattern")
    assert error_of(put, logGroupName="g", filterName="f", filterPattern="{ $.ms > 1 }",
                    metricTransformations=transformation(defaultValue=0, dimensions={"S": "$.svc"})) == (
        "InvalidParameterException",
        "Invalid metric transformation: dimensions and default value are mutually exclusive properties")
    assert error_of(put, logGroupName="g", filterName="f", filterPattern="ERROR",
                    metricTransformations=[{"metricName": "E", "metricNamespace": "N", "metricValue": "1",
                                            "dimensions": {"S": "$.svc"}}]) == (
        "InvalidParameterException", "The specified filter pattern does not support dimensions")
    assert error_of(put, logGroupName="g", filterName="f", filterPattern="{ $.items[0].v > 1 }",
                    metricTransformations=transformation(metricValue="$.items[*].v")) == (
        "InvalidParameterException", "Invalid metric transformation: metric value $.items[*].v must be a valid number")
    code, message = error_of(put, logGroupName="g", filterName="f", filterPattern="x" * 1025,
                             metricTransformations=transformation())
    assert (code, message.endswith("' at 'filterPattern' failed to satisfy constraint: Member must have length less "
                                   "than or equal to 1024")) == ("InvalidParameterException", True)
    for i in range(100):
        srv.logs.put_metric_filter(ACCOUNT, REGION, "g", f"f{i:03d}", "x", MetricTransformation("Count", "App", "1"))
    assert error_of(put, logGroupName="g", filterName="one-more", filterPattern="x",
                    metricTransformations=transformation(metricValue="1")) == (
        "LimitExceededException", "Resource limit exceeded.")
    put(logGroupName="g", filterName="f050", filterPattern="y", metricTransformations=transformation(metricValue="1"))


def test_test_metric_filter(srv: LogsServer) -> None:
    test = srv.client().test_metric_filter
    assert test(filterPattern="ERROR", logEventMessages=["ERROR one", "fine", "an ERROR"])["matches"] == [
        {"eventNumber": 1, "eventMessage": "ERROR one", "extractedValues": {}},
        {"eventNumber": 3, "eventMessage": "an ERROR", "extractedValues": {}}]
    spaced = test(filterPattern="[ip, user, ..., size]", logEventMessages=["1.2.3.4 bob GET / 200 512"])["matches"]
    assert spaced == [{"eventNumber": 1, "eventMessage": "1.2.3.4 bob GET / 200 512", "extractedValues": {
        "$ip": "1.2.3.4", "$user": "bob", "$3": "GET", "$4": "/", "$5": "200", "$size": "512"}}]
    assert error_of(test, filterPattern="{ $.a = ", logEventMessages=["x"])[0] == "InvalidParameterException"


def test_ingested_events_make_data_points(srv: LogsServer) -> None:
    logs = srv.client()
    logs.create_log_group(logGroupName="app")
    logs.create_log_stream(logGroupName="app", logStreamName="s")
    logs.put_metric_filter(logGroupName="app", filterName="latency", filterPattern="{ $.ms > 100 }",
                           metricTransformations=transformation(unit="Milliseconds", dimensions={"Svc": "$.svc"}))
    logs.put_metric_filter(logGroupName="app", filterName="errors", filterPattern="ERROR",
                           metricTransformations=[{"metricName": "Errors", "metricNamespace": "App",
                                                   "metricValue": "1", "defaultValue": 0}])
    minute = (int(time.time()) // 60 - 2) * 60 * 1000  # two minutes ago, on the minute
    logs.put_log_events(logGroupName="app", logStreamName="s", logEvents=[
        {"timestamp": minute + 1000, "message": '{"ms": 250, "svc": "api"}'},
        {"timestamp": minute + 2000, "message": '{"ms": 50, "svc": "api"}'},
        {"timestamp": minute + 3000, "message": '{"ms": 300}'},  # no Svc: no data point
        {"timestamp": minute + 61_000, "message": "ERROR boom"},
    ])
    assert srv.points == [
        (ACCOUNT, REGION, "App", "Latency", {"Svc": "api"}, (minute + 1000) / 1000, 250.0, "Milliseconds"),
        (ACCOUNT, REGION, "App", "Errors", {}, (minute + 61_000) / 1000, 1.0, None),
        (ACCOUNT, REGION, "App", "Errors", {}, minute / 1000, 0.0, None),  # the minute without an ERROR
    ]
    srv.points.clear()
    srv.logs.append_events(ACCOUNT, REGION, "app", "123456789012_CloudTrail_us-east-1",
                           [(minute + 5000, "ERROR from the trail")])
    assert srv.points == [(ACCOUNT, REGION, "App", "Errors", {}, (minute + 5000) / 1000, 1.0, None)]
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName="app")["logStreams"]] == [
        "123456789012_CloudTrail_us-east-1", "s"]


def test_append_events_contract(srv: LogsServer) -> None:
    assert srv.logs.group_exists(ACCOUNT, REGION, "nope") is False
    with pytest.raises(LogGroupNotFound) as info:
        srv.logs.append_events(ACCOUNT, REGION, "nope", "s", [(1, "x")])
    assert (info.value.code, info.value.message) == ("ResourceNotFoundException", "The specified log group does not exist.")
    srv.client().create_log_group(logGroupName="yes")
    assert srv.logs.group_exists(ACCOUNT, REGION, "yes") is True
    with pytest.raises(LogStreamNotFound):
        srv.logs.append_events(ACCOUNT, REGION, "yes", "s", [(1, "x")], create_stream=False)


def test_data_points_reach_the_metric_store(tmp_path: Path) -> None:
    """Wired as serve wires it: each ingested batch's data points go to the CloudWatch metric store
    in one transaction, and GetMetricStatistics reads them back."""
    metrics = SqliteMetricStore(tmp_path / "metrics.db")
    logs = LogsService(tmp_path, metric_batch_sink=metric_store_sink(metrics))
    try:
        logs.create_log_group(ACCOUNT, REGION, "trail")
        logs.put_metric_filter(ACCOUNT, REGION, "trail", "root", '{ $.userIdentity.type = "Root" }',
                               MetricTransformation("RootUse", "CIS", "1", unit="Count"))
        minute = (int(time.time()) // 60 - 1) * 60
        logs.append_events(ACCOUNT, REGION, "trail", "s", [
            (minute * 1000 + 5, '{"userIdentity": {"type": "Root"}}'),
            (minute * 1000 + 6, '{"userIdentity": {"type": "IAMUser"}}'),
            (minute * 1000 + 7, '{"userIdentity": {"type": "Root"}}')])
        [point] = metrics.statistics(ACCOUNT, REGION, "CIS", "RootUse", {}, minute, minute + 60, 60,
                                     ["Sum", "SampleCount"])
        assert (point.timestamp_s, point.value("Sum"), point.sample_count, point.unit) == (minute, 2.0, 2.0, "Count")
    finally:
        logs.close()
        metrics.close()
