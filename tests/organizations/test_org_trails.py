"""Organization trails and organization event data stores end to end: ``opentrail serve`` with
moto's S3 server as the destination, boto3 and the stock AWS CLI as the management account, a
member account and a delegated administrator (root keys made with the AccountStore)."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import time
from typing import Any, Iterator

import boto3
import orjson
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from opentrail.auth.accounts import AccessKey, AccountStore
from tests.delivery.servers import Moto, Opentrail, wait_for
from tests.paths import AWS_CLI

BUCKET = "org-logs"
ACCESS_MESSAGE = ("The request could not be processed because your organization hasn\u2019t enabled CloudTrail service "
                  "access. Enable service access for CloudTrail, and then try again.")
MASTER_MESSAGE = ("You cannot configure or manage trails for an organization because this action requires being "
                  "signed in with the management account.")


class Env:
    def __init__(self, moto: Moto, srv: Opentrail) -> None:
        self.moto, self.srv = moto, srv
        self.accounts = AccountStore(srv.data_dir / "accounts.db")

    def key(self, account_id: str | None = None) -> AccessKey:
        return self.accounts.create_access_key(account_id or self.accounts.create_account())

    def client(self, key: AccessKey, service: str = "cloudtrail") -> Any:
        return boto3.client(service, endpoint_url=self.srv.url, region_name="us-east-1",
                            aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def organization(self, feature_set: str = "ALL", trusted: bool = True) -> tuple[AccessKey, str, str]:
        """A new management account with an organization and one created member: (key, org id, member)."""
        key = self.key()
        org = self.client(key, "organizations")
        org_id = org.create_organization(FeatureSet=feature_set)["Organization"]["Id"]
        member = org.create_account(Email=f"{org_id}@example.com", AccountName="dev")["CreateAccountStatus"]["AccountId"]
        if trusted:
            org.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
        return key, org_id, member

    def objects(self) -> dict[str, list[dict[str, Any]]]:
        s3 = self.moto.client("s3")
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
                for o in page.get("Contents", [])]
        return {k: orjson.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()))["Records"]
                for k in keys}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("orgtrail")
    moto = Moto(tmp)
    moto.client("s3").create_bucket(Bucket=BUCKET)
    srv = Opentrail(tmp / "data", "--s3-endpoint-url", moto.url, "--delivery-interval-s", "0.3",
                    "--lake-ingest-interval-s", "0.2")
    e = Env(moto, srv)
    try:
        yield e
    finally:
        e.accounts.close()
        srv.stop()
        moto.stop()


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_prerequisites_each_refused_with_aws_error(env: Env) -> None:
    alone = env.client(env.key())
    with pytest.raises(ClientError) as exc:
        alone.create_trail(Name="org", S3BucketName=BUCKET, IsOrganizationTrail=True)
    assert error(exc) == ("OrganizationsNotInUseException", "This account is not a member of an organization.")
    with pytest.raises(ClientError) as exc:
        alone.create_event_data_store(Name="org", OrganizationEnabled=True)
    assert error(exc)[0] == "OrganizationsNotInUseException"

    billing_key, _, _ = env.organization(feature_set="CONSOLIDATED_BILLING", trusted=False)
    with pytest.raises(ClientError) as exc:
        env.client(billing_key).create_trail(Name="org", S3BucketName=BUCKET, IsOrganizationTrail=True)
    assert error(exc) == ("OrganizationNotInAllFeaturesModeException", "All features must be enabled in "
                          "Organizations to support creating an organization trail or event data store.")

    key, _, member = env.organization(trusted=False)
    ct = env.client(key)
    with pytest.raises(ClientError) as exc:
        ct.create_trail(Name="org", S3BucketName=BUCKET, IsOrganizationTrail=True)
    assert error(exc) == ("CloudTrailAccessNotEnabledException", ACCESS_MESSAGE)
    with pytest.raises(ClientError) as exc:
        ct.create_event_data_store(Name="org", OrganizationEnabled=True)
    assert error(exc) == ("CloudTrailAccessNotEnabledException", ACCESS_MESSAGE)
    ct.create_trail(Name="plain", S3BucketName=BUCKET)
    with pytest.raises(ClientError) as exc:
        ct.update_trail(Name="plain", IsOrganizationTrail=True)
    assert error(exc) == ("CloudTrailAccessNotEnabledException", ACCESS_MESSAGE)
    assert ct.get_trail(Name="plain")["Trail"]["IsOrganizationTrail"] is False

    with pytest.raises(ClientError) as exc:
        env.client(env.key(member)).create_trail(Name="org", S3BucketName=BUCKET, IsOrganizationTrail=True)
    assert error(exc) == ("NotOrganizationMasterAccountException", MASTER_MESSAGE)


def test_delegated_administrators(env: Env) -> None:
    key, _, member = env.organization()
    ct, orgs = env.client(key), env.client(key, "organizations")
    member_ct = env.client(env.key(member))
    cases = [
        (member_ct.register_organization_delegated_admin, {"MemberAccountId": key.account_id},
         "NotOrganizationManagementAccountException"),
        (ct.register_organization_delegated_admin, {"MemberAccountId": key.account_id},
         "CannotDelegateManagementAccountException"),
        (ct.register_organization_delegated_admin, {"MemberAccountId": "999999999999"}, "AccountNotFoundException"),
        (ct.deregister_organization_delegated_admin, {"DelegatedAdminAccountId": member}, "AccountNotRegisteredException"),
    ]
    for call, params, code in cases:
        with pytest.raises(ClientError) as exc:
            call(**params)
        assert error(exc)[0] == code, (params, exc.value)
    ct.register_organization_delegated_admin(MemberAccountId=member)
    admins = orgs.list_delegated_administrators(ServicePrincipal="cloudtrail.amazonaws.com")["DelegatedAdministrators"]
    assert [a["Id"] for a in admins] == [member]
    with pytest.raises(ClientError) as exc:
        ct.register_organization_delegated_admin(MemberAccountId=member)
    assert error(exc)[0] == "AccountRegisteredException"
    others = [orgs.create_account(Email=f"a{i}@example.com", AccountName=f"a{i}")["CreateAccountStatus"]["AccountId"]
              for i in range(3)]
    ct.register_organization_delegated_admin(MemberAccountId=others[0])
    ct.register_organization_delegated_admin(MemberAccountId=others[1])
    with pytest.raises(ClientError) as exc:
        ct.register_organization_delegated_admin(MemberAccountId=others[2])
    assert error(exc)[0] == "DelegatedAdminAccountLimitExceededException"

    # the delegated administrator creates the trail in the management account; changes it by ARN only
    created = member_ct.create_trail(Name="by-admin", S3BucketName=BUCKET, IsOrganizationTrail=True)
    arn = f"arn:aws:cloudtrail:us-east-1:{key.account_id}:trail/by-admin"
    assert (created["TrailARN"], created["IsOrganizationTrail"]) == (arn, True)
    with pytest.raises(ClientError) as exc:
        member_ct.start_logging(Name="by-admin")
    assert error(exc) == ("TrailNotFoundException", f"Unknown trail: {arn} for the user: {member}")
    member_ct.start_logging(Name=arn)
    assert ct.get_trail_status(Name="by-admin")["IsLogging"] is True
    ct.deregister_organization_delegated_admin(DelegatedAdminAccountId=member)
    with pytest.raises(ClientError) as exc:
        member_ct.stop_logging(Name=arn)
    assert error(exc) == ("NotOrganizationMasterAccountException", MASTER_MESSAGE)
    record = next(r for r in (orgs.list_delegated_administrators()["DelegatedAdministrators"]) if r["Id"] == others[0])
    assert record["Id"] == others[0]
    ct.delete_trail(Name="by-admin")


def _member_keys(objects: dict[str, list[dict[str, Any]]], org_id: str, account: str) -> list[str]:
    pattern = re.compile(rf"AWSLogs/{org_id}/{account}/CloudTrail/us-east-1/\d{{4}}/\d{{2}}/\d{{2}}/"
                         rf"{account}_CloudTrail_us-east-1_\d{{8}}T\d{{4}}Z_[A-Za-z0-9]{{16}}\.json\.gz")
    return [k for k in objects if pattern.fullmatch(k)]


def test_organization_trail_delivers_every_member_and_members_cannot_change_it(env: Env) -> None:
    key, org_id, member = env.organization()
    ct, orgs = env.client(key), env.client(key, "organizations")
    member_ct = env.client(env.key(member))
    created = ct.create_trail(Name="org-trail", S3BucketName=BUCKET, IsOrganizationTrail=True, IsMultiRegionTrail=True)
    arn = f"arn:aws:cloudtrail:us-east-1:{key.account_id}:trail/org-trail"
    assert (created["TrailARN"], created["IsOrganizationTrail"]) == (arn, True)
    ct.start_logging(Name="org-trail")
    eds = ct.create_event_data_store(Name="org-store", OrganizationEnabled=True, RetentionPeriod=30)
    assert eds["OrganizationEnabled"] is True
    eds_id = eds["EventDataStoreArn"].rsplit("/", 1)[1]

    # the member sees the trail with the management account's ARN
    seen = member_ct.describe_trails()["trailList"]
    assert [(t["TrailARN"], t["IsOrganizationTrail"], t["HomeRegion"]) for t in seen] == [(arn, True, "us-east-1")]
    assert member_ct.list_trails()["Trails"] == [{"TrailARN": arn, "Name": "org-trail", "HomeRegion": "us-east-1"}]
    assert member_ct.get_trail(Name="org-trail")["Trail"]["TrailARN"] == arn
    assert member_ct.get_trail_status(Name=arn)["IsLogging"] is True
    # ... and cannot change it
    for call, params in [(member_ct.update_trail, {"Name": arn, "S3KeyPrefix": "x"}),
                         (member_ct.delete_trail, {"Name": arn}), (member_ct.stop_logging, {"Name": arn}),
                         (member_ct.put_event_selectors, {"TrailName": arn, "EventSelectors": [{"ReadWriteType": "All"}]})]:
        with pytest.raises(ClientError) as exc:
            call(**params)
        assert error(exc) == ("NotOrganizationMasterAccountException", MASTER_MESSAGE)
    with pytest.raises(ClientError) as exc:
        member_ct.delete_trail(Name="org-trail")
    assert error(exc) == ("TrailNotFoundException", f"Unknown trail: {arn} for the user: {member}")
    assert ct.get_trail_status(Name="org-trail")["IsLogging"] is True

    member_ct.list_public_keys()  # the member's own call, recorded in the member account
    ct.get_event_selectors(TrailName="org-trail")

    def delivered() -> dict[str, list[dict[str, Any]]]:
        return {k: v for k, v in env.objects().items() if k.startswith(f"AWSLogs/{org_id}/")}

    def both() -> bool:
        objects = delivered()
        names = {(r["recipientAccountId"], r["eventName"]) for rs in objects.values() for r in rs}
        return {(member, "ListPublicKeys"), (key.account_id, "GetEventSelectors")} <= names
    assert wait_for(both, timeout=20), env.srv.log.read_text()[-3000:]
    objects = delivered()
    assert _member_keys(objects, org_id, member) and _member_keys(objects, org_id, key.account_id)
    for k, records in objects.items():  # each account's events in its own folder
        account = k.split("/")[2]
        assert {r["recipientAccountId"] for r in records} == {account}, k
    ids = [r["eventID"] for rs in objects.values() for r in rs]
    assert len(ids) == len(set(ids))

    # the organization event data store has both accounts' events
    query = (f"SELECT recipientAccountId, eventName FROM {eds_id} WHERE eventName IN ('ListPublicKeys', "
             "'GetEventSelectors') ORDER BY eventName")
    expected = [[{"recipientAccountId": key.account_id}, {"eventName": "GetEventSelectors"}],
                [{"recipientAccountId": member}, {"eventName": "ListPublicKeys"}]]
    deadline = time.time() + 30
    while (rows := _query(ct, query)) != expected:
        assert time.time() < deadline, rows
        time.sleep(0.2)

    # removed from the organization: the member's later calls are no longer delivered
    orgs.remove_account_from_organization(AccountId=member)
    assert member_ct.describe_trails()["trailList"] == []
    member_ct.get_insight_selectors  # noqa: B018  (the client has it; nothing sent)
    member_ct.list_event_data_stores()
    ct.list_event_data_stores()

    def after() -> bool:
        names = {(r["recipientAccountId"], r["eventName"]) for rs in delivered().values() for r in rs}
        return (key.account_id, "ListEventDataStores") in names
    assert wait_for(after, timeout=20)
    time.sleep(1.0)  # one more delivery round
    names = {(r["recipientAccountId"], r["eventName"]) for rs in delivered().values() for r in rs}
    assert (member, "ListEventDataStores") not in names
    assert (member, "RemoveAccountFromOrganization") not in names
    ct.stop_logging(Name="org-trail")
    ct.update_event_data_store(EventDataStore=eds_id, TerminationProtectionEnabled=False)
    ct.delete_event_data_store(EventDataStore=eds_id)
    ct.delete_trail(Name="org-trail")


def _query(ct: Any, statement: str) -> list[list[dict[str, str]]]:
    query_id = ct.start_query(QueryStatement=statement)["QueryId"]
    deadline = time.time() + 30
    while (status := ct.describe_query(QueryId=query_id)["QueryStatus"]) in ("QUEUED", "RUNNING"):
        assert time.time() < deadline
        time.sleep(0.05)
    assert status == "FINISHED"
    return ct.get_query_results(QueryId=query_id)["QueryResultRows"]


def test_aws_cli_creates_an_organization_trail(env: Env) -> None:
    key, _, _ = env.organization()
    cli_env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
               "AWS_ACCESS_KEY_ID": key.access_key_id, "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1",
               "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    out = subprocess.run([str(AWS_CLI), "cloudtrail", "create-trail", "--endpoint-url", env.srv.url, "--name", "cli-org",
                          "--s3-bucket-name", BUCKET, "--is-organization-trail", "--is-multi-region-trail"],
                         env=cli_env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    trail = orjson.loads(out.stdout)
    assert (trail["TrailARN"], trail["IsOrganizationTrail"], trail["IsMultiRegionTrail"]) == (
        f"arn:aws:cloudtrail:us-east-1:{key.account_id}:trail/cli-org", True, True)


def test_organization_event_data_store_seen_by_delegated_admin_not_by_members(env: Env) -> None:
    """AWS (User Guide, "Understanding organization event data stores"): member accounts can't see an
    organization event data store, modify, delete or query it; a CloudTrail delegated administrator
    manages it (but only the management account converts it or enables Insights on it)."""
    key, _, member = env.organization()
    ct, orgs = env.client(key), env.client(key, "organizations")
    admin = orgs.create_account(Email="admin@example.com", AccountName="admin")["CreateAccountStatus"]["AccountId"]
    ct.register_organization_delegated_admin(MemberAccountId=admin)
    admin_ct, member_ct = env.client(env.key(admin)), env.client(env.key(member))
    eds = admin_ct.create_event_data_store(Name="org-eds", OrganizationEnabled=True, TerminationProtectionEnabled=False)
    arn = eds["EventDataStoreArn"]
    eds_id = arn.rsplit("/", 1)[1]
    assert arn.startswith(f"arn:aws:cloudtrail:us-east-1:{key.account_id}:eventdatastore/")
    own = admin_ct.create_event_data_store(Name="own-eds", TerminationProtectionEnabled=False)["EventDataStoreArn"]

    assert [s["EventDataStoreArn"] for s in ct.list_event_data_stores()["EventDataStores"]] == [arn]
    assert sorted(s["EventDataStoreArn"] for s in admin_ct.list_event_data_stores()["EventDataStores"]) == sorted([arn, own])
    assert member_ct.list_event_data_stores()["EventDataStores"] == []
    for ref in (eds_id, arn):
        assert admin_ct.get_event_data_store(EventDataStore=ref)["OrganizationEnabled"] is True
    with pytest.raises(ClientError) as exc:
        member_ct.get_event_data_store(EventDataStore=eds_id)
    assert error(exc)[0] == "EventDataStoreNotFoundException"
    for call in (member_ct.get_event_data_store, member_ct.delete_event_data_store):
        with pytest.raises(ClientError) as exc:
            call(EventDataStore=arn)
        assert error(exc)[0] == "EventDataStoreARNInvalidException"
    with pytest.raises(ClientError) as exc:
        member_ct.update_event_data_store(EventDataStore=eds_id, RetentionPeriod=30)
    assert error(exc)[0] == "EventDataStoreNotFoundException"
    with pytest.raises(ClientError) as exc:
        member_ct.start_query(QueryStatement=f"SELECT eventName FROM {eds_id}")
    assert error(exc)[0] == "EventDataStoreNotFoundException"

    # the delegated administrator changes it, stops and starts it, queries it ...
    assert admin_ct.update_event_data_store(EventDataStore=arn, RetentionPeriod=30)["RetentionPeriod"] == 30
    admin_ct.stop_event_data_store_ingestion(EventDataStore=eds_id)
    assert ct.get_event_data_store(EventDataStore=eds_id)["Status"] == "STOPPED_INGESTION"
    admin_ct.start_event_data_store_ingestion(EventDataStore=eds_id)
    assert _query(admin_ct, f"SELECT count(*) AS n FROM {eds_id} WHERE eventName = 'NoSuchCall'") == [[{"n": "0"}]]
    # ... but converts it (either way) or enables Insights only as the management account
    store_message = ("You cannot configure or manage event data stores for an organization because this action "
                     "requires being signed in with the management account.")
    for call, params in [(admin_ct.update_event_data_store, {"EventDataStore": eds_id, "OrganizationEnabled": False}),
                         (admin_ct.update_event_data_store, {"EventDataStore": own, "OrganizationEnabled": True}),
                         (admin_ct.put_insight_selectors, {"EventDataStore": eds_id, "InsightsDestination": own,
                                                           "InsightSelectors": [{"InsightType": "ApiCallRateInsight"}]})]:
        with pytest.raises(ClientError) as exc:
            call(**params)
        assert error(exc) == ("NotOrganizationMasterAccountException", store_message), params
    assert ct.get_event_data_store(EventDataStore=eds_id)["OrganizationEnabled"] is True

    # deregistered: the store is out of its sight
    ct.deregister_organization_delegated_admin(DelegatedAdminAccountId=admin)
    assert [s["EventDataStoreArn"] for s in admin_ct.list_event_data_stores()["EventDataStores"]] == [own]
    with pytest.raises(ClientError) as exc:
        admin_ct.delete_event_data_store(EventDataStore=eds_id)
    assert error(exc)[0] == "EventDataStoreNotFoundException"
    ct.register_organization_delegated_admin(MemberAccountId=admin)
    admin_ct.delete_event_data_store(EventDataStore=arn)
    assert ct.get_event_data_store(EventDataStore=eds_id)["Status"] == "PENDING_DELETION"
    admin_ct.delete_event_data_store(EventDataStore=own)


def test_organization_trail_counts_toward_the_five_trails_of_a_member(env: Env) -> None:
    """The per-Region limit counts what ListTrails lists: a member's own trails plus the
    organization trail it sees (multi-Region: in every Region); once the member leaves, it is free."""
    key, _, member = env.organization()
    ct, orgs = env.client(key), env.client(key, "organizations")
    ct.create_trail(Name="org-five", S3BucketName=BUCKET, IsOrganizationTrail=True, IsMultiRegionTrail=True)
    member_key = env.key(member)
    member_ct = env.client(member_key)
    for i in range(4):
        member_ct.create_trail(Name=f"own-{i}", S3BucketName=BUCKET)
    assert len(member_ct.list_trails()["Trails"]) == 5
    with pytest.raises(ClientError) as exc:
        member_ct.create_trail(Name="own-4", S3BucketName=BUCKET)
    assert error(exc) == ("MaximumNumberOfTrailsExceededException", "User already has 5 trails in us-east-1")
    west = boto3.client("cloudtrail", endpoint_url=env.srv.url, region_name="us-west-2",
                        aws_access_key_id=member_key.access_key_id, aws_secret_access_key=member_key.secret_access_key,
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    for i in range(4):
        west.create_trail(Name=f"west-{i}", S3BucketName=BUCKET)
    with pytest.raises(ClientError) as exc:
        west.create_trail(Name="west-4", S3BucketName=BUCKET)
    assert error(exc) == ("MaximumNumberOfTrailsExceededException", "User already has 5 trails in us-west-2")
    orgs.remove_account_from_organization(AccountId=member)
    member_ct.create_trail(Name="own-4", S3BucketName=BUCKET)
    west.create_trail(Name="west-4", S3BucketName=BUCKET)
    assert sorted(t["Name"] for t in member_ct.list_trails()["Trails"]) == [f"own-{i}" for i in range(5)]
