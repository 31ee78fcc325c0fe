"""validate-logs over chains the real delivery and digest workers wrote to a local folder (hours of
simulated time, a key rotation mid-chain, logging stopped and started again), untouched and
tampered."""

from __future__ import annotations

import gzip
import io
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest

from opentrail.digests import format as F
from opentrail.validation import ValidateLogsArgs, validate_logs
from opentrail.validation.storage import LocalValidationStorage

from digests.conftest import ACCOUNT, BUCKET, HOUR, T0, Env, make_env

ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"


class StoreKeys:
    """ListPublicKeys answered from the digest worker's KeyStore (what the API does)."""

    def __init__(self, env: Env) -> None:
        self.env = env

    def list_public_keys(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return [{"Value": k.der, "Fingerprint": k.fingerprint}
                for k in self.env.keys.public_keys("us-east-1", start.timestamp(), end.timestamp())]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    env = make_env(tmp_path)
    env.trail()
    env.run(0)
    for hour in range(5):
        if hour == 2:
            env.keys.rotate("us-east-1")
        env.ingest(int(env.clock.now) + 10, int(env.clock.now) + 20)
        env.run(HOUR / 2, every=60)
        env.ingest(int(env.clock.now) + 10)
        env.run(HOUR / 2, every=60)
    env.trails.stop_logging(ACCOUNT, "us-east-1", "main")
    env.run(2 * HOUR, every=60)
    env.trails.start_logging(ACCOUNT, "us-east-1", "main")
    env.ingest(int(env.clock.now) + 10)
    env.run(2 * HOUR, every=60)
    yield env
    env.close()


def validate(env: Env) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = ValidateLogsArgs(ARN, F.format_time(T0 - HOUR), F.format_time(T0 + 12 * HOUR), s3_bucket=BUCKET)
    code = validate_logs(args, stdout=out, stderr=err, keys=StoreKeys(env),
                         storage=LocalValidationStorage(env.path / "buckets"))
    return code, out.getvalue(), err.getvalue()


def test_untouched_chain_with_rotation_and_restart(env: Env) -> None:
    digests = env.digest_keys()
    logs = env.log_keys()
    fingerprints = {env.digest(k)[0]["digestPublicKeyFingerprint"] for k in digests}
    starting = [k for k in digests if env.digest(k)[0]["previousDigestS3Object"] is None]
    assert (len(fingerprints), len(starting)) == (2, 2)
    code, out, err = validate(env)
    restart = env.digest(starting[1])[0]["digestStartTime"]
    stop = max((env.digest(k)[0]["digestEndTime"] for k in digests if env.digest(k)[0]["digestEndTime"] < restart))
    assert err == f"No log files were delivered by CloudTrail between {stop} and {restart}\n\n"
    assert f"\n{len(digests)}/{len(digests)} digest files valid\n{len(logs)}/{len(logs)} log files valid\n" in out
    assert code == 0


def test_added_log_file_and_two_deleted_digests(env: Env) -> None:
    digests = env.digest_keys()
    first_chain = [k for k in digests if k < min(k for k in digests if env.digest(k)[0]["previousDigestS3Object"] is None
                                                 and k != digests[0])]
    gone = first_chain[2:4]
    for key in gone:
        (env.path / "buckets" / BUCKET / key).unlink()
    listed = env.digest(first_chain[1])[0]["logFiles"][0]["s3Object"]
    added = listed.replace(listed[-24:-8], "ZZZZZZZZZZZZZZZZ")
    (env.path / "buckets" / BUCKET / added).write_bytes(gzip.compress(b'{"Records":[]}'))
    code, out, err = validate(env)
    end_before = env.digest(first_chain[1])[0]["digestEndTime"]
    end_gone = gone[1][-24:-8]
    shown = f"{end_gone[:4]}-{end_gone[4:6]}-{end_gone[6:8]}T{end_gone[9:11]}:{end_gone[11:13]}:{end_gone[13:15]}Z"
    assert (
        f"Digest file\ts3://{BUCKET}/{gone[1]}\tINVALID: not found\n\n"
        f"Digest files\ts3://{BUCKET}/AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-east-1/\tINVALID: 1 more not found "
        f"between {end_before} and {shown}\n\n"
    ) in err, err
    assert f"Log file\ts3://{BUCKET}/{added}\tINVALID: not listed in any digest file\n\n" in err
    assert code == 1
