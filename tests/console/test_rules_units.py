"""The rule pages' pure helpers (:mod:`opentrail.console.rules_view`): the pattern summary, target
rows of each kind, the sample event and the newest event the tester starts from."""

from __future__ import annotations

import json

from opentrail.console.rules_view import (api_destination_name, newest_not_from, pattern_summary, sample_envelope,
                                          target_row)
from opentrail.eventbridge.pattern import parse_pattern, parse_test_event


def test_pattern_summary_reads_nested_dotted_and_or_fields() -> None:
    pattern = {"source": ["aws.cloudtrail"], "detail.eventName": ["StopLogging"],
               "$or": [{"detail": {"eventName": [{"prefix": "Delete"}, "StopLogging"]}},
                       {"detail-type": ["AWS Console Signin via CloudTrail"]}]}
    assert pattern_summary(json.dumps(pattern)) == [
        ("source", ["aws.cloudtrail"]), ("detail-type", ["AWS Console Signin via CloudTrail"]),
        ("eventName", ['{"prefix":"Delete"}', "StopLogging"])]  # in the order of the $or branches
    assert pattern_summary('{"detail": {"errorCode": [{"exists": true}]}}') == []
    assert pattern_summary(None) == []
    assert pattern_summary('{"source": []}') == [("invalid", ["Empty arrays are not allowed"])]


def test_target_rows_by_kind() -> None:
    fifo = target_row({"Id": "q", "Arn": "arn:aws:sqs:us-east-1:111122223333:alerts.fifo",
                       "SqsParameters": {"MessageGroupId": "g1"}, "Input": '{"a": 1}',
                       "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:111122223333:dlq"}})
    assert (fifo.kind, fifo.where, fifo.details) == ("SQS queue", "alerts.fifo", [
        ("Message group", "g1"), ("Input", '{"a": 1}'),
        ("Retry policy", "185 retries, events up to 86400 s old (default)"),
        ("Dead-letter queue", "arn:aws:sqs:us-east-1:111122223333:dlq")])
    topic = target_row({"Id": "t", "Arn": "arn:aws:sns:us-east-1:111122223333:ops",
                        "InputTransformer": {"InputPathsMap": {"name": "$.detail.eventName"},
                                             "InputTemplate": '"<name> was called"'},
                        "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}})
    assert (topic.kind, topic.where, topic.details[:3]) == ("SNS topic", "ops", [
        ("Input paths", "name: $.detail.eventName"), ("Input template", '"<name> was called"'),
        ("Retry policy", "0 retries, events up to 60 s old")])
    hook_arn = "arn:aws:events:us-east-1:111122223333:api-destination/hook/0b1c"
    assert api_destination_name(hook_arn) == "hook"
    missing = target_row({"Id": "h", "Arn": hook_arn,
                          "HttpParameters": {"PathParameterValues": ["a"], "HeaderParameters": {"x-team": "sec"}}},
                         None, "ResourceNotFoundException: Failed to describe the api-destination(s).")
    assert (missing.kind, missing.where, missing.details[:2]) == (
        "API destination", "ResourceNotFoundException: Failed to describe the api-destination(s).",
        [("Path parameters", "a"), ("Headers", "x-team: sec")])
    local = target_row({"Id": "f", "Arn": "arn:opentrail:file:::alerts/tampering.jsonl", "InputPath": "$.detail"})
    assert (local.kind, local.where, local.details[0]) == ("File (opentrail)", "alerts/tampering.jsonl",
                                                           ("Input path", "$.detail"))
    assert target_row({"Id": "l", "Arn": "arn:aws:lambda:us-east-1:111122223333:function:f"}).kind == \
        "Not delivered by opentrail"


def test_sample_event_is_a_valid_test_event_and_newest_skips_the_session() -> None:
    sample = sample_envelope("111122223333", "eu-west-1", 1_780_000_000)
    event = parse_test_event(json.dumps(sample))
    assert (event["source"], event["region"], event["time"], event["detail"]["eventName"]) == (
        "aws.cloudtrail", "eu-west-1", "2026-05-28T20:26:40Z", "StopLogging")
    assert parse_pattern('{"detail": {"eventName": ["StopLogging"]}}').matches(event)
    events = [{"EventId": "1", "AccessKeyId": "ASIAME"}, {"EventId": "2", "AccessKeyId": "AKIAOTHER"}]
    assert newest_not_from(events, "ASIAME") == events[1]
    assert newest_not_from(events[:1], "ASIAME") == events[0]
    assert newest_not_from([], "ASIAME") is None
