"""The CloudTrail Insights API operations through boto3 against a real server: ListInsightsMetricData
(over an in-memory :class:`opentrail.insights.model.InsightMetrics`), ListInsightsData (Insights
records appended to the event store), Put/GetInsightSelectors on trails and event data stores."""

from __future__ import annotations

from typing import Any, Iterator

import orjson
import pytest
from botocore.exceptions import ClientError

from opentrail.events.record import read_record
from opentrail.insights.model import CALL_RATE, ERROR_RATE
from opentrail.lake.service import EventDataStoreService

from .insights_server import (ACCOUNT, BUCKET, DAY, HOUR, NOW, REGION, InsightsServer, at, insight_record,
                              start_insights_server)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InsightsServer]:
    yield from start_insights_server(tmp_path_factory)


def error(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def points(answer: dict[str, Any]) -> list[tuple[int, float]]:
    return [(int(t.timestamp()), v) for t, v in zip(answer["Timestamps"], answer["Values"])]


CREATE_USER = {"EventSource": "iam.amazonaws.com", "EventName": "CreateUser", "InsightType": CALL_RATE}


# --- ListInsightsMetricData ------------------------------------------------------------------


def test_default_answer_is_hourly_sums_of_the_last_90_days(srv: InsightsServer) -> None:
    answer = srv.client().list_insights_metric_data(**CREATE_USER)
    answer.pop("ResponseMetadata")
    day16 = ((NOW - 16 * DAY) // 60 * 60) // 3600 * 3600
    assert answer == {"EventSource": "iam.amazonaws.com", "EventName": "CreateUser", "InsightType": CALL_RATE,
                      "Timestamps": [at(day16), at(HOUR - 7200), at(HOUR - 3600), at(HOUR)],
                      "Values": [9.0, 7.0, 2.0, 1.0]}


def test_minute_periods_keep_15_days_and_align_timestamps(srv: InsightsServer) -> None:
    answer = srv.client().list_insights_metric_data(**CREATE_USER, Period=60)
    assert points(answer) == [(HOUR - 7200 + 300, 3.0), (HOUR - 7200 + 360, 4.0), (HOUR - 60, 2.0), (HOUR, 1.0)]
    # 300 s data is kept 63 days: the calls of 16 days ago are there.
    five = srv.client().list_insights_metric_data(**CREATE_USER, Period=300, StartTime=at(NOW - 30 * DAY))
    day16 = (NOW - 16 * DAY) // 300 * 300
    assert points(five) == [(day16, 9.0), (HOUR - 7200 + 300, 7.0), (HOUR - 300, 2.0), (HOUR, 1.0)]


def test_fill_with_zeros_answers_every_period_start_inclusive_end_exclusive(srv: InsightsServer) -> None:
    answer = srv.client().list_insights_metric_data(**CREATE_USER, Period=300, DataType="FillWithZeros",
                                                    StartTime=at(HOUR - 7200), EndTime=at(HOUR - 6000))
    assert points(answer) == [(HOUR - 7200, 0.0), (HOUR - 6900, 7.0), (HOUR - 6600, 0.0), (HOUR - 6300, 0.0)]
    # A StartTime inside a period starts at the next period; EndTime inside a period counts up to it.
    part = srv.client().list_insights_metric_data(**CREATE_USER, Period=3600, DataType="FillWithZeros",
                                                  StartTime=at(HOUR - 7199), EndTime=at(HOUR - 3600 + 1))
    assert points(part) == [(HOUR - 3600, 0.0)]
    last = srv.client().list_insights_metric_data(**CREATE_USER, Period=3600, StartTime=at(HOUR - 7200),
                                                  EndTime=at(HOUR - 7200 + 5 * 60 + 1))
    assert points(last) == [(HOUR - 7200, 3.0)]


def test_pages_follow_next_token(srv: InsightsServer) -> None:
    client = srv.client()
    first = client.list_insights_metric_data(**CREATE_USER, Period=60, MaxResults=3)
    assert points(first) == [(HOUR - 7200 + 300, 3.0), (HOUR - 7200 + 360, 4.0), (HOUR - 60, 2.0)]
    assert len(first["NextToken"]) == 55
    second = client.list_insights_metric_data(**CREATE_USER, Period=60, MaxResults=3, NextToken=first["NextToken"])
    assert points(second) == [(HOUR, 1.0)] and "NextToken" not in second
    zeros = client.list_insights_metric_data(**CREATE_USER, Period=60, MaxResults=2, DataType="FillWithZeros",
                                             StartTime=at(HOUR - 7200 + 240), EndTime=at(HOUR - 7200 + 420))
    assert points(zeros) == [(HOUR - 7200 + 240, 0.0), (HOUR - 7200 + 300, 3.0)]
    rest = client.list_insights_metric_data(**CREATE_USER, Period=60, MaxResults=2, DataType="FillWithZeros",
                                            StartTime=at(HOUR - 7200 + 240), EndTime=at(HOUR - 7200 + 420),
                                            NextToken=zeros["NextToken"])
    assert points(rest) == [(HOUR - 7200 + 360, 4.0)] and "NextToken" not in rest
    # A token is bound to its parameters.
    assert error(client.list_insights_metric_data, **CREATE_USER, Period=300, NextToken=first["NextToken"]) == (
        "InvalidParameterException", "The NextToken is not valid for this request.")


def test_error_rate_series_need_an_error_code(srv: InsightsServer) -> None:
    client = srv.client()
    params = {**CREATE_USER, "InsightType": ERROR_RATE}
    assert error(client.list_insights_metric_data, **params) == (
        "InvalidParameterException", "ErrorCode is required when InsightType is ApiErrorRateInsight.")
    answer = client.list_insights_metric_data(**params, ErrorCode="AccessDenied", Period=60)
    assert (answer["ErrorCode"], points(answer)) == ("AccessDenied", [(HOUR - 3600 + 600, 5.0)])
    other = client.list_insights_metric_data(**params, ErrorCode="NoSuchEntity")
    assert points(other) == [(HOUR - 3600, 8.0)]


def test_trail_name_selects_the_data_event_series(srv: InsightsServer) -> None:
    client = srv.client()
    client.create_trail(Name="data-trail", S3BucketName=BUCKET)
    params = {"EventSource": "s3.amazonaws.com", "EventName": "PutObject", "InsightType": CALL_RATE}
    data = client.list_insights_metric_data(**params, TrailName="data-trail")
    assert data["TrailARN"] == f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/data-trail"
    assert points(data) == [(HOUR - 3600, 40.0)]
    management = client.list_insights_metric_data(**params)
    assert "TrailARN" not in management and points(management) == [(HOUR - 3600, 6.0)]
    assert error(client.list_insights_metric_data, **params, TrailName="missing-trail") == (
        "InvalidTrailNameException",
        f"Unknown trail: arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/missing-trail for the user: {ACCOUNT}")


def test_bad_periods_times_and_members(srv: InsightsServer) -> None:
    client = srv.client()
    assert error(client.list_insights_metric_data, **CREATE_USER, Period=120) == (
        "InvalidParameterException", "Period must be 60, 300 or 3600 seconds; 120 was specified.")
    assert error(client.list_insights_metric_data, **CREATE_USER, StartTime=at(HOUR), EndTime=at(HOUR - 60)) == (
        "InvalidParameterException", "StartTime must be before EndTime.")
    assert error(client.list_insights_metric_data, **{**CREATE_USER, "EventSource": "iam"}) == (
        "ValidationException", "1 validation error detected: Value 'iam' at 'eventSource' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: ^[a-z0-9_-]+\\.amazonaws\\.com$")
    empty = client.list_insights_metric_data(**{**CREATE_USER, "EventName": "DeleteUser"})
    assert (empty["Timestamps"], empty["Values"]) == ([], [])


# --- ListInsightsData ------------------------------------------------------------------------


def test_list_insights_data_answers_insights_events_newest_first(srv: InsightsServer) -> None:
    client = srv.client()
    arn = client.create_trail(Name="insights-trail", S3BucketName=BUCKET)["TrailARN"]
    records = [insight_record("11111111-1111-4111-8111-111111111111", NOW - 600, "PutObject", "s3.amazonaws.com", "Start"),
               insight_record("22222222-2222-4222-8222-222222222222", NOW - 300, "PutObject", "s3.amazonaws.com", "End"),
               insight_record("33333333-3333-4333-8333-333333333333", NOW - 200, "CreateUser", "iam.amazonaws.com", "Start")]
    srv.store.append([read_record(r) for r in records])
    base = {"InsightSource": arn, "DataType": "InsightsEvents"}
    every = client.list_insights_data(**base)
    assert [e["EventId"] for e in every["Events"]] == [r["eventID"] for r in reversed(records)]
    assert "NextToken" not in every
    first = every["Events"][2]
    assert (first["EventName"], first["EventSource"], first["EventTime"]) == ("PutObject", "s3.amazonaws.com", at(NOW - 600))
    assert orjson.loads(first["CloudTrailEvent"]) == records[0]
    s3 = client.list_insights_data(**base, Dimensions={"EventSource": "s3.amazonaws.com"}, MaxResults=1)
    assert [e["EventId"] for e in s3["Events"]] == [records[1]["eventID"]]
    more = client.list_insights_data(**base, Dimensions={"EventSource": "s3.amazonaws.com"}, MaxResults=1,
                                     NextToken=s3["NextToken"])
    assert [e["EventId"] for e in more["Events"]] == [records[0]["eventID"]]
    timed = client.list_insights_data(**base, StartTime=at(NOW - 600), EndTime=at(NOW - 300))
    assert [e["EventId"] for e in timed["Events"]] == [records[1]["eventID"], records[0]["eventID"]]
    by_id = client.list_insights_data(**base, Dimensions={"EventId": records[2]["eventID"]})
    assert [e["EventName"] for e in by_id["Events"]] == ["CreateUser"]


def test_list_insights_data_errors(srv: InsightsServer) -> None:
    client = srv.client()
    missing = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/nope"
    assert error(client.list_insights_data, InsightSource=missing, DataType="InsightsEvents") == (
        "InvalidParameterException", f"InsightSource {missing} is not a trail of account {ACCOUNT}.")
    assert error(client.list_insights_data, InsightSource="not-a-trail", DataType="InsightsEvents") == (
        "InvalidParameterException", "InsightSource not-a-trail is not a trail ARN.")
    client.create_trail(Name="errors-trail", S3BucketName=BUCKET)
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/errors-trail"
    assert error(client.list_insights_data, InsightSource=arn, DataType="InsightsEvents", StartTime=at(NOW),
                 EndTime=at(NOW - 1)) == ("InvalidParameterException", "StartTime must be before EndTime.")
    assert error(client.list_insights_data, InsightSource=arn, DataType="InsightsEvents",
                 NextToken="AAAAAAAAAAAAAAAAAAAA") == ("InvalidParameterException", "The NextToken is not valid for this request.")
    code, message = error(client.list_insights_data, InsightSource=arn, DataType="InsightsEvents",
                          Dimensions={"Username": "alice"})
    assert (code, message) == ("ValidationException", "1 validation error detected: Value 'Username' at "
                               "'dimensions.Username.member' failed to satisfy constraint: Member must satisfy "
                               "enum value set: [EventId, EventName, EventSource]")


# --- Put/GetInsightSelectors -----------------------------------------------------------------


def test_trail_insights_need_the_events_they_watch(srv: InsightsServer) -> None:
    client = srv.client()
    client.create_trail(Name="read-only", S3BucketName=BUCKET)
    client.put_event_selectors(TrailName="read-only", EventSelectors=[{"ReadWriteType": "ReadOnly"}])
    assert error(client.put_insight_selectors, TrailName="read-only",
                 InsightSelectors=[{"InsightType": CALL_RATE}]) == (
        "InvalidInsightSelectorsException",
        "To log ApiCallRateInsight Insights events on management events, the trail must log write management events.")
    assert error(client.put_insight_selectors, TrailName="read-only",
                 InsightSelectors=[{"InsightType": ERROR_RATE, "EventCategories": ["Data"]}]) == (
        "InvalidInsightSelectorsException",
        "To log ApiErrorRateInsight Insights events on data events, the trail must log read or write data events.")
    answer = client.put_insight_selectors(TrailName="read-only", InsightSelectors=[{"InsightType": ERROR_RATE}])
    assert answer["InsightSelectors"] == [{"InsightType": ERROR_RATE}]
    client.put_event_selectors(TrailName="read-only", AdvancedEventSelectors=[{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}, {
        "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                           {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}])
    both = [{"InsightType": CALL_RATE, "EventCategories": ["Management", "Data"]}]
    assert client.put_insight_selectors(TrailName="read-only", InsightSelectors=both)["InsightSelectors"] == both


def _create_store(client: Any, name: str, category: str) -> str:
    selectors = [{"FieldSelectors": [{"Field": "eventCategory", "Equals": [category]}]}]
    return str(client.create_event_data_store(Name=name, AdvancedEventSelectors=selectors)["EventDataStoreArn"])


def test_event_data_store_insights_round_trip(srv: InsightsServer) -> None:
    client = srv.client()
    source = _create_store(client, "source", "Management")
    destination = _create_store(client, "insights", "Insight")
    selectors = [{"InsightType": CALL_RATE}, {"InsightType": ERROR_RATE, "EventCategories": ["Management"]}]
    put = client.put_insight_selectors(EventDataStore=source, InsightsDestination=destination.rsplit("/", 1)[1],
                                       InsightSelectors=selectors)
    put.pop("ResponseMetadata")
    assert put == {"EventDataStoreArn": source, "InsightsDestination": destination, "InsightSelectors": selectors}
    got = client.get_insight_selectors(EventDataStore=source.rsplit("/", 1)[1])
    got.pop("ResponseMetadata")
    assert got == put
    # Persisted in lake.db: a new service over the same folder reads them back.
    reread = EventDataStoreService(srv.data_dir, srv.clock)
    try:
        eds = reread.find(ACCOUNT, REGION, source)
        assert (eds.insights_destination, [s.insight_type for s in eds.insight_selectors]) == (
            destination, [CALL_RATE, ERROR_RATE])
    finally:
        reread.close()
    # Selectors that stop logging write management events are refused while Insights are on.
    assert error(client.update_event_data_store, EventDataStore=source, AdvancedEventSelectors=[{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["true"]}]}]) == (
        "InvalidInsightSelectorsException",
        "To log ApiCallRateInsight Insights events on management events, the event data store must log write "
        "management events.")
    off = client.put_insight_selectors(EventDataStore=source, InsightSelectors=[])
    off.pop("ResponseMetadata")
    assert off == {"EventDataStoreArn": source, "InsightSelectors": []}
    assert error(client.get_insight_selectors, EventDataStore=source) == (
        "InsightNotEnabledException", f"Event data store {source} does not have Insights enabled. Edit the event "
        "data store settings to enable Insights, and then try the operation again.")


def test_event_data_store_insights_errors(srv: InsightsServer) -> None:
    client = srv.client()
    source = _create_store(client, "src-errors", "Management")
    plain = _create_store(client, "not-insights", "Management")
    insights = _create_store(client, "dst-errors", "Insight")
    call = client.put_insight_selectors
    one = [{"InsightType": CALL_RATE}]
    assert error(call, TrailName="t1", EventDataStore=source, InsightSelectors=one) == (
        "InvalidParameterCombinationException",
        "You cannot specify TrailName together with EventDataStore or InsightsDestination.")
    assert error(call, InsightsDestination=insights, InsightSelectors=one) == (
        "InvalidParameterCombinationException", "You must specify EventDataStore together with InsightsDestination.")
    assert error(call, InsightSelectors=one) == (
        "InvalidParameterCombinationException", "You must specify either TrailName or EventDataStore.")
    assert error(call, EventDataStore=source, InsightSelectors=one) == (
        "InvalidParameterCombinationException",
        "To enable Insights on an event data store, you must specify both EventDataStore and InsightsDestination.")
    assert error(call, EventDataStore=source, InsightsDestination=plain, InsightSelectors=one) == (
        "InvalidInsightSelectorsException",
        f"The destination event data store {plain} must log Insights events; it logs Management events.")
    assert error(call, EventDataStore=insights, InsightsDestination=insights, InsightSelectors=one) == (
        "InvalidInsightSelectorsException",
        f"The source event data store {insights} must log management events; it logs Insight events.")
    assert error(call, EventDataStore=source, InsightsDestination=insights,
                 InsightSelectors=[{"InsightType": CALL_RATE, "EventCategories": ["Data"]}]) == (
        "InvalidInsightSelectorsException",
        "Insights on data events are not supported on event data stores. You can enable Insights on management "
        "events only.")
    missing = "0233062b-51c6-4d18-8dec-a8c90da840d9"
    assert error(call, EventDataStore=source, InsightsDestination=missing, InsightSelectors=one) == (
        "InvalidParameterException", f"The Insights destination {missing} was not found.")
    other = f"arn:aws:cloudtrail:{REGION}:444455556666:eventdatastore/{missing}"
    assert error(call, EventDataStore=other, InsightsDestination=insights, InsightSelectors=one) == (
        "InvalidParameterException",
        f"The event data store {other} is not the ARN or ID of an event data store of account {ACCOUNT}.")
    assert error(client.get_insight_selectors, TrailName="t1", EventDataStore=source) == (
        "InvalidParameterCombinationException",
        "You cannot specify TrailName together with EventDataStore or InsightsDestination.")


@pytest.mark.parametrize("times", [
    {"StartTime": 1e300, "EndTime": 1e301, "DataType": "FillWithZeros"},
    {"EndTime": 1e30},
    {"StartTime": -1e30, "Period": 3600},
])
def test_times_far_outside_event_times_answer_without_error(srv: InsightsServer, times: dict[str, Any]) -> None:
    from tests.api.conftest import signed_request

    body = orjson.dumps({**CREATE_USER, **times})
    answer = signed_request(srv.url, body, key=srv.key, headers={
        "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListInsightsMetricData"})
    assert answer.status_code == 200, answer.text
    got = orjson.loads(answer.content)
    assert got["EventName"] == "CreateUser"
    if times.get("StartTime", 0) > 1e20:  # after the last possible event time: nothing counted
        assert got["Values"] == [] or set(got["Values"]) == {0.0}
    else:
        assert got["Values"] == [9.0, 7.0, 2.0, 1.0]
