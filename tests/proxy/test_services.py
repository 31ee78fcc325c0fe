"""IAM, STS, DynamoDB, SQS, SNS and Lambda through the proxy to moto (query, JSON and REST-JSON
protocols); records checked field by field, then found with the stock ``aws cloudtrail
lookup-events``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import Stack, alice_identity
from .servers import ACCOUNT, KEY_ID, REGION, SECRET

MOTO_ACCOUNT = "123456789012"  # the account moto's answers name


def _common(stack: Stack, r: dict[str, Any], source: str, name: str, *, read_only: bool,
            category: str = "Management") -> None:
    assert r["userIdentity"] == alice_identity(stack.alice)
    assert (r["eventSource"], r["eventName"], r["readOnly"]) == (source, name, read_only)
    assert (r["managementEvent"], r["eventCategory"]) == (category == "Management", category)
    assert r["awsRegion"] == REGION
    assert r["recipientAccountId"] == ACCOUNT
    assert r["sourceIPAddress"] == "127.0.0.1"
    assert r["userAgent"].startswith("Boto3/")
    assert r["eventType"] == "AwsApiCall"


def test_iam(stack: Stack) -> None:
    iam = stack.client("iam")
    user = iam.create_user(UserName="proxy-bob", Tags=[{"Key": "team", "Value": "audit"}])["User"]
    key = iam.create_access_key(UserName="proxy-bob")["AccessKey"]
    with pytest.raises(ClientError):
        iam.get_user(UserName="proxy-nobody")

    r = stack.record("CreateUser", userName="proxy-bob")
    _common(stack, r, "iam.amazonaws.com", "CreateUser", read_only=False)
    assert r["requestParameters"] == {"userName": "proxy-bob", "tags": [{"key": "team", "value": "audit"}]}
    created = user["CreateDate"]
    hour = created.hour % 12 or 12
    assert r["responseElements"] == {"user": {
        "path": "/", "userName": "proxy-bob", "userId": user["UserId"], "arn": user["Arn"],
        "createDate": f"{created:%b} {created.day}, {created.year} {hour}:{created:%M:%S} {created:%p}",
        "tags": [{"key": "team", "value": "audit"}]}}

    r = stack.record("CreateAccessKey", userName="proxy-bob")
    _common(stack, r, "iam.amazonaws.com", "CreateAccessKey", read_only=False)
    # SecretAccessKey is marked sensitive in the model: left out, as AWS does.
    assert set(r["responseElements"]["accessKey"]) == {"userName", "accessKeyId", "status", "createDate"}
    assert r["responseElements"]["accessKey"]["accessKeyId"] == key["AccessKeyId"]

    r = stack.record("GetUser", userName="proxy-nobody")
    _common(stack, r, "iam.amazonaws.com", "GetUser", read_only=True)
    assert r["errorCode"] == "NoSuchEntityException"
    assert r["errorMessage"] == "The user with name proxy-nobody cannot be found."
    assert r["responseElements"] is None


def test_sts(stack: Stack) -> None:
    sts = stack.client("sts")
    sts.get_caller_identity()
    role_arn = f"arn:aws:iam::{MOTO_ACCOUNT}:role/proxy-role"
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="proxy-session")["Credentials"]

    r = stack.records_for(lambda r: r["eventName"] == "GetCallerIdentity")[0]
    _common(stack, r, "sts.amazonaws.com", "GetCallerIdentity", read_only=True)
    assert r["requestParameters"] is None and r["responseElements"] is None

    r = stack.record("AssumeRole", roleSessionName="proxy-session")
    _common(stack, r, "sts.amazonaws.com", "AssumeRole", read_only=True)  # as AWS writes it
    assert r["requestParameters"] == {"roleArn": role_arn, "roleSessionName": "proxy-session"}
    assert r["responseElements"]["credentials"]["accessKeyId"] == creds["AccessKeyId"]
    assert r["responseElements"]["credentials"]["sessionToken"] == creds["SessionToken"]
    assert "secretAccessKey" not in r["responseElements"]["credentials"]
    assert r["resources"] == [{"accountId": MOTO_ACCOUNT, "type": "AWS::IAM::Role", "ARN": role_arn}]


def test_dynamodb(stack: Stack) -> None:
    ddb = stack.client("dynamodb")
    ddb.create_table(TableName="proxy-table", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="proxy-table", Item={"pk": {"S": "k1"}, "secret": {"S": "v"}})
    ddb.get_item(TableName="proxy-table", Key={"pk": {"S": "k1"}})
    with pytest.raises(ClientError):
        ddb.describe_table(TableName="proxy-missing")
    table = {"accountId": ACCOUNT, "type": "AWS::DynamoDB::Table",
             "ARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/proxy-table"}

    r = stack.record("CreateTable", tableName="proxy-table")
    _common(stack, r, "dynamodb.amazonaws.com", "CreateTable", read_only=False)
    assert r["requestParameters"] == {
        "attributeDefinitions": [{"attributeName": "pk", "attributeType": "S"}], "tableName": "proxy-table",
        "keySchema": [{"attributeName": "pk", "keyType": "HASH"}], "billingMode": "PAY_PER_REQUEST"}
    assert r["responseElements"]["tableDescription"]["tableName"] == "proxy-table"
    assert r["resources"] == [table]
    assert r["apiVersion"] == "2012-08-10"

    r = stack.record("PutItem", tableName="proxy-table")
    _common(stack, r, "dynamodb.amazonaws.com", "PutItem", read_only=False, category="Data")
    assert r["requestParameters"] == {"tableName": "proxy-table", "item": ["pk", "secret"]}
    assert r["responseElements"] is None
    assert r["resources"] == [table]

    r = stack.record("GetItem", tableName="proxy-table")
    _common(stack, r, "dynamodb.amazonaws.com", "GetItem", read_only=True, category="Data")
    assert r["requestParameters"] == {"tableName": "proxy-table", "key": {"pk": "k1"}}

    r = stack.record("DescribeTable", tableName="proxy-missing")
    assert r["errorCode"] == "ResourceNotFoundException"
    assert r["errorMessage"] == "Requested resource not found: Table: proxy-missing not found"


def test_sqs_and_sns(stack: Stack) -> None:
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url = sqs.create_queue(QueueName="proxy-queue")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    topic = sns.create_topic(Name="proxy-topic")["TopicArn"]
    sns.publish(TopicArn=topic, Message="hi", Subject="s")

    r = stack.record("CreateQueue", queueName="proxy-queue")
    _common(stack, r, "sqs.amazonaws.com", "CreateQueue", read_only=False)
    assert r["responseElements"] == {"queueUrl": url}
    r = stack.record("SendMessage", queueUrl=url)
    _common(stack, r, "sqs.amazonaws.com", "SendMessage", read_only=False, category="Data")
    assert r["requestParameters"] == {"queueUrl": url, "messageBody": "hello"}
    assert r["resources"] == [{"accountId": MOTO_ACCOUNT, "type": "AWS::SQS::Queue",
                               "ARN": f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:proxy-queue"}]

    r = stack.record("CreateTopic", name="proxy-topic")
    _common(stack, r, "sns.amazonaws.com", "CreateTopic", read_only=False)
    assert r["responseElements"] == {"topicArn": topic}
    r = stack.record("Publish", topicArn=topic)
    _common(stack, r, "sns.amazonaws.com", "Publish", read_only=False, category="Data")
    assert r["requestParameters"] == {"topicArn": topic, "subject": "s", "message": "hi"}
    assert r["resources"] == [{"accountId": MOTO_ACCOUNT, "type": "AWS::SNS::Topic", "ARN": topic}]


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def test_lambda(stack: Stack) -> None:
    iam, lam = stack.client("iam"), stack.client("lambda")
    role = iam.create_role(RoleName="proxy-lambda-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    fn = lam.create_function(FunctionName="proxy-fn", Runtime="python3.12", Role=role, Handler="index.handler",
                             Code={"ZipFile": _zip()})
    lam.get_function(FunctionName="proxy-fn")
    with pytest.raises(ClientError):
        lam.invoke(FunctionName="proxy-missing-fn", Payload=b"{}")
    r = stack.record("CreateFunction20150331", functionName="proxy-fn")
    _common(stack, r, "lambda.amazonaws.com", "CreateFunction20150331", read_only=False)
    assert r["requestParameters"]["role"] == role
    assert r["requestParameters"]["handler"] == "index.handler"
    assert r["requestParameters"]["code"] == {}  # ZipFile is marked sensitive
    assert r["responseElements"]["functionArn"] == fn["FunctionArn"]
    r = stack.record("GetFunction20150331v2", functionName="proxy-fn")
    _common(stack, r, "lambda.amazonaws.com", "GetFunction20150331v2", read_only=True)
    assert "resources" not in r  # Lambda management records name no resources
    assert r["responseElements"] is None
    r = stack.record("Invoke", functionName="proxy-missing-fn")
    _common(stack, r, "lambda.amazonaws.com", "Invoke", read_only=False, category="Data")
    assert r["errorCode"] == "ResourceNotFoundException"
    assert r["requestParameters"] == {"functionName": "proxy-missing-fn"}
    assert r["resources"] == [{"accountId": ACCOUNT, "type": "AWS::Lambda::Function",
                               "ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:proxy-missing-fn"}]


def test_aws_cli_lookup_events_finds_them(stack: Stack, tmp_path: Path) -> None:
    iam = stack.client("iam")
    iam.create_group(GroupName="proxy-lookup-group")
    record = stack.record("CreateGroup", groupName="proxy-lookup-group")
    assert stack.proxy.proxy.pipeline.flush(15)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": REGION,
           "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    aws = Path(sys.executable).parent / "aws"
    out = subprocess.run(
        [str(aws), "cloudtrail", "lookup-events", "--endpoint-url", stack.opentrail.url, "--lookup-attributes",
         f"AttributeKey=EventId,AttributeValue={record['eventID']}"],
        env=env, capture_output=True, text=True, timeout=60, check=True)
    events = json.loads(out.stdout)["Events"]
    assert len(events) == 1
    e = events[0]
    assert (e["EventName"], e["EventSource"], e["ReadOnly"], e["Username"], e["AccessKeyId"]) == (
        "CreateGroup", "iam.amazonaws.com", "false", "alice", stack.alice.access_key_id)
    assert json.loads(e["CloudTrailEvent"]) == record
