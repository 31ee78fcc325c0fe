"""Lake dashboards through boto3 against a real server over a store of real records: create with
widgets, refresh, widget results through DescribeQuery (QueryAlias + RefreshId) and
GetQueryResults, the built-in managed dashboard, StartQuery with QueryAlias + QueryParameters,
refresh schedules on the injected clock (once per scheduled time, across a restart), tags, every
error opentrail answers (Code and Message) and the calls' records."""

from __future__ import annotations

import collections
import datetime
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from botocore.exceptions import ClientError

from opentrail.lake.dashboard_service import DashboardService
from opentrail.lake.managed_dashboard import NAME as MANAGED

from .conftest import ACCOUNT, REGION
from .dashboard_server import END, START, DashboardServer, dashboard_server

TOP_SOURCES = ("SELECT eventSource, count(*) AS eventCount FROM {eds} WHERE eventTime >= '?' AND eventTime < '?' "
               "GROUP BY eventSource ORDER BY eventCount DESC, eventSource LIMIT 5")
PER_PERIOD = ("SELECT date_trunc('?', eventTime) AS eventPeriod, count(*) AS eventCount FROM {eds} "
              "WHERE eventTime >= '?' AND eventTime < '?' GROUP BY 1 ORDER BY 1")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    with dashboard_server(tmp_path_factory.mktemp("dash")) as srv:
        yield srv


@pytest.fixture
def srv(server: DashboardServer) -> Iterator[DashboardServer]:
    yield server
    for d in server.dashboards.list(ACCOUNT, REGION, type_="CUSTOM"):
        if d.termination_protection_enabled:
            server.dashboards.update(ACCOUNT, REGION, d.name, termination_protection=False)
        server.dashboards.delete(ACCOUNT, REGION, d.name)


def error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def widgets(srv: DashboardServer) -> list[dict[str, Any]]:
    return [
        {"QueryStatement": TOP_SOURCES.format(eds=srv.eds_id), "QueryParameters": ["$StartTime$", "$EndTime$"],
         "ViewProperties": {"Title": "TopSources", "View": "BarChart", "XAxisColumn": "eventSource",
                            "YAxisColumn": "eventCount"}},
        {"QueryStatement": PER_PERIOD.format(eds=srv.eds_id),
         "QueryParameters": ["$Period$", "$StartTime$", "$EndTime$"],
         "ViewProperties": {"Title": "Volume", "View": "LineChart"}},
    ]


def results(c: Any, srv: DashboardServer, alias: str, refresh_id: str) -> tuple[dict[str, Any], list[list[str]]]:
    described = c.describe_query(QueryAlias=alias, RefreshId=refresh_id)
    srv.wait(described["QueryId"])
    got = c.get_query_results(QueryId=described["QueryId"])
    rows = [[list(cell.values())[0] for cell in row] for row in got["QueryResultRows"]]
    names = [list(cell)[0] for cell in got["QueryResultRows"][0]] if got["QueryResultRows"] else []
    return {"status": got["QueryStatus"], "names": names, "query": c.describe_query(QueryId=described["QueryId"])}, rows


def expected_sources(srv: DashboardServer, limit: int = 5) -> list[list[str]]:
    counts = collections.Counter(r["eventSource"] for r in srv.records)
    return [[s, str(n)] for s, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def test_create_get_list_refresh_and_results(srv: DashboardServer) -> None:
    c = srv.client()
    created = c.create_dashboard(Name="ops-1", Widgets=widgets(srv), TagsList=[{"Key": "team", "Value": "sec"}],
                                 RefreshSchedule={"Frequency": {"Unit": "HOURS", "Value": 6}, "Status": "ENABLED",
                                                  "TimeOfDay": "01:30"})
    created.pop("ResponseMetadata")
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:dashboard/ops-1"
    assert created == {
        "DashboardArn": arn, "Name": "ops-1", "Type": "CUSTOM", "TerminationProtectionEnabled": False,
        "Widgets": [{"QueryAlias": "dashboard.ops-1.1", **widgets(srv)[0]},
                    {"QueryAlias": "dashboard.ops-1.2", **widgets(srv)[1]}],
        "TagsList": [{"Key": "team", "Value": "sec"}],
        "RefreshSchedule": {"Frequency": {"Unit": "HOURS", "Value": 6}, "Status": "ENABLED", "TimeOfDay": "01:30"},
    }
    got = c.get_dashboard(DashboardId="ops-1")
    assert got["Status"] == "CREATED" and got["Type"] == "CUSTOM" and "LastRefreshId" not in got
    assert abs(got["CreatedTimestamp"].timestamp() - srv.clock.now) < 0.001
    assert got["UpdatedTimestamp"] == got["CreatedTimestamp"]
    assert c.get_dashboard(DashboardId=arn)["DashboardArn"] == arn
    listed = c.list_dashboards()["Dashboards"]
    assert listed == [{"DashboardArn": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:dashboard/{MANAGED}", "Type": "MANAGED"},
                      {"DashboardArn": arn, "Type": "CUSTOM"}]  # by name
    assert c.list_dashboards(Type="CUSTOM", NamePrefix="ops")["Dashboards"] == [{"DashboardArn": arn, "Type": "CUSTOM"}]
    assert c.list_dashboards(NamePrefix="zzz")["Dashboards"] == []
    page = c.list_dashboards(MaxResults=1)
    assert page["Dashboards"] == listed[:1]
    assert c.list_dashboards(MaxResults=1, NextToken=page["NextToken"])["Dashboards"] == listed[1:]

    refresh_id = c.start_dashboard_refresh(DashboardId="ops-1", QueryParameterValues={
        "$StartTime$": START, "$EndTime$": END, "$Period$": "minute"})["RefreshId"]
    assert re.fullmatch(r"\d{13}", refresh_id)
    meta, rows = results(c, srv, "dashboard.ops-1.1", refresh_id)
    assert meta["status"] == "FINISHED" and meta["names"] == ["eventSource", "eventCount"]
    assert rows == expected_sources(srv)
    assert "eventTime >= '2023-07-10 11:00:00' AND eventTime < '2023-07-10 13:00:00'" in meta["query"]["QueryString"]
    meta, rows = results(c, srv, "dashboard.ops-1.2", refresh_id)
    minutes = collections.Counter(r["eventTime"][:16] for r in srv.records)
    assert rows == [[k.replace("T", " ") + ":00.000", str(v)] for k, v in sorted(minutes.items())]
    got = c.get_dashboard(DashboardId="ops-1")
    assert got["LastRefreshId"] == refresh_id and "LastRefreshFailureReason" not in got


def test_default_range_is_the_last_24_hours(srv: DashboardServer) -> None:
    c = srv.client()
    c.create_dashboard(Name="recent", Widgets=widgets(srv)[:1])
    refresh_id = c.start_dashboard_refresh(DashboardId="recent")["RefreshId"]
    meta, rows = results(c, srv, "dashboard.recent.1", refresh_id)
    end = datetime.datetime.fromtimestamp(int(srv.clock.now), datetime.timezone.utc)
    start = end - datetime.timedelta(days=1)
    assert f"eventTime >= '{start:%Y-%m-%d %H:%M:%S}' AND eventTime < '{end:%Y-%m-%d %H:%M:%S}'" in \
        meta["query"]["QueryString"]
    assert rows == []  # the records are from 2023


def test_managed_dashboard(srv: DashboardServer) -> None:
    c = srv.client()
    got = c.get_dashboard(DashboardId=MANAGED)
    assert got["Type"] == "MANAGED" and got["TerminationProtectionEnabled"] is True
    titles = [w["ViewProperties"]["Title"] for w in got["Widgets"]]
    assert titles == ["Events over time", "Top callers", "Failed calls by error code", "Console sign-ins",
                      "Access denied", "Top event sources"]
    assert error(c.start_dashboard_refresh, DashboardId=MANAGED) == (
        "ValidationException", "The $EventDataStoreId$ query parameter is required to refresh a managed dashboard.")
    refresh_id = c.start_dashboard_refresh(DashboardId=MANAGED, QueryParameterValues={
        "$EventDataStoreId$": srv.eds_id, "$StartTime$": START, "$EndTime$": END})["RefreshId"]
    statuses = {}
    for n in range(1, 7):
        meta, rows = results(c, srv, f"dashboard.{MANAGED}.{n}", refresh_id)
        statuses[n] = meta["status"]
        if n == 6:
            assert rows == [[s, n] for s, n in expected_sources(srv, 10)]
        if n == 3:
            errors = collections.Counter(r["errorCode"] for r in srv.records if r.get("errorCode"))
            assert rows[:2] == [["ThrottlingException", str(errors["ThrottlingException"])],
                                ["Client.UnauthorizedOperation", str(errors["Client.UnauthorizedOperation"])]]
        if n == 4:
            logins = [r for r in srv.records if r["eventName"] == "ConsoleLogin"]
            assert len(rows) == len(logins) == 2
        if n == 1:
            assert meta["names"] == ["eventPeriod", "eventCount"]
            assert sum(int(r[1]) for r in rows) == len(srv.records)
    assert set(statuses.values()) == {"FINISHED"}
    assert error(c.update_dashboard, DashboardId=MANAGED, TerminationProtectionEnabled=False)[0] == \
        "UnsupportedOperationException"
    assert error(c.delete_dashboard, DashboardId=MANAGED)[0] == "UnsupportedOperationException"


def test_update_and_delete(srv: DashboardServer) -> None:
    c = srv.client()
    c.create_dashboard(Name="upd", Widgets=widgets(srv), TerminationProtectionEnabled=True)
    assert error(c.delete_dashboard, DashboardId="upd") == (
        "ConflictException", f"Dashboard arn:aws:cloudtrail:{REGION}:{ACCOUNT}:dashboard/upd has termination "
        "protection enabled. Disable termination protection (UpdateDashboard TerminationProtectionEnabled false) "
        "before you delete it.")
    updated = c.update_dashboard(DashboardId="upd", Widgets=widgets(srv)[1:], TerminationProtectionEnabled=False,
                                 RefreshSchedule={"Frequency": {"Unit": "DAYS", "Value": 1}, "Status": "ENABLED"})
    assert [w["QueryAlias"] for w in updated["Widgets"]] == ["dashboard.upd.1"]
    assert updated["RefreshSchedule"] == {"Frequency": {"Unit": "DAYS", "Value": 1}, "Status": "ENABLED",
                                          "TimeOfDay": "00:00"}
    assert c.get_dashboard(DashboardId="upd")["Status"] == "UPDATED"
    c.delete_dashboard(DashboardId="upd")
    assert error(c.get_dashboard, DashboardId="upd") == (
        "ResourceNotFoundException", "Resource not found: dashboard upd does not exist.")


def test_errors(srv: DashboardServer) -> None:
    c = srv.client()
    w = widgets(srv)
    c.create_dashboard(Name="dup", Widgets=w[:1])
    assert error(c.create_dashboard, Name="dup") == (
        "ConflictException", "A dashboard named dup already exists in this Region.")
    assert error(c.create_dashboard, Name="many", Widgets=w[:1] * 11) == (
        "ServiceQuotaExceededException", "A dashboard can have at most 10 widgets; 11 were specified.")
    assert error(srv.client(validate=False).create_dashboard, Name="x") == (
        "ValidationException", "1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: Member "
        "must have length greater than or equal to 3")
    bad = dict(w[0], QueryParameters=["$StartTime$"])
    assert error(c.create_dashboard, Name="bad", Widgets=[bad]) == (
        "InvalidQueryStatementException", "The query statement of widget 1 has 2 query parameter placeholders ('?') "
        "but 1 QueryParameters were specified.")
    bad = dict(w[0], QueryParameters=["$StartTime$", "$Nope$"])
    assert error(c.create_dashboard, Name="bad", Widgets=[bad]) == (
        "ValidationException", "Query parameter $Nope$ of widget 1 is not valid. Valid query parameters: "
        "$StartTime$, $EndTime$, $Period$.")
    other = dict(w[0], QueryStatement=w[0]["QueryStatement"].replace(srv.eds_id, "00000000-0000-4000-8000-000000000000"))
    assert error(c.create_dashboard, Name="bad", Widgets=[other]) == (
        "EventDataStoreNotFoundException", "The event data store was not found.")
    broken = dict(w[0], QueryStatement=w[0]["QueryStatement"].replace("eventSource,", "nosuchcolumn,", 1))
    code, message = error(c.create_dashboard, Name="bad", Widgets=[broken])
    assert code == "InvalidQueryStatementException" and "nosuchcolumn" in message
    assert error(c.create_dashboard, Name="bad", RefreshSchedule={"Frequency": {"Unit": "HOURS", "Value": 5},
                                                                 "Status": "ENABLED"}) == (
        "ValidationException", "RefreshSchedule Frequency Value 5 is not valid for Unit HOURS. Valid values: 1, 6, 12, 24.")
    assert error(c.create_dashboard, Name="bad", RefreshSchedule={"Status": "ENABLED"}) == (
        "ValidationException", "An ENABLED RefreshSchedule needs a Frequency.")
    assert error(c.create_dashboard, Name="bad", RefreshSchedule={"Frequency": {"Unit": "DAYS", "Value": 1},
                                                                 "Status": "ENABLED", "TimeOfDay": "25:00"}) == (
        "ValidationException", "RefreshSchedule TimeOfDay 25:00 is not valid: use HH:MM (UTC).")
    assert error(c.create_dashboard, Name="bad", TagsList=[{"Key": "aws:x", "Value": "y"}])[0] == \
        "InvalidTagParameterException"
    assert error(c.start_dashboard_refresh, DashboardId="nope") == (
        "ResourceNotFoundException", "Resource not found: dashboard nope does not exist.")
    assert error(c.start_dashboard_refresh, DashboardId="dup", QueryParameterValues={"$StartTime$": "yesterday"}) == (
        "ValidationException", "The value yesterday of query parameter $StartTime$ is not a time: use ISO 8601 "
        "(2024-05-01T10:00:00Z) or epoch seconds.")
    assert error(c.start_dashboard_refresh, DashboardId="dup", QueryParameterValues={
        "$StartTime$": END, "$EndTime$": START}) == ("ValidationException", "$StartTime$ must not be after $EndTime$.")
    assert error(c.describe_query, QueryAlias="dashboard.dup.1", RefreshId="1234567890") == (
        "QueryIdNotFoundException", "The query ID does not exist or does not map to a query.")
    assert error(c.get_dashboard, DashboardId=f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:dashboard/dup")[0] == \
        "ResourceNotFoundException"
    assert error(c.delete_dashboard, DashboardId="nope")[0] == "ResourceNotFoundException"


def test_start_query_with_alias_and_parameters(srv: DashboardServer) -> None:
    c = srv.client()
    c.create_dashboard(Name="alias", Widgets=widgets(srv)[:1])
    query_id = c.start_query(QueryAlias="dashboard.alias.1",
                             QueryParameters=["2023-07-10 00:00:00", "2023-07-11 00:00:00"])["QueryId"]
    srv.wait(query_id)
    rows = [[list(x.values())[0] for x in r] for r in c.get_query_results(QueryId=query_id)["QueryResultRows"]]
    assert rows == expected_sources(srv)
    assert error(c.start_query, QueryAlias="dashboard.alias.1", QueryParameters=["2023-07-10 00:00:00"]) == (
        "InvalidQueryStatementException", "The query has 2 query parameter placeholders but 1 QueryParameters were "
        "specified.")
    assert error(c.start_query, QueryAlias="dashboard.nope.1", QueryParameters=["x"]) == (
        "InvalidParameterException", "The query alias dashboard.nope.1 does not name a dashboard widget.")
    assert error(c.start_query, QueryStatement="SELECT 1", QueryAlias="dashboard.alias.1")[0] == \
        "InvalidParameterException"


def test_tags_on_dashboard_arns(srv: DashboardServer) -> None:
    c = srv.client()
    arn = c.create_dashboard(Name="tagged", TagsList=[{"Key": "a", "Value": "1"}])["DashboardArn"]
    c.add_tags(ResourceId=arn, TagsList=[{"Key": "b", "Value": "2"}])
    assert c.list_tags(ResourceIdList=[arn])["ResourceTagList"] == [
        {"ResourceId": arn, "TagsList": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}]
    c.remove_tags(ResourceId=arn, TagsList=[{"Key": "a"}])
    assert c.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"] == [{"Key": "b", "Value": "2"}]
    gone = arn.replace("tagged", "gone")
    assert error(c.add_tags, ResourceId=gone, TagsList=[{"Key": "b", "Value": "2"}]) == (
        "ResourceNotFoundException", f"Resource {gone} does not exist.")


def test_scheduled_refresh_runs_once_per_time_across_restarts(srv: DashboardServer) -> None:
    c = srv.client()
    c.create_dashboard(Name="sched", Widgets=widgets(srv)[:1],
                       RefreshSchedule={"Frequency": {"Unit": "HOURS", "Value": 1}, "Status": "ENABLED",
                                        "TimeOfDay": "07:15"})
    set_at = srv.dashboards.find(ACCOUNT, REGION, "sched").schedule_set_time
    hour = 3600
    first = (int(set_at - 900) // hour + 1) * hour + 900  # the first :15 after the schedule was set
    assert srv.dashboards.run_due(first - 1) == []
    started = srv.dashboards.run_due(first + 10)
    assert len(started) == 1
    assert srv.dashboards.run_due(first + 20) == []  # that time is refreshed already
    srv.wait(c.describe_query(QueryAlias="dashboard.sched.1", RefreshId=started[0])["QueryId"])
    query = c.describe_query(QueryAlias="dashboard.sched.1", RefreshId=started[0])
    end = datetime.datetime.fromtimestamp(first, datetime.timezone.utc)
    assert f"eventTime < '{end:%Y-%m-%d %H:%M:%S}'" in query["QueryString"]
    # a restart (a second service over the same lake.db) does not refresh that time again; three
    # missed hours are one refresh
    again = DashboardService(srv.data_dir, srv.clock, srv.queries)
    try:
        assert again.run_due(first + 30) == []
        later = again.run_due(first + 3 * hour + 5)
        assert len(later) == 1
        assert again.run_due(first + 3 * hour + 6) == []
    finally:
        again.close()
    c.update_dashboard(DashboardId="sched", RefreshSchedule={"Frequency": {"Unit": "HOURS", "Value": 1},
                                                             "Status": "DISABLED"})
    assert srv.dashboards.run_due(first + 10 * hour) == []


def test_calls_are_recorded(srv: DashboardServer) -> None:
    c = srv.client()
    c.create_dashboard(Name="rec", Widgets=widgets(srv)[:1])
    c.start_dashboard_refresh(DashboardId="rec", QueryParameterValues={"$StartTime$": START, "$EndTime$": END})
    srv.store.flush()
    events = c.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateDashboard"}])
    record = json.loads(events["Events"][0]["CloudTrailEvent"])
    assert record["eventSource"] == "cloudtrail.amazonaws.com" and record["readOnly"] is False
    assert record["requestParameters"]["name"] == "rec"
    assert record["responseElements"]["dashboardArn"] == f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:dashboard/rec"
    refresh = c.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                 "AttributeValue": "StartDashboardRefresh"}])["Events"][0]
    assert json.loads(refresh["CloudTrailEvent"])["requestParameters"] == {
        "dashboardId": "rec", "queryParameterValues": {"$StartTime$": START, "$EndTime$": END}}


def test_generate_query_is_unsupported(srv: DashboardServer) -> None:
    c = srv.client()
    assert error(c.generate_query, EventDataStores=[srv.eds_id], Prompt="top errors last week") == (
        "UnsupportedOperationException", "GenerateQuery is not supported by this opentrail server: it has no query "
        "generator (AWS generates queries with a hosted large language model). Search the sample queries with "
        "SearchSampleQueries instead.")
    assert error(c.generate_query, EventDataStores=["00000000-0000-4000-8000-000000000000"], Prompt="abc") == (
        "EventDataStoreNotFoundException", "The event data store was not found.")


def test_search_sample_queries(srv: DashboardServer, tmp_path: Path) -> None:
    c = srv.client()
    got = c.search_sample_queries(SearchPhrase="failed console logins", MaxResults=2)
    assert [(r["Name"], r["Relevance"]) for r in got["SearchResults"]] == [
        ("Failed console sign-ins", 1.0), ("Console sign-ins", 0.7353)]
    assert got["SearchResults"][0]["SQL"].startswith("SELECT userIdentity.arn AS callerArn, sourceIPAddress")
    assert "FROM <event_data_store_id> WHERE eventName = 'ConsoleLogin'" in got["SearchResults"][0]["SQL"]
    assert got["SearchResults"][0]["Description"] == "Console sign-in (login) attempts that failed, by user and source IP."
    more = c.search_sample_queries(SearchPhrase="failed console logins", MaxResults=2, NextToken=got["NextToken"])
    assert [r["Name"] for r in more["SearchResults"]] == ["Console sign-ins without MFA", "Failed API calls by error code"]
    assert c.search_sample_queries(SearchPhrase="xyzzy")["SearchResults"] == []
    assert error(srv.client(validate=False).search_sample_queries, SearchPhrase="x") == (
        "ValidationException", "1 validation error detected: Value 'x' at 'searchPhrase' failed to satisfy constraint: "
        "Member must have length greater than or equal to 2")
    assert error(c.search_sample_queries, SearchPhrase="  ") == (
        "InvalidParameterException", "SearchPhrase must contain at least one word.")
    assert error(c.search_sample_queries, SearchPhrase="abc", NextToken="nope") == (
        "InvalidParameterException", "The NextToken is not valid.")


def test_a_claimed_refresh_is_started_at_the_next_start(srv: DashboardServer) -> None:
    from opentrail.lake.dashboard_repository import Refresh

    c = srv.client()
    c.create_dashboard(Name="resumed", Widgets=widgets(srv)[:1])
    values = {"$StartTime$": "2023-07-10 00:00:00", "$EndTime$": "2023-07-11 00:00:00", "$Period$": "hour"}
    # what a process stopped between claiming a scheduled time and starting its queries leaves
    assert srv.dashboards._repo.claim_refresh(Refresh("1111111111111", ACCOUNT, REGION, "resumed", srv.clock.now,
                                                      12345.0, "STARTING", {}, values))
    assert error(c.start_dashboard_refresh, DashboardId="resumed") == (
        "ServiceQuotaExceededException", "Dashboard resumed is being refreshed already: one refresh at a time per "
        "dashboard. Try again when the current refresh ends.")
    assert srv.dashboards.resume() == ["1111111111111"]
    assert srv.dashboards.resume() == []
    meta, rows = results(c, srv, "dashboard.resumed.1", "1111111111111")
    assert rows == expected_sources(srv)
    assert c.get_dashboard(DashboardId="resumed")["LastRefreshId"] == "1111111111111"
