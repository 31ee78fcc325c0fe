"""CloudWatch metrics and alarms through boto3 (AWS JSON 1.0, and botocore forced to AWS Query and to
Smithy RPC v2 CBOR) and the stock AWS CLI, against a real server; alarm actions published to moto's
SNS and read back from an SQS queue subscribed to the topic. The alarm clock is moved, never slept."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from .conftest import ACCOUNT, MOTO_ACCOUNT, MOTO_ENV, REGION, T0, CwServer, free_port

PROTOCOLS = ["json", "query", "cbor"]
TOPIC = f"arn:aws:sns:{REGION}:{MOTO_ACCOUNT}:alarms"


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def alarm(client: Any, name: str = "root-use", **extra: Any) -> None:
    params: dict[str, Any] = dict(AlarmName=name, Namespace="CIS", MetricName="RootUse", Statistic="Sum", Period=10,
                                  EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")
    params.update(extra)
    client.put_metric_alarm(**params)


def error_of(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    error = dict(info.value.response["Error"])
    error.pop("Type", None)  # Query answers say Sender
    error.pop("QueryErrorCode", None)  # JSON and CBOR: botocore keeps the __type (the shape name) here
    return {**error, "Status": info.value.response["ResponseMetadata"]["HTTPStatusCode"]}


class Moto:
    """moto's server (SNS, SQS) in this process; ``start()`` again after ``stop()`` on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server: Any = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    def subscribed_queue(self) -> str:
        """The topic ``alarms`` with an SQS queue subscribed (raw delivery off: SNS envelopes)."""
        sns, sqs = self.client("sns"), self.client("sqs")
        topic = sns.create_topic(Name="alarms")["TopicArn"]
        assert topic == TOPIC
        queue = sqs.create_queue(QueueName="alarms")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        return str(queue)

    def messages(self, queue: str) -> list[dict[str, Any]]:
        got = self.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]


@pytest.fixture
def moto() -> Iterator[Moto]:
    server = Moto(free_port())
    yield server
    server.stop()


# --- metrics -----------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_metric_data_round_trip(cw: CwServer, protocol: str) -> None:
    c = cw.client(protocol)
    c.put_metric_data(Namespace="App", MetricData=[
        {"MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "Put"}], "Timestamp": at(T0 - 120),
         "Value": 10.0, "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "Put"}], "Timestamp": at(T0 - 100),
         "Values": [20.0, 30.0], "Counts": [1.0, 2.0], "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "Put"}], "Timestamp": at(T0 - 50),
         "StatisticValues": {"SampleCount": 2, "Sum": 8, "Minimum": 3, "Maximum": 5}, "Unit": "Milliseconds"},
    ])
    stats = c.get_metric_statistics(Namespace="App", MetricName="Latency", Dimensions=[{"Name": "Api", "Value": "Put"}],
                                    StartTime=at(T0 - 180), EndTime=at(T0), Period=60,
                                    Statistics=["SampleCount", "Sum", "Maximum"])
    assert stats["Label"] == "Latency"
    assert sorted(stats["Datapoints"], key=lambda p: p["Timestamp"]) == [
        {"Timestamp": at(T0 - 120), "SampleCount": 4.0, "Sum": 90.0, "Maximum": 30.0, "Unit": "Milliseconds"},
        {"Timestamp": at(T0 - 60), "SampleCount": 2.0, "Sum": 8.0, "Maximum": 5.0, "Unit": "Milliseconds"},
    ]
    data = c.get_metric_data(StartTime=at(T0 - 180), EndTime=at(T0), MetricDataQueries=[
        {"Id": "q1", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Latency",
                                               "Dimensions": [{"Name": "Api", "Value": "Put"}]},
                                    "Period": 60, "Stat": "Maximum"}},
        {"Id": "q2", "Label": "hidden", "ReturnData": False,
         "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Latency"}, "Period": 60, "Stat": "Sum"}}])
    assert data["MetricDataResults"] == [{"Id": "q1", "Label": "Latency Maximum", "Timestamps": [at(T0 - 60), at(T0 - 120)],
                                          "Values": [5.0, 30.0], "StatusCode": "Complete"}]
    assert c.list_metrics(Namespace="App")["Metrics"] == [
        {"Namespace": "App", "MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "Put"}]}]
    assert c.list_metrics(Dimensions=[{"Name": "Other"}])["Metrics"] == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_metric_errors(cw: CwServer, protocol: str) -> None:
    c = cw.client(protocol)
    if protocol != "query":
        with pytest.raises(ClientError) as info:
            c.put_metric_data(Namespace="AWS/EC2", MetricData=[{"MetricName": "m", "Value": 1}])
        assert info.value.response["Error"]["QueryErrorCode"] == "InvalidParameterValueException"
    assert error_of(c.put_metric_data, Namespace="AWS/EC2", MetricData=[{"MetricName": "m", "Value": 1}]) == {
        "Code": "InvalidParameterValue", "Message": "The value AWS/EC2 for parameter Namespace is invalid.",
        "Status": 400}
    many = [{"MetricName": "m", "Value": 1.0}] * 1001
    assert error_of(c.put_metric_data, Namespace="App", MetricData=many) == {
        "Code": "InvalidParameterValue",
        "Message": "The collection MetricData must not have a size greater than 1000.", "Status": 400}
    both = {"MetricName": "m", "Value": 1.0, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}
    assert error_of(c.put_metric_data, Namespace="App", MetricData=[both]) == {
        "Code": "InvalidParameterCombination",
        "Message": "The parameters MetricData.member.1.Value and MetricData.member.1.StatisticValues are mutually "
                   "exclusive and you have specified both.", "Status": 400}
    old_and_ahead = [{"MetricName": "m", "Value": 1.0, "Timestamp": at(T0 - 15 * 86400)},
                     {"MetricName": "m", "Value": 1.0, "Timestamp": at(T0)},
                     {"MetricName": "m", "Value": 1.0, "Timestamp": at(T0 + 3 * 3600)}]
    assert error_of(c.put_metric_data, Namespace="App", MetricData=old_and_ahead) == {
        "Code": "InvalidParameterValue", "Status": 400,
        "Message": "The parameter MetricData.member.1.Timestamp must specify a time within the past two weeks.\n"
                   "The parameter MetricData.member.3.Timestamp must specify a time no more than two hours in the future."}
    assert c.list_metrics(Namespace="App")["Metrics"] == []  # nothing of a refused call is stored
    assert error_of(c.get_metric_statistics, Namespace="App", MetricName="m", StartTime=at(T0), EndTime=at(T0 + 60),
                    Period=45, Statistics=["Sum"]) == {
        "Code": "InvalidParameterValue", "Message": "The parameter Period must be a multiple of 60.", "Status": 400}
    expression = [{"Id": "e1", "Expression": "SUM(METRICS())"}]
    assert error_of(c.get_metric_data, StartTime=at(T0), EndTime=at(T0 + 60), MetricDataQueries=expression) == {
        "Code": "ValidationError", "Message": "opentrail does not evaluate metric math expressions yet (query e1); "
                                              "use MetricStat queries.", "Status": 400}


# --- alarms: configuration ---------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_put_describe_delete_alarms(cw: CwServer, protocol: str) -> None:
    c = cw.client(protocol)
    alarm(c, "root-use", AlarmDescription="root <used>", Dimensions=[{"Name": "Account", "Value": ACCOUNT}],
          AlarmActions=[TOPIC], TreatMissingData="notBreaching", DatapointsToAlarm=1,
          Tags=[{"Key": "team", "Value": "sec"}])
    got = c.describe_alarms(AlarmNames=["root-use"])["MetricAlarms"]
    arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:root-use"
    assert got == [{
        "AlarmName": "root-use", "AlarmArn": arn, "AlarmDescription": "root <used>",
        "AlarmConfigurationUpdatedTimestamp": at(T0), "ActionsEnabled": True, "OKActions": [],
        "AlarmActions": [TOPIC], "InsufficientDataActions": [], "StateValue": "INSUFFICIENT_DATA",
        "StateReason": "Unchecked: Initial alarm creation", "StateUpdatedTimestamp": at(T0), "MetricName": "RootUse",
        "Namespace": "CIS", "Statistic": "Sum", "Dimensions": [{"Name": "Account", "Value": ACCOUNT}], "Period": 10,
        "EvaluationPeriods": 1, "DatapointsToAlarm": 1, "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
        "StateTransitionedTimestamp": at(T0)}]
    assert c.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "sec"}]
    c.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}])
    c.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert c.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    for_metric = c.describe_alarms_for_metric(Namespace="CIS", MetricName="RootUse",
                                              Dimensions=[{"Name": "Account", "Value": ACCOUNT}])["MetricAlarms"]
    assert [a["AlarmName"] for a in for_metric] == ["root-use"]
    assert c.describe_alarms_for_metric(Namespace="CIS", MetricName="RootUse", Period=60)["MetricAlarms"] == []

    c.disable_alarm_actions(AlarmNames=["root-use"])
    assert c.describe_alarms()["MetricAlarms"][0]["ActionsEnabled"] is False
    c.enable_alarm_actions(AlarmNames=["root-use", "no-such-alarm"])
    assert c.describe_alarms()["MetricAlarms"][0]["ActionsEnabled"] is True

    c.delete_alarms(AlarmNames=["root-use", "no-such-alarm"])
    assert c.describe_alarms()["MetricAlarms"] == []
    history = c.describe_alarm_history(AlarmName="root-use", ScanBy="TimestampAscending")["AlarmHistoryItems"]
    assert [(h["HistoryItemType"], h["HistorySummary"]) for h in history] == [
        ("ConfigurationUpdate", 'Alarm "root-use" created'), ("ConfigurationUpdate", 'Alarm "root-use" deleted')]
    assert json.loads(history[0]["HistoryData"])["createdAlarm"]["alarmActions"] == [TOPIC]
    assert error_of(c.list_tags_for_resource, ResourceARN=arn) == {
        "Code": "ResourceNotFoundException", "Message": f"The resource {arn} does not exist.", "Status": 404}


def test_describe_alarms_filters_and_pages(cw: CwServer) -> None:
    c = cw.client()
    for name in ("b-2", "a-1", "b-1", "c-1", "b-3"):
        alarm(c, name, AlarmActions=[TOPIC] if name.startswith("b") else [])
    c.set_alarm_state(AlarmName="b-2", StateValue="ALARM", StateReason="test")
    names = lambda page: [a["AlarmName"] for a in page["MetricAlarms"]]  # noqa: E731
    first = c.describe_alarms(MaxRecords=2)
    assert names(first) == ["a-1", "b-1"]
    second = c.describe_alarms(MaxRecords=2, NextToken=first["NextToken"])
    assert names(second) == ["b-2", "b-3"]
    third = c.describe_alarms(MaxRecords=2, NextToken=second["NextToken"])
    assert names(third) == ["c-1"] and "NextToken" not in third
    assert names(c.describe_alarms(AlarmNamePrefix="b-")) == ["b-1", "b-2", "b-3"]
    assert names(c.describe_alarms(StateValue="ALARM")) == ["b-2"]
    assert names(c.describe_alarms(ActionPrefix="arn:aws:sns:")) == ["b-1", "b-2", "b-3"]
    assert c.describe_alarms(AlarmTypes=["CompositeAlarm"])["MetricAlarms"] == []
    assert c.describe_alarms(AlarmTypes=["CompositeAlarm"])["CompositeAlarms"] == []
    paged = [a for page in c.get_paginator("describe_alarms").paginate(PaginationConfig={"PageSize": 2})
             for a in names(page)]
    assert paged == ["a-1", "b-1", "b-2", "b-3", "c-1"]
    assert error_of(c.describe_alarms, MaxRecords=2, AlarmNamePrefix="b", NextToken=first["NextToken"]) == {
        "Code": "InvalidNextToken", "Message": "The service returned an invalid NextToken.", "Status": 400}
    assert error_of(c.describe_alarms, NextToken="garbage") == {
        "Code": "InvalidNextToken", "Message": "The service returned an invalid NextToken.", "Status": 400}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_alarm_errors(cw: CwServer, protocol: str) -> None:
    c = cw.client(protocol)
    assert error_of(alarm, c, Period=45) == {
        "Code": "ValidationError", "Message": "Period must be 10, 20, 30 or a multiple of 60", "Status": 400}
    assert error_of(alarm, c, AlarmActions=["arn:aws:sns:eu-west-1:123456789012:t"]) == {
        "Code": "ValidationError", "Message": "Invalid region eu-west-1 specified. Only us-east-1 is supported.",
        "Status": 400}
    assert error_of(c.set_alarm_state, AlarmName="nope", StateValue="OK", StateReason="x") == {
        "Code": "ResourceNotFound", "Message": "Alarm nope not found", "Status": 404}
    alarm(c)
    assert error_of(c.set_alarm_state, AlarmName="root-use", StateValue="OK", StateReason="x",
                    StateReasonData="{not json") == {
        "Code": "InvalidFormat", "Message": "Unrecognized stateReasonData: it must be a JSON document.", "Status": 400}
    assert error_of(c.set_alarm_state, AlarmName="root-use", StateValue="BAD", StateReason="x") == {
        "Code": "ValidationError", "Status": 400,
        "Message": "1 validation error detected: Value 'BAD' at 'stateValue' failed to satisfy constraint: "
                   "Member must satisfy enum value set: [OK, ALARM, INSUFFICIENT_DATA]"}


def test_put_metric_alarm_is_recorded_by_cloudtrail(cw: CwServer) -> None:
    c = cw.client()
    alarm(c, AlarmActions=[TOPIC])
    c.put_metric_data(Namespace="CIS", MetricData=[{"MetricName": "RootUse", "Value": 1.0, "Timestamp": at(T0)}])
    (record,) = cw.records("PutMetricAlarm")
    assert {k: record[k] for k in ("eventSource", "eventName", "awsRegion", "readOnly", "eventType",
                                   "managementEvent", "eventCategory", "recipientAccountId")} == {
        "eventSource": "monitoring.amazonaws.com", "eventName": "PutMetricAlarm", "awsRegion": REGION,
        "readOnly": False, "eventType": "AwsApiCall", "managementEvent": True, "eventCategory": "Management",
        "recipientAccountId": ACCOUNT}
    assert record["requestParameters"] == {
        "alarmName": "root-use", "namespace": "CIS", "metricName": "RootUse", "statistic": "Sum", "period": 10,
        "evaluationPeriods": 1, "threshold": 1, "comparisonOperator": "GreaterThanOrEqualToThreshold",
        "alarmActions": [TOPIC]}
    assert record["responseElements"] is None
    (data,) = cw.records("PutMetricData")
    assert (data["managementEvent"], data["eventCategory"], data["resources"]) == (
        False, "Data", [{"type": "AWS::CloudWatch::Metric"}])


# --- alarms: evaluation and actions ------------------------------------------------------------


def test_alarm_fires_publishes_to_sns_and_returns_to_ok(moto: Moto, make_cw: Any) -> None:
    moto.start()
    queue = moto.subscribed_queue()
    cw = make_cw(moto.url)
    c = cw.client()
    alarm(c, OKActions=[TOPIC], AlarmActions=[TOPIC])
    c.put_metric_data(Namespace="CIS", MetricData=[{"MetricName": "RootUse", "Value": 1.0, "Timestamp": at(T0 + 3),
                                                    "StorageResolution": 1}])
    cw.clock.advance(9)
    cw.service.tick()  # the period [T0, T0+10) has not ended: nothing decided
    assert c.describe_alarms()["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    cw.clock.advance(1)
    cw.service.tick()
    got = c.describe_alarms()["MetricAlarms"][0]
    reason = "Threshold Crossed: 1 datapoint [1.0 (02/12/26 10:00:00)] was greater than or equal to the threshold (1.0)."
    assert (got["StateValue"], got["StateReason"], got["StateUpdatedTimestamp"]) == ("ALARM", reason, at(T0 + 10))
    (envelope,) = moto.messages(queue)
    assert envelope["Subject"] == 'ALARM: "root-use" in US East (N. Virginia)'
    message = json.loads(envelope["Message"])
    assert {k: message[k] for k in ("AlarmName", "AWSAccountId", "NewStateValue", "OldStateValue", "NewStateReason",
                                    "StateChangeTime", "Region", "AlarmArn")} == {
        "AlarmName": "root-use", "AWSAccountId": ACCOUNT, "NewStateValue": "ALARM",
        "OldStateValue": "INSUFFICIENT_DATA", "NewStateReason": reason,
        "StateChangeTime": "2026-12-02T10:00:10.000+0000", "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:root-use"}
    assert message["Trigger"]["Statistic"] == "SUM"

    c.put_metric_data(Namespace="CIS", MetricData=[{"MetricName": "RootUse", "Value": 0.0, "Timestamp": at(T0 + 12),
                                                    "StorageResolution": 1}])
    cw.clock.advance(10)  # [T0+10, T0+20) is below the threshold: OK
    cw.service.tick()
    assert c.describe_alarms()["MetricAlarms"][0]["StateValue"] == "OK"
    (back,) = moto.messages(queue)
    assert back["Subject"] == 'OK: "root-use" in US East (N. Virginia)'
    history = c.describe_alarm_history(AlarmName="root-use", ScanBy="TimestampAscending")["AlarmHistoryItems"]
    assert [(h["HistoryItemType"], h["HistorySummary"]) for h in history] == [
        ("ConfigurationUpdate", 'Alarm "root-use" created'),
        ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM"),
        ("Action", f"Successfully executed action {TOPIC}"),
        ("StateUpdate", "Alarm updated from ALARM to OK"),
        ("Action", f"Successfully executed action {TOPIC}")]
    state = json.loads(history[1]["HistoryData"])
    assert state["oldState"] == {"stateValue": "INSUFFICIENT_DATA", "stateReason": "Unchecked: Initial alarm creation"}
    assert state["newState"]["stateReasonData"]["recentDatapoints"] == [1.0]
    assert [h["HistoryItemType"] for h in c.describe_alarm_history(HistoryItemType="Action")["AlarmHistoryItems"]] == [
        "Action", "Action"]
    events = [e for _, e in cw.service.alarms.events_after(0)]
    assert [(e["detail-type"], e["detail"]["state"]["value"], e["detail"]["previousState"]["value"]) for e in events] == [
        ("CloudWatch Alarm State Change", "ALARM", "INSUFFICIENT_DATA"),
        ("CloudWatch Alarm State Change", "OK", "ALARM")]


def test_sns_down_then_up_is_retried_and_delivered(moto: Moto, make_cw: Any) -> None:
    cw = make_cw(moto.url)  # nothing listens there yet
    c = cw.client()
    alarm(c, AlarmActions=[TOPIC])
    c.put_metric_data(Namespace="CIS", MetricData=[{"MetricName": "RootUse", "Value": 5.0, "Timestamp": at(T0 + 1)}])
    cw.clock.advance(10)
    cw.service.tick()
    assert c.describe_alarms()["MetricAlarms"][0]["StateValue"] == "ALARM"
    cw.clock.advance(1)
    cw.service.tick()  # second attempt, still down
    failed = c.describe_alarm_history(HistoryItemType="Action", ScanBy="TimestampAscending")["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in failed] == [
        f'Failed to execute action {TOPIC}. Received error: "ServiceUnavailable"'] * 2
    assert json.loads(failed[0]["HistoryData"]) == {
        "actionState": "Failed", "stateUpdateTimestamp": int((T0 + 10) * 1000), "notificationResource": TOPIC,
        "error": "ServiceUnavailable"}
    moto.start()
    queue = moto.subscribed_queue()
    cw.clock.advance(1)
    cw.service.tick()  # not due yet: the third attempt waits 2 s
    assert moto.messages(queue) == []
    cw.clock.advance(1)
    cw.service.tick()
    (envelope,) = moto.messages(queue)
    assert json.loads(envelope["Message"])["NewStateValue"] == "ALARM"
    items = c.describe_alarm_history(HistoryItemType="Action")["AlarmHistoryItems"]
    assert items[0]["HistorySummary"] == f"Successfully executed action {TOPIC}"
    assert cw.service.alarms.pending_actions() == []


def test_set_alarm_state_runs_actions_then_evaluation_resets_it(cw: CwServer) -> None:
    c = cw.client("query")
    alarm(c, AlarmActions=[TOPIC], TreatMissingData="notBreaching")
    c.set_alarm_state(AlarmName="root-use", StateValue="ALARM", StateReason="testing the pager",
                      StateReasonData='{"by": "test"}')
    got = c.describe_alarms()["MetricAlarms"][0]
    assert (got["StateValue"], got["StateReason"], got["StateReasonData"]) == (
        "ALARM", "testing the pager", '{"by": "test"}')
    (pending,) = cw.service.alarms.pending_actions()
    assert (pending.target, pending.subject) == (TOPIC, 'ALARM: "root-use" in US East (N. Virginia)')
    cw.clock.advance(10)
    cw.service.scheduler.run_due()
    assert c.describe_alarms()["MetricAlarms"][0]["StateValue"] == "OK"


def test_disabled_actions_change_state_without_actions(cw: CwServer) -> None:
    c = cw.client("cbor")
    alarm(c, AlarmActions=[TOPIC], ActionsEnabled=False)
    c.put_metric_data(Namespace="CIS", MetricData=[{"MetricName": "RootUse", "Value": 1.0, "Timestamp": at(T0)}])
    cw.clock.advance(10)
    cw.service.tick()
    assert c.describe_alarms()["MetricAlarms"][0]["StateValue"] == "ALARM"
    assert cw.service.alarms.pending_actions() == []


# --- the stock AWS CLI ------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_aws_cli(cw: CwServer, tmp_path: Path, protocol: str) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": cw.key.access_key_id, "AWS_SECRET_ACCESS_KEY": cw.key.secret_access_key,
           "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": cw.url, "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    if protocol == "query":
        env["AWS_DATA_PATH"] = str(cw.models / "query")

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "awscli", "cloudwatch", *args, "--output", "json"], env=env,
                              capture_output=True, text=True, timeout=120)

    done = aws("put-metric-alarm", "--alarm-name", "root-use", "--namespace", "CIS", "--metric-name", "RootUse",
               "--statistic", "Sum", "--period", "60", "--evaluation-periods", "1", "--threshold", "1",
               "--comparison-operator", "GreaterThanOrEqualToThreshold", "--alarm-actions", TOPIC)
    assert done.returncode == 0, done.stderr
    listed = aws("describe-alarms", "--alarm-name-prefix", "root", "--query", "MetricAlarms[].[AlarmName,StateValue]")
    assert json.loads(listed.stdout) == [["root-use", "INSUFFICIENT_DATA"]]
    bad = aws("set-alarm-state", "--alarm-name", "root-use", "--state-value", "OK", "--state-reason", "x",
              "--state-reason-data", "nope")
    assert bad.returncode == 255  # awscli v1: a service error
    assert ("An error occurred (InvalidFormat) when calling the SetAlarmState operation: "
            "Unrecognized stateReasonData: it must be a JSON document.") in bad.stderr


def test_unknown_query_action_and_version(cw: CwServer) -> None:
    import httpx
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def post(body: str) -> httpx.Response:
        request = AWSRequest(method="POST", url=cw.url + "/", data=body.encode(),
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(Credentials(cw.key.access_key_id, cw.key.secret_access_key), "monitoring", REGION).add_auth(request)
        prepared = request.prepare()
        return httpx.post(prepared.url, content=body.encode(), headers=dict(prepared.headers))

    r = post("Action=NoSuchThing&Version=2010-08-01")
    assert r.status_code == 400
    assert r.text == (
        '<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender</Type>'
        "<Code>InvalidAction</Code><Message>The action or operation requested is invalid. Verify that the action "
        f"is typed correctly.</Message></Error><RequestId>{r.headers['x-amzn-requestid']}</RequestId></ErrorResponse>")
    r = post("Action=DescribeAlarms&Version=2009-01-01")
    assert r.status_code == 400 and "<Code>InvalidParameterValue</Code>" in r.text
    r = post("Action=DescribeAlarms&Version=2010-08-01&MaxRecords=many")
    assert r.status_code == 400
    assert "<Message>Value (many) for parameter MaxRecords is invalid.</Message>" in r.text


def test_moto_env_is_what_the_server_uses() -> None:
    assert MOTO_ENV["AWS_DEFAULT_REGION"] == REGION


def test_alarm_history_pages(cw: CwServer) -> None:
    c = cw.client()
    alarm(c)
    for i, value in enumerate(["ALARM", "OK", "ALARM", "OK", "ALARM"]):
        cw.clock.advance(1)
        c.set_alarm_state(AlarmName="root-use", StateValue=value, StateReason=f"change {i}")
    first = c.describe_alarm_history(MaxRecords=2)
    assert [h["HistorySummary"] for h in first["AlarmHistoryItems"]] == [
        "Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK"]
    assert [h["Timestamp"] for h in first["AlarmHistoryItems"]] == [at(T0 + 5), at(T0 + 4)]
    pages = c.get_paginator("describe_alarm_history").paginate(ScanBy="TimestampAscending",
                                                                PaginationConfig={"PageSize": 2})
    items = [h for page in pages for h in page["AlarmHistoryItems"]]
    assert [h["Timestamp"] for h in items] == [at(T0 + s) for s in range(6)]
    assert items[0]["HistorySummary"] == 'Alarm "root-use" created'
    later = c.describe_alarm_history(StartDate=at(T0 + 2), EndDate=at(T0 + 3), HistoryItemType="StateUpdate")
    assert [h["Timestamp"] for h in later["AlarmHistoryItems"]] == [at(T0 + 3), at(T0 + 2)]
    assert error_of(c.describe_alarm_history, NextToken=first["NextToken"], MaxRecords=2, AlarmName="x") == {
        "Code": "InvalidNextToken", "Message": "The service returned an invalid NextToken.", "Status": 400}


def test_cbor_on_the_wire(cw: CwServer) -> None:
    import cbor2
    import httpx
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def post(operation: str, body: bytes) -> httpx.Response:
        url = f"{cw.url}/service/GraniteServiceVersion20100801/operation/{operation}"
        headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor"}
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(Credentials(cw.key.access_key_id, cw.key.secret_access_key), "monitoring", REGION).add_auth(request)
        prepared = request.prepare()
        return httpx.post(prepared.url, content=body, headers=dict(prepared.headers))

    r = post("DescribeAlarms", cbor2.dumps({"AlarmNamePrefix": "x"}))
    assert (r.status_code, r.headers["smithy-protocol"], r.headers["content-type"]) == (
        200, "rpc-v2-cbor", "application/cbor")
    assert cbor2.loads(r.content) == {"MetricAlarms": []}
    r = post("PutMetricData", cbor2.dumps({"Namespace": "App", "MetricData": [
        {"MetricName": "m", "Value": 1.5, "Timestamp": cbor2.CBORTag(1, T0)}]}))
    assert (r.status_code, r.content, r.headers["smithy-protocol"]) == (200, b"", "rpc-v2-cbor")
    r = post("SetAlarmState", cbor2.dumps({"AlarmName": "nope", "StateValue": "OK", "StateReason": "x"}))
    assert (r.status_code, r.headers["x-amzn-query-error"]) == (404, "ResourceNotFound;Sender")
    assert cbor2.loads(r.content) == {"__type": "com.amazonaws.cloudwatch#ResourceNotFound",
                                      "message": "Alarm nope not found"}
    r = post("DescribeAlarms", b"\xff")
    assert r.status_code == 400
    assert cbor2.loads(r.content) == {"__type": "SerializationException", "message": "The request body is not valid CBOR"}
    r = post("NoSuchOperation", cbor2.dumps({}))
    assert (r.status_code, cbor2.loads(r.content)) == (400, {"__type": "UnknownOperationException"})
