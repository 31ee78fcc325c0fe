"""DeliveryWorker with an injected clock, a memory event store and folder buckets."""

from __future__ import annotations

import gzip


from opentrail.delivery import DeliveryWorker, head_seq
from opentrail.objectstore import LocalFolderStorage, StorageUnavailable
from opentrail.store.memory import MemoryEventStore
from opentrail.trails.model import DataResource, EventSelector

from .conftest import ACCOUNT, AWS_KEY, BUCKET, OTHER_ACCOUNT, SIEM_KEY, Env, record


def test_default_trail_file_holds_exactly_the_original_record_bytes(env: Env) -> None:
    env.trail(s3_key_prefix="logs/prod")
    w = env.worker(unique=lambda: "AbCdEfGh01234567")
    mine = env.ingest(record(), record(name="DescribeInstances", readOnly=True))
    env.ingest(record(region="eu-west-1"), record(account=OTHER_ACCOUNT),
               record(source="s3.amazonaws.com", name="GetObject", eventCategory="Data", managementEvent=False))
    assert w.step() == 5
    assert env.files() == []  # the batch is younger than the interval
    env.clock.now += 1.9
    w.step()
    assert env.files() == []
    env.clock.now += 0.1
    w.step()
    # 1_700_000_002 = 2023-11-14T22:13:22Z
    key = "logs/prod/AWSLogs/111122223333/CloudTrail/us-east-1/2023/11/14/111122223333_CloudTrail_us-east-1_20231114T2213Z_AbCdEfGh01234567.json.gz"
    assert env.files() == [key]
    assert SIEM_KEY.fullmatch(key) and AWS_KEY.fullmatch(key)
    raw = env.storage.get_object(BUCKET, key).body
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw) == b'{"Records":[' + b",".join(mine) + b"]}"
    status = env.trails.get_trail(ACCOUNT, "us-east-1", "main").status
    assert status.latest_delivery_time == env.clock.now
    assert status.latest_delivery_attempt_succeeded == env.clock.now
    assert status.latest_delivery_error is None


def test_record_count_limit_splits_files_and_nothing_is_lost(env: Env) -> None:
    env.trail()
    w = env.worker(max_records=3)
    ids = [r["eventID"] for r in [record() for _ in range(8)] if env.ingest(r)]
    w.step()
    assert len(env.files()) == 2  # two full files at once, two events still batched
    env.clock.now += 2
    w.step()
    assert sorted(len(env.records(k)) for k in env.files()) == [2, 3, 3]
    assert sorted(env.delivered_ids()) == sorted(ids)


def test_multi_region_trail_delivers_each_region_under_its_path(env: Env) -> None:
    env.trail(is_multi_region_trail=True, region="eu-west-1")
    w = env.worker()
    env.ingest(record(region="us-east-1"), record(region="eu-west-1"), record(region="ap-south-1"), record(region="eu-west-1"))
    w.step()
    env.clock.now += 2
    w.step()
    regions = sorted((AWS_KEY.fullmatch(k).group("region"), len(env.records(k))) for k in env.files())  # type: ignore[union-attr]
    assert regions == [("ap-south-1", 1), ("eu-west-1", 2), ("us-east-1", 1)]


def test_global_service_events_follow_include_global_service_events(env: Env) -> None:
    env.storage.create_bucket("other")
    env.storage.create_bucket("eu-logs")
    env.trail("with-global")
    env.trail("without-global", include_global_service_events=False, s3_bucket_name="other")
    env.trail("europe", region="eu-west-1", s3_bucket_name="eu-logs")
    w = env.worker()
    iam = record(source="iam.amazonaws.com", name="CreateUser")
    ec2 = record()
    env.ingest(iam, ec2)
    w.step()
    env.clock.now += 2
    w.step()
    assert sorted(env.delivered_ids()) == sorted([iam["eventID"], ec2["eventID"]])
    other_ids = [r["eventID"] for k in env.files("other") for r in env.records(k, "other")]
    assert other_ids == [ec2["eventID"]]
    assert env.storage.list_objects("eu-logs") == []


def test_start_and_stop_logging_bound_events_by_append_order(env: Env) -> None:
    env.trail(start=False)
    w = env.worker()
    before = record()
    env.ingest(before)
    env.trails.start_logging(ACCOUNT, "us-east-1", "main")
    during = [record(), record()]
    env.ingest(*during)
    env.trails.stop_logging(ACCOUNT, "us-east-1", "main")
    after = record()
    env.ingest(after)
    # the worker runs only now: the marks, not its timing, decide
    w.step()
    env.clock.now += 2
    w.step()
    assert env.delivered_ids() == [r["eventID"] for r in during]
    env.trails.start_logging(ACCOUNT, "us-east-1", "main")
    again = record()
    env.ingest(again)
    env.clock.now += 2
    w.step()
    env.clock.now += 2
    w.step()
    assert sorted(env.delivered_ids()) == sorted([r["eventID"] for r in [*during, again]])


def test_event_selectors_are_applied(env: Env) -> None:
    env.trail()
    env.trails.put_event_selectors(ACCOUNT, "us-east-1", "main", (EventSelector(
        read_write_type="WriteOnly", include_management_events=False,
        data_resources=(DataResource("AWS::S3::Object", ("arn:aws:s3:::secret/",)),)),), None)
    w = env.worker()
    put = record(source="s3.amazonaws.com", name="PutObject", eventCategory="Data", managementEvent=False,
                 resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::secret/a.txt"}])
    get = record(source="s3.amazonaws.com", name="GetObject", eventCategory="Data", managementEvent=False, readOnly=True,
                 resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::secret/a.txt"}])
    env.ingest(put, get, record())
    w.step()
    env.clock.now += 2
    w.step()
    assert env.delivered_ids() == [put["eventID"]]


class FlakyStorage(LocalFolderStorage):
    """Folder buckets that refuse writes while ``down``."""

    down = False

    def put_object(self, bucket: str, key: str, body: bytes, metadata: dict[str, str]) -> None:
        if self.down:
            raise StorageUnavailable("connection refused")
        super().put_object(bucket, key, body, metadata)


def test_outage_is_retried_with_backoff_and_reported_then_delivered_once(env: Env) -> None:
    storage = FlakyStorage(env.storage.root)
    env.trail()
    w = DeliveryWorker(env.store, env.trails, storage, env.state, clock=env.clock, interval_s=2.0)
    storage.down = True
    recs = [record(), record()]
    env.ingest(*recs)
    w.step()
    t0 = env.clock.now = env.clock.now + 2
    w.step()
    status = env.trails.get_trail(ACCOUNT, "us-east-1", "main").status
    assert (status.latest_delivery_error, status.latest_delivery_attempt_time, status.latest_delivery_time) == (
        "ServiceUnavailable", t0, None)
    assert w.pending_files() == 1
    env.clock.now = t0 + 0.5
    w.step()  # backoff: no attempt before 1 s
    assert env.trails.get_trail(ACCOUNT, "us-east-1", "main").status.latest_delivery_attempt_time == t0
    env.clock.now = t0 + 1
    w.step()
    assert env.trails.get_trail(ACCOUNT, "us-east-1", "main").status.latest_delivery_attempt_time == t0 + 1
    more = record()
    env.ingest(more)
    env.clock.now = t0 + 2.5
    w.step()  # next attempt is due at t0 + 1 + 2
    env.clock.now = t0 + 5
    w.step()  # third attempt fails (next one due at t0 + 5 + 4); the second batch is planned behind
    assert env.trails.get_trail(ACCOUNT, "us-east-1", "main").status.latest_delivery_attempt_time == t0 + 5
    assert w.pending_files() == 2
    storage.down = False
    env.clock.now = t0 + 8.9
    w.step()
    assert w.pending_files() == 2
    env.clock.now = t0 + 9
    w.step()
    assert w.pending_files() == 0
    assert sorted(env.delivered_ids()) == sorted(r["eventID"] for r in [*recs, more])
    assert len(env.files()) == 2
    status = env.trails.get_trail(ACCOUNT, "us-east-1", "main").status
    assert (status.latest_delivery_error, status.latest_delivery_time) == (None, t0 + 9)


def test_crash_after_plan_reuploads_same_key_and_bytes(env: Env) -> None:
    storage = FlakyStorage(env.storage.root)
    storage.down = True
    env.trail()
    w = DeliveryWorker(env.store, env.trails, storage, env.state, clock=env.clock, interval_s=2.0)
    recs = [record(), record(), record()]
    raw = env.ingest(*recs)
    w.step()
    env.clock.now += 2
    w.step()
    planned = env.state.pending_plans()
    assert [p.count for p in planned] == [3]
    del w  # kill -9: nothing more from this worker
    env.restart()
    env.ingest(record())
    w2 = env.worker()
    w2.step()
    assert env.files() == [planned[0].key]
    assert env.body(planned[0].key) == b'{"Records":[' + b",".join(raw) + b"]}"
    env.clock.now += 2
    w2.step()
    assert len(env.files()) == 2 and len(env.delivered_ids()) == 4 == len(set(env.delivered_ids()))


def test_crash_before_plan_reads_the_log_again(env: Env) -> None:
    env.trail()
    env.trail("second", is_multi_region_trail=True)
    w = env.worker()
    env.ingest(record(), record(region="eu-west-1"))
    w.step()
    env.clock.now += 2
    w.step()
    env.ingest(record(), record(region="eu-west-1"), record())
    w.step()  # batched in memory only
    env.clock.now += 1.5
    w._checkpoint()  # cursors saved while batches are open must not skip them
    env.restart()
    w2 = env.worker()
    w2.step()
    env.clock.now += 2
    w2.step()
    # "main" takes the 3 us-east-1 events, "second" all 5: each once per trail
    ids = env.delivered_ids()
    assert len(ids) == 8 and len(set(ids)) == 5
    assert sorted(len(env.records(k)) for k in env.files()) == [1, 1, 1, 1, 2, 2]


def test_deleted_trail_is_forgotten(env: Env) -> None:
    arn = env.trail()
    w = env.worker()
    env.ingest(record())
    w.step()
    env.trails.delete_trail(ACCOUNT, "us-east-1", "main")
    assert arn not in env.state.marks()
    env.clock.now += 2
    w.step()
    assert env.files() == []


def test_head_seq_finds_the_newest_seq_with_gaps() -> None:
    store = MemoryEventStore()
    assert head_seq(store) == 0
    from opentrail.events.record import read_record
    for n in (1, 2, 3, 700):
        store.append([read_record(record()) for _ in range(n)])
        assert head_seq(store) == store.read_since(0, 10**6)[-1].seq
    store._events = store._events[:-5] + store._events[-3:]  # purge-like gap before the head
    assert head_seq(store) == 706


class OrderedStorage(LocalFolderStorage):
    """Folder buckets that note the order of writes."""

    def __init__(self, root: object) -> None:
        super().__init__(root)  # type: ignore[arg-type]
        self.written: list[str] = []

    def put_object(self, bucket: str, key: str, body: bytes, metadata: dict[str, str]) -> None:
        super().put_object(bucket, key, body, metadata)
        self.written.append(key)


def test_backlog_files_are_compressed_while_reading_on_and_uploaded_in_order(env: Env) -> None:
    storage = OrderedStorage(env.storage.root)
    env.trail()
    names = iter(f"File{n:012d}" for n in range(100))
    w = DeliveryWorker(env.store, env.trails, storage, env.state, clock=env.clock, interval_s=2.0,
                       read_limit=4, max_records=3, unique=lambda: next(names))
    recs = [record() for _ in range(20)]
    raw = env.ingest(*recs)
    reads = []
    while (n := w.step()) == 4:
        reads.append(n)
    assert reads == [4] * 5 and n == 0  # uploads of a backlog round may wait for their body
    assert w.pending_files() == 0 and w.open_events() == 2
    env.clock.now += 2
    w.step()
    assert storage.written == sorted(storage.written) == env.files()
    assert [len(env.records(k)) for k in storage.written] == [3, 3, 3, 3, 3, 3, 2]
    assert b"".join(env.body(k)[12:-2] + b"," for k in storage.written) == b",".join(raw) + b","


def test_events_stored_under_a_bad_region_before_the_check_are_skipped_not_retried(env: Env, caplog) -> None:  # type: ignore[no-untyped-def]
    import dataclasses
    import logging

    from opentrail.events.record import read_record

    env.trail(is_multi_region_trail=True)
    w = env.worker()
    good = record(region="eu-west-1")
    # stored by a version that did not check awsRegion
    legacy = [dataclasses.replace(read_record(record()), region=r) for r in ("../..", "a/b")]
    assert env.store.append(legacy).accepted == 2
    env.ingest(good)
    with caplog.at_level(logging.WARNING, logger="opentrail.delivery.worker"):
        w.step()
        env.clock.now += 2
        w.step()
        w.step()
    assert env.delivered_ids() == [good["eventID"]]
    assert w.pending_files() == 0
    assert [k.split("/")[3] for k in env.files()] == ["eu-west-1"]
    warnings = [r.getMessage() for r in caplog.records if "not a Region name" in r.getMessage()]
    assert warnings == [
        f"not delivering events of account {ACCOUNT} stored under Region {r!r}: not a Region name "
        "(stored before the ingest check; they stay in event history)" for r in ("../..", "a/b")]
    assert env.trails.get_trail(ACCOUNT, "us-east-1", "main").status.latest_delivery_error is None


def test_a_plan_of_a_bad_region_left_in_delivery_db_is_dropped_at_start(env: Env, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    arn = env.trail(is_multi_region_trail=True)
    bad_key = f"AWSLogs/{ACCOUNT}/CloudTrail/../../2023/11/14/{ACCOUNT}_CloudTrail_../.._20231114T2213Z_AbCdEfGh01234567.json.gz"
    env.state.add_plan(arn, "../..", BUCKET, bad_key, [(1, 1)], 1, 1, None, 0)
    with caplog.at_level(logging.WARNING, logger="opentrail.delivery.worker"):
        w = env.worker()
    assert w.pending_files() == 0
    assert env.state.pending_plans() == []
    assert [r.getMessage() for r in caplog.records] == [
        f"dropping planned log file {bad_key!r} of trail {arn}: Region '../..' is not a Region name"]
    good = record()
    env.ingest(good)
    w.step()
    env.clock.now += 2
    w.step()
    assert env.delivered_ids() == [good["eventID"]]


def test_log_file_key_refuses_unchecked_parts() -> None:
    import pytest

    from opentrail.delivery.logfile import log_file_key

    for account, region in [(ACCOUNT, "../.."), (ACCOUNT, "a/b"), ("../../x/12", "us-east-1"), ("１１１１２２２２３３３３", "us-east-1")]:
        with pytest.raises(ValueError):
            log_file_key(None, account, region, 1_700_000_000, "AbCdEfGh01234567")
