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


def test_stock_aws_cli_validates_a_chain_with_an_insights_file(tmp_path: Any) -> None:
    """Digests list the CloudTrail-Insight file with the Region's other log files; the stock
    ``aws cloudtrail validate-logs`` (awscli from PyPI, moto's S3 server) finds all valid and
    reports a modified Insights file."""
    import gzip
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    from opentrail.api.app import build_app
    from opentrail.auth.accounts import AccountStore
    from opentrail.digests import format as F
    from opentrail.events.record import read_record
    from opentrail.objectstore import S3Storage
    from opentrail.settings import Settings
    from tests.digests.conftest import ACCOUNT as DIGEST_ACCOUNT, HOUR, T0, make_env
    from tests.serving import free_port, serving

    bucket = "insight-trail-logs"
    arn = f"arn:aws:cloudtrail:us-east-1:{DIGEST_ACCOUNT}:trail/main"
    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    moto_url = f"http://127.0.0.1:{moto_port}"
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in creds}
    os.environ.update(creds)  # S3Storage uses the standard credential chain
    env = None
    accounts = AccountStore(tmp_path / "accounts.db")
    try:
        s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        env = make_env(tmp_path, storage=S3Storage(moto_url))
        key = accounts.create_access_key(DIGEST_ACCOUNT)
        app = build_app(settings=Settings(), store=env.store, accounts=accounts, clock=time.time, trails=env.trails,
                        public_keys=env.keys)
        with serving(app) as url:
            ct = boto3.client("cloudtrail", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key.access_key_id,
                              aws_secret_access_key=key.secret_access_key, config=Config(retries={"max_attempts": 1}))
            ct.create_trail(Name="main", S3BucketName=bucket, EnableLogFileValidation=True)
            ct.put_insight_selectors(TrailName="main", InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])
            ct.start_logging(Name="main")
            env.run(0)
            series = SeriesKey(DIGEST_ACCOUNT, "us-east-1", MANAGEMENT, "ec2.amazonaws.com", "RunInstances", CALL_RATE)
            anomaly = Anomaly(T0 // 60 + 1, T0 // 60 + 4, 0.25, 10080, 30.0, 1, 20.0)
            events = [read_record(start_record(series, anomaly, [])), read_record(end_record(series, anomaly, []))]
            assert env.store.append(events).accepted == 2
            env.ingest(T0 + 10)
            env.run(HOUR, every=60)
            ct.stop_logging(Name="main")
            env.run(30, every=1)
            listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
            insight_files = [k for k in listed if "/CloudTrail-Insight/" in k]
            assert len(insight_files) == 1 and INSIGHT_KEY.fullmatch(insight_files[0])
            digests = [k for k in listed if "/CloudTrail-Digest/" in k]
            files = [f["s3Object"] for d in digests for f in F.parse_digest(
                F.gunzip_body(s3.get_object(Bucket=bucket, Key=d)["Body"].read()))["logFiles"]]
            assert insight_files[0] in files and sorted(files) == sorted(k for k in listed if "/CloudTrail-Digest/" not in k)
            cli_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": key.access_key_id,
                       "AWS_SECRET_ACCESS_KEY": key.secret_access_key, "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                       "AWS_ENDPOINT_URL_S3": moto_url}

            def validate() -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    [str(Path(sys.executable).with_name("aws")), "cloudtrail", "validate-logs", "--trail-arn", arn,
                     "--start-time", "2024-03-01T09:00:00Z", "--end-time", "2024-03-01T16:00:00Z", "--verbose",
                     "--endpoint-url", url, "--region", "us-east-1"], env=cli_env, capture_output=True, text=True, timeout=120)

            out = validate()
            assert (out.returncode, out.stderr) == (0, ""), out.stdout + out.stderr
            assert f"Log file\ts3://{bucket}/{insight_files[0]}\tvalid\n" in out.stdout
            assert f"{len(files)}/{len(files)} log files valid" in out.stdout
            body = s3.get_object(Bucket=bucket, Key=insight_files[0])["Body"].read()
            s3.put_object(Bucket=bucket, Key=insight_files[0], Body=gzip.compress(gzip.decompress(body).replace(b"30.0", b"31.0")))
            out = validate()
            assert out.returncode == 1
            assert f"Log file\ts3://{bucket}/{insight_files[0]}\tINVALID: hash value doesn't match\n" in out.stderr
    finally:
        if env is not None:
            env.close()
        accounts.close()
        moto.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
