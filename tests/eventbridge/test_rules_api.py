"""The EventBridge control plane through boto3 against a real server: rules, targets, tags, the
default event bus, TestEventPattern and PutEvents, with exact answers and AWS's errors; every call
recorded as a CloudTrail event of events.amazonaws.com."""

from __future__ import annotations

import json

from .conftest import ACCOUNT, REGION, EbServer
from .helpers import body, error

PATTERN = json.dumps({"source": ["aws.cloudtrail"], "detail": {"eventName": ["StopLogging"]}})
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/stop-logging"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:alerts"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"


def test_put_describe_list_and_delete_a_rule(eb: EbServer) -> None:
    events = eb.client()
    assert body(events.put_rule(Name="stop-logging", EventPattern=PATTERN, Description="trail stopped",
                                Tags=[{"Key": "team", "Value": "sec"}])) == {"RuleArn": RULE_ARN}
    assert body(events.describe_rule(Name="stop-logging")) == {
        "Name": "stop-logging", "Arn": RULE_ARN, "EventPattern": PATTERN, "State": "ENABLED",
        "Description": "trail stopped", "EventBusName": "default", "CreatedBy": ACCOUNT}
    assert body(events.describe_rule(Name="stop-logging", EventBusName=BUS_ARN))["Arn"] == RULE_ARN
    events.put_rule(Name="nightly", ScheduleExpression="cron(0 3 * * ? *)", State="DISABLED")
    assert body(events.list_rules()) == {"Rules": [
        {"Name": "nightly", "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly", "State": "DISABLED",
         "ScheduleExpression": "cron(0 3 * * ? *)", "EventBusName": "default"},
        {"Name": "stop-logging", "Arn": RULE_ARN, "EventPattern": PATTERN, "State": "ENABLED",
         "Description": "trail stopped", "EventBusName": "default"}]}
    assert [r["Name"] for r in events.list_rules(NamePrefix="stop")["Rules"]] == ["stop-logging"]
    # an update replaces the definition, keeps the tags and ignores new ones
    events.put_rule(Name="stop-logging", EventPattern=PATTERN, State="ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
                    Tags=[{"Key": "ignored", "Value": "x"}])
    described = events.describe_rule(Name="stop-logging")
    assert (described["State"], "Description" in described) == ("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", False)
    assert events.list_tags_for_resource(ResourceARN=RULE_ARN)["Tags"] == [{"Key": "team", "Value": "sec"}]
    events.delete_rule(Name="stop-logging")
    events.delete_rule(Name="stop-logging")  # "If you call delete rule multiple times ... all calls will succeed"
    assert error(events.describe_rule, Name="stop-logging") == {
        "Code": "ResourceNotFoundException", "Message": "Rule stop-logging does not exist on EventBus default."}


def test_list_rules_pages(eb: EbServer) -> None:
    events = eb.client()
    for i in range(5):
        events.put_rule(Name=f"r{i}", EventPattern='{"source": ["my.app"]}')
    first = events.list_rules(Limit=2)
    assert [r["Name"] for r in first["Rules"]] == ["r0", "r1"]
    second = events.list_rules(Limit=2, NextToken=first["NextToken"])
    assert [r["Name"] for r in second["Rules"]] == ["r2", "r3"]
    third = events.list_rules(Limit=2, NextToken=second["NextToken"])
    assert ([r["Name"] for r in third["Rules"]], "NextToken" in third) == (["r4"], False)
    assert [r["Name"] for p in events.get_paginator("list_rules").paginate(PaginationConfig={"PageSize": 2})
            for r in p["Rules"]] == ["r0", "r1", "r2", "r3", "r4"]
    assert error(events.list_rules, NamePrefix="r", NextToken=first["NextToken"]) == {
        "Code": "ValidationException", "Message": "The NextToken provided is not valid."}


def test_put_rule_errors(eb: EbServer) -> None:
    events = eb.client()
    assert error(events.put_rule, Name="r") == {
        "Code": "ValidationException", "Message": "Parameter(s) EventPattern or ScheduleExpression must be specified."}
    assert error(events.put_rule, Name="r", ScheduleExpression="rate(1 minutes)") == {
        "Code": "ValidationException", "Message": "Parameter ScheduleExpression is not valid."}
    assert error(events.put_rule, Name="r", ScheduleExpression="cron(0 3 * * * *)") == {
        "Code": "ValidationException", "Message": "Parameter ScheduleExpression is not valid."}
    assert error(events.put_rule, Name="r", EventPattern='{"source": []}') == {
        "Code": "InvalidEventPatternException",
        "Message": "Event pattern is not valid. Reason: Empty arrays are not allowed"}
    assert error(events.put_rule, Name="r", EventPattern=PATTERN, EventBusName="orders") == {
        "Code": "ResourceNotFoundException", "Message": "Event bus orders does not exist."}
    assert error(events.put_rule, Name="bad name", EventPattern=PATTERN) == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: "
                   "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"}
    assert events.list_rules()["Rules"] == []


def test_enable_and_disable(eb: EbServer) -> None:
    events = eb.client()
    events.put_rule(Name="r", EventPattern=PATTERN, State="DISABLED")
    [disabled] = eb.rules.rules()
    events.enable_rule(Name="r")
    assert events.describe_rule(Name="r")["State"] == "ENABLED"
    [enabled] = eb.rules.rules()
    assert enabled.since_seq > disabled.since_seq  # starts after the head at EnableRule
    events.enable_rule(Name="r")
    assert eb.rules.rules()[0].since_seq == enabled.since_seq  # enabling an enabled rule keeps its start
    events.disable_rule(Name="r")
    assert (events.describe_rule(Name="r")["State"], eb.rules.rules()[0].enabled) == ("DISABLED", False)
    for call in (events.enable_rule, events.disable_rule):
        assert error(call, Name="missing") == {
            "Code": "ResourceNotFoundException", "Message": "Rule missing does not exist on EventBus default."}


def test_targets(eb: EbServer) -> None:
    events = eb.client()
    events.put_rule(Name="r", EventPattern=PATTERN)
    answer = events.put_targets(Rule="r", Targets=[
        {"Id": "queue", "Arn": QUEUE, "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
         "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"}},
        {"Id": "topic", "Arn": TOPIC, "InputPath": "$.detail"},
        {"Id": "file", "Arn": "arn:opentrail:file:::alerts/stops.jsonl",
         "InputTransformer": {"InputPathsMap": {"who": "$.detail.userIdentity.arn"}, "InputTemplate": '"<who>"'}},
        {"Id": "fn", "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"},
        {"Id": "bad", "Arn": "not-an-arn"},
        {"Id": "fifo", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q.fifo"},
    ])
    assert body(answer) == {"FailedEntryCount": 3, "FailedEntries": [
        {"TargetId": "fn", "ErrorCode": "ValidationException",
         "ErrorMessage": f"opentrail cannot deliver events to lambda targets (arn:aws:lambda:{REGION}:{ACCOUNT}:"
                         "function:f); it delivers to SQS queues, SNS topics, API destinations, "
                         "arn:opentrail:file:::<path> and arn:opentrail:command:::<program>."},
        {"TargetId": "bad", "ErrorCode": "ValidationException",
         "ErrorMessage": "Parameter not-an-arn is not valid. Reason: Provided Arn is not in correct format."},
        {"TargetId": "fifo", "ErrorCode": "ValidationException",
         "ErrorMessage": "Parameter(s) SqsParameters must be specified for target: fifo."}]}
    listed = events.list_targets_by_rule(Rule="r")["Targets"]
    assert listed == [
        {"Id": "queue", "Arn": QUEUE, "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
         "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"}},
        {"Id": "topic", "Arn": TOPIC, "InputPath": "$.detail"},
        {"Id": "file", "Arn": "arn:opentrail:file:::alerts/stops.jsonl",
         "InputTransformer": {"InputPathsMap": {"who": "$.detail.userIdentity.arn"}, "InputTemplate": '"<who>"'}}]
    page = events.list_targets_by_rule(Rule="r", Limit=2)
    assert [t["Id"] for t in page["Targets"]] == ["queue", "topic"]
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="r", NextToken=page["NextToken"])["Targets"]] == ["file"]
    [config] = eb.rules.rules()
    assert [(t.id, t.maximum_retry_attempts, t.maximum_event_age_s, t.dead_letter_arn) for t in config.targets] == [
        ("queue", 3, 600, f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"), ("topic", 185, 86400, None),
        ("file", 185, 86400, None)]
    # replace by Id (same place), then the sixth target is over the limit
    events.put_targets(Rule="r", Targets=[{"Id": "topic", "Arn": TOPIC, "Input": '{"fixed": true}'}])
    assert events.list_targets_by_rule(Rule="r")["Targets"][1] == {"Id": "topic", "Arn": TOPIC,
                                                                    "Input": '{"fixed": true}'}
    events.put_targets(Rule="r", Targets=[{"Id": "cmd", "Arn": "arn:opentrail:command:::notify-send"},
                                          {"Id": "q2", "Arn": QUEUE + "2"}])
    assert error(events.put_targets, Rule="r", Targets=[{"Id": "q3", "Arn": QUEUE + "3"}]) == {
        "Code": "LimitExceededException", "Message": "The requested resource exceeds the maximum number allowed."}
    assert events.list_rule_names_by_target(TargetArn=TOPIC)["RuleNames"] == ["r"]
    assert events.list_rule_names_by_target(TargetArn=QUEUE + "9")["RuleNames"] == []
    assert error(events.delete_rule, Name="r") == {
        "Code": "ValidationException", "Message": "Rule can't be deleted since it has targets."}
    assert body(events.remove_targets(Rule="r", Ids=["cmd", "nope"])) == {"FailedEntryCount": 1, "FailedEntries": [
        {"TargetId": "nope", "ErrorCode": "ResourceNotFoundException",
         "ErrorMessage": "Rule 'r' does not have a target with the Id 'nope'."}]}
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="r")["Targets"]] == ["queue", "topic", "file", "q2"]
    events.delete_rule(Name="r", Force=True)
    assert events.list_rules()["Rules"] == []


def test_target_request_errors(eb: EbServer) -> None:
    events = eb.client()
    events.put_rule(Name="r", EventPattern=PATTERN)
    assert error(events.put_targets, Rule="r", Targets=[{"Id": "t", "Arn": QUEUE, "Input": "{}",
                                                        "InputPath": "$.detail"}]) == {
        "Code": "ValidationException",
        "Message": "Only one of Input, InputPath, or InputTransformer must be provided for target t."}
    assert error(events.put_targets, Rule="r", Targets=[{"Id": "t", "Arn": QUEUE,
                                                        "DeadLetterConfig": {"Arn": TOPIC}}]) == {
        "Code": "ValidationException",
        "Message": "Parameter DeadLetterConfig.Arn of target t is not valid. Reason: it must be the ARN of an SQS queue."}
    assert error(events.put_targets, Rule="r", Targets=[{"Id": "t", "Arn": QUEUE,
                                                        "RetryPolicy": {"MaximumRetryAttempts": 186}}]) == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value '186' at 'targets.1.member.retryPolicy.maximumRetryAttempts' "
                   "failed to satisfy constraint: Member must have value less than or equal to 185"}
    assert error(events.put_targets, Rule="missing", Targets=[{"Id": "t", "Arn": QUEUE}]) == {
        "Code": "ResourceNotFoundException", "Message": "Rule missing does not exist on EventBus default."}
    assert error(events.put_targets, Rule="r", Targets=[{"Id": "t", "Arn": QUEUE}], EventBusName="other") == {
        "Code": "ResourceNotFoundException", "Message": "Event bus other does not exist."}
    assert events.list_targets_by_rule(Rule="r")["Targets"] == []


def test_tags_of_rules_and_the_default_bus(eb: EbServer) -> None:
    events = eb.client()
    events.put_rule(Name="stop-logging", EventPattern=PATTERN)
    events.tag_resource(ResourceARN=RULE_ARN, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    events.tag_resource(ResourceARN=RULE_ARN, Tags=[{"Key": "a", "Value": "3"}])
    events.untag_resource(ResourceARN=RULE_ARN, TagKeys=["b"])
    assert events.list_tags_for_resource(ResourceARN=RULE_ARN)["Tags"] == [{"Key": "a", "Value": "3"}]
    events.tag_resource(ResourceARN=BUS_ARN, Tags=[{"Key": "env", "Value": "dev"}])
    assert events.list_tags_for_resource(ResourceARN=BUS_ARN)["Tags"] == [{"Key": "env", "Value": "dev"}]
    events.untag_resource(ResourceARN=BUS_ARN, TagKeys=["env"])
    assert events.list_tags_for_resource(ResourceARN=BUS_ARN)["Tags"] == []
    assert error(events.list_tags_for_resource, ResourceARN=RULE_ARN + "x") == {
        "Code": "ResourceNotFoundException", "Message": "Rule stop-loggingx does not exist on EventBus default."}
    assert error(events.tag_resource, ResourceARN=f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/orders",
                 Tags=[{"Key": "a", "Value": "b"}]) == {
        "Code": "ResourceNotFoundException", "Message": "Event bus orders does not exist."}
    assert error(events.list_tags_for_resource, ResourceARN=QUEUE)["Code"] == "ValidationException"


def test_default_event_bus(eb: EbServer) -> None:
    events = eb.client()
    assert body(events.list_event_buses()) == {"EventBuses": [{"Name": "default", "Arn": BUS_ARN}]}
    assert body(events.list_event_buses(NamePrefix="orders")) == {"EventBuses": []}
    assert body(events.describe_event_bus()) == {"Name": "default", "Arn": BUS_ARN}
    assert body(events.describe_event_bus(Name=BUS_ARN)) == {"Name": "default", "Arn": BUS_ARN}
    assert error(events.describe_event_bus, Name="orders") == {
        "Code": "ResourceNotFoundException", "Message": "Event bus orders does not exist."}
    assert error(events.create_event_bus, Name="orders") == {
        "Code": "UnknownOperationException", "Message": "opentrail does not implement the CreateEventBus operation yet."}


def test_test_event_pattern(eb: EbServer) -> None:
    events = eb.client()
    event = {"id": "1", "account": ACCOUNT, "source": "aws.cloudtrail", "time": "2026-12-02T10:00:00Z",
             "region": REGION, "resources": [], "detail-type": "AWS API Call via CloudTrail",
             "detail": {"eventName": "StopLogging"}}
    assert body(events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps(event))) == {"Result": True}
    event["detail"] = {"eventName": "StartLogging"}
    assert body(events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps(event))) == {"Result": False}
    assert error(events.test_event_pattern, EventPattern=PATTERN, Event='{"source": "x"}') == {
        "Code": "ValidationException", "Message": "Parameter Event is not valid."}
    assert error(events.test_event_pattern, EventPattern='{"source": [{"prefix": 5}]}', Event=json.dumps(event)) == {
        "Code": "InvalidEventPatternException",
        "Message": "Event pattern is not valid. Reason: prefix match pattern must be a string"}


def test_put_events(eb: EbServer) -> None:
    events = eb.client()
    answer = events.put_events(Entries=[
        {"Source": "my.app", "DetailType": "Order Placed", "Detail": '{"id": 7}', "Resources": ["arn:x"],
         "Time": 1796205600},
        {"Source": "my.app", "DetailType": "Order Placed", "Detail": "[1]"},
        {"DetailType": "Order Placed", "Detail": "{}"},
        {"Source": "my.app", "Detail": "{}"},
        {"Source": "my.app", "DetailType": "x"},
        {"Source": "aws.cloudtrail", "DetailType": "AWS API Call via CloudTrail", "Detail": "{}"},
        {"Source": "my.app", "DetailType": "x", "Detail": "{}", "EventBusName": "orders"},
        {"Source": "my.app", "DetailType": "x", "Detail": '{"b": [true, null]}', "EventBusName": BUS_ARN},
        {"Source": "my.app", "DetailType": "x", "Detail": '{"d": ' + "[" * 300 + "]" * 300 + "}"},  # too deep to write
    ])
    [first, second] = [e for _, _, e in eb.bus.events]
    assert body(answer) == {"FailedEntryCount": 7, "Entries": [
        {"EventId": first["id"]},
        {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."},
        {"ErrorCode": "InvalidArgument", "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument."},
        {"ErrorCode": "InvalidArgument",
         "ErrorMessage": "Parameter DetailType is not valid. Reason: DetailType is a required argument."},
        {"ErrorCode": "InvalidArgument", "ErrorMessage": "Parameter Detail is not valid. Reason: Detail is a required argument."},
        {"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."},
        {"ErrorCode": "ResourceNotFoundException", "ErrorMessage": "Event bus orders does not exist."},
        {"EventId": second["id"]},
        {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}]}
    assert first == {"version": "0", "id": first["id"], "detail-type": "Order Placed", "source": "my.app",
                     "account": ACCOUNT, "time": "2026-12-02T10:00:00Z", "region": REGION, "resources": ["arn:x"],
                     "detail": {"id": 7}}
    assert len(first["id"]) == 36 and first["id"] != second["id"]
    assert (second["detail"], second["resources"]) == ({"b": [True, None]}, [])
    assert [(a, r) for a, r, _ in eb.bus.events] == [(ACCOUNT, REGION)] * 2
    assert error(events.put_events, Entries=[{"Source": "s", "DetailType": "d", "Detail": '{"a": "' + "x" * 600_000 + '"}'},
                                             {"Source": "s", "DetailType": "d", "Detail": '{"a": "' + "x" * 500_000 + '"}'}]) == {
        "Code": "ValidationException", "Message": "Total size of the entries in the request is over the limit."}
    [record] = eb.records("PutEvents")[-1:]
    assert (record["eventSource"], record["eventCategory"], record["managementEvent"], record["readOnly"],
            record["resources"]) == ("events.amazonaws.com", "Data", False, False, [{"type": "AWS::Events::EventBus"}])


def test_calls_are_recorded_and_shown_by_lookup_events(eb: EbServer) -> None:
    events = eb.client()
    events.put_rule(Name="audited", EventPattern=PATTERN)
    events.describe_rule(Name="audited")
    error(events.describe_rule, Name="nope")
    cloudtrail = eb.client("cloudtrail")
    found = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "EventSource",
                                                        "AttributeValue": "events.amazonaws.com"}])["Events"]
    by_name = {}
    for e in reversed(found):
        by_name.setdefault(e["EventName"], []).append(json.loads(e["CloudTrailEvent"]))
    put = by_name["PutRule"][-1]
    assert (put["requestParameters"], put["responseElements"], put["readOnly"], put["eventCategory"]) == (
        {"name": "audited", "eventPattern": PATTERN}, {"ruleArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/audited"},
        False, "Management")
    failed = by_name["DescribeRule"][-1]
    assert (failed["errorCode"], failed["errorMessage"], failed["readOnly"]) == (
        "ResourceNotFoundException", "Rule nope does not exist on EventBus default.", True)
    assert "PutEvents" not in by_name  # a data event: not in the event history


def test_unknown_operations_answer_unknown_operation(eb: EbServer) -> None:
    events = eb.client()
    assert error(events.list_archives) == {
        "Code": "UnknownOperationException", "Message": "opentrail does not implement the ListArchives operation yet."}
