"""The SNS alarm notification and the EventBridge event, compared with real ones."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from opentrail.monitoring.alarm_eval import evaluate
from opentrail.monitoring.alarm_message import (
    AlarmIdentity,
    StateChange,
    actions_for,
    eventbridge_event,
    eventbridge_event_json,
    sns_message,
    sns_subject,
)
from opentrail.monitoring.alarm_model import ALARM, INSUFFICIENT_DATA, OK, AlarmConfig, Slot
from opentrail.monitoring.regions import REGION_LONG_NAMES, region_long_name


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


TOPIC = "arn:aws:sns:ap-southeast-2:123456789012:slacker-demo"
QUEUE_ALARM = AlarmIdentity(
    account_id="123456789012", region="ap-southeast-2", alarm_name="my-sqs-queue-depth",
    metric_name="ApproximateNumberOfMessagesVisible", namespace="AWS/SQS", dimensions=(("QueueName", "my-sqs-queue"),),
    alarm_description="Too many messages queued for my-sqs-queue", ok_actions=(TOPIC,), alarm_actions=(TOPIC,),
)
QUEUE_CONFIG = AlarmConfig(
    period_s=60, evaluation_periods=30, datapoints_to_alarm=30, threshold=20.0,
    comparison_operator="GreaterThanThreshold", statistic="Maximum", treat_missing_data="ignore",
)


def test_sns_message_as_aws_sends_it() -> None:
    """A real notification (a public Slack-formatter project's documentation), rebuilt from the data:
    30 breaching minutes up to 05:34 evaluated at 05:36:35.649."""
    newest = _ts("2024-12-06T05:34:00")
    values = [60.0, 60.0, 59.0, 59.0, 59.0] + [58.0] * 27
    slots = [Slot(int(newest - i * 60), v, 1.0) for i, v in enumerate(values)][::-1]
    now = _ts("2024-12-06T05:36:35.649")
    outcome = evaluate(QUEUE_CONFIG, slots, OK, now)
    change = StateChange(OK, "previous", None, _ts("2024-12-04T00:36:01.796"), outcome.state, outcome.reason or "",
                         outcome.reason_data, now)
    body = sns_message(QUEUE_ALARM, QUEUE_CONFIG, change, _ts("2023-04-19T05:17:32.984"))
    assert body == (
        '{"AlarmName":"my-sqs-queue-depth","AlarmDescription":"Too many messages queued for my-sqs-queue",'
        '"AWSAccountId":"123456789012","AlarmConfigurationUpdatedTimestamp":"2023-04-19T05:17:32.984+0000",'
        '"NewStateValue":"ALARM","NewStateReason":"Threshold Crossed: 30 out of the last 30 datapoints were greater '
        'than the threshold (20.0). The most recent datapoints which crossed the threshold: [60.0 (06/12/24 05:34:00), '
        '60.0 (06/12/24 05:33:00), 59.0 (06/12/24 05:32:00), 59.0 (06/12/24 05:31:00), 59.0 (06/12/24 05:30:00)] '
        '(minimum 30 datapoints for OK -> ALARM transition).","StateChangeTime":"2024-12-06T05:36:35.649+0000",'
        '"Region":"Asia Pacific (Sydney)","AlarmArn":"arn:aws:cloudwatch:ap-southeast-2:123456789012:alarm:'
        'my-sqs-queue-depth","OldStateValue":"OK","OKActions":["arn:aws:sns:ap-southeast-2:123456789012:slacker-demo"],'
        '"AlarmActions":["arn:aws:sns:ap-southeast-2:123456789012:slacker-demo"],"InsufficientDataActions":[],'
        '"Trigger":{"MetricName":"ApproximateNumberOfMessagesVisible","Namespace":"AWS/SQS","StatisticType":"Statistic",'
        '"Statistic":"MAXIMUM","Unit":null,"Dimensions":[{"value":"my-sqs-queue","name":"QueueName"}],"Period":60,'
        '"EvaluationPeriods":30,"DatapointsToAlarm":30,"ComparisonOperator":"GreaterThanThreshold","Threshold":20.0,'
        '"TreatMissingData":"ignore","EvaluateLowSampleCountPercentile":""}}'
    )
    assert sns_subject(QUEUE_ALARM, ALARM) == 'ALARM: "my-sqs-queue-depth" in Asia Pacific (Sydney)'
    assert actions_for(QUEUE_ALARM, ALARM) == (TOPIC,)
    assert actions_for(QUEUE_ALARM, INSUFFICIENT_DATA) == ()


def test_sns_trigger_of_a_percentile_alarm_without_optional_settings() -> None:
    alarm = AlarmIdentity("123456789012", "us-east-1", "p99", "Latency", "App", ())
    config = AlarmConfig(period_s=300, evaluation_periods=3, threshold=250.0,
                         comparison_operator="GreaterThanOrEqualToThreshold", extended_statistic="p99",
                         evaluate_low_sample_count_percentile="ignore", unit="Milliseconds")
    change = StateChange(INSUFFICIENT_DATA, "Unchecked: Initial alarm creation", None, 0.0, OK, "r", None, 60.0)
    trigger = json.loads(sns_message(alarm, config, change, 0.0))["Trigger"]
    assert trigger == {
        "MetricName": "Latency", "Namespace": "App", "StatisticType": "ExtendedStatistic", "ExtendedStatistic": "p99",
        "Unit": "Milliseconds", "Dimensions": [], "Period": 300, "EvaluationPeriods": 3,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 250.0, "TreatMissingData": "",
        "EvaluateLowSampleCountPercentile": "ignore",
    }
    assert json.loads(sns_message(alarm, config, change, 0.0))["AlarmDescription"] is None


def test_subject_is_cut_to_100_characters() -> None:
    alarm = AlarmIdentity("123456789012", "us-east-1", "x" * 200, "M", "N", ())
    subject = sns_subject(alarm, INSUFFICIENT_DATA)
    assert (len(subject), subject[:22]) == (100, 'INSUFFICIENT_DATA: "xx')


def test_eventbridge_event() -> None:
    """The shape of the User Guide's example event (alarm-evaluation, "partial data" section)."""
    alarm = AlarmIdentity("123456789012", "us-east-1", "my-alarm-name", "CPUUtilization", "AWS/EC2",
                          (("InstanceId", "i-12345678"),), alarm_description="High CPU")
    config = AlarmConfig(period_s=60, evaluation_periods=3, threshold=0.0, comparison_operator="GreaterThanThreshold",
                         statistic="Average", unit="Percent")
    change = StateChange(
        INSUFFICIENT_DATA, "Unchecked: Initial alarm creation", None, _ts("2022-11-08T11:25:51.227"),
        ALARM, "Threshold Crossed: ...", '{"version":"1.0"}', _ts("2022-11-08T11:26:05.401"),
    )
    event = eventbridge_event(alarm, config, change, "12345678-3bf9-6a09-dc46-12345EXAMPLE",
                              "1234e046-06f0-a3da-9534-EXAMPLEe4c")
    assert event == {
        "version": "0",
        "id": "12345678-3bf9-6a09-dc46-12345EXAMPLE",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2022-11-08T11:26:05Z",
        "region": "us-east-1",
        "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:my-alarm-name"],
        "detail": {
            "alarmName": "my-alarm-name",
            "state": {"value": "ALARM", "reason": "Threshold Crossed: ...", "reasonData": '{"version":"1.0"}',
                      "timestamp": "2022-11-08T11:26:05.401+0000"},
            "previousState": {"value": "INSUFFICIENT_DATA", "reason": "Unchecked: Initial alarm creation",
                              "timestamp": "2022-11-08T11:25:51.227+0000"},
            "configuration": {
                "description": "High CPU",
                "metrics": [{
                    "id": "1234e046-06f0-a3da-9534-EXAMPLEe4c",
                    "metricStat": {"metric": {"namespace": "AWS/EC2", "name": "CPUUtilization",
                                              "dimensions": {"InstanceId": "i-12345678"}},
                                   "period": 60, "stat": "Average", "unit": "Percent"},
                    "returnData": True,
                }],
            },
        },
    }
    assert eventbridge_event_json(event).startswith('{"version":"0","id":"12345678-3bf9-6a09-dc46-12345EXAMPLE",')


def test_region_long_names() -> None:
    assert region_long_name("us-east-1") == "US East (N. Virginia)"
    assert region_long_name("eu-west-1") == "EU (Ireland)"
    assert region_long_name("sa-east-1") == "South America (Sao Paulo)"
    assert region_long_name("xx-test-1") == "xx-test-1"
    assert len(REGION_LONG_NAMES) == 38


def test_every_botocore_region_has_a_long_name() -> None:
    import os

    import botocore

    with open(os.path.join(os.path.dirname(botocore.__file__), "data", "endpoints.json")) as f:
        partitions = json.load(f)["partitions"]
    regions = {r for p in partitions if p["partition"] in ("aws", "aws-cn", "aws-us-gov") for r in p["regions"]}
    assert sorted(regions - set(REGION_LONG_NAMES)) == []


def test_java_double_formatting() -> None:
    from opentrail.monitoring.javajson import java_double

    cases = {1.0: "1.0", 0.0666851903306472: "0.0666851903306472", 20000.0: "20000.0", 1e7: "1.0E7",
             1.0e-4: "1.0E-4", 0.001: "0.001", 9999999.0: "9999999.0", 1.2345e-5: "1.2345E-5", 2.5e20: "2.5E20",
             -3.5: "-3.5", -1e8: "-1.0E8", 0.0: "0.0", 123456789.5: "1.234567895E8"}
    assert {x: java_double(x) for x in cases} == cases
