"""Insights events delivered to a trail's bucket: CloudTrail-Insight files, only for trails whose
InsightSelectors take them, exactly once across crashes, and digested like the other log files."""

from __future__ import annotations

import re
from typing import Any

from opentrail.delivery import DeliveryWorker
from opentrail.delivery.logfile import log_file_key, stream, stream_parts
from opentrail.insights.model import CALL_RATE, ERROR_RATE, MANAGEMENT, Anomaly, SeriesKey
from opentrail.insights.records import end_record, start_record
from opentrail.trails.model import InsightSelector

from .conftest import ACCOUNT, AWS_KEY, BUCKET, OTHER_ACCOUNT, Env, record
from .test_worker import FlakyStorage

INSIGHT_KEY = re.compile(
    r"(?:(?P<prefix>.+)/)?AWSLogs/(?P<account>\d{12})/CloudTrail-Insight/(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d{2})/"
    r"(?P<d>\d{2})/(?P=account)_CloudTrail-Insight_(?P=region)_(?P=y)(?P=m)(?P=d)T(?P<hm>\d{4})Z_(?P<unique>[A-Za-z0-9]{16})"
    r"\.json\.gz"
)
MINUTE = 1_699_999_000 // 60


def insight(insight_type: str = CALL_RATE, region: str = "us-east-1", account: str = ACCOUNT, n: int = 0,
            end: bool = False) -> dict[str, Any]:
    key = SeriesKey(account, region, MANAGEMENT, "ec2.amazonaws.com", "RunInstances", insight_type,
                    "AccessDenied" if insight_type == ERROR_RATE else "")
    anomaly = Anomaly(MINUTE + n, MINUTE + n + 2, 0.25, 10080, 30.0, 1, 20.0)
    return end_record(key, anomaly, []) if end else start_record(key, anomaly, [])


def _uniques() -> Any:
    counter = iter(range(1, 1000))
    return lambda: f"{next(counter):016d}"


def test_keys_and_streams() -> None:
    assert log_file_key("p", ACCOUNT, "eu-west-1", 1_700_000_000, "A" * 16, "CloudTrail-Insight") == (
        "p/AWSLogs/111122223333/CloudTrail-Insight/eu-west-1/2023/11/14/"
        "111122223333_CloudTrail-Insight_eu-west-1_20231114T2213Z_AAAAAAAAAAAAAAAA.json.gz")
    assert INSIGHT_KEY.fullmatch(log_file_key(None, ACCOUNT, "us-east-1", 0, "B" * 16, "CloudTrail-Insight"))
    assert (stream("us-east-1"), stream("us-east-1", True)) == ("us-east-1", "us-east-1/Insight")
    assert stream_parts("us-east-1/Insight") == ("us-east-1", "CloudTrail-Insight")
    assert stream_parts("us-east-1") == ("us-east-1", "CloudTrail")


def test_insights_go_to_their_own_files_of_the_trails_that_select_their_type(env: Env) -> None:
    env.trail("main")
    env.storage.create_bucket("errors-bucket")
    env.trail("errors", s3_bucket_name="errors-bucket")
    env.storage.create_bucket("none-bucket")
    env.trail("none", s3_bucket_name="none-bucket")
    env.trails.put_insight_selectors(ACCOUNT, "us-east-1", "main", (InsightSelector(CALL_RATE),))
    env.trails.put_insight_selectors(ACCOUNT, "us-east-1", "errors", (InsightSelector(ERROR_RATE),))
    w = env.worker(unique=_uniques())
    call_start, mgmt, errors_start, call_end = env.ingest(
        insight(), record(), insight(ERROR_RATE), insight(end=True))
    w.step()
    env.clock.now += 2
    w.step()
    folder = "AWSLogs/111122223333/{0}/us-east-1/2023/11/14/111122223333_{0}_us-east-1_20231114T2213Z_U.json.gz"
    # one file per stream (the unique part counts the plans of every trail)
    assert [re.sub(r"_\d{16}\.json", "_U.json", k) for k in env.files()] == [
        folder.format("CloudTrail-Insight"), folder.format("CloudTrail")]
    assert env.body(env.files()[0]) == b'{"Records":[' + call_start + b"," + call_end + b"]}"
    assert env.body(env.files()[1]) == b'{"Records":[' + mgmt + b"]}"
    errors_files = env.files("errors-bucket")
    assert [INSIGHT_KEY.fullmatch(k) is not None for k in errors_files] == [True, False]
    assert env.body(errors_files[0], "errors-bucket") == b'{"Records":[' + errors_start + b"]}"
    assert AWS_KEY.fullmatch(errors_files[1]) and env.body(errors_files[1], "errors-bucket") == b'{"Records":[' + mgmt + b"]}"
    none_files = env.files("none-bucket")
    assert len(none_files) == 1 and AWS_KEY.fullmatch(none_files[0])
    assert env.body(none_files[0], "none-bucket") == b'{"Records":[' + mgmt + b"]}"


def test_event_selectors_never_put_insights_into_cloudtrail_files(env: Env) -> None:
    from opentrail.trails.model import AdvancedEventSelector, AdvancedFieldSelector
    env.trail()
    selector = AdvancedEventSelector((AdvancedFieldSelector("eventCategory", equals=("Management",)),))
    env.trails.put_event_selectors(ACCOUNT, "us-east-1", "main", None, (selector,))
    w = env.worker()
    env.ingest(insight(), record())
    w.step()
    env.clock.now += 2
    w.step()
    assert [len(env.records(k)) for k in env.files()] == [1]
    assert all(AWS_KEY.fullmatch(k) for k in env.files())


def test_regions_and_accounts(env: Env) -> None:
    env.trail("home")  # single-Region, us-east-1
    env.storage.create_bucket("multi-bucket")
    env.trail("multi", s3_bucket_name="multi-bucket", is_multi_region_trail=True, s3_key_prefix="pre")
    for name in ("home", "multi"):
        env.trails.put_insight_selectors(ACCOUNT, "us-east-1", name, (InsightSelector(CALL_RATE), InsightSelector(ERROR_RATE)))
    w = env.worker()
    env.ingest(insight(region="eu-west-1"), insight(), insight(account=OTHER_ACCOUNT), insight(ERROR_RATE, n=1))
    w.step()
    env.clock.now += 2
    w.step()
    home = [(INSIGHT_KEY.fullmatch(k)["region"], [r["eventTime"] for r in env.records(k)]) for k in env.files()]  # type: ignore[index]
    assert home == [("us-east-1", ["2023-11-14T21:56:00Z", "2023-11-14T21:57:00Z"])]
    multi = sorted((INSIGHT_KEY.fullmatch(k)["prefix"], INSIGHT_KEY.fullmatch(k)["region"],  # type: ignore[index]
                    len(env.records(k, "multi-bucket"))) for k in env.files("multi-bucket"))
    assert multi == [("pre", "eu-west-1", 1), ("pre", "us-east-1", 2)]


def test_turning_insights_off_stops_delivery_of_later_ones(env: Env) -> None:
    env.trail()
    env.trails.put_insight_selectors(ACCOUNT, "us-east-1", "main", (InsightSelector(CALL_RATE),))
    w = env.worker()
    env.ingest(insight())
    w.step()
    env.clock.now += 2
    w.step()
    env.trails.put_insight_selectors(ACCOUNT, "us-east-1", "main", ())
    env.ingest(insight(n=5))
    env.clock.now += 2
    w.step()
    env.clock.now += 2
    w.step()
    assert [len(env.records(k)) for k in env.files()] == [1]


def test_crash_after_plan_reuploads_the_insight_file_with_the_same_key_and_bytes(env: Env) -> None:
    storage = FlakyStorage(env.storage.root)
    storage.down = True
    env.trail()
    env.trails.put_insight_selectors(ACCOUNT, "us-east-1", "main", (InsightSelector(CALL_RATE),))
    w = DeliveryWorker(env.store, env.trails, storage, env.state, clock=env.clock, interval_s=2.0)
    raw = env.ingest(insight(), record(), insight(end=True))
    w.step()
    env.clock.now += 2
    w.step()
    planned = env.state.pending_plans()
    assert [(p.region, p.count) for p in planned] == [("us-east-1/Insight", 2), ("us-east-1", 1)]
    del w  # kill -9
    env.restart()
    env.ingest(insight(n=9), record())
    w2 = env.worker()
    w2.step()
    assert sorted(env.files()) == sorted(p.key for p in planned)
    assert env.body(planned[0].key) == b'{"Records":[' + raw[0] + b"," + raw[2] + b"]}"
    env.clock.now += 2
    w2.step()
    ids = env.delivered_ids()
    assert len(ids) == 5 == len(set(ids))
    assert sorted(len(env.records(k)) for k in env.files() if INSIGHT_KEY.fullmatch(k)) == [1, 2]


def test_crash_with_open_batches_of_both_streams_reads_the_log_again(env: Env) -> None:
    env.trail()
    env.trails.put_insight_selectors(ACCOUNT, "us-east-1", "main", (InsightSelector(CALL_RATE),))
    w = env.worker()
    env.ingest(record(), insight())
    w.step()
    env.clock.now += 2
    w.step()  # both planned and uploaded
    env.ingest(insight(n=3), record(), insight(n=4))
    w.step()  # batched in memory only
    env.clock.now += 1.5
    w._checkpoint()  # cursors saved while batches are open must not skip them
    env.restart()
    w2 = env.worker()
    w2.step()
    env.clock.now += 2
    w2.step()
    ids = env.delivered_ids()
    assert len(ids) == 5 == len(set(ids))
    insight_files = [k for k in env.files() if INSIGHT_KEY.fullmatch(k)]
    assert sorted(len(env.records(k)) for k in insight_files) == [1, 2]
    assert sorted(len(env.records(k)) for k in env.files() if AWS_KEY.fullmatch(k)) == [1, 1]
