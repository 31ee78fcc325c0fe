"""Event data store operations through boto3 against a real server: defaults, output shapes, the
state machine (incl. restore and purge with a moved clock), paging, tags on event data store ARNs,
every modeled error opentrail answers (Code and Message), and the calls' records."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from opentrail.lake.model import PENDING_DELETION_S
from opentrail.server import RetentionPurger

from .conftest import ACCOUNT, OTHER_ACCOUNT, REGION, LakeServer

DEFAULT_SELECTORS = [{"Name": "Default management events",
                      "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
NOT_FOUND = ("EventDataStoreNotFoundException", "The event data store was not found.")
ARN_INVALID = ("EventDataStoreARNInvalidException",
               "The specified event data store ARN is not valid or does not map to an event data store in your account.")
BAD_STATUS = ("InvalidEventDataStoreStatusException",
              "The event data store is not in a status that supports the operation.")
INACTIVE = ("InactiveEventDataStoreException", "The event data store is inactive.")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response["Error"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return err["Code"], err["Message"]


def strip(response: dict[str, Any]) -> dict[str, Any]:
    response.pop("ResponseMetadata", None)
    return response


def at(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)


def eds_id(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def test_create_with_defaults_then_get_by_arn_and_id(srv: LakeServer) -> None:
    c = srv.client()
    created = strip(c.create_event_data_store(Name="sec"))
    arn = created["EventDataStoreArn"]
    assert re.fullmatch(rf"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:eventdatastore/{UUID.pattern}", arn)
    now = at(srv.clock.now)
    assert created == {
        "EventDataStoreArn": arn, "Name": "sec", "Status": "CREATED",
        "AdvancedEventSelectors": DEFAULT_SELECTORS, "MultiRegionEnabled": True, "OrganizationEnabled": False,
        "BillingMode": "EXTENDABLE_RETENTION_PRICING", "RetentionPeriod": 366, "TerminationProtectionEnabled": True,
        "CreatedTimestamp": now, "UpdatedTimestamp": now,
    }
    got = strip(c.get_event_data_store(EventDataStore=arn))
    assert got == {**created, "Status": "ENABLED", "FederationStatus": "DISABLED"}
    assert strip(c.get_event_data_store(EventDataStore=eds_id(arn))) == got
    assert "PartitionKeys" not in got


def test_create_with_every_member(srv: LakeServer) -> None:
    c = srv.client()
    selectors = [{"Name": "s3 writes", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "readOnly", "Equals": ["false"]}]}]
    created = strip(c.create_event_data_store(
        Name="data.store-1", AdvancedEventSelectors=selectors, MultiRegionEnabled=False, OrganizationEnabled=False,
        RetentionPeriod=2000, TerminationProtectionEnabled=False, TagsList=[{"Key": "team", "Value": "sec"}, {"Key": "k"}],
        KmsKeyId="alias/lake", StartIngestion=False, BillingMode="FIXED_RETENTION_PRICING"))
    assert created["Status"] == "CREATED"
    assert created["AdvancedEventSelectors"] == selectors
    assert (created["MultiRegionEnabled"], created["RetentionPeriod"], created["TerminationProtectionEnabled"],
            created["KmsKeyId"], created["BillingMode"]) == (False, 2000, False, "alias/lake", "FIXED_RETENTION_PRICING")
    assert created["TagsList"] == [{"Key": "team", "Value": "sec"}, {"Key": "k"}]
    got = c.get_event_data_store(EventDataStore=created["EventDataStoreArn"])
    assert got["Status"] == "STOPPED_INGESTION" and "TagsList" not in got
    fixed = c.create_event_data_store(Name="fixed", BillingMode="FIXED_RETENTION_PRICING")
    assert fixed["RetentionPeriod"] == 2557


def test_other_event_categories_are_kept(srv: LakeServer) -> None:
    c = srv.client()
    insights = [{"Name": "i", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Insight"]}]}]
    arn = c.create_event_data_store(Name="insights", AdvancedEventSelectors=insights)["EventDataStoreArn"]
    assert c.get_event_data_store(EventDataStore=arn)["AdvancedEventSelectors"] == insights
    assert error(c.stop_event_data_store_ingestion, EventDataStore=arn) == (
        "InvalidEventDataStoreCategoryException",
        "Ingestion can be started or stopped only on event data stores of the Management, Data, NetworkActivity "
        "or ConfigurationItem event category.")
    assert error(c.create_event_data_store, Name="mixed", AdvancedEventSelectors=insights + DEFAULT_SELECTORS) == (
        "InvalidEventSelectorsException", "An event data store for Insight events cannot select other event categories.")
    assert error(c.create_event_data_store, Name="filtered", AdvancedEventSelectors=[{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["ActivityAuditLog"]}, {"Field": "eventName", "Equals": ["x"]}]}])[0] == \
        "InvalidEventSelectorsException"


@pytest.mark.parametrize("kwargs, expected", [
    ({"RetentionPeriod": 2558, "BillingMode": "FIXED_RETENTION_PRICING"}, (
        "InvalidParameterException", "RetentionPeriod must be between 7 and 2557 days when BillingMode is "
        "FIXED_RETENTION_PRICING; 2558 was specified.")),
    ({"RetentionPeriod": 3654}, ("ValidationException", "1 validation error detected: Value '3654' at "
                                 "'retentionPeriod' failed to satisfy constraint: Member must have value less than or "
                                 "equal to 3653")),
    ({"OrganizationEnabled": True}, ("OrganizationsNotInUseException", "This account is not a member of an organization.")),
    ({"KmsKeyId": "not a key"}, ("ValidationException", None)),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventName", "Equals": ["x"]}]}]},
     ("InvalidEventSelectorsException", "Every advanced event selector must have an eventCategory field.")),
    ({"AdvancedEventSelectors": DEFAULT_SELECTORS * 6}, (
        "InvalidEventSelectorsException",
        "Too many advanced event selectors. An event data store can have up to 5 advanced event selectors.")),
    ({"TagsList": [{"Key": "aws:x", "Value": "v"}]}, (
        "InvalidTagParameterException", "Tag keys cannot start with the reserved prefix aws:: aws:x")),
    ({"Name": "bad name"}, ("ValidationException", None)),
])
def test_create_refuses_bad_input(srv: LakeServer, kwargs: dict[str, Any], expected: tuple[str, str | None]) -> None:
    code, message = error(srv.client().create_event_data_store, **{"Name": "x-store", **kwargs})
    assert code == expected[0]
    if expected[1] is not None:
        assert message == expected[1]
    assert srv.stores.all() == []


def test_names_are_unique_and_ten_stores_per_region_count_every_stage(srv: LakeServer) -> None:
    c = srv.client()
    arns = [c.create_event_data_store(Name=f"store{i}", TerminationProtectionEnabled=False)["EventDataStoreArn"]
            for i in range(10)]
    assert error(c.create_event_data_store, Name="store3") == (
        "EventDataStoreAlreadyExistsException", "An event data store with that name already exists.")
    c.delete_event_data_store(EventDataStore=arns[0])  # PENDING_DELETION still counts
    assert error(c.create_event_data_store, Name="eleven") == (
        "EventDataStoreMaxLimitExceededException", "Your account has used the maximum number of event data stores.")
    assert error(c.create_event_data_store, Name="store0")[0] == "EventDataStoreAlreadyExistsException"
    # Another Region and another account have their own.
    assert srv.client(region="eu-west-1").create_event_data_store(Name="store3")["Name"] == "store3"
    assert srv.client(key=srv.other_key).create_event_data_store(Name="store3")["Name"] == "store3"


def test_lookup_errors(srv: LakeServer) -> None:
    c = srv.client()
    arn = c.create_event_data_store(Name="mine")["EventDataStoreArn"]
    missing = "0233062b-51c6-4d18-8dec-a8c90da840d9"
    for op in (c.get_event_data_store, c.delete_event_data_store, c.restore_event_data_store,
               c.start_event_data_store_ingestion, c.stop_event_data_store_ingestion):
        assert error(op, EventDataStore=missing) == NOT_FOUND
        assert error(op, EventDataStore="not-a-store") == ARN_INVALID
    assert error(c.update_event_data_store, EventDataStore=missing, RetentionPeriod=30) == NOT_FOUND
    other_account = arn.replace(ACCOUNT, OTHER_ACCOUNT)
    assert error(c.get_event_data_store, EventDataStore=other_account) == ARN_INVALID
    assert error(c.get_event_data_store, EventDataStore="arn:aws:cloudtrail:us-east-1:111122223333:trail/x") == ARN_INVALID
    assert error(srv.client(region="eu-west-1").get_event_data_store, EventDataStore=arn) == NOT_FOUND
    assert error(srv.client(region="eu-west-1").get_event_data_store, EventDataStore=eds_id(arn)) == NOT_FOUND
    assert error(srv.client(key=srv.other_key).get_event_data_store, EventDataStore=eds_id(arn)) == NOT_FOUND


def test_update(srv: LakeServer) -> None:
    c = srv.client()
    arn = c.create_event_data_store(Name="upd", KmsKeyId="alias/one")["EventDataStoreArn"]
    srv.clock.now += 60
    got = strip(c.update_event_data_store(EventDataStore=eds_id(arn), Name="upd2", RetentionPeriod=90,
                                          MultiRegionEnabled=False, TerminationProtectionEnabled=False))
    assert (got["Name"], got["RetentionPeriod"], got["MultiRegionEnabled"], got["TerminationProtectionEnabled"],
            got["Status"], got["FederationStatus"], got["KmsKeyId"]) == ("upd2", 90, False, False, "ENABLED", "DISABLED",
                                                                         "alias/one")
    assert got["UpdatedTimestamp"] == at(srv.clock.now) and got["CreatedTimestamp"] == at(srv.clock.now - 60)
    assert strip(c.get_event_data_store(EventDataStore=arn)) == got
    assert error(c.update_event_data_store, EventDataStore=arn) == (
        "InvalidParameterException", "You must specify at least one parameter to update besides EventDataStore.")
    assert error(c.update_event_data_store, EventDataStore=arn, BillingMode="FIXED_RETENTION_PRICING") == (
        "InvalidParameterException", "You cannot change the billing mode of an event data store from "
        "EXTENDABLE_RETENTION_PRICING to FIXED_RETENTION_PRICING.")
    assert error(c.update_event_data_store, EventDataStore=arn, KmsKeyId="alias/two") == (
        "InvalidParameterException", "The KMS key of an event data store cannot be changed or removed once it is set.")
    assert c.update_event_data_store(EventDataStore=arn, KmsKeyId="alias/one")["KmsKeyId"] == "alias/one"
    c.create_event_data_store(Name="taken")
    assert error(c.update_event_data_store, EventDataStore=arn, Name="taken")[0] == "EventDataStoreAlreadyExistsException"
    insights = [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Insight"]}]}]
    assert error(c.update_event_data_store, EventDataStore=arn, AdvancedEventSelectors=insights) == (
        "InvalidEventSelectorsException", "You cannot change the event category of an event data store "
        "(Management to Insight).")
    data = [{"Name": "d", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                             {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}]
    assert c.update_event_data_store(EventDataStore=arn, AdvancedEventSelectors=data)["AdvancedEventSelectors"] == data
    fixed = c.create_event_data_store(Name="fixed", BillingMode="FIXED_RETENTION_PRICING")["EventDataStoreArn"]
    moved = c.update_event_data_store(EventDataStore=fixed, BillingMode="EXTENDABLE_RETENTION_PRICING", RetentionPeriod=3653)
    assert (moved["BillingMode"], moved["RetentionPeriod"]) == ("EXTENDABLE_RETENTION_PRICING", 3653)


def test_ingestion_delete_restore_and_purge(srv: LakeServer) -> None:
    c = srv.client()
    arn = c.create_event_data_store(Name="life")["EventDataStoreArn"]
    assert error(c.start_event_data_store_ingestion, EventDataStore=arn) == BAD_STATUS
    assert strip(c.stop_event_data_store_ingestion(EventDataStore=arn)) == {}
    assert c.get_event_data_store(EventDataStore=arn)["Status"] == "STOPPED_INGESTION"
    assert error(c.stop_event_data_store_ingestion, EventDataStore=arn) == BAD_STATUS
    assert error(c.delete_event_data_store, EventDataStore=arn) == (
        "EventDataStoreTerminationProtectedException",
        "The event data store cannot be deleted because termination protection is enabled for it.")
    assert error(c.restore_event_data_store, EventDataStore=arn) == BAD_STATUS
    c.update_event_data_store(EventDataStore=arn, TerminationProtectionEnabled=False)
    assert strip(c.delete_event_data_store(EventDataStore=arn)) == {}
    assert c.get_event_data_store(EventDataStore=arn)["Status"] == "PENDING_DELETION"
    assert [s["Name"] for s in c.list_event_data_stores()["EventDataStores"]] == ["life"]
    assert error(c.delete_event_data_store, EventDataStore=arn) == INACTIVE
    assert error(c.update_event_data_store, EventDataStore=arn, RetentionPeriod=30) == INACTIVE
    assert error(c.start_event_data_store_ingestion, EventDataStore=arn) == BAD_STATUS
    assert error(c.add_tags, ResourceId=arn, TagsList=[{"Key": "k"}]) == INACTIVE
    restored = strip(c.restore_event_data_store(EventDataStore=eds_id(arn)))
    assert restored["Status"] == "STOPPED_INGESTION" and "FederationStatus" not in restored
    c.start_event_data_store_ingestion(EventDataStore=eds_id(arn))
    assert c.get_event_data_store(EventDataStore=arn)["Status"] == "ENABLED"

    # Deleted, then purged by the server's purger once 7 days have passed.
    c.delete_event_data_store(EventDataStore=arn)
    files = srv.lake.root / eds_id(arn)
    files.mkdir(parents=True)
    (files / "part.parquet").write_bytes(b"x")
    purger = RetentionPurger(srv.store, 0, lake=srv.lake, clock=srv.clock)
    assert purger.purge_event_data_stores(srv.clock.now + PENDING_DELETION_S - 1) == []
    assert c.restore_event_data_store(EventDataStore=arn)["Status"] == "ENABLED"
    c.delete_event_data_store(EventDataStore=arn)
    assert purger.purge_event_data_stores(srv.clock.now + PENDING_DELETION_S) == [eds_id(arn)]
    assert not files.exists()
    assert error(c.get_event_data_store, EventDataStore=arn) == NOT_FOUND
    assert error(c.restore_event_data_store, EventDataStore=arn) == NOT_FOUND


def test_list_pages(srv: LakeServer) -> None:
    c = srv.client()
    names = []
    for i in range(7):
        srv.clock.now += 1
        names.append(c.create_event_data_store(Name=f"page{i}")["Name"])
    srv.client(region="eu-west-1").create_event_data_store(Name="elsewhere")
    first = c.list_event_data_stores(MaxResults=3)
    assert [s["Name"] for s in first["EventDataStores"]] == names[:3]
    assert set(first["EventDataStores"][0]) == {"EventDataStoreArn", "Name"}
    seen, pages, token = [], 0, None
    while True:
        page = c.list_event_data_stores(MaxResults=2, **({"NextToken": token} if token else {}))
        seen += [s["Name"] for s in page["EventDataStores"]]
        pages += 1
        token = page.get("NextToken")
        if token is None:
            break
    assert (seen, pages) == (names, 4)
    assert "NextToken" not in c.list_event_data_stores()
    assert error(c.list_event_data_stores, MaxResults=1001) == ("InvalidMaxResultsException",
                                                                "MaxResults must be between 1 and 1000.")
    assert error(c.list_event_data_stores, NextToken="garbage") == ("InvalidNextTokenException", "Invalid NextToken.")


def test_tags_on_event_data_store_arns(srv: LakeServer) -> None:
    c = srv.client()
    arn = c.create_event_data_store(Name="tagged", TagsList=[{"Key": "a", "Value": "1"}])["EventDataStoreArn"]
    c.add_tags(ResourceId=arn, TagsList=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert c.list_tags(ResourceIdList=[arn])["ResourceTagList"] == [
        {"ResourceId": arn, "TagsList": [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]}]
    c.remove_tags(ResourceId=arn, TagsList=[{"Key": "a"}])
    assert c.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"] == [{"Key": "b", "Value": "2"}]
    assert error(c.add_tags, ResourceId=arn, TagsList=[{"Key": f"k{i}"} for i in range(50)]) == (
        "TagsLimitExceededException", "The number of tags on the resource exceeds the limit of 50.")
    missing = arn.rsplit("/", 1)[0] + "/0233062b-51c6-4d18-8dec-a8c90da840d9"
    assert error(c.add_tags, ResourceId=missing, TagsList=[{"Key": "k"}]) == (
        "ResourceNotFoundException", f"Resource {missing} does not exist.")
    assert error(c.list_tags, ResourceIdList=[arn.replace(ACCOUNT, OTHER_ACCOUNT)]) == (
        "CloudTrailARNInvalidException",
        f"AccountID in ARN is wrong, you can only access resources with AccountID {ACCOUNT}.")
    # Trails and event data stores in one ListTags call.
    c.create_trail(Name="trl", S3BucketName="trail-bucket", TagsList=[{"Key": "t", "Value": "v"}])
    trail_arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/trl"
    assert c.list_tags(ResourceIdList=[trail_arn, arn])["ResourceTagList"] == [
        {"ResourceId": trail_arn, "TagsList": [{"Key": "t", "Value": "v"}]},
        {"ResourceId": arn, "TagsList": [{"Key": "b", "Value": "2"}]}]


def test_calls_are_recorded(srv: LakeServer) -> None:
    c = srv.client()
    created = c.create_event_data_store(Name="recorded", RetentionPeriod=30)
    arn = created["EventDataStoreArn"]
    c.get_event_data_store(EventDataStore=arn)
    srv.store.flush()
    events = c.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                "AttributeValue": "CreateEventDataStore"}])["Events"]
    record = json.loads(events[0]["CloudTrailEvent"])
    assert record["requestParameters"] == {"name": "recorded", "retentionPeriod": 30}
    assert record["responseElements"]["eventDataStoreArn"] == arn
    assert record["responseElements"]["status"] == "CREATED"
    assert record["readOnly"] is False
    gets = c.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetEventDataStore"}])
    assert json.loads(gets["Events"][0]["CloudTrailEvent"])["readOnly"] is True


def test_without_lake_the_operations_are_not_implemented(tmp_path: Any) -> None:
    from opentrail.api.app import build_app
    from opentrail.auth.accounts import AccountStore
    from opentrail.settings import Settings
    from opentrail.store.memory import MemoryEventStore
    from tests.serving import serving
    import boto3

    accounts = AccountStore(tmp_path / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    store = MemoryEventStore()
    try:
        with serving(build_app(settings=Settings(), store=store, accounts=accounts)) as url:
            c = boto3.client("cloudtrail", endpoint_url=url, region_name=REGION, aws_access_key_id=key.access_key_id,
                             aws_secret_access_key=key.secret_access_key)
            code, _ = error(c.list_event_data_stores)
            assert code == "UnknownOperationException"
    finally:
        store.close()
        accounts.close()


def test_a_change_that_cannot_be_recorded_is_not_made(srv: LakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = srv.client()
    arn = c.create_event_data_store(Name="kept", TerminationProtectionEnabled=False)["EventDataStoreArn"]
    before, version = srv.stores.all(), srv.stores.version

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(srv.store, "append", full)
    for call, kwargs in ((c.create_event_data_store, {"Name": "lost"}),
                         (c.update_event_data_store, {"EventDataStore": arn, "RetentionPeriod": 30}),
                         (c.delete_event_data_store, {"EventDataStore": arn}),
                         (c.stop_event_data_store_ingestion, {"EventDataStore": arn}),
                         (c.add_tags, {"ResourceId": arn, "TagsList": [{"Key": "k"}]})):
        with pytest.raises(ClientError) as info:
            call(**kwargs)
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] in (500, 503)
    assert (srv.stores.all(), srv.stores.version) == (before, version)


FEDERATED = ("EventDataStoreFederationEnabledException",
             "Federation is enabled for the event data store. Disable federation before you delete the event data "
             "store or enable federation again.")


def test_federation_status_and_role_and_delete_refused_while_federated(srv: LakeServer) -> None:
    c = srv.client()
    arn = c.create_event_data_store(Name="fed", TerminationProtectionEnabled=False)["EventDataStoreArn"]
    role = f"arn:aws:iam::{ACCOUNT}:role/lake-federation"
    assert strip(c.enable_federation(EventDataStore=eds_id(arn), FederationRoleArn=role)) == {
        "EventDataStoreArn": arn, "FederationStatus": "ENABLED", "FederationRoleArn": role}
    got = c.get_event_data_store(EventDataStore=arn)
    assert (got["FederationStatus"], got["FederationRoleArn"]) == ("ENABLED", role)
    assert error(c.enable_federation, EventDataStore=arn, FederationRoleArn=role) == FEDERATED
    assert error(c.delete_event_data_store, EventDataStore=arn) == FEDERATED
    assert strip(c.disable_federation(EventDataStore=arn)) == {"EventDataStoreArn": arn, "FederationStatus": "DISABLED"}
    got = c.get_event_data_store(EventDataStore=arn)
    assert (got["FederationStatus"], "FederationRoleArn" in got) == ("DISABLED", False)
    assert error(c.enable_federation, EventDataStore=arn, FederationRoleArn="arn:aws:iam::123:user/x") == (
        "InvalidParameterException",
        "FederationRoleArn arn:aws:iam::123:user/x is not valid. Expected arn:aws:iam::<account-id>:role/<name>.")
    c.delete_event_data_store(EventDataStore=arn)
    assert error(c.enable_federation, EventDataStore=arn, FederationRoleArn=role) == INACTIVE
    assert error(c.disable_federation, EventDataStore=arn) == INACTIVE
