"""GetChannel's IngestionStatus across nodes (issue 16 on issue 17's several nodes): two
``opentrail serve`` processes on one PostgreSQL database; PutAuditEvents through one, GetChannel
through the other (boto3), and after both restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests import postgres as pg
from tests.delivery.servers import ACCOUNT, KEY_ID, SECRET, Opentrail, wait_for

pytestmark = pytest.mark.slow


def _data(node: Opentrail) -> Any:
    return boto3.client("cloudtrail-data", endpoint_url=node.url, region_name="us-east-1", aws_access_key_id=KEY_ID,
                        aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))


def _event(uid: str, account: str = ACCOUNT) -> str:
    return json.dumps({"version": "1.0", "userIdentity": {"type": "CustomUser", "principalId": "alice"},
                       "eventSource": "myapp.example.com", "eventName": "Login", "eventTime": "2026-01-02T03:04:05Z",
                       "UID": uid, "recipientAccountId": account})


def test_another_node_and_a_restart_see_the_ingestion_status(tmp_path: Path) -> None:
    with pg.own_database() as url:
        args = ("--database-url", url)
        nodes = [Opentrail(tmp_path / "node0", *args), Opentrail(tmp_path / "node1", *args)]
        try:
            ct0, ct1 = nodes[0].cloudtrail(), nodes[1].cloudtrail()
            eds = ct0.create_event_data_store(
                Name="audit", TerminationProtectionEnabled=False,
                AdvancedEventSelectors=[{"Name": "audit", "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["ActivityAuditLog"]}]}])["EventDataStoreArn"]
            arn = ct0.create_channel(Name="app", Source="Custom",
                                     Destinations=[{"Type": "EVENT_DATA_STORE", "Location": eds}])["ChannelArn"]
            answer = _data(nodes[0]).put_audit_events(channelArn=arn, auditEvents=[
                {"id": "ok", "eventData": _event("u1")}, {"id": "foreign", "eventData": _event("u2", "999988887777")}])
            assert [f["errorCode"] for f in answer["failed"]] == ["InvalidRecipient"]
            first = ct0.get_channel(Channel=arn)["IngestionStatus"]  # the node that took the call: at once
            assert first["LatestIngestionSuccessEventID"] == answer["successful"][0]["eventID"]
            assert first["LatestIngestionErrorCode"] == "InvalidRecipient"
            # the other node: once written (every second)
            assert wait_for(lambda: ct1.get_channel(Channel=arn)["IngestionStatus"] == first, timeout=10)

            # a later call through the other node, every event refused
            answer = _data(nodes[1]).put_audit_events(channelArn=arn, auditEvents=[{"id": "bad", "eventData": "{"}])
            assert [f["errorCode"] for f in answer["failed"]] == ["InvalidData"]
            second = ct1.get_channel(Channel=arn)["IngestionStatus"]
            assert second["LatestIngestionAttemptTime"] > first["LatestIngestionAttemptTime"]
            assert second == {"LatestIngestionSuccessTime": first["LatestIngestionSuccessTime"],
                              "LatestIngestionSuccessEventID": first["LatestIngestionSuccessEventID"],
                              "LatestIngestionErrorCode": "InvalidData",
                              "LatestIngestionAttemptTime": second["LatestIngestionAttemptTime"]}
            assert wait_for(lambda: ct0.get_channel(Channel=arn)["IngestionStatus"] == second, timeout=10)
        finally:
            for node in nodes:
                node.stop()

        node = Opentrail(tmp_path / "node0", *args)
        try:
            assert node.cloudtrail().get_channel(Channel=arn)["IngestionStatus"] == second
        finally:
            node.stop()
