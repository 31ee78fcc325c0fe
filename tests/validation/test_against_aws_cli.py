"""``opentrail validate-logs`` and the stock ``aws cloudtrail validate-logs``, run as commands on the
same chain in moto's S3 server (``AWS_ENDPOINT_URL_S3``), with ListPublicKeys answered by
opentrail's API: byte-identical output and exit codes wherever the AWS CLI sees the tampering."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import orjson
import pytest
import uvicorn

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.digests import format as F
from opentrail.digests.keys import PublicKeyInfo
from opentrail.auth.accounts import write_credentials_file
from opentrail.objectstore import LocalFolderStorage, S3Storage
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from opentrail.trails import TrailService

from tests.serving import free_port

from .chain import ACCOUNT, ARN, HOUR, T0, KeyRing, TrailFiles, when
from .conftest import MOTO_ENV


class RingKeys:
    """The KeyStore interface ListPublicKeys reads, over a test :class:`KeyRing`."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    def current(self, region: str) -> None:
        """The ring's keys are made by the test; nothing is created on demand."""

    def public_keys(self, region: str, start: float, end: float) -> list[PublicKeyInfo]:
        return [
            PublicKeyInfo(k["Fingerprint"], k["Value"], int(k["ValidityStartTime"].timestamp()), int(k["ValidityEndTime"].timestamp()))
            for k in self.ring.list_public_keys(datetime.fromtimestamp(start).astimezone(), datetime.fromtimestamp(end).astimezone())
        ]


@pytest.fixture(scope="module")
def api_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="module")
def api(api_data_dir: Path) -> Iterator[tuple[str, AccessKey, KeyRing]]:
    """opentrail's API (trails in local folders under ``api_data_dir``, ListPublicKeys)."""
    data_dir = api_data_dir
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    ring = KeyRing()
    trails = TrailService(data_dir, LocalFolderStorage(data_dir / "buckets"), time.time)
    app = build_app(settings=Settings(), store=MemoryEventStore(), accounts=accounts, trails=trails,
                    public_keys=RingKeys(ring))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started:
        assert time.time() < deadline, "server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", key, ring
    server.should_exit = True
    thread.join(timeout=10)
    trails.close()
    accounts.close()


def _run(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def both(api: tuple[str, AccessKey, KeyRing], moto_url: str, bucket: str, tmp_path: Path, verbose: bool) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    url, key, _ = api
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto_url,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    env.pop("AWS_PROFILE", None)
    common = ["--trail-arn", ARN, "--start-time", when(T0 - 2 * HOUR), "--end-time", when(T0 + 6 * HOUR),
              "--s3-bucket", bucket] + (["--verbose"] if verbose else [])
    aws = _run([sys.executable, "-m", "awscli", "cloudtrail", "validate-logs", "--endpoint-url", url,
                "--region", "us-east-1", *common], env)
    ours = _run([sys.executable, "-m", "opentrail.cli", "validate-logs", "--endpoint-url", url,
                 "--data-dir", str(tmp_path / "data"), *common], env)
    return aws, ours


def _modify_log(trail: TrailFiles, s3: Any, bucket: str) -> None:
    key = trail.digests[2].log_keys[0]
    raw = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(raw.replace(b"GetObject", b"PutObject")))


def _delete_log(trail: TrailFiles, s3: Any, bucket: str) -> None:
    s3.delete_object(Bucket=bucket, Key=trail.digests[1].log_keys[1])


def _append_member(trail: TrailFiles, s3: Any, bucket: str) -> None:
    key = trail.digests[3].log_keys[0]
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=body + gzip.compress(b'{"Records":[]}'))


def _modify_digest(trail: TrailFiles, s3: Any, bucket: str) -> None:
    digest = trail.digests[2]
    meta = s3.head_object(Bucket=bucket, Key=digest.key)["Metadata"]
    doc = orjson.loads(digest.raw)
    doc["logFiles"] = []
    s3.put_object(Bucket=bucket, Key=digest.key, Body=F.gzip_body(orjson.dumps(doc)), Metadata=meta)


def _delete_digest(trail: TrailFiles, s3: Any, bucket: str) -> None:
    s3.delete_object(Bucket=bucket, Key=trail.digests[2].key)


def _change_signature(trail: TrailFiles, s3: Any, bucket: str) -> None:
    digest = trail.digests[1]
    body = s3.get_object(Bucket=bucket, Key=digest.key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=digest.key, Body=body,
                  Metadata=F.signature_metadata(trail.digests[0].signature))


def _untouched(trail: TrailFiles, s3: Any, bucket: str) -> None:
    pass


CASES: dict[str, Callable[[TrailFiles, Any, str], None]] = {
    "untouched": _untouched,
    "log file modified": _modify_log,
    "log file deleted": _delete_log,
    "gzip member appended": _append_member,
    "digest modified": _modify_digest,
    "digest deleted": _delete_digest,
    "signature metadata changed": _change_signature,
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_output_as_the_aws_cli(case: str, api: tuple[str, AccessKey, KeyRing], moto_url: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in MOTO_ENV.items():
        monkeypatch.setenv(name, value)
    bucket = f"aws-cli-{case.replace(' ', '-')}"
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    _, _, ring = api
    trail = TrailFiles(S3Storage(moto_url), bucket, ring.add(T0 - 48 * HOUR, T0 + 48 * HOUR))
    trail.hourly(5)
    CASES[case](trail, s3, bucket)
    aws, ours = both(api, moto_url, bucket, tmp_path, verbose=case in ("untouched", "log file modified"))
    assert aws[0] == (0 if case == "untouched" else 1), aws
    assert ours == aws


def test_two_deleted_digests_the_aws_cli_misses_one(api: tuple[str, AccessKey, KeyRing], moto_url: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in MOTO_ENV.items():
        monkeypatch.setenv(name, value)
    bucket = "aws-cli-two-deleted"
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    _, _, ring = api
    trail = TrailFiles(S3Storage(moto_url), bucket, ring.add(T0 - 48 * HOUR, T0 + 48 * HOUR))
    trail.hourly(5)
    for digest in trail.digests[2:4]:
        s3.delete_object(Bucket=bucket, Key=digest.key)
    aws, ours = both(api, moto_url, bucket, tmp_path, verbose=False)
    missing = f"Digest file\ts3://{bucket}/{trail.digests[3].key}\tINVALID: not found\n\n"
    more = (f"Digest files\ts3://{bucket}/AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-east-1/\tINVALID: 1 more not found "
            "between 2026-01-05T01:30:00Z and 2026-01-05T03:30:00Z\n\n")
    assert aws[2] == missing
    assert ours[2] == missing + more
    assert "3/4 digest files valid, 1/4 digest files INVALID" in aws[1]
    assert "3/5 digest files valid, 2/5 digest files INVALID" in ours[1]
    assert (aws[0], ours[0]) == (1, 1)


def test_local_folder_default_with_the_trail_and_server_of_the_data_dir(
    api: tuple[str, AccessKey, KeyRing], api_data_dir: Path
) -> None:
    """No --s3-bucket, no --endpoint-url, no credentials in the environment: the bucket and prefix
    come from DescribeTrails at the server named in <data-dir>/server.json, signed with the
    data dir's credentials file; the files are read from <data-dir>/buckets."""
    url, key, ring = api
    buckets = LocalFolderStorage(api_data_dir / "buckets")
    buckets.create_bucket("local-trail")
    (api_data_dir / "server.json").write_text(orjson.dumps({"url": url, "pid": os.getpid()}).decode())
    write_credentials_file(api_data_dir / "credentials", key.access_key_id, key.secret_access_key)
    client = boto3.client("cloudtrail", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key)
    client.create_trail(Name="main", S3BucketName="local-trail", S3KeyPrefix="audit", EnableLogFileValidation=True)
    trail = TrailFiles(buckets, "local-trail", ring.add(T0 - 48 * HOUR, T0 + 48 * HOUR), prefix="audit")
    trail.hourly(3)
    modified = trail.digests[1].log_keys[0]
    path = api_data_dir / "buckets" / "local-trail" / modified
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()) + b" "))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    code, out, err = _run([sys.executable, "-m", "opentrail.cli", "validate-logs", "--data-dir", str(api_data_dir),
                           "--trail-arn", ARN, "--start-time", when(T0 - HOUR), "--end-time", when(T0 + 3 * HOUR)], env)
    assert err == f"Log file\ts3://local-trail/{modified}\tINVALID: hash value doesn't match\n\n"
    assert out == (
        f"Validating log files for trail {ARN} between 2026-01-04T23:00:00Z and 2026-01-05T03:00:00Z\n\n"
        "Results requested for 2026-01-04T23:00:00Z to 2026-01-05T03:00:00Z\n"
        "Results found for 2026-01-04T23:30:00Z to 2026-01-05T02:30:00Z:\n"
        "\n3/3 digest files valid\n5/6 log files valid, 1/6 log files INVALID\n"
    )
    assert code == 1


def test_unknown_trail_exits_255(api: tuple[str, AccessKey, KeyRing], tmp_path: Path) -> None:
    url, key, _ = api
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key.access_key_id, "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    other = ARN.replace("trail/main", "trail/nope")
    code, out, err = _run([sys.executable, "-m", "opentrail.cli", "validate-logs", "--data-dir", str(tmp_path),
                           "--endpoint-url", url, "--trail-arn", other, "--start-time", when(T0)], env)
    assert (code, out, err) == (255, "", f"\nA trail could not be found for {other}\n")
