"""CloudWatchLogsWorker: which events go where, when, and exactly once (memory event store, the
CloudWatch Logs service, a hand-moved clock; no sleeps)."""

from __future__ import annotations

import dataclasses
import logging

import orjson
import pytest

from opentrail.delivery.cloudwatch_logs import MAX_EVENT_BYTES
from opentrail.events.record import read_record
from opentrail.store.base import NewEvent
from opentrail.trails import AdvancedEventSelector, AdvancedFieldSelector, EventSelector, TrailSettings
from tests.delivery.conftest import ACCOUNT, OTHER_ACCOUNT, record

from .conftest import GROUP, REGION, ROLE, CwlEnv, group_arn

STREAM = f"{ACCOUNT}_CloudTrail_{REGION}"


def ids(*records: dict[str, object]) -> list[str]:
    return [str(r["eventID"]) for r in records]


def test_selected_events_become_log_events_of_the_region_stream_stamped_with_the_delivery_time(cwl: CwlEnv) -> None:
    arn = cwl.trail()
    w = cwl.worker()
    taken = [record(), record(name="DescribeInstances", readOnly=True), record(source="iam.amazonaws.com", name="CreateUser")]
    raws = cwl.ingest(taken[0], record(account=OTHER_ACCOUNT), record(region="eu-west-1"), taken[1],
                      record(source="s3.amazonaws.com", name="GetObject", eventCategory="Data", managementEvent=False),
                      taken[2])
    assert w.step() == 6
    assert cwl.messages() == []  # batched: the oldest event has not waited --delivery-interval-s yet
    cwl.clock.now += 2.0
    w.step()
    at = int(cwl.clock.now * 1000)
    assert cwl.messages() == [(STREAM, at, raws[0].decode()), (STREAM, at, raws[3].decode()), (STREAM, at, raws[5].decode())]
    assert cwl.event_ids() == ids(*taken)
    status = cwl.trails.get_trail(ACCOUNT, REGION, arn).status
    assert (status.latest_cloudwatch_logs_delivery_time, status.latest_cloudwatch_logs_delivery_error) == (cwl.clock.now, None)
    assert (w.pending_batches(), w.open_events()) == (0, 0)


def test_a_multi_region_trail_sends_every_region_to_its_one_group_one_stream_per_region(cwl: CwlEnv) -> None:
    cwl.trail(is_multi_region_trail=True)
    east, west, sydney = record(), record(region="eu-west-1"), record(region="ap-southeast-2")
    cwl.ingest(east, west, sydney, record(account=OTHER_ACCOUNT, region="eu-west-1"))
    w = cwl.worker(interval_s=0.0)
    w.step()
    got = {(stream, orjson.loads(m)["eventID"]) for stream, _, m in cwl.messages()}
    assert got == {(STREAM, east["eventID"]), (f"{ACCOUNT}_CloudTrail_eu-west-1", west["eventID"]),
                   (f"{ACCOUNT}_CloudTrail_ap-southeast-2", sydney["eventID"])}


def test_events_go_only_while_logging_and_to_the_group_in_force_when_they_were_appended(cwl: CwlEnv) -> None:
    cwl.logs.create_log_group(ACCOUNT, REGION, "second")
    cwl.trail(start=False)
    before = record()
    cwl.ingest(before)
    cwl.trails.start_logging(ACCOUNT, REGION, "main")
    first = record()
    cwl.ingest(first)
    cwl.trails.update_trail(ACCOUNT, REGION, "main", TrailSettings(cloud_watch_logs_log_group_arn=group_arn("second"),
                                                                   cloud_watch_logs_role_arn=ROLE))
    second = record()
    cwl.ingest(second)
    cwl.trails.update_trail(ACCOUNT, REGION, "main", TrailSettings(cloud_watch_logs_log_group_arn="",
                                                                   cloud_watch_logs_role_arn=""))
    none = record()
    cwl.ingest(none)
    cwl.trails.update_trail(ACCOUNT, REGION, "main", TrailSettings(cloud_watch_logs_log_group_arn=group_arn(),
                                                                   cloud_watch_logs_role_arn=ROLE))
    again = record()
    cwl.ingest(again)
    cwl.trails.stop_logging(ACCOUNT, REGION, "main")
    cwl.ingest(record())
    w = cwl.worker(interval_s=0.0)  # started after all of it: the marks' order decides, not the worker's timing
    w.step()
    assert cwl.event_ids() == ids(first, again)
    assert cwl.event_ids("second") == ids(second)


def test_the_worker_follows_changes_made_while_it_runs(cwl: CwlEnv) -> None:
    w = cwl.worker(interval_s=0.0)
    cwl.ingest(record())
    w.step()
    cwl.trail()
    a = record()
    cwl.ingest(a)
    w.step()
    cwl.trails.stop_logging(ACCOUNT, REGION, "main")
    cwl.ingest(record())
    w.step()
    cwl.trails.start_logging(ACCOUNT, REGION, "main")
    b = record()
    cwl.ingest(b)
    w.step()
    assert cwl.event_ids() == ids(a, b)


def test_event_selectors_and_global_service_events_decide_as_for_trail_delivery(cwl: CwlEnv) -> None:
    cwl.trail(include_global_service_events=False)
    cwl.trails.put_event_selectors(ACCOUNT, REGION, "main", (EventSelector(
        read_write_type="WriteOnly", exclude_management_event_sources=("kms.amazonaws.com",)),), None)
    write = record(readOnly=False)
    cwl.ingest(write, record(name="DescribeInstances", readOnly=True), record(source="kms.amazonaws.com", name="CreateKey"),
               record(source="iam.amazonaws.com", name="CreateUser"))
    cwl.trail("advanced", group="CloudTrail/main")
    cwl.trails.put_event_selectors(ACCOUNT, REGION, "advanced", None, (AdvancedEventSelector((
        AdvancedFieldSelector("eventCategory", equals=("Data",)),
        AdvancedFieldSelector("resources.type", equals=("AWS::S3::Object",)),
        AdvancedFieldSelector("eventName", starts_with=("Get",)))),))

    def data(name: str) -> dict[str, object]:
        return record(source="s3.amazonaws.com", name=name, eventCategory="Data", managementEvent=False,
                      resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"}])

    get = data("GetObject")
    cwl.ingest(get, data("PutObject"), record(name="DescribeVpcs", readOnly=True))
    w = cwl.worker(interval_s=0.0)
    w.step()
    assert sorted(cwl.event_ids()) == sorted(ids(write, get))


def sized(n: int) -> tuple[dict[str, object], NewEvent]:
    """A record whose stored JSON is exactly ``n`` bytes, as the store would hold it. Ingest refuses
    records over 256 KB (RecordRejected TooLarge), so a larger one is put into the store directly,
    as an older version or another producer might have."""
    rec = record(requestParameters={"pad": ""})
    base = len(read_record(rec).record)
    rec["requestParameters"] = {"pad": "x" * (n - base)}
    small = read_record(record(eventID=rec["eventID"]))
    event = dataclasses.replace(small, record=orjson.dumps(rec))
    assert len(event.record) == n
    return rec, event


def test_events_over_256_kb_are_skipped(cwl: CwlEnv, caplog: pytest.LogCaptureFixture) -> None:
    cwl.trail()
    (at_limit, at_limit_event), (_, over_event) = sized(MAX_EVENT_BYTES), sized(MAX_EVENT_BYTES + 1)
    after = record()
    assert cwl.store.append([at_limit_event, over_event, read_record(after)]).accepted == 3
    w = cwl.worker(interval_s=0.0)
    with caplog.at_level(logging.WARNING):
        w.step()
    assert cwl.event_ids() == ids(at_limit, after)
    assert w.skipped_large == 1
    assert f"{MAX_EVENT_BYTES + 1} bytes, over 256 KB" in caplog.text


def test_batches_keep_to_the_put_log_events_limits(cwl: CwlEnv) -> None:
    cwl.trail()
    recs = [record() for _ in range(7)]
    cwl.ingest(*recs)
    w = cwl.worker(interval_s=0.0, max_batch_events=3)
    w.step()
    assert cwl.event_ids() == ids(*recs)
    assert cwl.logs.appends == 3  # 3 + 3 + 1
    size = len(read_record(recs[0]).record) + 26
    more = [record() for _ in range(5)]
    cwl.ingest(*more)
    w2 = cwl.worker(interval_s=0.0, max_batch_bytes=2 * size)
    w2.step()
    assert cwl.event_ids() == ids(*recs, *more)
    assert cwl.logs.appends == 3 + 3  # 2 + 2 + 1


def test_a_missing_group_is_reported_and_retried_with_backoff_losing_nothing(cwl: CwlEnv) -> None:
    arn = cwl.trail()
    cwl.logs.delete_log_group(ACCOUNT, REGION, GROUP)
    first, second = record(), record()
    w = cwl.worker(interval_s=0.0)
    cwl.ingest(first)
    w.step()
    status = cwl.trails.get_trail(ACCOUNT, REGION, arn).status
    assert (status.latest_cloudwatch_logs_delivery_time, status.latest_cloudwatch_logs_delivery_error) == (
        None, "ResourceNotFoundException")
    cwl.ingest(second)
    calls = cwl.logs.appends
    cwl.clock.now += 0.5
    w.step()
    assert cwl.logs.appends == calls  # waiting out the 1 s backoff
    cwl.clock.now += 0.5
    w.step()
    assert cwl.logs.appends == calls + 1  # tried again (and failed): next try 2 s later
    cwl.logs.create_log_group(ACCOUNT, REGION, GROUP)
    cwl.clock.now += 1.0
    w.step()
    assert cwl.messages() == []
    cwl.clock.now += 1.0
    w.step()
    assert cwl.event_ids() == ids(first, second)
    status = cwl.trails.get_trail(ACCOUNT, REGION, arn).status
    assert (status.latest_cloudwatch_logs_delivery_time, status.latest_cloudwatch_logs_delivery_error) == (cwl.clock.now, None)


def test_a_failing_batch_is_dropped_once_the_trail_sends_elsewhere(cwl: CwlEnv, caplog: pytest.LogCaptureFixture) -> None:
    cwl.logs.create_log_group(ACCOUNT, REGION, "second")
    cwl.trail()
    cwl.logs.delete_log_group(ACCOUNT, REGION, GROUP)
    w = cwl.worker(interval_s=0.0)
    cwl.ingest(record())
    w.step()
    cwl.trails.update_trail(ACCOUNT, REGION, "main", TrailSettings(cloud_watch_logs_log_group_arn=group_arn("second"),
                                                                   cloud_watch_logs_role_arn=ROLE))
    later = record()
    cwl.ingest(later)
    cwl.clock.now += 1.0
    with caplog.at_level(logging.WARNING):
        w.step()
    assert "dropping CloudWatch Logs batch" in caplog.text
    assert cwl.event_ids("second") == ids(later)
    assert w.pending_batches() == 0


def test_a_crash_after_the_append_before_the_plan_is_forgotten_appends_nothing_twice(cwl: CwlEnv) -> None:
    cwl.trail()
    recs = [record() for _ in range(4)]
    cwl.ingest(*recs)
    w = cwl.worker(interval_s=0.0)

    def crash(plans: object) -> None:
        raise KeyboardInterrupt  # the process dies here

    cwl.cwl_state.finish_plans = crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        w.step()
    assert cwl.event_ids() == ids(*recs)
    cwl.restart()
    w2 = cwl.worker(interval_s=0.0)
    assert (w2.pending_batches(), cwl.logs.appends) == (1, 1)
    w2.step()
    assert cwl.logs.appends == 2  # appended again, and ignored for its batch id
    assert cwl.event_ids() == ids(*recs)
    assert w2.pending_batches() == 0


def test_a_crash_before_planning_reads_the_events_again(cwl: CwlEnv) -> None:
    cwl.trail()
    a, b = record(), record()
    cwl.ingest(a)
    w = cwl.worker(interval_s=5.0)
    w.step()
    cwl.clock.now += 2.0  # the cursor checkpoint is saved, the batch still open
    cwl.ingest(b)
    w.step()
    assert w.open_events() == 2
    del w  # kill -9
    cwl.restart()
    w2 = cwl.worker(interval_s=0.0)
    w2.step()
    assert cwl.event_ids() == ids(a, b)


def test_a_deleted_trail_stops_sending(cwl: CwlEnv) -> None:
    cwl.trail()
    w = cwl.worker(interval_s=0.0)
    a = record()
    cwl.ingest(a)
    w.step()
    cwl.trails.delete_trail(ACCOUNT, REGION, "main")
    cwl.ingest(record())
    w.step()
    assert cwl.event_ids() == ids(a)
    assert cwl.cwl_state.read_seqs() == {}


def test_insights_events_go_to_the_log_group_of_trails_with_insights_of_their_type(cwl: CwlEnv) -> None:
    from opentrail.insights.model import Anomaly, SeriesKey
    from opentrail.insights.records import start_record
    from opentrail.trails.model import InsightSelector

    cwl.trail()  # the default selection: every management event, no Insights
    cwl.trail("writes", group="CloudTrail/main")
    cwl.trails.put_event_selectors(ACCOUNT, REGION, "writes", (EventSelector(read_write_type="All"),), None)
    cwl.trails.put_insight_selectors(ACCOUNT, REGION, "writes", (InsightSelector("ApiCallRateInsight"),))

    def insight(kind: str, name: str, region: str = REGION) -> dict[str, object]:
        key = SeriesKey(ACCOUNT, region, "Management", "ec2.amazonaws.com", name, kind,
                        "AccessDenied" if kind == "ApiErrorRateInsight" else "")
        return start_record(key, Anomaly(28_000_000, None, 0.5, 10080, 40.0, 1, 40.0), ())

    calls, errors = insight("ApiCallRateInsight", "RunInstances"), insight("ApiErrorRateInsight", "RunInstances")
    write = record()
    cwl.ingest(calls, errors, insight("ApiCallRateInsight", "StopInstances", region="eu-west-1"), write)
    w = cwl.worker(interval_s=0.0)
    w.step()
    # "main" sends its management event; "writes" its management event and the one Insights event
    # of its type and Region; no trail sends the error-rate Insight
    assert sorted(cwl.event_ids()) == sorted(ids(write, write, calls))
