"""Trail operations through boto3 against a real server: success shapes and errors (Code, Message)."""

from __future__ import annotations

import datetime
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from .conftest import ACCOUNT, BUCKET, OTHER_ACCOUNT, REGION, TrailServer

ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"


def error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response["Error"]
    return err["Code"], err["Message"]


def strip(response: dict[str, Any]) -> dict[str, Any]:
    response.pop("ResponseMetadata", None)
    return response


def test_create_trail_answers_the_model_shape(srv: TrailServer) -> None:
    c = srv.client()
    got = strip(c.create_trail(Name="main", S3BucketName=BUCKET, S3KeyPrefix="logs", SnsTopicName="topic",
                               EnableLogFileValidation=True, TagsList=[{"Key": "team", "Value": "sec"}]))
    assert got == {
        "Name": "main",
        "S3BucketName": BUCKET,
        "S3KeyPrefix": "logs",
        "SnsTopicName": "topic",
        "SnsTopicARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:topic",
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": False,
        "TrailARN": ARN,
        "LogFileValidationEnabled": True,
        "IsOrganizationTrail": False,
    }
    assert strip(c.get_trail(Name="main")) == {"Trail": {
        "Name": "main", "S3BucketName": BUCKET, "S3KeyPrefix": "logs", "SnsTopicName": "topic",
        "SnsTopicARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:topic", "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": False, "HomeRegion": REGION, "TrailARN": ARN, "LogFileValidationEnabled": True,
        "HasCustomEventSelectors": False, "HasInsightSelectors": False, "IsOrganizationTrail": False,
    }}
    assert c.get_trail(Name=ARN)["Trail"]["Name"] == "main"
    assert c.list_tags(ResourceIdList=[ARN])["ResourceTagList"] == [
        {"ResourceId": ARN, "TagsList": [{"Key": "team", "Value": "sec"}]}
    ]


@pytest.mark.parametrize("name, message", [
    ("ab", "Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters."),
    ("a" * 129, "Trail name too long. Maximum allowed length: 128 characters. Specified name length: 129 characters."),
    ("-abc", "Trail name must starts with a letter or number."),
    ("abc_", "Trail name must ends with a letter or number."),
    ("ab$c", "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), "
             "hyphens (-), and underscores (_)."),
    ("my-_trail", "Trail name cannot have adjacent periods (.), underscores (_), or hyphens (-)."),
    ("my--trail", "Trail name cannot have adjacent periods (.), underscores (_), or hyphens (-)."),
    ("192.168.5.4", "Trail name cannot be in IP address format."),
])
def test_trail_name_rules(srv: TrailServer, name: str, message: str) -> None:
    assert error(srv.client().create_trail, Name=name, S3BucketName=BUCKET) == ("InvalidTrailNameException", message)


def test_create_errors(srv: TrailServer) -> None:
    c = srv.client()
    assert error(c.create_trail, Name="main", S3BucketName="missing-bucket") == (
        "S3BucketDoesNotExistException", "S3 bucket missing-bucket does not exist!")
    assert error(c.create_trail, Name="main", S3BucketName=BUCKET, S3KeyPrefix="p" * 201) == (
        "InvalidS3PrefixException",
        "Prefix is too long. Maximum allowed length: 200 characters. Specified prefix length: 201 characters.")
    assert error(c.create_trail, Name="main", S3BucketName=BUCKET, IsMultiRegionTrail=True,
                 IncludeGlobalServiceEvents=False) == (
        "InvalidParameterCombinationException", "Multi-Region trail must include global service events.")
    assert error(c.create_trail, Name="main", S3BucketName=BUCKET, IsOrganizationTrail=True) == (
        "OrganizationsNotInUseException", "This account is not a member of an organization.")
    c.create_trail(Name="main", S3BucketName=BUCKET)
    assert error(c.create_trail, Name="main", S3BucketName=BUCKET) == (
        "TrailAlreadyExistsException", f"Trail main already exists for customer: {ACCOUNT}")
    for i in range(4):
        c.create_trail(Name=f"trail{i}", S3BucketName=BUCKET)
    assert error(c.create_trail, Name="sixth", S3BucketName=BUCKET) == (
        "MaximumNumberOfTrailsExceededException", f"User already has 5 trails in {REGION}")
    # Another Region has room; another account too.
    assert srv.client("eu-west-1").create_trail(Name="sixth", S3BucketName=BUCKET)["Name"] == "sixth"
    assert srv.client(key=srv.other_key).create_trail(Name="main", S3BucketName=BUCKET)["TrailARN"] == (
        f"arn:aws:cloudtrail:{REGION}:{OTHER_ACCOUNT}:trail/main")


def test_lookup_errors(srv: TrailServer) -> None:
    c = srv.client()
    assert error(c.get_trail, Name="nothere") == (
        "TrailNotFoundException", f"Unknown trail: arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/nothere for the user: {ACCOUNT}")
    other_arn = f"arn:aws:cloudtrail:{REGION}:{OTHER_ACCOUNT}:trail/main"
    assert error(c.get_trail, Name=other_arn) == (
        "CloudTrailARNInvalidException",
        f"AccountID in ARN is wrong, you can only access resources with AccountID {ACCOUNT}.")
    assert error(c.get_trail, Name="arn:aws:cloudtrail:bad") == (
        "CloudTrailARNInvalidException", "Invalid CloudTrail ARN: arn:aws:cloudtrail:bad")
    assert error(c.delete_trail, Name="nothere") == (
        "TrailNotFoundException", f"Unknown trail: arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/nothere for the user: {ACCOUNT}")
    assert error(c.get_trail_status, Name="x") == (
        "InvalidTrailNameException",
        "Trail name too short. Minimum allowed length: 3 characters. Specified name length: 1 characters.")


def test_multi_region_trail_is_a_shadow_trail_elsewhere(srv: TrailServer) -> None:
    home, away = srv.client(), srv.client("eu-west-1")
    home.create_trail(Name="org-wide", S3BucketName=BUCKET, IsMultiRegionTrail=True)
    home.create_trail(Name="local", S3BucketName=BUCKET)
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org-wide"
    names = lambda resp: [(t["Name"], t["HomeRegion"]) for t in resp["trailList"]]  # noqa: E731
    assert names(away.describe_trails()) == [("org-wide", REGION)]
    assert names(away.describe_trails(includeShadowTrails=False)) == []
    assert names(away.describe_trails(trailNameList=[arn, "org-wide", "local"])) == [("org-wide", REGION)]
    assert names(home.describe_trails(trailNameList=["local", "unknown-name"])) == [("local", REGION)]
    assert away.get_trail(Name=arn)["Trail"]["HomeRegion"] == REGION
    assert away.get_trail_status(Name=arn)["IsLogging"] is False
    # By name, only the caller's Region is searched (AWS: use the ARN for other Regions).
    assert error(away.get_trail, Name="org-wide") == (
        "TrailNotFoundException", f"Unknown trail: arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/org-wide for the user: {ACCOUNT}")
    message = f"The trail {arn} can only be changed in its home Region, {REGION}."
    assert error(away.update_trail, Name=arn, S3KeyPrefix="x") == ("InvalidHomeRegionException", message)
    assert error(away.delete_trail, Name="org-wide") == ("InvalidHomeRegionException", message)
    assert error(away.start_logging, Name=arn) == ("InvalidHomeRegionException", message)
    assert error(away.stop_logging, Name=arn) == ("InvalidHomeRegionException", message)
    assert error(away.put_event_selectors, TrailName=arn, EventSelectors=[{"ReadWriteType": "All"}]) == (
        "InvalidHomeRegionException", message)
    # The shadow takes the name (and a slot) in every Region.
    assert error(away.create_trail, Name="org-wide", S3BucketName=BUCKET) == (
        "TrailAlreadyExistsException", f"Trail org-wide already exists for customer: {ACCOUNT}")
    for i in range(4):
        away.create_trail(Name=f"away{i}", S3BucketName=BUCKET)
    assert error(away.create_trail, Name="away5", S3BucketName=BUCKET) == (
        "MaximumNumberOfTrailsExceededException", "User already has 5 trails in eu-west-1")
    # A single-Region trail is invisible from elsewhere, also by ARN.
    local_arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/local"
    assert error(away.get_trail, Name=local_arn) == (
        "TrailNotFoundException", f"Unknown trail: {local_arn} for the user: {ACCOUNT}")


def test_update_trail(srv: TrailServer) -> None:
    c = srv.client()
    c.create_trail(Name="main", S3BucketName=BUCKET, S3KeyPrefix="old")
    srv.storage.create_bucket("second-bucket")
    got = strip(c.update_trail(Name="main", S3BucketName="second-bucket", S3KeyPrefix="", IsMultiRegionTrail=True,
                               KmsKeyId="alias/key"))
    assert got == {
        "Name": "main", "S3BucketName": "second-bucket", "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": True, "TrailARN": ARN, "LogFileValidationEnabled": False, "KmsKeyId": "alias/key",
        "IsOrganizationTrail": False,
    }
    assert error(c.update_trail, Name="main", S3BucketName="missing-bucket") == (
        "S3BucketDoesNotExistException", "S3 bucket missing-bucket does not exist!")
    assert error(c.update_trail, Name="main", IncludeGlobalServiceEvents=False) == (
        "InvalidParameterCombinationException", "Multi-Region trail must include global service events.")
    assert error(c.update_trail, Name="main", IsOrganizationTrail=True) == (
        "OrganizationsNotInUseException", "This account is not a member of an organization.")
    assert error(c.update_trail, Name="nothere") == (
        "TrailNotFoundException", f"Unknown trail: arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/nothere for the user: {ACCOUNT}")


def test_update_to_multi_region_refuses_a_name_taken_elsewhere(srv: TrailServer) -> None:
    srv.client().create_trail(Name="dup", S3BucketName=BUCKET)
    away = srv.client("eu-west-1")
    away.create_trail(Name="dup", S3BucketName=BUCKET)
    assert error(away.update_trail, Name="dup", IsMultiRegionTrail=True) == (
        "InvalidParameterException", f"A trail named dup already exists in {REGION}.")


def test_delete_trail(srv: TrailServer) -> None:
    c = srv.client()
    c.create_trail(Name="main", S3BucketName=BUCKET)
    assert strip(c.delete_trail(Name=ARN)) == {}
    assert c.describe_trails()["trailList"] == []


def test_status_start_stop_logging(srv: TrailServer) -> None:
    c = srv.client()
    c.create_trail(Name="main", S3BucketName=BUCKET)
    assert strip(c.get_trail_status(Name="main")) == {
        "IsLogging": False, "LatestDeliveryAttemptTime": "", "LatestNotificationAttemptTime": "",
        "LatestNotificationAttemptSucceeded": "", "LatestDeliveryAttemptSucceeded": "",
        "TimeLoggingStarted": "", "TimeLoggingStopped": "",
    }
    srv.clock.now = start = float(int(srv.clock.now))
    assert strip(c.start_logging(Name="main")) == {}
    srv.clock.now = start + 61
    assert strip(c.stop_logging(Name=ARN)) == {}
    status = strip(c.get_trail_status(Name="main"))
    text = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    assert status == {
        "IsLogging": False,
        "StartLoggingTime": datetime.datetime.fromtimestamp(start, datetime.timezone.utc),
        "StopLoggingTime": datetime.datetime.fromtimestamp(start + 61, datetime.timezone.utc),
        "LatestDeliveryAttemptTime": "", "LatestNotificationAttemptTime": "",
        "LatestNotificationAttemptSucceeded": "", "LatestDeliveryAttemptSucceeded": "",
        "TimeLoggingStarted": text(start), "TimeLoggingStopped": text(start + 61),
    }
    # Delivery reports show up as AWS shows them.
    srv.trails.record_delivery(ARN, start + 100, error="NoSuchBucket")
    status = c.get_trail_status(Name="main")
    assert (status["LatestDeliveryError"], status["LatestDeliveryAttemptTime"], status["LatestDeliveryAttemptSucceeded"]) == (
        "NoSuchBucket", text(start + 100), "")
    srv.trails.record_delivery(ARN, start + 160)
    status = c.get_trail_status(Name="main")
    assert "LatestDeliveryError" not in status
    assert status["LatestDeliveryTime"] == datetime.datetime.fromtimestamp(start + 160, datetime.timezone.utc)
    assert status["LatestDeliveryAttemptSucceeded"] == text(start + 160)


def test_list_trails_lists_the_trails_that_apply_in_the_region(srv: TrailServer) -> None:
    home, away, third = srv.client(), srv.client("eu-west-1"), srv.client("ap-south-1")
    home.create_trail(Name="org-wide", S3BucketName=BUCKET, IsMultiRegionTrail=True)
    home.create_trail(Name="local", S3BucketName=BUCKET)
    away.create_trail(Name="eu-local", S3BucketName=BUCKET)
    away.create_trail(Name="eu-wide", S3BucketName=BUCKET, IsMultiRegionTrail=True)

    def info(region: str, name: str) -> dict[str, str]:
        return {"TrailARN": f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{name}", "Name": name, "HomeRegion": region}

    # Own trails and other Regions' multi-Region trails (shadow trails), by (HomeRegion, Name).
    assert strip(home.list_trails()) == {"Trails": [info("eu-west-1", "eu-wide"), info(REGION, "local"),
                                                    info(REGION, "org-wide")]}
    assert strip(away.list_trails()) == {"Trails": [info("eu-west-1", "eu-local"), info("eu-west-1", "eu-wide"),
                                                    info(REGION, "org-wide")]}
    assert strip(third.list_trails()) == {"Trails": [info("eu-west-1", "eu-wide"), info(REGION, "org-wide")]}
    # DescribeTrails lists the same trails in each Region.
    for client in (home, away, third):
        described = [(t["HomeRegion"], t["Name"]) for t in client.describe_trails()["trailList"]]
        listed = [(t["HomeRegion"], t["Name"]) for t in client.list_trails()["Trails"]]
        assert sorted(described) == listed
    assert srv.client(key=srv.other_key).list_trails()["Trails"] == []


def test_list_trails_pages(srv: TrailServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from opentrail.api import trails as trail_handlers

    monkeypatch.setattr(trail_handlers, "LIST_TRAILS_PAGE_SIZE", 2)
    for region in ("eu-west-1", "us-east-2"):
        srv.trails.create_trail(ACCOUNT, region, f"wide-{region}", _settings(multi=True))
        srv.trails.create_trail(ACCOUNT, region, "single", _settings())
    for i in range(3):
        srv.trails.create_trail(ACCOUNT, REGION, f"trail{i}", _settings())
    c = srv.client()
    pages = [c.list_trails()]
    while "NextToken" in pages[-1]:
        pages.append(c.list_trails(NextToken=pages[-1]["NextToken"]))
    assert [[(t["HomeRegion"], t["Name"]) for t in p["Trails"]] for p in pages] == [
        [("eu-west-1", "wide-eu-west-1"), (REGION, "trail0")], [(REGION, "trail1"), (REGION, "trail2")],
        [("us-east-2", "wide-us-east-2")]]
    assert error(c.list_trails, NextToken="garbage") == ("ValidationException", "Invalid NextToken.")


def _settings(multi: bool = False) -> Any:
    from opentrail.trails import TrailSettings

    return TrailSettings(s3_bucket_name=BUCKET, is_multi_region_trail=multi)


def test_tags(srv: TrailServer) -> None:
    c = srv.client()
    c.create_trail(Name="main", S3BucketName=BUCKET)
    assert strip(c.add_tags(ResourceId=ARN, TagsList=[{"Key": "a", "Value": "1"}, {"Key": "b"}])) == {}
    c.add_tags(ResourceId=ARN, TagsList=[{"Key": "a", "Value": "2"}])
    assert c.list_tags(ResourceIdList=[ARN])["ResourceTagList"][0]["TagsList"] == [{"Key": "a", "Value": "2"}, {"Key": "b"}]
    assert strip(c.remove_tags(ResourceId=ARN, TagsList=[{"Key": "b"}])) == {}
    assert c.list_tags(ResourceIdList=[ARN])["ResourceTagList"][0]["TagsList"] == [{"Key": "a", "Value": "2"}]
    c.add_tags(ResourceId=ARN, TagsList=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
    assert error(c.add_tags, ResourceId=ARN, TagsList=[{"Key": "one-too-many"}]) == (
        "TagsLimitExceededException", "The number of tags on the resource exceeds the limit of 50.")
    assert error(c.add_tags, ResourceId=ARN, TagsList=[{"Key": "x"}, {"Key": "x"}]) == (
        "InvalidTagParameterException", "Tag key x is specified more than once.")
    assert error(c.add_tags, ResourceId=ARN, TagsList=[{"Key": "aws:x"}]) == (
        "InvalidTagParameterException", "Tag keys cannot start with the reserved prefix aws:: aws:x")
    missing = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/missing"
    assert error(c.add_tags, ResourceId=missing, TagsList=[{"Key": "a"}]) == (
        "ResourceNotFoundException", f"Resource {missing} does not exist.")
    assert error(c.list_tags, ResourceIdList=["main"]) == ("CloudTrailARNInvalidException", "Invalid CloudTrail ARN: main")
    assert error(c.list_tags, ResourceIdList=[ARN], NextToken="x") == ("InvalidTokenException", "Invalid token.")


def test_event_selectors(srv: TrailServer) -> None:
    c = srv.client()
    c.create_trail(Name="main", S3BucketName=BUCKET)
    assert strip(c.get_event_selectors(TrailName="main")) == {"TrailARN": ARN, "EventSelectors": [
        {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [], "ExcludeManagementEventSources": []}]}
    basic = [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
              "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::my-bucket/"]}],
              "ExcludeManagementEventSources": ["kms.amazonaws.com"]}]
    assert strip(c.put_event_selectors(TrailName="main", EventSelectors=basic)) == {"TrailARN": ARN, "EventSelectors": basic}
    assert c.get_trail(Name="main")["Trail"]["HasCustomEventSelectors"] is True
    advanced = [{"Name": "s3 writes", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "readOnly", "Equals": ["false"]},
        {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::my-bucket/"], "NotEndsWith": [".tmp"]},
    ]}]
    assert strip(c.put_event_selectors(TrailName=ARN, AdvancedEventSelectors=advanced)) == {
        "TrailARN": ARN, "AdvancedEventSelectors": advanced}
    assert strip(c.get_event_selectors(TrailName="main")) == {"TrailARN": ARN, "AdvancedEventSelectors": advanced}


@pytest.mark.parametrize("kwargs, message", [
    ({"EventSelectors": [{"ReadWriteType": "read-only"}]}, "Value read-only for ReadWriteType is invalid."),
    ({"EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::*"]}]}]},
     "Value arn:aws:s3:::* for DataResources.Values is invalid."),
    ({"EventSelectors": [{"DataResources": [{"Type": "AWS::EC2::Instance", "Values": ["arn:aws:ec2"]}]}]},
     "Value AWS::EC2::Instance for DataResources.Type is invalid."),
    ({"EventSelectors": [{"ExcludeManagementEventSources": ["iam.amazonaws.com"]}]},
     "Value iam.amazonaws.com for ExcludeManagementEventSources is invalid."),
    ({"EventSelectors": [{"ReadWriteType": "All"}] * 6},
     "Too many event selectors. A trail can have up to 5 event selectors."),
    ({"EventSelectors": [{"DataResources": [{"Type": "AWS::Lambda::Function",
                                              "Values": [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f{i}" for i in range(251)]}]}]},
     "Too many data resources. A trail can have up to 250 data resources."),
    ({"EventSelectors": [], "AdvancedEventSelectors": []},
     "You must specify either EventSelectors or AdvancedEventSelectors, but not both."),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventName", "Equals": ["PutObject"]}]}]},
     "Every advanced event selector must have an eventCategory field."),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Insight"]}]}]},
     "Value Insight for FieldSelectors.eventCategory is invalid."),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "NotEquals": ["Data"]}]}]},
     "The eventCategory field supports only the Equals operator with one value."),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}]},
     "Advanced event selectors for Data events must include the resources.type field."),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                                     {"Field": "eventName", "Equals": ["x"]}]}]},
     "Field eventName is not supported for Management events. Supported fields: eventCategory, readOnly, eventSource."),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                                     {"Field": "readOnly", "Equals": ["yes"]}]}]},
     "The readOnly field supports only the Equals operator with true or false."),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                                     {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                                                     {"Field": "color", "Equals": ["x"]}]}]},
     "Value color for FieldSelectors.Field is invalid."),
    ({"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                                     {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                                                     {"Field": "eventName", "Equals": [f"e{i}" for i in range(499)]}]}]},
     "Too many values. Advanced event selectors can have up to 500 values for all conditions; 501 were specified."),
])
def test_event_selector_errors(srv: TrailServer, kwargs: dict[str, Any], message: str) -> None:
    c = srv.client()
    c.create_trail(Name="main", S3BucketName=BUCKET)
    assert error(c.put_event_selectors, TrailName="main", **kwargs) == ("InvalidEventSelectorsException", message)


def test_insight_selectors(srv: TrailServer) -> None:
    c = srv.client()
    c.create_trail(Name="main", S3BucketName=BUCKET)
    assert error(c.get_insight_selectors, TrailName="main") == (
        "InsightNotEnabledException", f"Trail {ARN} does not have Insights enabled. Edit the trail settings to enable Insights, and then try the operation again.")
    selectors = [{"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiErrorRateInsight", "EventCategories": ["Management"]}]
    assert strip(c.put_insight_selectors(TrailName="main", InsightSelectors=selectors)) == {
        "TrailARN": ARN, "InsightSelectors": selectors}
    assert strip(c.get_insight_selectors(TrailName="main")) == {"TrailARN": ARN, "InsightSelectors": selectors}
    assert c.get_trail(Name="main")["Trail"]["HasInsightSelectors"] is True
    assert error(c.put_insight_selectors, TrailName="main", InsightSelectors=[{"InsightType": "Nope"}]) == (
        "InvalidInsightSelectorsException",
        "Value Nope for InsightType is invalid. Valid values: ApiCallRateInsight, ApiErrorRateInsight.")
    c.put_insight_selectors(TrailName="main", InsightSelectors=[])
    assert c.get_trail(Name="main")["Trail"]["HasInsightSelectors"] is False


def test_trails_survive_a_restart(srv: TrailServer, tmp_path: Any) -> None:
    from opentrail.trails import TrailService

    c = srv.client()
    c.create_trail(Name="main", S3BucketName=BUCKET, TagsList=[{"Key": "k", "Value": "v"}])
    c.put_event_selectors(TrailName="main", AdvancedEventSelectors=[{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}])
    c.put_insight_selectors(TrailName="main", InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])
    c.start_logging(Name="main")
    reopened = TrailService(srv.data_dir, srv.storage, srv.clock)
    try:
        assert reopened.trails() == srv.trails.trails()
    finally:
        reopened.close()
