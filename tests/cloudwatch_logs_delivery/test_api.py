"""Trail -> CloudWatch Logs through the API: the AWS CLI and boto3 against a real server socket serving
CloudTrail and CloudWatch Logs, the CloudWatch Logs delivery running beside it as ``opentrail serve``
runs it. Log groups are made with CreateLogGroup and read back with GetLogEvents."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import boto3
import orjson
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.delivery import CloudWatchLogsState, CloudWatchLogsWorker, DeliveringTrailService, DeliveryState
from opentrail.monitoring.logs import LogsService
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.serving import serving


ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"
BUCKET = "trail-bucket"
GROUP = "trail-events"
GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:*"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role"
STREAM = f"{ACCOUNT}_CloudTrail_{REGION}"
ROLE_REQUIRED = ("InvalidCloudWatchLogsRoleArnException", "You must specify a role ARN as well as a log group.")
GROUP_REQUIRED = ("InvalidCloudWatchLogsLogGroupArnException", "You must specify a log group as well as a role ARN.")
NOT_VALIDATED = ("InvalidCloudWatchLogsLogGroupArnException", "Check the log group ARN: CloudTrail can't validate it.")


@dataclass
class CwlServer:
    url: str
    key: AccessKey
    store: MemoryEventStore
    logs: LogsService
    trails: DeliveringTrailService
    state: DeliveryState

    def client(self, service: str = "cloudtrail") -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, aws_access_key_id=self.key.access_key_id,
                            aws_secret_access_key=self.key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The stock AWS CLI (``cloudtrail ...`` or ``logs ...``) with every service at this server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=self.key.access_key_id, AWS_SECRET_ACCESS_KEY=self.key.secret_access_key,
                   AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                   AWS_ENDPOINT_URL=self.url, AWS_MAX_ATTEMPTS="1")
        return subprocess.run([sys.executable, "-m", "awscli", *args, "--output", "json"], env=env,
                              capture_output=True, text=True, timeout=120)

    def messages(self, group: str = GROUP, stream: str = STREAM) -> list[tuple[str, int, str]]:
        """(stream, timestamp, message) of the stream's events, oldest first, through GetLogEvents."""
        logs = self.client("logs")
        try:
            page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return []
            raise
        out = []
        while page["events"]:
            out.extend((stream, e["timestamp"], e["message"]) for e in page["events"])
            page = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=page["nextForwardToken"])
        return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CwlServer]:
    data_dir = tmp_path_factory.mktemp("cwl")
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    storage = LocalFolderStorage(data_dir / "buckets")
    storage.create_bucket(BUCKET)
    store = MemoryEventStore()
    logs = LogsService(data_dir, time.time)
    state = DeliveryState(data_dir / "delivery.db")
    cwl_state = CloudWatchLogsState(data_dir / "cloudwatch-logs.db")
    trails = DeliveringTrailService(data_dir, storage, time.time, state=state, store=store, log_groups=logs)
    worker = CloudWatchLogsWorker(store, trails, logs, state, cwl_state, clock=time.time, interval_s=0.2, poll_s=0.05,
                                  max_backoff_s=1.0)
    worker.start()
    app = build_app(settings=Settings(), store=store, accounts=accounts, trails=trails, logs=logs)
    try:
        with serving(app) as url:
            yield CwlServer(url, key, store, logs, trails, state)
    finally:
        worker.stop()
        worker.join(timeout=10)
        for closable in (trails, cwl_state, state, logs, store, accounts):
            closable.close()


@pytest.fixture
def srv(server: CwlServer) -> Iterator[CwlServer]:
    """The shared server with the log group ``trail-events``; trails and groups removed afterwards."""
    logs = server.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    yield server
    for trail in server.trails.trails():
        server.trails.delete_trail(trail.account_id, trail.home_region, trail.name)
    for group in logs.describe_log_groups()["logGroups"]:
        logs.delete_log_group(logGroupName=group["logGroupName"])


def error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response["Error"]
    return err["Code"], err["Message"]


def wait_for(fn: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def stored_after(srv: CwlServer, seq: int) -> dict[str, bytes]:
    """eventID -> record bytes of the account's us-east-1 events appended after ``seq``."""
    srv.store.flush()
    return {e.event_id: e.record for e in srv.store.read_since(seq, 100_000) if e.account_id == ACCOUNT and e.region == REGION}


def test_cli_trail_with_a_log_group_sends_each_api_call_as_one_log_event(srv: CwlServer) -> None:
    described = srv.cli("logs", "describe-log-groups", "--log-group-name-prefix", GROUP)
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout)["logGroups"][0]["arn"] == GROUP_ARN  # the form users pass on
    out = srv.cli("cloudtrail", "create-trail", "--name", "main", "--s3-bucket-name", BUCKET,
                  "--cloud-watch-logs-log-group-arn", GROUP_ARN, "--cloud-watch-logs-role-arn", ROLE)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "Name": "main", "S3BucketName": BUCKET, "IncludeGlobalServiceEvents": True, "IsMultiRegionTrail": False,
        "TrailARN": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main", "LogFileValidationEnabled": False,
        "CloudWatchLogsLogGroupArn": GROUP_ARN, "CloudWatchLogsRoleArn": ROLE, "IsOrganizationTrail": False}
    assert srv.cli("cloudtrail", "start-logging", "--name", "main").returncode == 0
    arn = srv.trails.trails()[0].arn
    start_seq = srv.state.marks()[arn][-1].seq
    before_ms = int(time.time() * 1000)
    ct = srv.client()
    for _ in range(3):
        ct.describe_trails()
        ct.get_event_selectors(TrailName="main")
    expected = stored_after(srv, start_seq)
    assert len(expected) >= 6  # the six calls (and the StartLogging call, recorded as it took effect)
    assert wait_for(lambda: set(expected) <= {orjson.loads(m)["eventID"] for _, _, m in srv.messages()})
    after_ms = int(time.time() * 1000)
    got = srv.messages()
    ids = [orjson.loads(m)["eventID"] for _, _, m in got]
    assert len(ids) == len(set(ids))
    by_id = {orjson.loads(m)["eventID"]: (stream, ts, m) for stream, ts, m in got}
    for event_id, raw in expected.items():
        stream, ts, message = by_id[event_id]
        assert (stream, message) == (STREAM, raw.decode())  # the record itself is the message
        assert before_ms <= ts <= after_ms  # delivery time, not eventTime
    names = [orjson.loads(expected[i])["eventName"] for i in ids if i in expected]
    assert names.count("DescribeTrails") == names.count("GetEventSelectors") == 3
    read = srv.cli("logs", "get-log-events", "--log-group-name", GROUP, "--log-stream-name", STREAM, "--start-from-head")
    assert read.returncode == 0, read.stderr
    assert [e["message"] for e in json.loads(read.stdout)["events"]][:len(ids)] == [m for _, _, m in got]
    status = ct.get_trail_status(Name="main")
    assert "LatestCloudWatchLogsDeliveryError" not in status
    delivered = status["LatestCloudWatchLogsDeliveryTime"]
    assert isinstance(delivered, datetime.datetime)
    assert before_ms / 1000 - 1 <= delivered.timestamp() <= after_ms / 1000 + 1
    described = ct.describe_trails(trailNameList=["main"])["trailList"][0]
    assert (described["CloudWatchLogsLogGroupArn"], described["CloudWatchLogsRoleArn"]) == (GROUP_ARN, ROLE)


def test_create_and_update_trail_records_carry_the_cloudwatch_logs_members_as_aws_writes_them(srv: CwlServer) -> None:
    ct = srv.client()
    ct.create_trail(Name="main", S3BucketName=BUCKET, CloudWatchLogsLogGroupArn=GROUP_ARN, CloudWatchLogsRoleArn=ROLE)
    ct.update_trail(Name="main", CloudWatchLogsLogGroupArn="", CloudWatchLogsRoleArn="")

    def recorded(name: str) -> dict[str, Any]:
        events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])["Events"]
        return json.loads(events[0]["CloudTrailEvent"])

    create = recorded("CreateTrail")
    assert create["requestParameters"] == {"name": "main", "s3BucketName": BUCKET,
                                           "cloudWatchLogsLogGroupArn": GROUP_ARN, "cloudWatchLogsRoleArn": ROLE}
    assert create["responseElements"] == {
        "name": "main", "s3BucketName": BUCKET, "includeGlobalServiceEvents": True, "isMultiRegionTrail": False,
        "trailARN": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main", "logFileValidationEnabled": False,
        "cloudWatchLogsLogGroupArn": GROUP_ARN, "cloudWatchLogsRoleArn": ROLE, "isOrganizationTrail": False}
    update = recorded("UpdateTrail")
    assert update["requestParameters"] == {"name": "main", "cloudWatchLogsLogGroupArn": "", "cloudWatchLogsRoleArn": ""}
    assert "cloudWatchLogsLogGroupArn" not in update["responseElements"]


@pytest.mark.parametrize("members, expected", [
    ({"CloudWatchLogsLogGroupArn": GROUP_ARN}, ROLE_REQUIRED),
    ({"CloudWatchLogsLogGroupArn": GROUP_ARN, "CloudWatchLogsRoleArn": ""}, ROLE_REQUIRED),
    ({"CloudWatchLogsRoleArn": ROLE}, GROUP_REQUIRED),
    ({"CloudWatchLogsLogGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}", "CloudWatchLogsRoleArn": ROLE},
     ("InvalidCloudWatchLogsLogGroupArnException",
      f"CloudWatch Logs log group ARN arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP} is not valid. "
      "Expected arn:aws:logs:<region>:<account-id>:log-group:<name>:*.")),
    ({"CloudWatchLogsLogGroupArn": f"arn:aws:logs:{REGION}:{OTHER_ACCOUNT}:log-group:{GROUP}:*",
      "CloudWatchLogsRoleArn": ROLE}, NOT_VALIDATED),
    ({"CloudWatchLogsLogGroupArn": f"arn:aws-cn:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:*",
      "CloudWatchLogsRoleArn": ROLE}, NOT_VALIDATED),
    ({"CloudWatchLogsLogGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:no-such-group:*",
      "CloudWatchLogsRoleArn": ROLE}, NOT_VALIDATED),
    ({"CloudWatchLogsLogGroupArn": f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:{GROUP}:*",
      "CloudWatchLogsRoleArn": ROLE}, NOT_VALIDATED),  # that Region has no such group
    ({"CloudWatchLogsLogGroupArn": GROUP_ARN, "CloudWatchLogsRoleArn": "CloudTrail_CloudWatchLogs_Role"},
     ("InvalidCloudWatchLogsRoleArnException", "CloudWatch Logs role ARN CloudTrail_CloudWatchLogs_Role is not valid. "
      "Expected arn:aws:iam::<account-id>:role/<name>.")),
])
def test_create_and_update_trail_refuse_bad_cloudwatch_logs_members(srv: CwlServer, members: dict[str, str],
                                                                     expected: tuple[str, str]) -> None:
    ct = srv.client()
    assert error(ct.create_trail, Name="main", S3BucketName=BUCKET, **members) == expected
    assert ct.describe_trails()["trailList"] == []
    ct.create_trail(Name="main", S3BucketName=BUCKET)
    assert error(ct.update_trail, Name="main", **members) == expected
    assert "CloudWatchLogsLogGroupArn" not in ct.get_trail(Name="main")["Trail"]


def test_update_trail_needs_both_members_and_empty_strings_remove_the_delivery(srv: CwlServer) -> None:
    srv.client("logs").create_log_group(logGroupName="second")
    ct = srv.client()
    ct.create_trail(Name="main", S3BucketName=BUCKET, CloudWatchLogsLogGroupArn=GROUP_ARN, CloudWatchLogsRoleArn=ROLE)
    second = GROUP_ARN.replace(GROUP, "second")
    # AWS wants the role again with a new group (hashicorp/terraform-provider-aws#148)
    assert error(ct.update_trail, Name="main", CloudWatchLogsLogGroupArn=second) == ROLE_REQUIRED
    assert error(ct.update_trail, Name="main", CloudWatchLogsRoleArn="") == ROLE_REQUIRED
    got = ct.update_trail(Name="main", CloudWatchLogsLogGroupArn=second, CloudWatchLogsRoleArn=ROLE)
    assert (got["CloudWatchLogsLogGroupArn"], got["CloudWatchLogsRoleArn"]) == (second, ROLE)
    assert ct.update_trail(Name="main", S3KeyPrefix="p")["CloudWatchLogsLogGroupArn"] == second  # not given: kept
    got = ct.update_trail(Name="main", CloudWatchLogsLogGroupArn="", CloudWatchLogsRoleArn="")
    assert "CloudWatchLogsLogGroupArn" not in got and "CloudWatchLogsRoleArn" not in got
    trail = ct.describe_trails()["trailList"][0]
    assert "CloudWatchLogsLogGroupArn" not in trail and "CloudWatchLogsRoleArn" not in trail
    got = ct.update_trail(Name="main", CloudWatchLogsLogGroupArn=GROUP_ARN, CloudWatchLogsRoleArn=ROLE)
    assert ct.update_trail(Name="main", CloudWatchLogsLogGroupArn="")["Name"] == "main"  # the group alone: off too
    assert "CloudWatchLogsRoleArn" not in ct.get_trail(Name="main")["Trail"]


def test_cli_shows_the_missing_role_error(srv: CwlServer) -> None:
    out = srv.cli("cloudtrail", "create-trail", "--name", "main", "--s3-bucket-name", BUCKET,
                  "--cloud-watch-logs-log-group-arn", GROUP_ARN)
    assert out.returncode == 255  # AWS CLI v1: a service error
    assert out.stderr.strip() == ("An error occurred (InvalidCloudWatchLogsRoleArnException) when calling the CreateTrail "
                                  "operation: You must specify a role ARN as well as a log group.")


def test_a_deleted_log_group_shows_in_get_trail_status_and_nothing_is_lost(srv: CwlServer) -> None:
    ct = srv.client()
    ct.create_trail(Name="main", S3BucketName=BUCKET, CloudWatchLogsLogGroupArn=GROUP_ARN, CloudWatchLogsRoleArn=ROLE)
    ct.start_logging(Name="main")
    arn = srv.trails.trails()[0].arn
    start_seq = srv.state.marks()[arn][-1].seq
    logs = srv.client("logs")
    logs.delete_log_group(logGroupName=GROUP)
    ct.describe_trails()
    assert wait_for(lambda: ct.get_trail_status(Name="main").get("LatestCloudWatchLogsDeliveryError")
                    == "ResourceNotFoundException")
    ct.get_event_selectors(TrailName="main")
    expected = stored_after(srv, start_seq)
    logs.create_log_group(logGroupName=GROUP)
    assert wait_for(lambda: set(expected) <= {orjson.loads(m)["eventID"] for _, _, m in srv.messages()})
    ids = [orjson.loads(m)["eventID"] for _, _, m in srv.messages()]
    assert len(ids) == len(set(ids))
    assert wait_for(lambda: "LatestCloudWatchLogsDeliveryError" not in ct.get_trail_status(Name="main"))
