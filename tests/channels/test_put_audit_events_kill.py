"""kill -9 right after PutAuditEvents answered: every accepted event is in the channel's store after
a restart (accepted means durable: the events are in the event log before the answer)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.test_e2e_cli import Server


def test_accepted_events_survive_kill_9(tmp_path: Path, monkeypatch: Any) -> None:
    data = tmp_path / "data"
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(data / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    # a long ingest interval: the events are not in the store's files yet when the server dies
    srv = Server(data, None, "--lake-ingest-interval-s", "30")
    try:
        session = boto3.Session(profile_name="opentrail", region_name="us-east-1")
        ct = session.client("cloudtrail", endpoint_url=srv.url, config=cfg)
        cd = session.client("cloudtrail-data", endpoint_url=srv.url, config=cfg)
        eds = ct.create_event_data_store(Name="apps", AdvancedEventSelectors=[
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["ActivityAuditLog"]}]}])["EventDataStoreArn"]
        account = eds.split(":")[4]
        arn = ct.create_channel(Name="app-events", Source="Custom",
                                Destinations=[{"Type": "EVENT_DATA_STORE", "Location": eds}])["ChannelArn"]
        accepted: list[str] = []
        for batch in range(5):
            events = [{"id": f"e{batch}-{i}", "eventData": json.dumps({
                "version": "1", "userIdentity": {"type": "App", "principalId": "p"}, "eventSource": "app",
                "eventName": "Write", "eventTime": "2026-03-04T05:06:07Z", "UID": f"{batch}-{i}",
                "recipientAccountId": account})} for i in range(100)]
            answer = cd.put_audit_events(channelArn=arn, auditEvents=events)
            assert answer["failed"] == []
            accepted += [s["eventID"] for s in answer["successful"]]
        srv.proc.kill()  # SIGKILL right after the last answer
        srv.proc.wait()
    finally:
        srv.stop()
    srv = Server(data, None, "--lake-ingest-interval-s", "0.2")
    try:
        ct = boto3.Session(profile_name="opentrail", region_name="us-east-1").client(
            "cloudtrail", endpoint_url=srv.url, config=cfg)
        statement = f"SELECT eventID FROM {eds.rsplit('/', 1)[1]} ORDER BY eventID"
        deadline = time.time() + 60
        while True:
            qid = ct.start_query(QueryStatement=statement)["QueryId"]
            while ct.describe_query(QueryId=qid)["QueryStatus"] in ("QUEUED", "RUNNING"):
                time.sleep(0.05)
            rows, token = [], None
            while True:
                page = ct.get_query_results(QueryId=qid, **({"NextToken": token} if token else {}))
                rows += [r[0]["eventID"] for r in page["QueryResultRows"]]
                token = page.get("NextToken")
                if not token:
                    break
            if rows == sorted(accepted) or time.time() > deadline:
                break
            time.sleep(0.3)
        assert len(accepted) == 500
        assert rows == sorted(accepted)
    finally:
        srv.stop()
