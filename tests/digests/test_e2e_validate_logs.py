"""Log file validation end to end with the stock AWS CLI: a trail with validation on delivers to
moto's S3 server over several simulated hours (key rotation mid-chain); ``aws cloudtrail
validate-logs`` (awscli from PyPI) finds every digest and log file valid, then reports each kind of
tampering -- one case at a time -- with exit code 1 and its exact line."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import orjson
import pytest
import uvicorn
from botocore.config import Config
from moto.server import ThreadedMotoServer

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccountStore
from opentrail.objectstore import S3Storage
from opentrail.settings import Settings

from tests.serving import free_port

from .conftest import ACCOUNT, HOUR, T0, Env, make_env

BUCKET = "validated-trail-logs"
ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"
AWS = Path(sys.executable).with_name("aws")
START, END = "2024-03-01T09:00:00Z", "2024-03-01T16:00:00Z"


class Setup:
    def __init__(self, env: Env, s3: Any, cli_env: dict[str, str], url: str) -> None:
        self.env, self.s3, self.cli_env, self.url = env, s3, cli_env, url

    def validate(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AWS), "cloudtrail", "validate-logs", "--trail-arn", ARN, "--start-time", START, "--end-time", END,
             "--verbose", "--endpoint-url", self.url, "--region", "us-east-1"],
            env=self.cli_env, capture_output=True, text=True, timeout=120)

    def keys(self, kind: str) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return [o["Key"] for o in listed if f"/{kind}/" in o["Key"]]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("validate")
    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    moto_url = f"http://127.0.0.1:{moto_port}"
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in creds}
    os.environ.update(creds)  # S3Storage uses the standard credential chain
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET)
    env = make_env(tmp, storage=S3Storage(moto_url))
    accounts = AccountStore(tmp / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    # the API checks signatures against real time; trails, delivery, digests and keys run on env.clock
    app = build_app(settings=Settings(), store=env.store, accounts=accounts, clock=time.time, trails=env.trails,
                    public_keys=env.keys)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    cli_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp), "AWS_ACCESS_KEY_ID": key.access_key_id,
               "AWS_SECRET_ACCESS_KEY": key.secret_access_key, "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
               "AWS_ENDPOINT_URL_S3": moto_url}
    try:
        ct = boto3.client("cloudtrail", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key.access_key_id,
                          aws_secret_access_key=key.secret_access_key, config=Config(retries={"max_attempts": 1}))
        ct.create_trail(Name="main", S3BucketName=BUCKET, EnableLogFileValidation=True)
        ct.start_logging(Name="main")
        env.run(0)
        for hour, event_times in enumerate([(T0 + 10, T0 + 20), (T0 + HOUR + 300,), (), (T0 + 3 * HOUR + 30,)]):
            if hour == 2:
                env.keys.rotate("us-east-1")  # mid-chain: the next digests are signed with a new key
            if event_times:
                env.ingest(*event_times)
            env.run(HOUR if hour < 3 else 60, every=60)
        ct.stop_logging(Name="main")  # recorded, and that event is delivered before the final digest
        env.run(30, every=1)
        yield Setup(env, s3, cli_env, url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        env.close()
        accounts.close()
        moto.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_the_chain_written(setup: Setup) -> None:
    digests = setup.keys("CloudTrail-Digest")
    stamps = [k[-24:-8] for k in digests]
    # three hourly digests, then the final one when StopLogging was seen and delivery had caught up:
    # the StopLogging call is recorded before it takes effect, so the trail delivers it (in its own
    # log file, one delivery tick later) and the final digest covers it
    assert stamps == ["20240301T110000Z", "20240301T120000Z", "20240301T130000Z", "20240301T130102Z"]
    env = setup.env
    docs = [env.digest(k, BUCKET)[0] for k in digests]
    fingerprints = [d["digestPublicKeyFingerprint"] for d in docs]
    assert fingerprints[0] == fingerprints[1] != fingerprints[2] == fingerprints[3]  # rotated at 12:00
    assert [len(d["logFiles"]) for d in docs] == [1, 1, 0, 2]
    logs = setup.keys("CloudTrail")
    last = orjson.loads(gzip.decompress(setup.s3.get_object(Bucket=BUCKET, Key=logs[-1])["Body"].read()))
    assert [r["eventName"] for r in last["Records"]] == ["StopLogging"]
    assert set(env.digest_state.file_digest_keys()) == {(BUCKET, k) for k in logs}  # each in exactly one digest


def expected_valid_output(setup: Setup) -> str:
    env = setup.env
    lines = [f"Validating log files for trail {ARN} between {START} and {END}", ""]
    digests = setup.keys("CloudTrail-Digest")
    for key in reversed(digests):
        lines.append(f"Digest file\ts3://{BUCKET}/{key}\tvalid")
        for f in env.digest(key, BUCKET)[0]["logFiles"]:
            lines.append(f"Log file\ts3://{BUCKET}/{f['s3Object']}\tvalid")
    last_end = env.digest(digests[-1], BUCKET)[0]["digestEndTime"]
    n_logs = len(setup.keys("CloudTrail"))
    lines += ["", f"Results requested for {START} to {END}", f"Results found for 2024-03-01T10:00:00Z to {last_end}:",
              "", f"{len(digests)}/{len(digests)} digest files valid", f"{n_logs}/{n_logs} log files valid", ""]
    return "\n".join(lines)


def test_stock_validator_finds_everything_valid(setup: Setup) -> None:
    out = setup.validate()
    print(out.stdout)
    assert (out.returncode, out.stderr) == (0, ""), out.stderr
    assert out.stdout == expected_valid_output(setup)
    assert "4/4 digest files valid" in out.stdout and "4/4 log files valid" in out.stdout


def _put(setup: Setup, key: str, body: bytes, metadata: dict[str, str] | None = None) -> None:
    setup.s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=metadata or {})


def _object(setup: Setup, key: str) -> tuple[bytes, dict[str, str]]:
    got = setup.s3.get_object(Bucket=BUCKET, Key=key)
    return got["Body"].read(), got["Metadata"]


@pytest.mark.parametrize("case, message", [
    ("log modified", "INVALID: hash value doesn't match"),
    ("log deleted", "INVALID: not found"),
    ("gzip member appended", "INVALID: unexpected data after end of compressed stream"),
    ("digest modified", "INVALID: signature verification failed"),
    ("digest deleted", "INVALID: not found"),
    ("signature changed", "INVALID: signature verification failed"),
])
def test_stock_validator_reports_tampering(setup: Setup, case: str, message: str) -> None:
    logs, digests = setup.keys("CloudTrail"), setup.keys("CloudTrail-Digest")
    digest = digests[1]  # in the middle of the chain
    log_key = setup.env.digest(digest, BUCKET)[0]["logFiles"][0]["s3Object"]
    assert log_key in logs
    target = log_key if case.startswith(("log", "gzip")) else digest
    body, metadata = _object(setup, target)
    try:
        if case == "log modified":
            records = gzip.decompress(body).replace(b'"RunInstances"', b'"TerminateInstances"', 1)
            assert records != gzip.decompress(body)
            _put(setup, target, gzip.compress(records))
        elif case == "gzip member appended":
            _put(setup, target, body + gzip.compress(b'{"Records":[]}'))
        elif case == "digest modified":
            raw = gzip.decompress(body).replace(b'"logFiles":[{', b'"logFiles":[{"x":1,', 1)
            _put(setup, target, gzip.compress(raw), metadata)
        elif case == "signature changed":
            sig = metadata["signature"]
            _put(setup, target, body, {**metadata, "signature": ("0" if sig[0] != "0" else "1") + sig[1:]})
        else:
            setup.s3.delete_object(Bucket=BUCKET, Key=target)
        out = setup.validate()
        kind = "Log file" if target == log_key else "Digest file"
        assert out.returncode == 1, out.stdout + out.stderr
        assert f"{kind}\ts3://{BUCKET}/{target}\t{message}\n" in out.stderr, out.stderr
        assert out.stderr.count("INVALID") == 1, out.stderr
        if kind == "Digest file" and case != "digest deleted":
            assert "3/4 digest files valid, 1/4 digest files INVALID" in out.stdout, out.stdout
    finally:  # the next case checks that exactly one thing is INVALID: this one was put back
        _put(setup, target, body, metadata)
