"""CloudWatch Logs through boto3 and the stock AWS CLI against a real server: log groups, streams,
PutLogEvents/GetLogEvents/FilterLogEvents, retention, tags, the CloudTrail record of the calls, and
durability across a restart. Exact values throughout; AWS's messages as AWS answers them (see
opentrail/monitoring/logs_errors.py for their sources)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from opentrail.server import RetentionPurger

from .conftest import ACCOUNT, REGION, LogsServer, start_logs_server

GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
DAY_MS = 86_400_000


def error_of(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def now_ms() -> int:
    return int(time.time() * 1000)


def put(srv: LogsServer, group: str, stream: str, events: list[tuple[int, str]]) -> dict[str, Any]:
    return srv.client().put_log_events(logGroupName=group, logStreamName=stream,
                                       logEvents=[{"timestamp": t, "message": m} for t, m in events])


def test_log_group_lifecycle_and_describe_shapes(srv: LogsServer) -> None:
    logs = srv.client()
    before = now_ms()
    logs.create_log_group(logGroupName="/app/web", tags={"team": "sec"})
    after = now_ms()
    logs.put_retention_policy(logGroupName="/app/web", retentionInDays=30)
    group = logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"][0]
    assert before <= group.pop("creationTime") <= after
    assert group == {"logGroupName": "/app/web", "retentionInDays": 30, "metricFilterCount": 0,
                     "arn": f"{GROUP_ARN}/app/web:*", "storedBytes": 0, "logGroupClass": "STANDARD",
                     "logGroupArn": f"{GROUP_ARN}/app/web", "deletionProtectionEnabled": False}
    # A substring search answers the short form (LocalStack's AWS-validated snapshot).
    short = logs.describe_log_groups(logGroupNamePattern="app/w")["logGroups"]
    assert [sorted(g) for g in short] == [["arn", "creationTime", "logGroupArn", "logGroupClass", "logGroupName",
                                           "metricFilterCount"]]
    logs.delete_retention_policy(logGroupName="/app/web")
    assert "retentionInDays" not in logs.describe_log_groups()["logGroups"][0]
    assert error_of(logs.create_log_group, logGroupName="/app/web") == (
        "ResourceAlreadyExistsException", "The specified log group already exists")
    logs.delete_log_group(logGroupName="/app/web")
    assert logs.describe_log_groups()["logGroups"] == []
    assert error_of(logs.delete_log_group, logGroupName="/app/web") == (
        "ResourceNotFoundException", "The specified log group does not exist.")


def test_log_group_names_limits_and_paging(srv: LogsServer) -> None:
    logs = srv.client()
    for name in ["bbb", "aaa", "ccc/1", "ccc/2", "CCC"]:
        logs.create_log_group(logGroupName=name)
    pages = list(logs.get_paginator("describe_log_groups").paginate(PaginationConfig={"PageSize": 2}))
    assert [[g["logGroupName"] for g in p["logGroups"]] for p in pages] == [["CCC", "aaa"], ["bbb", "ccc/1"], ["ccc/2"]]
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="ccc/")["logGroups"]] == [
        "ccc/1", "ccc/2"]
    assert error_of(logs.describe_log_groups, logGroupNamePrefix="c", logGroupNamePattern="c") == (
        "InvalidParameterException", "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
    assert error_of(logs.create_log_group, logGroupName="a" * 513) == (
        "InvalidParameterException", "Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
    assert error_of(logs.create_log_group, logGroupName="bad name") == (
        "InvalidParameterException", "1 validation error detected: Value 'bad name' at 'logGroupName' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+")
    listed = logs.list_log_groups(logGroupNamePattern="^ccc/|bbb")["logGroups"]
    assert listed == [{"logGroupName": n, "logGroupArn": GROUP_ARN + n, "logGroupClass": "STANDARD"}
                      for n in ["bbb", "ccc/1", "ccc/2"]]
    token = logs.describe_log_groups(limit=1)["nextToken"]
    assert error_of(logs.describe_log_groups, limit=1, nextToken=token[:-2] + "xx") == (
        "InvalidParameterException", "The specified nextToken is invalid.")


def test_log_streams(srv: LogsServer) -> None:
    logs = srv.client()
    logs.create_log_group(logGroupName="g")
    for name in ["s-b", "s-a", "other"]:
        logs.create_log_stream(logGroupName="g", logStreamName=name)
    assert error_of(logs.create_log_stream, logGroupName="g", logStreamName="s-a") == (
        "ResourceAlreadyExistsException", "The specified log stream already exists")
    assert error_of(logs.create_log_stream, logGroupName="missing", logStreamName="s") == (
        "ResourceNotFoundException", "The specified log group does not exist.")
    empty = logs.describe_log_streams(logGroupName="g", logStreamNamePrefix="s-a")["logStreams"][0]
    assert empty.pop("creationTime") > 0
    assert empty == {"logStreamName": "s-a", "arn": f"{GROUP_ARN}g:log-stream:s-a", "storedBytes": 0}
    t = now_ms()
    put(srv, "g", "s-b", [(t - 2000, "one")])
    put(srv, "g", "other", [(t - 1000, "two")])
    by_time = logs.describe_log_streams(logGroupIdentifier=f"{GROUP_ARN}g", orderBy="LastEventTime",
                                        descending=True)["logStreams"]
    assert [s["logStreamName"] for s in by_time] == ["other", "s-b", "s-a"]
    assert (by_time[0]["firstEventTimestamp"], by_time[0]["lastEventTimestamp"]) == (t - 1000, t - 1000)
    assert len(by_time[0]["uploadSequenceToken"]) == 56
    pages = list(logs.get_paginator("describe_log_streams").paginate(logGroupName="g",
                                                                     PaginationConfig={"PageSize": 2}))
    assert [[s["logStreamName"] for s in p["logStreams"]] for p in pages] == [["other", "s-a"], ["s-b"]]
    assert error_of(logs.describe_log_streams, logGroupName="g", orderBy="LastEventTime", logStreamNamePrefix="s") == (
        "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")
    assert error_of(logs.describe_log_streams, logGroupName="g", logGroupIdentifier="g") == (
        "ValidationException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    logs.delete_log_stream(logGroupName="g", logStreamName="s-b")
    assert error_of(logs.delete_log_stream, logGroupName="g", logStreamName="s-b") == (
        "ResourceNotFoundException", "The specified log stream does not exist.")
    assert logs.describe_log_groups()["logGroups"][0]["storedBytes"] == 3  # "two" is left


def test_put_log_events_limits_and_rejections(srv: LogsServer) -> None:
    logs = srv.client()
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    t = now_ms()
    assert error_of(put, srv=srv, group="g", stream="s", events=[(t, "b"), (t - 1, "a")]) == (
        "InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
    assert error_of(put, srv=srv, group="g", stream="s", events=[(t - 25 * 3600_000, "a"), (t, "b")]) == (
        "InvalidParameterException", "The batch of log events in a single PutLogEvents request cannot span more "
        "than 24 hours.")
    big = "x" * (1_048_576 - 26 - 9)
    assert error_of(put, srv=srv, group="g", stream="s", events=[(t, big), (t, "123456789")]) == (
        "InvalidParameterException", "Upload too large: 1048602 bytes exceeds limit of 1048576")
    assert error_of(put, srv=srv, group="g", stream="missing", events=[(t, "a")]) == (
        "ResourceNotFoundException", "The specified log stream does not exist.")
    assert error_of(put, srv=srv, group="missing", stream="s", events=[(t, "a")]) == (
        "ResourceNotFoundException", "The specified log group does not exist.")
    # 15 and 3 days old (retention 1 day), now, 3 hours ahead: one event is kept.
    logs.put_retention_policy(logGroupName="g", retentionInDays=1)
    answer = put(srv, "g", "s", [(t - 15 * DAY_MS, "old"), (t - 3 * DAY_MS, "expired"), (t, "kept"),
                                 (t + 3 * 3600_000, "new")])
    assert answer["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 3, "tooOldLogEventEndIndex": 1,
                                               "expiredLogEventEndIndex": 2}
    assert answer["nextSequenceToken"].endswith("1") and len(answer["nextSequenceToken"]) == 56
    events = logs.get_log_events(logGroupName="g", logStreamName="s")["events"]
    assert [(e["timestamp"], e["message"]) for e in events] == [(t, "kept")]
    # The sequence token is ignored, as AWS now ignores it.
    again = logs.put_log_events(logGroupName="g", logStreamName="s", sequenceToken="whatever",
                                logEvents=[{"timestamp": t + 1, "message": "more"}])
    assert "rejectedLogEventsInfo" not in again
    assert logs.describe_log_groups()["logGroups"][0]["storedBytes"] == len("kept") + len("more")


def test_get_log_events_directions_and_tokens(srv: LogsServer) -> None:
    logs = srv.client()
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    t = now_ms() - 60_000
    put(srv, "g", "s", [(t + i, f"m{i}") for i in range(7)])
    newest = logs.get_log_events(logGroupName="g", logStreamName="s", limit=3)
    assert [e["message"] for e in newest["events"]] == ["m4", "m5", "m6"]
    older = logs.get_log_events(logGroupName="g", logStreamName="s", limit=3, nextToken=newest["nextBackwardToken"])
    assert [e["message"] for e in older["events"]] == ["m1", "m2", "m3"]
    oldest = logs.get_log_events(logGroupName="g", logStreamName="s", limit=3, nextToken=older["nextBackwardToken"])
    assert [e["message"] for e in oldest["events"]] == ["m0"]
    start = oldest["nextBackwardToken"]
    at_start = logs.get_log_events(logGroupName="g", logStreamName="s", limit=3, nextToken=start)
    assert (at_start["events"], at_start["nextBackwardToken"]) == ([], start)
    head = logs.get_log_events(logGroupName="g", logStreamName="s", limit=4, startFromHead=True)
    assert [e["message"] for e in head["events"]] == ["m0", "m1", "m2", "m3"]
    assert head["events"][0] == {"timestamp": t, "message": "m0", "ingestionTime": head["events"][0]["ingestionTime"]}
    rest = logs.get_log_events(logGroupName="g", logStreamName="s", startFromHead=True, nextToken=head["nextForwardToken"])
    assert [e["message"] for e in rest["events"]] == ["m4", "m5", "m6"]
    end = rest["nextForwardToken"]
    at_end = logs.get_log_events(logGroupName="g", logStreamName="s", startFromHead=True, nextToken=end)
    assert (at_end["events"], at_end["nextForwardToken"]) == ([], end)
    put(srv, "g", "s", [(t + 10, "m10")])  # new events show up behind the end token
    assert [e["message"] for e in logs.get_log_events(logGroupName="g", logStreamName="s", startFromHead=True,
                                                      nextToken=end)["events"]] == ["m10"]
    window = logs.get_log_events(logGroupName="g", logStreamName="s", startTime=t + 2, endTime=t + 5,
                                 startFromHead=True)
    assert [e["message"] for e in window["events"]] == ["m2", "m3", "m4"]  # endTime is exclusive
    assert error_of(logs.get_log_events, logGroupName="g", logStreamName="s", nextToken="invalid-token") == (
        "InvalidParameterException", "The specified nextToken is invalid.")
    assert error_of(logs.get_log_events, logGroupName="g", logStreamName="s", limit=10001) == (
        "InvalidParameterException", "1 validation error detected: Value '10001' at 'limit' failed to satisfy "
        "constraint: Member must have value less than or equal to 10000")
    assert error_of(logs.get_log_events, logGroupName="g", logStreamName="nope") == (
        "ResourceNotFoundException", "The specified log stream does not exist.")


def test_filter_log_events(srv: LogsServer) -> None:
    logs = srv.client()
    logs.create_log_group(logGroupName="trail")
    for stream in ("a-1", "a-2", "b-1"):
        logs.create_log_stream(logGroupName="trail", logStreamName=stream)
    t = now_ms() - 60_000
    put(srv, "trail", "a-1", [(t, '{"eventName": "ConsoleLogin", "n": 1}'), (t + 3, "ERROR disk")])
    put(srv, "trail", "a-2", [(t + 1, '{"eventName": "CreateTrail", "n": 2}')])
    put(srv, "trail", "b-1", [(t + 2, '{"eventName": "ConsoleLogin", "n": 3}')])
    found = logs.filter_log_events(logGroupName="trail", filterPattern='{ $.eventName = "ConsoleLogin" }')
    assert [(e["logStreamName"], e["timestamp"]) for e in found["events"]] == [("a-1", t), ("b-1", t + 2)]
    first = found["events"][0]
    assert first == {"logStreamName": "a-1", "timestamp": t, "message": '{"eventName": "ConsoleLogin", "n": 1}',
                     "ingestionTime": first["ingestionTime"], "eventId": first["eventId"]}
    assert len(first["eventId"]) == 56 and found["searchedLogStreams"] == [] and "nextToken" not in found
    assert [e["message"] for e in logs.filter_log_events(logGroupName="trail", filterPattern="ERROR")["events"]] == [
        "ERROR disk"]
    by_prefix = logs.filter_log_events(logGroupName="trail", logStreamNamePrefix="a-", filterPattern="{ $.n > 0 }")
    assert [e["timestamp"] for e in by_prefix["events"]] == [t, t + 1]
    by_names = logs.filter_log_events(logGroupIdentifier=f"{GROUP_ARN}trail", logStreamNames=["b-1", "missing"])
    assert [e["timestamp"] for e in by_names["events"]] == [t + 2]
    window = logs.filter_log_events(logGroupName="trail", startTime=t + 1, endTime=t + 2)
    assert [e["timestamp"] for e in window["events"]] == [t + 1, t + 2]  # both ends inclusive
    newest_first = logs.filter_log_events(logGroupName="trail", startTime=t, startFromHead=False)
    assert [e["timestamp"] for e in newest_first["events"]] == [t + 3, t + 2, t + 1, t]
    # Pages of 1 through the paginator, then a token used with other parameters.
    pages = list(logs.get_paginator("filter_log_events").paginate(logGroupName="trail",
                                                                  PaginationConfig={"PageSize": 1}))
    assert [e["timestamp"] for p in pages for e in p["events"]] == [t, t + 1, t + 2, t + 3]
    token = logs.filter_log_events(logGroupName="trail", limit=1)["nextToken"]
    assert error_of(logs.filter_log_events, logGroupName="trail", limit=1, filterPattern="ERROR", nextToken=token) == (
        "InvalidParameterException", "The specified nextToken is invalid.")
    assert error_of(logs.filter_log_events, logGroupName="trail", filterPattern="{ $.n == 1 }") == (
        "InvalidParameterException", "Invalid filter pattern")
    assert error_of(logs.filter_log_events, logGroupName="trail", logStreamNames=["a-1"], logStreamNamePrefix="a") == (
        "InvalidParameterException", "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
    assert error_of(logs.filter_log_events, logGroupName="missing") == (
        "ResourceNotFoundException", "The specified log group does not exist.")


def test_filter_log_events_pages_stop_at_the_scan_budget(srv: LogsServer) -> None:
    logs = srv.client()
    logs.create_log_group(logGroupName="g")
    t = now_ms() - 60_000
    srv.logs.append_events(ACCOUNT, REGION, "g", "s", [(t + i, "DEBUG" if i != 7 else "ERROR") for i in range(10)])
    srv.logs.reads.scan_budget = 4
    try:
        pages = list(logs.get_paginator("filter_log_events").paginate(logGroupName="g", filterPattern="ERROR"))
    finally:
        srv.logs.reads.scan_budget = 500_000
    # 10 events read 4 at a time: an empty page, then the match, then the rest; AWS pages may be empty too.
    assert [[e["timestamp"] for e in p["events"]] for p in pages] == [[], [t + 7], []]


def test_retention_purges_on_the_moved_clock(srv: LogsServer) -> None:
    logs = srv.client()
    logs.create_log_group(logGroupName="g")
    t = now_ms()
    srv.logs.append_events(ACCOUNT, REGION, "g", "s", [(t - 2 * DAY_MS, "old"), (t, "new")])
    logs.put_retention_policy(logGroupName="g", retentionInDays=3)
    assert srv.logs.purge_expired() == 0
    srv.clock.offset = 2 * 86400  # the old event is now 4 days old, the new one 2
    purger = RetentionPurger(srv.store, 0, logs=srv.logs)  # the server's hourly pass
    assert purger.purge_log_events(srv.clock()) == 1
    srv.clock.offset = 0
    assert [e["message"] for e in logs.filter_log_events(logGroupName="g")["events"]] == ["new"]
    assert logs.describe_log_groups()["logGroups"][0]["storedBytes"] == 3
    assert error_of(logs.put_retention_policy, logGroupName="g", retentionInDays=2) == (
        "InvalidParameterException", "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy "
        "constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, "
        "731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]")


def test_tags_by_name_and_by_arn(srv: LogsServer) -> None:
    logs = srv.client()
    logs.create_log_group(logGroupName="g", tags={"env": "testing1"})
    arn = f"{GROUP_ARN}g"
    logs.tag_resource(resourceArn=arn, tags={"test1": "val1", "test2": "val2"})
    logs.tag_log_group(logGroupName="g", tags={"test3": "val3"})
    expected = {"env": "testing1", "test1": "val1", "test2": "val2", "test3": "val3"}
    assert logs.list_tags_log_group(logGroupName="g")["tags"] == expected
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == expected
    logs.untag_log_group(logGroupName="g", tags=["test3"])
    logs.untag_resource(resourceArn=arn, tagKeys=["env", "test1"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"test2": "val2"}
    logs.tag_resource(resourceArn=arn, tags={"clé de voûte 2": "été"})  # \\p{L}, \\p{Z}, \\p{N} in the model
    assert error_of(logs.tag_resource, resourceArn=arn, tags={"a*b": "v"})[0] == "InvalidParameterException"
    logs.untag_resource(resourceArn=arn, tagKeys=["clé de voûte 2"])
    assert error_of(logs.tag_resource, resourceArn=arn, tags={f"k{i}": "v" for i in range(50)}) == (
        "TooManyTagsException", "A resource can have no more than 50 tags.")
    assert error_of(logs.list_tags_for_resource, resourceArn=f"{GROUP_ARN}missing") == (
        "ResourceNotFoundException", "The specified log group does not exist.")
    assert error_of(logs.list_tags_for_resource, resourceArn=f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:g") == (
        "ResourceNotFoundException", "The specified log group does not exist.")


def test_calls_are_recorded_as_cloudtrail_writes_them(srv: LogsServer) -> None:
    logs = srv.client()
    logs.create_log_group(logGroupName="recorded")
    logs.create_log_stream(logGroupName="recorded", logStreamName="s")
    put(srv, "recorded", "s", [(now_ms(), "hello")])
    logs.filter_log_events(logGroupName="recorded")
    lookup = srv.client("cloudtrail").lookup_events
    created = lookup(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateLogGroup"}])["Events"]
    record = json.loads(created[0]["CloudTrailEvent"])
    assert (record["eventSource"], record["eventName"], record["requestParameters"], record["readOnly"],
            record["awsRegion"], record["recipientAccountId"]) == (
        "logs.amazonaws.com", "CreateLogGroup", {"logGroupName": "recorded"}, False, REGION, ACCOUNT)
    for unrecorded in ("PutLogEvents", "FilterLogEvents"):
        assert lookup(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": unrecorded}])["Events"] == []
    described = lookup(LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "logs.amazonaws.com"}])
    assert {e["EventName"] for e in described["Events"]} >= {"CreateLogGroup", "CreateLogStream"}


def aws(srv: LogsServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "awscli", "logs", *args, "--output", "json"], env=srv.cli_env(),
                          capture_output=True, text=True, timeout=60)


def test_stock_aws_cli(srv: LogsServer) -> None:
    assert aws(srv, "create-log-group", "--log-group-name", "cli").returncode == 0
    assert aws(srv, "create-log-stream", "--log-group-name", "cli", "--log-stream-name", "s").returncode == 0
    t = now_ms()
    events = json.dumps([{"timestamp": t, "message": '{"user": "root", "ms": 12}'},
                         {"timestamp": t + 1, "message": '{"user": "bob", "ms": 40}'}])
    done = aws(srv, "put-log-events", "--log-group-name", "cli", "--log-stream-name", "s", "--log-events", events)
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)) == ["nextSequenceToken"]
    done = aws(srv, "filter-log-events", "--log-group-name", "cli", "--filter-pattern", "{ $.ms > 20 }")
    found = json.loads(done.stdout)
    assert [(e["timestamp"], e["message"]) for e in found["events"]] == [(t + 1, '{"user": "bob", "ms": 40}')]
    done = aws(srv, "describe-log-groups", "--query", "logGroups[].[logGroupName, arn, storedBytes]")
    assert json.loads(done.stdout) == [["cli", f"{GROUP_ARN}cli:*", 26 + 25]]  # the messages' bytes
    done = aws(srv, "put-metric-filter", "--log-group-name", "cli", "--filter-name", "root-use", "--filter-pattern",
               '{ $.user = "root" }', "--metric-transformations",
               "metricName=RootUse,metricNamespace=CIS,metricValue=1")
    assert done.returncode == 0, done.stderr
    done = aws(srv, "test-metric-filter", "--filter-pattern", "ERROR", "--log-event-messages", "ERROR one", "two")
    assert json.loads(done.stdout) == {"matches": [{"eventNumber": 1, "eventMessage": "ERROR one",
                                                    "extractedValues": {}}]}
    done = aws(srv, "create-log-group", "--log-group-name", "cli")
    assert done.returncode == 255  # AWS CLI v1's exit code for a service error
    assert done.stderr.strip() == ("An error occurred (ResourceAlreadyExistsException) when calling the "
                                   "CreateLogGroup operation: The specified log group already exists")


def test_everything_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    t = now_ms()
    first = start_logs_server(data)
    srv = next(first)
    logs = srv.client()
    logs.create_log_group(logGroupName="durable", tags={"k": "v"})
    logs.put_retention_policy(logGroupName="durable", retentionInDays=7)
    logs.create_log_stream(logGroupName="durable", logStreamName="s")
    put(srv, "durable", "s", [(t, "one"), (t + 1, "two")])
    logs.put_metric_filter(logGroupName="durable", filterName="f", filterPattern="two",
                           metricTransformations=[{"metricName": "M", "metricNamespace": "N", "metricValue": "1"}])
    before = (logs.describe_log_groups()["logGroups"], logs.describe_log_streams(logGroupName="durable")["logStreams"],
              logs.describe_metric_filters()["metricFilters"])
    for _ in first:
        pass
    second = start_logs_server(data)
    srv = next(second)
    try:
        logs = srv.client()
        after = (logs.describe_log_groups()["logGroups"], logs.describe_log_streams(logGroupName="durable")["logStreams"],
                 logs.describe_metric_filters()["metricFilters"])
        assert after == before
        got = logs.get_log_events(logGroupName="durable", logStreamName="s", startFromHead=True)["events"]
        assert [(e["timestamp"], e["message"]) for e in got] == [(t, "one"), (t + 1, "two")]
        assert logs.list_tags_log_group(logGroupName="durable")["tags"] == {"k": "v"}
        put(srv, "durable", "s", [(t + 2, "two again")])  # the metric filter still runs after the restart
        assert [(p[2], p[3], p[6]) for p in srv.points] == [("N", "M", 1.0)]
    finally:
        for _ in second:
            pass
