"""The AWS SDK for JavaScript v3 (``@aws-sdk/client-iam``) against a real server, compared field by
field with boto3. The JavaScript SDK hands policy documents over as IAM sends them, URL-encoded;
boto3 decodes them."""

from __future__ import annotations

import json
from datetime import timezone
from typing import Any
from urllib.parse import quote

from tests.npm_packages import run_js_v3

from .conftest import IamServer

JS_SDK = "@aws-sdk/client-iam"
JS_SDK_VERSION = "3.1137.0"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def boto(response: dict[str, Any]) -> dict[str, Any]:
    """A boto3 answer as the JavaScript SDK gives it: no ResponseMetadata, times as ISO text."""
    return json.loads(json.dumps({k: v for k, v in response.items() if k != "ResponseMetadata"},
                                 default=lambda t: t.astimezone(timezone.utc).isoformat(timespec="milliseconds")
                                 .replace("+00:00", "Z")))


def test_javascript_v3_sdk_answers_as_boto3(srv: IamServer) -> None:
    iam = srv.client()
    iam.create_user(UserName="js", Path="/sdk/", Tags=[{"Key": "k", "Value": "v"}])
    iam.create_group(GroupName="jsg")
    iam.add_user_to_group(GroupName="jsg", UserName="js")
    iam.create_role(RoleName="jsrole", AssumeRolePolicyDocument=json.dumps(TRUST))
    calls: list[tuple[str, dict[str, Any]]] = [
        ("GetUser", {"UserName": "js"}),
        ("ListUsers", {}),
        ("GetGroup", {"GroupName": "jsg"}),
        ("GetRole", {"RoleName": "jsrole"}),
        ("GetUser", {"UserName": "nobody"}),
    ]
    results = run_js_v3(JS_SDK, JS_SDK_VERSION, "IAMClient", endpoint=srv.url, region="us-east-1",
                        key_id=srv.key.access_key_id, secret=srv.key.secret_access_key, calls=calls)
    answers = [a for _, a in results]
    assert answers[0] == boto(iam.get_user(UserName="js"))
    assert answers[1] == boto(iam.list_users())
    assert answers[2] == boto(iam.get_group(GroupName="jsg"))
    role = boto(iam.get_role(RoleName="jsrole"))
    role["Role"]["AssumeRolePolicyDocument"] = quote(json.dumps(TRUST), safe="")
    assert answers[3] == role
    assert answers[4] == {"error": {"name": "NoSuchEntityException", "status": 404,
                                    "message": "The user with name nobody cannot be found."}}
