"""SigV4 authentication through boto3 and raw requests: every failure's code, message and status."""

from __future__ import annotations

import calendar
import datetime as dt
import time
from typing import Any
from unittest import mock

import httpx
import pytest
from botocore.exceptions import ClientError

from .conftest import OTHER_ACCOUNT, Server, signed_request

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
T0 = dt.datetime(2024, 5, 1, 12, 0, 0)


def client_error(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    r = info.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_unknown_key(server: Server) -> None:
    client = server.client(access_key_id="AKIAUNKNOWNUNKNOWN00")
    assert client_error(client.lookup_events) == (
        "UnrecognizedClientException", "The security token included in the request is invalid.", 400)


def test_wrong_secret(server: Server) -> None:
    client = server.client(secret="x" * 40)
    assert client_error(client.lookup_events) == ("InvalidSignatureException", SIGNATURE_MISMATCH, 400)


def test_session_token_is_not_recognized(server: Server) -> None:
    import boto3

    client = boto3.client("cloudtrail", endpoint_url=server.url, region_name="us-east-1",
                          aws_access_key_id=server.admin_key.access_key_id,
                          aws_secret_access_key=server.admin_key.secret_access_key, aws_session_token="tok")
    assert client_error(client.lookup_events) == (
        "UnrecognizedClientException", "The security token included in the request is invalid", 400)


@pytest.mark.parametrize(
    ("client_offset_s", "message"),
    [
        (-400, "Signature expired: 20240501T115320Z is now earlier than 20240501T115500Z (20240501T120000Z - 5 min.)"),
        (400, "Signature not yet current: 20240501T120640Z is still later than 20240501T120500Z "
              "(20240501T120000Z + 5 min.)"),
    ],
)
def test_clock_skew(server: Server, client_offset_s: int, message: str) -> None:
    server.clock.frozen = calendar.timegm(T0.timetuple())
    client = server.client()
    signed_at = T0 + dt.timedelta(seconds=client_offset_s)
    with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
        assert client_error(client.lookup_events) == ("InvalidSignatureException", message, 400)


def test_skew_within_five_minutes_is_accepted(server: Server) -> None:
    server.clock.frozen = calendar.timegm(T0.timetuple())
    with mock.patch("botocore.auth.get_current_datetime", return_value=T0 + dt.timedelta(seconds=299)):
        assert server.client().lookup_events()["Events"] == []


def test_missing_authorization(server: Server) -> None:
    r = httpx.post(server.url + "/", content=b"{}", headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"})
    assert r.status_code == 400
    assert r.json() == {"__type": "MissingAuthenticationTokenException", "message": "Request is missing Authentication Token"}
    assert r.headers["content-type"] == "application/x-amz-json-1.1"


def test_incomplete_authorization(server: Server) -> None:
    value = "AWS4-HMAC-SHA256 Credential=AKIAX/20240501/us-east-1/cloudtrail/aws4_request"
    r = httpx.post(server.url + "/", content=b"{}", headers={"Authorization": value})
    assert r.status_code == 400
    assert r.json() == {
        "__type": "IncompleteSignatureException",
        "message": "Authorization header requires 'SignedHeaders' parameter. "
                   f"Authorization header requires 'Signature' parameter. Authorization={value}",
    }


def test_wrong_service_in_scope(server: Server) -> None:
    r = signed_request(server.url, b"{}", key=server.admin_key, service="s3")
    assert r.status_code == 400
    assert r.json() == {"__type": "InvalidSignatureException",
                        "message": "Credential should be scoped to correct service: 'cloudtrail'. "}


def test_tampered_body_fails(server: Server) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    key = server.admin_key
    headers = {"Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"}
    req = AWSRequest(method="POST", url=server.url + "/", data=b'{"MaxResults": 1}', headers=headers)
    SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), "cloudtrail", "us-east-1").add_auth(req)
    r = httpx.post(server.url + "/", content=b'{"MaxResults": 2}', headers=dict(req.prepare().headers))
    assert r.json() == {"__type": "InvalidSignatureException", "message": SIGNATURE_MISMATCH}


def test_key_created_while_running_works_at_once(server: Server) -> None:
    from opentrail.auth.accounts import AccountStore

    other_process = AccountStore(server.data_dir / "accounts.db")  # as the CLI would
    try:
        key = other_process.create_access_key(OTHER_ACCOUNT, user_name="bob")
    finally:
        other_process.close()
    client = server.client(key)
    assert client.lookup_events()["Events"] == []
    time.sleep(0.05)
    (event,) = client.lookup_events()["Events"]
    assert event["Username"] == "bob"
    assert event["AccessKeyId"] == key.access_key_id


@pytest.mark.parametrize(
    ("authorization", "code", "message"),
    [  # DynamoDB's answers recorded in architect/dynalite index.js
        ("Bearer abc", "MissingAuthenticationTokenException", "Request is missing Authentication Token"),
        ("AWS4-HMAC-SHA1 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00", "IncompleteSignatureException",
         "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1' (only AWS4-HMAC-SHA256 for now). "),
        ("AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, Signature=00", "IncompleteSignatureException",
         "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'"),
    ],
)
def test_unparseable_authorization(server: Server, authorization: str, code: str, message: str) -> None:
    r = httpx.post(server.url + "/", content=b"{}", headers={
        "Authorization": authorization, "X-Amz-Date": "20240501T120000Z", "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"})
    assert (r.status_code, r.json()) == (400, {"__type": code, "message": message})


def test_invalid_region_in_scope(server: Server) -> None:
    r = signed_request(server.url, b"{}", key=server.admin_key, region="US_EAST_1")
    assert r.json() == {"__type": "InvalidSignatureException",
                        "message": "Credential should be scoped to a valid region, not 'US_EAST_1'. "}
