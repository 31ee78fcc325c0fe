"""Channels, PutAuditEvents and resource policies end to end through `opentrail serve` (a real
process): boto3 ``cloudtrail`` and ``cloudtrail-data`` clients and the stock AWS CLI; the events
queried back with StartQuery; cross-account with and without a channel policy."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.test_e2e_cli import Server

OTHER = "222233334444"
_CFG = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def srv(tmp_path_factory: Any) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("channels")
    data = tmp / "data"
    server = Server(data, None, "--lake-ingest-interval-s", "0.2")
    subprocess.run([sys.executable, "-m", "opentrail.cli", "create-access-key", "--data-dir", str(data),
                    "--account-id", OTHER, "--profile", "other"], check=True, capture_output=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _env(srv: Server, monkeypatch: Any) -> None:
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(srv.data_dir / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(srv.data_dir.parent / "no-config"))


def _client(srv: Server, name: str, profile: str = "opentrail") -> Any:
    return boto3.Session(profile_name=profile, region_name="us-east-1").client(name, endpoint_url=srv.url, config=_CFG)


def _event(account: str, uid: str = "uid-1", name: str = "Login", **extra: Any) -> str:
    data = {"version": "1.0", "userIdentity": {"type": "CustomUser", "principalId": "alice", "details": {"team": "red"}},
            "eventSource": "myapp.example.com", "eventName": name, "eventTime": "2026-01-02T03:04:05Z", "UID": uid,
            "recipientAccountId": account, "requestParameters": {"user": "alice", "n": 3}, **extra}
    return json.dumps(data)


def _query(ct: Any, statement: str, **kw: Any) -> list[list[dict[str, str]]]:
    query_id = ct.start_query(QueryStatement=statement, **kw)["QueryId"]
    deadline = time.time() + 30
    while (status := ct.describe_query(QueryId=query_id)["QueryStatus"]) in ("QUEUED", "RUNNING"):
        assert time.time() < deadline
        time.sleep(0.05)
    assert status == "FINISHED", ct.describe_query(QueryId=query_id)
    return ct.get_query_results(QueryId=query_id)["QueryResultRows"]


def _eventually(ct: Any, statement: str, expected: Any, **kw: Any) -> None:
    deadline = time.time() + 30
    while (rows := _query(ct, statement, **kw)) != expected:
        assert time.time() < deadline, rows
        time.sleep(0.2)


def _store(ct: Any, name: str) -> str:
    return str(ct.create_event_data_store(
        Name=name, TerminationProtectionEnabled=False,
        AdvancedEventSelectors=[{"Name": "audit", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["ActivityAuditLog"]}]}])["EventDataStoreArn"])


def test_channel_lifecycle_put_audit_events_and_query(srv: Server) -> None:
    ct, data = _client(srv, "cloudtrail"), _client(srv, "cloudtrail-data")
    eds = _store(ct, "apps")
    account = eds.split(":")[4]
    mgmt = ct.create_event_data_store(Name="mgmt", TerminationProtectionEnabled=False)["EventDataStoreArn"]
    with pytest.raises(ClientError) as e:
        ct.create_channel(Name="bad", Source="Custom", Destinations=[{"Type": "EVENT_DATA_STORE", "Location": mgmt}])
    assert e.value.response["Error"]["Code"] == "InvalidEventDataStoreCategoryException"
    created = ct.create_channel(Name="app-channel", Source="Custom",
                                Destinations=[{"Type": "EVENT_DATA_STORE", "Location": eds}],
                                Tags=[{"Key": "team", "Value": "red"}])
    arn = created["ChannelArn"]
    assert arn.startswith(f"arn:aws:cloudtrail:us-east-1:{account}:channel/")
    assert created["Destinations"] == [{"Type": "EVENT_DATA_STORE", "Location": eds}]
    assert created["Tags"] == [{"Key": "team", "Value": "red"}]
    with pytest.raises(ClientError) as e:
        ct.create_channel(Name="app-channel", Source="Other", Destinations=[{"Type": "EVENT_DATA_STORE", "Location": eds}])
    assert e.value.response["Error"]["Code"] == "ChannelAlreadyExistsException"
    assert ct.list_channels()["Channels"] == [{"ChannelArn": arn, "Name": "app-channel"}]
    assert ct.list_tags(ResourceIdList=[arn])["ResourceTagList"] == [
        {"ResourceId": arn, "TagsList": [{"Key": "team", "Value": "red"}]}]
    with pytest.raises(ClientError) as e:
        ct.delete_event_data_store(EventDataStore=eds)
    assert e.value.response["Error"]["Code"] == "ChannelExistsForEDSException"

    assert ct.get_channel(Channel=arn)["IngestionStatus"] == {}  # no PutAuditEvents yet
    good = _event(account)
    before = time.time()
    answer = data.put_audit_events(channelArn=arn, auditEvents=[
        {"id": "one", "eventData": good,
         "eventDataChecksum": base64.b64encode(hashlib.sha256(good.encode()).digest()).decode()},
        {"id": "badsum", "eventData": good, "eventDataChecksum": "AAAA"},
        {"id": "notjson", "eventData": "{nope"},
        {"id": "missing", "eventData": json.dumps({"version": "1"})},
        {"id": "long", "eventData": _event(account, errorCode="x" * 257)},
        {"id": "foreign", "eventData": _event("999988887777")},
    ])
    assert [s["id"] for s in answer["successful"]] == ["one"]
    assert [(f["id"], f["errorCode"]) for f in answer["failed"]] == [
        ("badsum", "InvalidChecksum"), ("notjson", "InvalidData"), ("missing", "FieldNotFound"),
        ("long", "FieldTooLong"), ("foreign", "InvalidRecipient")]
    after = time.time()
    event_id = answer["successful"][0]["eventID"]
    with pytest.raises(ClientError) as e:
        data.put_audit_events(channelArn=arn, auditEvents=[{"id": "a", "eventData": good}, {"id": "a", "eventData": good}])
    assert e.value.response["Error"]["Code"] == "DuplicatedAuditEventId"
    with pytest.raises(ClientError) as e:
        data.put_audit_events(channelArn=arn.replace("channel/", "channel/0") , auditEvents=[{"id": "a", "eventData": good}])
    assert e.value.response["Error"]["Code"] == "ChannelNotFound"
    with pytest.raises(ClientError) as e:
        data.put_audit_events(channelArn="arn:aws:s3:::bucket", auditEvents=[{"id": "a", "eventData": good}])
    assert e.value.response["Error"]["Code"] == "InvalidChannelARN"

    got = ct.get_channel(Channel=arn)
    assert got["Source"] == "Custom" and got["Name"] == "app-channel"
    assert got["SourceConfig"] == {"ApplyToAllRegions": False, "AdvancedEventSelectors": []}
    # the call with accepted and refused events (the calls refused as a whole are no attempts)
    status = got["IngestionStatus"]
    assert sorted(status) == ["LatestIngestionAttemptEventID", "LatestIngestionAttemptTime",
                              "LatestIngestionErrorCode", "LatestIngestionSuccessEventID",
                              "LatestIngestionSuccessTime"]
    assert status["LatestIngestionSuccessEventID"] == status["LatestIngestionAttemptEventID"] == event_id
    assert status["LatestIngestionErrorCode"] == "InvalidRecipient"  # the call's last refused event
    assert status["LatestIngestionSuccessTime"] == status["LatestIngestionAttemptTime"]
    assert before - 0.001 <= status["LatestIngestionAttemptTime"].timestamp() <= after + 0.001

    eds_id = eds.rsplit("/", 1)[1]
    _eventually(ct, f"SELECT eventID, eventCategory, eventType, eventTime, awsRegion, recipientAccountId, "
                    f"eventData.eventName, eventData.userIdentity.principalId, element_at(eventData.requestParameters, 'n') AS n, "
                    f"metadata.channelARN FROM {eds_id}",
                [[{"eventID": event_id}, {"eventCategory": "ActivityAuditLog"}, {"eventType": "ActivityLog"},
                  {"eventTime": "2026-01-02 03:04:05.000"}, {"awsRegion": "us-east-1"}, {"recipientAccountId": account},
                  {"eventName": "Login"}, {"principalId": "alice"}, {"n": "3"}, {"channelARN": arn}]])
    # not in the event history (LookupEvents) nor in a store of CloudTrail events
    assert ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": event_id}])["Events"] == []
    # the call itself is recorded as a data event
    mgmt_id = mgmt.rsplit("/", 1)[1]
    assert _query(ct, f"SELECT count(*) AS n FROM {mgmt_id} WHERE eventName = 'Login'") == [[{"n": "0"}]]

    # the stock AWS CLI
    cli = subprocess.run([str(Path(sys.executable).parent / "aws"), "cloudtrail-data", "put-audit-events",
                          "--endpoint-url", srv.url, "--region", "us-east-1", "--profile", "opentrail",
                          "--channel-arn", arn, "--audit-events",
                          json.dumps([{"id": "cli-1", "eventData": _event(account, uid="cli", name="FromCli")}])],
                         capture_output=True, text=True, env=os.environ)
    assert cli.returncode == 0, cli.stderr
    out = json.loads(cli.stdout)
    assert out["failed"] == [] and [s["id"] for s in out["successful"]] == ["cli-1"]
    _eventually(ct, f"SELECT eventData.eventName, eventData.uid FROM {eds_id} ORDER BY eventData.eventName",
                [[{"eventName": "FromCli"}, {"uid": "cli"}], [{"eventName": "Login"}, {"uid": "uid-1"}]])

    renamed = ct.update_channel(Channel=arn, Name="renamed")
    assert renamed["Name"] == "renamed"
    ct.delete_channel(Channel=arn)
    with pytest.raises(ClientError) as e:
        ct.get_channel(Channel=arn)
    assert e.value.response["Error"]["Code"] == "ChannelNotFoundException"
    ct.delete_event_data_store(EventDataStore=eds)


def test_resource_policies_and_cross_account(srv: Server) -> None:
    ct, other_data = _client(srv, "cloudtrail"), _client(srv, "cloudtrail-data", "other")
    eds = _store(ct, "shared")
    account = eds.split(":")[4]
    arn = ct.create_channel(Name="partner", Source="ExamplePartner",
                            Destinations=[{"Type": "EVENT_DATA_STORE", "Location": eds}])["ChannelArn"]
    event = [{"id": "x1", "eventData": _event(account, uid="x", name="CrossAccount")}]
    with pytest.raises(ClientError) as e:
        other_data.put_audit_events(channelArn=arn, auditEvents=event)
    assert e.value.response["Error"]["Code"] == "ChannelInsufficientPermission"
    with pytest.raises(ClientError) as e:
        ct.get_resource_policy(ResourceArn=arn)
    assert e.value.response["Error"]["Code"] == "ResourcePolicyNotFoundException"
    bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": OTHER},
                                                    "Action": "cloudtrail:StartQuery", "Resource": arn}]}
    with pytest.raises(ClientError) as e:
        ct.put_resource_policy(ResourceArn=arn, ResourcePolicy=json.dumps(bad))
    assert e.value.response["Error"]["Code"] == "ResourcePolicyNotValidException"
    with pytest.raises(ClientError) as e:
        ct.put_resource_policy(ResourceArn=f"arn:aws:cloudtrail:us-east-1:{account}:trail/t", ResourcePolicy="{}")
    assert e.value.response["Error"]["Code"] == "ResourceTypeNotSupportedException"
    with pytest.raises(ClientError) as e:
        ct.get_resource_policy(ResourceArn=f"arn:aws:cloudtrail:us-east-1:{account}:dashboard/none")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "partner", "Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "cloudtrail-data:PutAuditEvents",
         "Resource": arn}]})
    put = ct.put_resource_policy(ResourceArn=arn, ResourcePolicy=policy)
    assert (put["ResourceArn"], put["ResourcePolicy"]) == (arn, policy)
    assert ct.get_resource_policy(ResourceArn=arn)["ResourcePolicy"] == policy
    answer = other_data.put_audit_events(channelArn=arn, auditEvents=event)
    assert answer["failed"] == [] and [s["id"] for s in answer["successful"]] == ["x1"]

    # a cross-account query: refused without a store policy, answered with one
    other_ct = _client(srv, "cloudtrail", "other")
    eds_id = eds.rsplit("/", 1)[1]
    statement = f"SELECT eventData.eventName FROM {eds_id}"
    with pytest.raises(ClientError) as e:
        other_ct.start_query(QueryStatement=statement, EventDataStoreOwnerAccountId=account)
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    ct.put_resource_policy(ResourceArn=eds, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
         "Action": ["cloudtrail:StartQuery", "cloudtrail:GetQueryResults", "cloudtrail:DescribeQuery"],
         "Resource": eds}]}))
    _eventually(other_ct, statement, [[{"eventName": "CrossAccount"}]], EventDataStoreOwnerAccountId=account)

    ct.delete_resource_policy(ResourceArn=arn)
    with pytest.raises(ClientError) as e:
        other_data.put_audit_events(channelArn=arn, auditEvents=event)
    assert e.value.response["Error"]["Code"] == "ChannelInsufficientPermission"


def test_channel_sender_batches_and_spools(srv: Server, tmp_path: Path) -> None:
    from opentrail.client.channel import ChannelSender

    ct, data = _client(srv, "cloudtrail"), _client(srv, "cloudtrail-data")
    eds = _store(ct, "sdk-events")
    account = eds.split(":")[4]
    arn = ct.create_channel(Name="sdk", Source="MySdkApp",
                            Destinations=[{"Type": "EVENT_DATA_STORE", "Location": eds}])["ChannelArn"]
    sender = ChannelSender(data, arn, tmp_path / "spool")
    for i in range(250):
        assert sender.send(json.loads(_event(account, uid=f"sdk-{i}", name="Sdk")))
    assert sender.send("{not json}")
    assert sender.flush(30)
    sender.close()
    assert (sender.sent, sender.failed, sender.dropped) == (250, 1, 0)
    _eventually(ct, f"SELECT count(*) AS n, count(DISTINCT eventData.uid) AS u FROM {eds.rsplit('/', 1)[1]}",
                [[{"n": "250"}, {"u": "250"}]])
