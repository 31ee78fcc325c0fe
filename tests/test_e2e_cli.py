"""End to end, as a user runs it: `opentrail serve` as a process, the stock AWS CLI and `opentrail import`.

Each test starts its own server on a free port with a fresh data directory and stops it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.paths import DATASETS, INVICTUS

INVICTUS_ACCOUNT = "123837392027"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, *extra: str) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"server-{self.port}.log"
        args = [sys.executable, "-m", "opentrail.cli", "serve", "--port", str(self.port), "--data-dir", str(data_dir)]
        self._log_file = self.log.open("w")
        self.proc = subprocess.Popen(
            [*args, *extra],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log_file.close()
                raise AssertionError(f"server exited: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_opentrail/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"server did not start: {self.log.read_text()}")

    def output(self) -> str:
        return self.log.read_text()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        self._log_file.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "data", None, "--event-history-retention-days", "0")
    yield srv
    srv.stop()


def aws_env(srv: Server, tmp_path: Path, profile: str = "opentrail") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(srv.data_dir / "credentials"),
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_PROFILE=profile,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL_CLOUDTRAIL=srv.url,
    )
    return env


def aws(env: dict[str, str], *args: str) -> Any:
    proc = subprocess.run(
        [sys.executable, "-m", "awscli", "cloudtrail", *args, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def opentrail(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opentrail.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def wait_for(fn: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_first_start_writes_credentials_and_banner_says_how_to_use_them(server: Server) -> None:
    creds = server.data_dir / "credentials"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    text = creds.read_text()
    assert text.startswith("[opentrail]\n")
    fields = dict(line.split(" = ", 1) for line in text.splitlines()[1:] if " = " in line)
    assert fields["aws_access_key_id"].startswith("AKIA") and len(fields["aws_access_key_id"]) == 20
    assert len(fields["aws_secret_access_key"]) == 40
    out = server.output()
    assert fields["aws_access_key_id"] in out
    assert fields["aws_secret_access_key"] not in out
    assert f"--endpoint-url {server.url}" in out
    assert f"  console: {server.url}/ (sign in with that access key pair)" in out
    assert stat.S_IMODE((server.data_dir / "accounts.db").stat().st_mode) == 0o600


def test_aws_cli_lookup_events_finds_its_own_earlier_call(server: Server, tmp_path: Path) -> None:
    env = aws_env(server, tmp_path)
    first = aws(env, "lookup-events", "--max-results", "5")
    assert first["Events"] == []
    found = wait_for(lambda: aws(env, "lookup-events", "--max-results", "5")["Events"])
    event = found[-1]
    record = json.loads(event["CloudTrailEvent"])
    assert event["EventName"] == "LookupEvents"
    assert event["EventSource"] == "cloudtrail.amazonaws.com"
    assert event["ReadOnly"] == "true"
    assert record["eventType"] == "AwsApiCall"
    assert record["awsRegion"] == "us-east-1"
    assert record["userIdentity"]["type"] == "Root"
    assert record["requestParameters"] == {"maxResults": 5}
    assert record["userAgent"].startswith("aws-cli/")


def test_import_while_server_runs_then_aws_cli_finds_every_record(server: Server, tmp_path: Path) -> None:
    files = sorted(INVICTUS.glob("*.json"))
    originals = [r for f in files for r in json.loads(f.read_text())["Records"]]
    result = opentrail("import", "--data-dir", str(server.data_dir), "--quiet", str(INVICTUS))
    assert result.returncode == 0, result.stderr + result.stdout
    assert "records imported: 2900" in result.stdout

    # The records belong to account 123837392027: give it a key, as a user would.
    made = opentrail("create-access-key", "--data-dir", str(server.data_dir), "--account-id", INVICTUS_ACCOUNT)
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["AccessKey"]
    assert sorted(key) == ["AccessKeyId", "CreateDate", "SecretAccessKey", "Status", "UserName"]
    assert key["Status"] == "Active"
    env = aws_env(server, tmp_path)
    env.pop("AWS_PROFILE")
    env.update(AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])

    # The AWS CLI follows NextToken itself: every management event comes back once, newest first.
    events = aws(env, "lookup-events", "--start-time", "2023-07-10T00:00:00Z", "--end-time", "2023-07-11T00:00:00Z")[
        "Events"
    ]
    expected = [r for r in originals if r.get("managementEvent", True) and r["eventCategory"] == "Management"]
    assert len(events) == len({r["eventID"] for r in expected})
    times = [e["EventTime"] for e in events]
    assert times == sorted(times, reverse=True)
    by_id = {r["eventID"]: r for r in expected}
    for e in events:
        assert json.loads(e["CloudTrailEvent"]) == by_id[e["EventId"]]

    some = expected[0]
    hits = aws(
        env,
        "lookup-events",
        "--lookup-attributes",
        f"AttributeKey=EventId,AttributeValue={some['eventID']}",
    )["Events"]
    assert [h["EventId"] for h in hits] == [some["eventID"]]
    assert json.loads(hits[0]["CloudTrailEvent"]) == some


def test_env_seeded_key_and_durability_across_kill_9(tmp_path: Path) -> None:
    env = {
        "OPENTRAIL_ACCOUNT_ID": "111122223333",
        "OPENTRAIL_ACCESS_KEY_ID": "AKIAOPENTRAILTEST001",
        "OPENTRAIL_SECRET_ACCESS_KEY": "s3cr3t/s3cr3t/s3cr3t/s3cr3t/s3cr3t/abcde",
    }
    data = tmp_path / "data"
    srv = Server(data, env, "--event-history-retention-days", "0")
    try:
        assert not (data / "credentials").exists()
        assert env["OPENTRAIL_SECRET_ACCESS_KEY"] not in srv.output()
        imported = opentrail(
            "import", "--data-dir", str(data), "--quiet", str(DATASETS / "stratus-red-team" / "aws.defense-evasion.cloudtrail-stop.json")
        )
        assert imported.returncode == 0, imported.stderr + imported.stdout
    finally:
        srv.stop(signal.SIGKILL)

    srv = Server(data, {}, "--event-history-retention-days", "0")
    try:
        records = json.loads((DATASETS / "stratus-red-team" / "aws.defense-evasion.cloudtrail-stop.json").read_text())
        account = records[0]["recipientAccountId"]
        made = opentrail("create-access-key", "--data-dir", str(data), "--account-id", account)
        key = json.loads(made.stdout)["AccessKey"]
        aenv = aws_env(srv, tmp_path)
        aenv.pop("AWS_PROFILE")
        aenv.update(AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
        region = records[0]["awsRegion"]
        aenv["AWS_DEFAULT_REGION"] = region
        events = aws(aenv, "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=StopLogging")[
            "Events"
        ]
        wanted = [r for r in records if r["eventName"] == "StopLogging" and r["awsRegion"] == region]
        assert sorted(e["EventId"] for e in events) == sorted(r["eventID"] for r in wanted)
        assert len(wanted) >= 1

        # The seeded key still works after the restart.
        senv = aws_env(srv, tmp_path)
        senv.pop("AWS_PROFILE")
        senv.update(AWS_ACCESS_KEY_ID=env["OPENTRAIL_ACCESS_KEY_ID"], AWS_SECRET_ACCESS_KEY=env["OPENTRAIL_SECRET_ACCESS_KEY"])
        assert aws(senv, "lookup-events", "--max-results", "1")["Events"] is not None
    finally:
        srv.stop()


def test_unknown_key_is_refused_with_aws_error(server: Server, tmp_path: Path) -> None:
    env = aws_env(server, tmp_path)
    env.pop("AWS_PROFILE")
    env.update(AWS_ACCESS_KEY_ID="AKIAUNKNOWNUNKNOWN00", AWS_SECRET_ACCESS_KEY="x" * 40)
    proc = subprocess.run(
        [sys.executable, "-m", "awscli", "cloudtrail", "lookup-events"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 255  # AWS CLI v1: a service error
    assert "(UnrecognizedClientException) when calling the LookupEvents operation: The security token included in the request is invalid." in proc.stderr
