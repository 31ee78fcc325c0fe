"""The console's pure parts: the history query, the activity counts and chart, the trail form,
signed cookie values."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from opentrail.console import activity
from opentrail.console.history import FilterError, HistoryQuery, parse_query
from opentrail.console.sessions import SessionStore
from opentrail.console.trail_forms import TrailFormError, trail_requests

NOW = 1_700_000_000  # 2023-11-14T22:13:20Z


def query(url: str, now: float = NOW) -> HistoryQuery:
    params = parse_qs(urlsplit(url).query, keep_blank_values=True)
    return parse_query({k: v[-1] for k, v in params.items()}, lambda k: params.get(k, []), now)


def test_relative_and_custom_ranges() -> None:
    q = query("/e?range=1w&attr=Username&value=alice")
    assert (q.start, q.end) == (NOW - 7 * 86400, NOW)
    assert q.lookup_params() == {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "alice"}],
                                 "StartTime": NOW - 7 * 86400, "EndTime": NOW, "MaxResults": 50}
    q = query("/e?range=custom&start=2023-11-14T10:00&end=2023-11-14T11:30")
    assert (q.start, q.end) == (1699956000, 1699961459)  # the end minute is included
    q = query("/e?range=1h&t0=5&t1=10")  # a resolved range wins over "now"
    assert (q.start, q.end) == (5, 10)
    assert query("/e?attr=EventName&value=").lookup_params() == {"MaxResults": 50}
    for bad in ("/e?attr=Nope&value=x", "/e?range=2d", "/e?range=custom&start=tomorrow", "/e?t0=abc"):
        with pytest.raises(FilterError):
            query(bad)


def test_paging_links_round_trip() -> None:
    q = query("/e?range=1h&n=10&attr=EventName&value=X")
    page2 = query(q.next_url("/e", ["event_id"], "tok2"))
    assert (page2.token, page2.back, page2.start, page2.page_size, page2.page_number) == ("tok2", ("",), q.start, 10, 2)
    page3 = query(page2.next_url("/e", [], "tok3"))
    assert (page3.token, page3.back) == ("tok3", ("", "tok2"))
    back = query(page3.previous_url("/e", []) or "")
    assert (back.token, back.back) == ("tok2", ("",))
    first = query(back.previous_url("/e", []) or "")
    assert (first.token, first.back, first.start, first.end) == (None, (), q.start, q.end)
    assert first.previous_url("/e", []) is None


def pages_of(times: list[int], size: int = 50) -> Any:
    """A LookupEvents stand-in over ``times`` (newest first); records which calls were recorded."""
    calls: list[tuple[dict[str, Any], bool]] = []

    def lookup(params: dict[str, Any], record: bool) -> dict[str, Any]:
        calls.append((params, record))
        start = int(params.get("NextToken") or 0)
        chunk = [{"EventTime": t} for t in times[start:start + size]]
        out: dict[str, Any] = {"Events": chunk}
        if start + size < len(times):
            out["NextToken"] = str(start + size)
        return out

    return lookup, calls


def test_counts_per_hour_and_the_cap() -> None:
    end = 10 * 3600 - 1
    q = activity.window(HistoryQuery(start=0, end=end), NOW)
    assert (q.start, q.end) == (0, end)
    times = sorted([9 * 3600 + 5] * 120 + [5 * 3600] * 3 + [0], reverse=True)
    lookup, calls = pages_of(times)
    counts, complete, counted_from = activity.count_per_hour(q, lookup)
    assert (counts, complete, counted_from) == ({9 * 3600: 120, 5 * 3600: 3, 0: 1}, True, 0)
    assert [record for _, record in calls] == [True, False, False]
    assert all(p["StartTime"] == 0 and p["EndTime"] == end for p, _ in calls)

    lookup, _ = pages_of(times)
    counts, complete, counted_from = activity.count_per_hour(q, lookup, max_events=100)
    assert (counts, complete, counted_from) == ({9 * 3600: 100}, False, 9 * 3600 + 5)
    chart = activity.chart(q, counts, complete, counted_from)
    assert [(b.hour, b.count, b.counted) for b in chart.bars] == [
        (h * 3600, 100 if h == 9 else 0, h == 9) for h in range(10)]
    assert chart.y_ticks[-1][0] == 100 and chart.total == 100


def test_chart_window_is_at_most_a_week() -> None:
    q = activity.window(HistoryQuery(), NOW)
    assert (q.start, q.end) == (NOW - 7 * 86400 + 1, NOW)
    q = activity.window(HistoryQuery(start=0, end=NOW - 100), NOW)
    assert (q.start, q.end) == (NOW - 100 - 7 * 86400 + 1, NOW - 100)
    assert len(activity.chart(q, {}, True, q.start).bars) in (168, 169)


def test_trail_form_to_requests() -> None:
    basic = trail_requests({"name": " t1 ", "bucket": "b", "management": "All", "global_events": "on"})
    assert basic.create == {"Name": "t1", "S3BucketName": "b", "IsMultiRegionTrail": False,
                            "EnableLogFileValidation": False, "IncludeGlobalServiceEvents": True}
    assert (basic.selectors, basic.start_logging) == (None, False)
    none = trail_requests({"name": "t1", "bucket": "b", "management": "None", "s3_data": "arn:aws:s3:::b/\n\n"})
    assert none.selectors == {"TrailName": "t1", "EventSelectors": [{
        "ReadWriteType": "All", "IncludeManagementEvents": False,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::b/"]}]}]}
    advanced = trail_requests({"name": "t1", "bucket": "b", "advanced_selectors": '[{"FieldSelectors": []}]'})
    assert advanced.selectors == {"TrailName": "t1", "AdvancedEventSelectors": [{"FieldSelectors": []}]}
    for bad in ('{"a": 1}', "[", "nope"):
        with pytest.raises(TrailFormError):
            trail_requests({"name": "t1", "bucket": "b", "advanced_selectors": bad})


def test_signed_values() -> None:
    store = SessionStore(lambda: NOW)
    signed = store.sign("abc")
    assert store.unsign(signed) == "abc"
    assert store.unsign(signed[:-1] + ("A" if signed[-1] != "A" else "B")) is None
    assert store.unsign("abc") is None and store.unsign(None) is None
    assert SessionStore(lambda: NOW).unsign(signed) is None  # another process's secret


def test_page_tokens_use_the_servers_token_key(tmp_path: Any) -> None:
    """The console signs LookupEvents NextTokens with the server's key, so a page link made before
    a restart still works after it, and a link from another server does not."""
    from opentrail.api.errors import AwsError
    from opentrail.api.recording import CallInfo
    from opentrail.auth.accounts import AccountStore
    from opentrail.console.backend import ConsoleBackend
    from opentrail.ingest import ingest_records
    from opentrail.settings import Settings
    from opentrail.store.memory import MemoryEventStore

    store = MemoryEventStore()
    records = [{"eventVersion": "1.08", "eventID": f"00000000-0000-0000-0000-00000000000{i}",
                "eventTime": f"2023-11-14T22:0{i}:00Z", "eventSource": "s3.amazonaws.com",
                "eventName": "ListBuckets", "awsRegion": "us-east-1", "recipientAccountId": "123456789012",
                "eventType": "AwsApiCall", "readOnly": True, "managementEvent": True,
                "eventCategory": "Management", "userIdentity": {"type": "Root"}} for i in range(3)]
    ingest_records(store, records)
    accounts = AccountStore(tmp_path / "accounts.db")
    info = CallInfo("127.0.0.1", "test", None)

    def backend(key: bytes) -> tuple[ConsoleBackend, Any]:
        sessions = SessionStore(lambda: NOW)
        session = sessions.create(account_id="123456789012", access_key_id="AKIAEXAMPLEEXAMPLE00",
                                  user_name=None, is_admin=True, region="us-east-1")
        return ConsoleBackend(Settings(), store, accounts, lambda: NOW, None, sessions, key), session

    before, s1 = backend(b"k" * 32)
    first = before.call(s1, info, "LookupEvents", {"MaxResults": 1}, record=False)
    assert [e["EventId"] for e in first["Events"]] == ["00000000-0000-0000-0000-000000000002"]
    after, s2 = backend(b"k" * 32)  # a restarted server: same key, new sessions
    second = after.call(s2, info, "LookupEvents", {"MaxResults": 1, "NextToken": first["NextToken"]}, record=False)
    assert [e["EventId"] for e in second["Events"]] == ["00000000-0000-0000-0000-000000000001"]
    other, s3 = backend(b"x" * 32)
    with pytest.raises(AwsError) as err:
        other.call(s3, info, "LookupEvents", {"MaxResults": 1, "NextToken": first["NextToken"]}, record=False)
    assert err.value.code == "InvalidNextTokenException"


def test_data_directory_footer_text() -> None:
    from opentrail.console.trail_pages import data_directory_text
    from opentrail.store.space import DataDirectoryStatus

    assert data_directory_text(DataDirectoryStatus(5 * 1024**3 + 200 * 1024**2, False, "/srv")) == (
        "Data directory: 5.2 GiB free on /srv.")
    assert data_directory_text(DataDirectoryStatus(1000, False, "/")) == "Data directory: 1000 bytes free on /."
    assert data_directory_text(DataDirectoryStatus(3 * 1024**2, True, "/srv")) == (
        "Data directory full: 3.0 MiB free on /srv. Free space there: new events are refused until then.")
