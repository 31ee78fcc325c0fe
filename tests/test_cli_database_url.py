"""``opentrail proxy``, ``opentrail import`` and ``opentrail monitoring cis-setup`` with
``--database-url`` against a real PostgreSQL and an ``opentrail serve --database-url`` node, run
from data directories of their own (another host of the deployment): the proxy names callers from
the database's accounts and signs its ingest with the admin key found there, and the server stores
the events in PostgreSQL; import appends to the database's event store; cis-setup signs with the
admin key when it has no other credentials. Without the flag the proxy and cis-setup fail as they
always did on an empty data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import psycopg
from botocore.config import Config

from opentrail.monitoring.cis import CIS_CONTROLS
from tests import postgres as pg
from tests.delivery.servers import Moto, Process, free_port
from tests.test_e2e_cli import Server, opentrail, wait_for

ACCOUNT = "111122223333"
ADMIN_KEY_ID = "AKIAOPENTRAILDBURL01"
ADMIN_SECRET = "dburl/dburl/dburl/dburl/dburl/dburl/abcd"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:security"


def _no_aws_env(tmp_path: Path) -> dict[str, str]:
    """This process's environment without any AWS credentials or endpoint (a bare host)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENTRAIL_"))}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               HOME=str(tmp_path))
    return env


def _client(service: str, url: str, key_id: str, secret: str) -> object:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=key_id,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


def test_proxy_and_cis_setup_read_the_accounts_of_the_database(tmp_path: Path) -> None:
    with pg.own_database() as url:
        node = Server(tmp_path / "node", {"OPENTRAIL_DATABASE_URL": url, "OPENTRAIL_ACCOUNT_ID": ACCOUNT,
                                          "OPENTRAIL_ACCESS_KEY_ID": ADMIN_KEY_ID,
                                          "OPENTRAIL_SECRET_ACCESS_KEY": ADMIN_SECRET},
                      "--event-history-retention-days", "0")
        moto = Moto(tmp_path)
        proxy = None
        try:
            made = opentrail("create-access-key", "--data-dir", str(tmp_path / "admin"), "--account-id", ACCOUNT,
                             "--user-name", "alice", env={"OPENTRAIL_DATABASE_URL": url})
            assert made.returncode == 0, made.stderr
            alice = json.loads(made.stdout)["AccessKey"]
            env = _no_aws_env(tmp_path)

            # the proxy, on a host of its own: without --database-url it has no accounts to read
            port = free_port()
            args = [sys.executable, "-m", "opentrail.cli", "proxy", "--upstream", moto.url, "--port", str(port),
                    "--data-dir", str(tmp_path / "proxy"), "--endpoint-url", node.url]
            refused = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
            assert refused.returncode == 1
            assert refused.stderr.strip() == (f"Error: {tmp_path / 'proxy' / 'accounts.db'} does not exist: start "
                                              f"`opentrail serve --data-dir {tmp_path / 'proxy'}` once first")
            proxy = Process(args, f"http://127.0.0.1:{port}/moto-api/", tmp_path / "proxy.log",
                            {**env, "OPENTRAIL_DATABASE_URL": url})
            s3 = _client("s3", f"http://127.0.0.1:{port}", alice["AccessKeyId"], alice["SecretAccessKey"])
            s3.create_bucket(Bucket="through-the-proxy")  # type: ignore[attr-defined]
            cloudtrail = _client("cloudtrail", node.url, ADMIN_KEY_ID, ADMIN_SECRET)
            created = dict(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateBucket"}])
            events = wait_for(lambda: cloudtrail.lookup_events(**created)["Events"], timeout=20)  # type: ignore[attr-defined]
            assert [e["Username"] for e in events] == ["alice"]
            record = json.loads(events[0]["CloudTrailEvent"])
            assert (record["userIdentity"]["type"], record["userIdentity"]["accessKeyId"], record["recipientAccountId"],
                    record["requestParameters"]["bucketName"]) == ("IAMUser", alice["AccessKeyId"], ACCOUNT,
                                                                   "through-the-proxy")
            with psycopg.connect(url) as conn:  # the server stored it in PostgreSQL
                row = conn.execute("SELECT count(*) FROM events WHERE event_id = %s",
                                   (record["eventID"].encode(),)).fetchone()
            assert row == (1,)

            # import, on a host with no server: into the database's event store, read by the node
            logs_file = tmp_path / "trail.json"
            logs_file.write_text(json.dumps({"Records": [{
                "eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z", "eventSource": "iam.amazonaws.com",
                "eventName": "CreateUser", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
                "userIdentity": {"type": "IAMUser", "userName": "bob", "accountId": ACCOUNT},
                "eventID": "00000000-0000-4000-8000-000000000001", "eventType": "AwsApiCall",
                "managementEvent": True, "readOnly": False, "recipientAccountId": ACCOUNT,
                "eventCategory": "Management"}]}))
            imported = subprocess.run([sys.executable, "-m", "opentrail.cli", "import", "--data-dir",
                                       str(tmp_path / "importer"), "--quiet", str(logs_file)],
                                      env={**env, "OPENTRAIL_DATABASE_URL": url}, capture_output=True, text=True,
                                      timeout=120)
            assert imported.returncode == 0, imported.stderr
            assert not (tmp_path / "importer" / "events").exists()
            by_bob = dict(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "bob"}])
            assert [(e["EventId"], e["EventName"]) for e in cloudtrail.lookup_events(**by_bob)["Events"]] == [  # type: ignore[attr-defined]
                ("00000000-0000-4000-8000-000000000001", "CreateUser")]

            # cis-setup, on a host with no credentials: the admin key of the database signs
            _client("logs", node.url, ADMIN_KEY_ID, ADMIN_SECRET).create_log_group(  # type: ignore[attr-defined]
                logGroupName="trail-events")
            cis = [sys.executable, "-m", "opentrail.cli", "monitoring", "cis-setup", "--data-dir",
                   str(tmp_path / "cli"), "--endpoint-url", node.url, "--log-group", "trail-events",
                   "--sns-topic", TOPIC]
            unsigned = subprocess.run(cis, env=env, capture_output=True, text=True, timeout=120)
            assert unsigned.returncode == 1
            assert unsigned.stderr.strip() == "Error: Unable to locate credentials"
            done = subprocess.run([*cis, "--database-url", url], env=env, capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 0, done.stderr
            assert done.stdout.splitlines()[-1] == f"15 CIS metric filters and alarms on trail-events, notifying {TOPIC}."
            logs = _client("logs", node.url, ADMIN_KEY_ID, ADMIN_SECRET)
            filters = logs.describe_metric_filters(logGroupName="trail-events")["metricFilters"]  # type: ignore[attr-defined]
            assert sorted(f["filterName"] for f in filters) == sorted(f"CIS-{c.metric_name}" for c in CIS_CONTROLS)
            alarms = _client("cloudwatch", node.url, ADMIN_KEY_ID, ADMIN_SECRET).describe_alarms(  # type: ignore[attr-defined]
                AlarmNamePrefix="CIS-")["MetricAlarms"]
            assert len(alarms) == 15
            puts = dict(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutMetricFilter"}])
            recorded = wait_for(lambda: cloudtrail.lookup_events(**puts)["Events"], timeout=20)  # type: ignore[attr-defined]
            assert {e["AccessKeyId"] for e in recorded} == {ADMIN_KEY_ID}  # recorded as the admin's calls
        finally:
            if proxy is not None:
                proxy.stop()
            moto.stop()
            node.stop()
