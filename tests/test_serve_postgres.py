"""End to end on PostgreSQL: `opentrail serve --database-url ...` as a process; events recorded
from boto3 calls and imported with `opentrail import` (through the running server's ingest
endpoint) are found by LookupEvents through boto3, also after a restart."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import psycopg
import pyarrow.parquet as pq
from botocore.config import Config

from opentrail.cluster import LEASES
from opentrail.shards import shard_of
from tests import postgres as pg
from tests.test_e2e_cli import Server, opentrail, wait_for
from tests.test_serve_startup import serve

def _record(n: int, account: str) -> dict[str, object]:
    return {
        "eventVersion": "1.08", "eventTime": f"2024-05-0{n}T10:00:00Z", "eventSource": "s3.amazonaws.com",
        "eventName": "CreateBucket", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
        "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": account},
        "eventID": f"00000000-0000-4000-8000-00000000000{n}", "eventType": "AwsApiCall",
        "managementEvent": True, "readOnly": False, "recipientAccountId": account,
        "eventCategory": "Management",
    }


def _client(srv: Server, service: str = "cloudtrail") -> object:
    creds = {}
    for line in (srv.data_dir / "credentials").read_text().splitlines():
        if "=" in line:
            k, v = (p.strip() for p in line.split("=", 1))
            creds[k] = v
    return boto3.client(service, endpoint_url=srv.url, region_name="us-east-1",
                        aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key=creds["aws_secret_access_key"],
                        config=Config(retries={"max_attempts": 1}))


def _names(client: object, **kw: object) -> list[str]:
    events = client.lookup_events(**kw)["Events"]  # type: ignore[attr-defined]
    return [e["EventName"] for e in events]


def test_serve_on_postgres_keeps_events_across_restart(tmp_path: Path) -> None:
    with pg.own_database() as url:
        data = tmp_path / "data"
        srv = Server(data, {"OPENTRAIL_DATABASE_URL": url}, "--event-history-retention-days", "0")
        try:
            client = _client(srv)
            account = _client(srv, "sts").get_caller_identity()["Account"]  # type: ignore[attr-defined]
            logs = tmp_path / "logs.json"
            logs.write_text(json.dumps({"Records": [_record(1, account), _record(2, account)]}))
            client.describe_trails()  # type: ignore[attr-defined]
            imported = opentrail("import", "--data-dir", str(data), "--quiet", str(logs),
                                 env={"OPENTRAIL_DATABASE_URL": url})  # the accounts are in the database
            assert imported.returncode == 0, imported.stderr
            made = opentrail("create-access-key", "--data-dir", str(data), "--account-id", "210987654321",
                             "--user-name", "carol", env={"OPENTRAIL_DATABASE_URL": url})
            assert made.returncode == 0, made.stderr
            key = json.loads(made.stdout)["AccessKey"]
            carol = boto3.client("sts", endpoint_url=srv.url, region_name="us-east-1",
                                 aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
            assert carol.get_caller_identity()["Arn"] == "arn:aws:iam::210987654321:user/carol"
            by_alice = dict(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "alice"}])
            assert _names(client, **by_alice) == ["CreateBucket", "CreateBucket"]
            created = dict(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DescribeTrails"}])
            assert wait_for(lambda: _names(client, **created), timeout=10) == ["DescribeTrails"]
        finally:
            srv.stop()
        assert not (data / "events" / "events.sqlite3").exists()
        with psycopg.connect(url) as conn:
            stored = conn.execute("SELECT count(*) FROM events WHERE account_id = %s", (account,)).fetchone()
        assert stored is not None and stored[0] >= 3

        srv = Server(data, None, "--database-url", url, "--event-history-retention-days", "0")
        try:
            client = _client(srv)
            page = client.lookup_events(**by_alice)  # type: ignore[attr-defined]
            assert [(e["EventId"], e["Username"]) for e in page["Events"]] == [
                ("00000000-0000-4000-8000-000000000002", "alice"), ("00000000-0000-4000-8000-000000000001", "alice")]
            assert json.loads(page["Events"][1]["CloudTrailEvent"]) == _record(1, account)
            assert _names(client, **created) == ["DescribeTrails"]
        finally:
            srv.stop()


def test_serve_refuses_to_start_when_the_database_is_unreachable(tmp_path: Path) -> None:
    result = serve(tmp_path / "data", 0, "--database-url", "postgresql://opentrail:secret@127.0.0.1:1/trail")
    assert result.returncode != 0
    assert "cannot open the event store in PostgreSQL at 127.0.0.1:1/trail: connection failed:" in result.stderr
    assert "secret" not in result.stderr + result.stdout


def test_serve_on_postgres_runs_its_background_work_under_leases_shown_in_health(tmp_path: Path) -> None:
    import gzip
    import urllib.request

    with pg.own_database() as url:
        data = tmp_path / "data"
        (data / "buckets" / "trail-bucket").mkdir(parents=True)
        srv = Server(data, {"OPENTRAIL_DATABASE_URL": url}, "--delivery-interval-s", "0.2", "--lease-ttl-s", "3")
        try:
            def health() -> dict[str, object]:
                with urllib.request.urlopen(f"{srv.url}/_opentrail/health", timeout=5) as r:
                    return json.loads(r.read())  # type: ignore[no-any-return]

            def held() -> list[tuple[str, int]]:
                cluster = health()["cluster"]
                node = cluster["nodeId"]  # type: ignore[index]
                return [(x["name"], x["token"]) for x in cluster["leases"] if x["holder"] == node]  # type: ignore[index]

            expected = [("alarms", 1), ("dashboards", 1), ("delivery/0", 1), ("delivery/1", 1), ("delivery/2", 1),
                        ("delivery/3", 1), ("event-bus/0", 1), ("event-bus/1", 1), ("event-bus/2", 1),
                        ("event-bus/3", 1), ("insights/0", 1), ("insights/1", 1), ("insights/2", 1),
                        ("insights/3", 1), ("lake-imports", 1), ("lake/0", 1), ("lake/1", 1), ("lake/2", 1),
                        ("lake/3", 1), ("retention", 1)]
            assert wait_for(lambda: held() == expected, timeout=15) is True
            assert (f"the Lake files are in the folder {data / 'lake'}: with several nodes give every node the same "
                    "--lake-storage-url s3://bucket/prefix") in srv.output()
            cluster = health()["cluster"]
            assert cluster["leaseTtlSeconds"] == 3.0  # type: ignore[index]
            assert [(n["nodeId"], n["url"]) for n in cluster["nodes"]] == [(cluster["nodeId"], srv.url)]  # type: ignore[index]
            client = _client(srv)
            # two event data stores in different shards (each shard with its own cursor)
            stores: dict[int, str] = {}
            for n in range(12):
                made = client.create_event_data_store(Name=f"store-{n}", TerminationProtectionEnabled=False)  # type: ignore[attr-defined]
                eds_id = made["EventDataStoreArn"].rpartition("/")[2]
                if shard_of(eds_id) in stores:
                    client.delete_event_data_store(EventDataStore=eds_id)  # type: ignore[attr-defined]
                else:
                    stores[shard_of(eds_id)] = eds_id
                if len(stores) == 2:
                    break
            assert len(stores) == 2
            client.create_trail(Name="main-trail", S3BucketName="trail-bucket")  # type: ignore[attr-defined]
            client.start_logging(Name="main-trail")  # type: ignore[attr-defined]
            client.describe_trails()  # type: ignore[attr-defined]

            def in_store(eds_id: str) -> list[str]:
                files = sorted(str(p) for p in (data / "lake" / eds_id).rglob("[0-9]*.parquet"))
                return [n for f in files for n in pq.read_table(f, columns=["eventname"]).column(0).to_pylist()]

            for eds_id in stores.values():  # each store has the calls made after it was created, once
                assert wait_for(lambda: "DescribeTrails" in in_store(eds_id), timeout=20) is True
                assert in_store(eds_id).count("DescribeTrails") == 1 and in_store(eds_id).count("CreateTrail") == 1

            def delivered() -> list[str]:
                names = []
                for path in sorted((data / "buckets" / "trail-bucket").glob("AWSLogs/**/*.json.gz")):
                    names += [r["eventName"] for r in json.loads(gzip.decompress(path.read_bytes()))["Records"]]
                return names

            assert wait_for(lambda: "DescribeTrails" in delivered(), timeout=20) is True
        finally:
            srv.stop()
        with psycopg.connect(url) as conn:  # a clean stop releases every lease and forgets the node
            rows = conn.execute("SELECT name, holder FROM state_leases.leases ORDER BY name").fetchall()
            nodes = conn.execute("SELECT count(*) FROM state_leases.nodes").fetchone()
        assert [r[1] for r in rows] == [""] * len(LEASES)
        assert nodes == (0,)
