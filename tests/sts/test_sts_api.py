"""STS through boto3 against a real server: GetCallerIdentity, GetAccessKeyInfo, GetSessionToken,
session credentials on CloudTrail, CloudWatch Logs, STS and the ingest endpoint, expired and forged
tokens refused with AWS's codes per protocol, and what is recorded."""

from __future__ import annotations

import datetime as dt
import json
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator
from unittest import mock

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from opentrail.sts.key_ids import account_of

from .conftest import ACCOUNT, StsServer

ROOT_IDENTITY = {"UserId": ACCOUNT, "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root"}
INVALID = "The security token included in the request is invalid"
EXPIRED = "The security token included in the request is expired"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")


def error_of(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    r = info.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def answer(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def recorded(srv: StsServer, event_name: str, count: int = 1) -> list[dict[str, Any]]:
    """The CloudTrail events named ``event_name`` (newest first), once ``count`` are there."""
    client = srv.client("cloudtrail")
    deadline = time.time() + 5
    while True:
        events = client.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                         "AttributeValue": event_name}])["Events"]
        if len(events) >= count or time.time() > deadline:
            return [json.loads(e["CloudTrailEvent"]) for e in events]
        time.sleep(0.05)


@contextmanager
def signing_on_server_time(srv: StsServer) -> Iterator[None]:
    """botocore signs with the server's (moved) clock, so the 5-minute skew check still passes."""
    def now(remove_tzinfo: bool = True) -> dt.datetime:
        moment = dt.datetime.fromtimestamp(srv.clock(), dt.timezone.utc)
        return moment.replace(tzinfo=None) if remove_tzinfo else moment

    with mock.patch("botocore.auth.get_current_datetime", side_effect=now):
        yield


def session(srv: StsServer, **params: Any) -> dict[str, Any]:
    credentials: dict[str, Any] = srv.client("sts").get_session_token(**params)["Credentials"]
    return credentials


def test_get_caller_identity_root(srv: StsServer) -> None:
    assert answer(srv.client("sts").get_caller_identity()) == ROOT_IDENTITY


def test_get_caller_identity_iam_user_key(srv: StsServer) -> None:
    key = srv.accounts.create_access_key(ACCOUNT, user_name="alice")
    got = answer(srv.client("sts", key=key).get_caller_identity())
    assert got["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert got["Account"] == ACCOUNT
    assert got["UserId"].startswith("AIDA") and len(got["UserId"]) == 21


def test_get_session_token_root_durations(srv: StsServer) -> None:
    now = int(time.time())
    for params, duration in (({}, 3600), ({"DurationSeconds": 900}, 900), ({"DurationSeconds": 1800}, 1800),
                             ({"DurationSeconds": 7200}, 3600), ({"DurationSeconds": 129600}, 3600)):
        credentials = session(srv, **params)
        expires = int(credentials["Expiration"].timestamp())
        assert expires - now in (duration, duration + 1, duration + 2), params
        assert credentials["AccessKeyId"].startswith("ASIA") and len(credentials["AccessKeyId"]) == 20
        assert account_of(credentials["AccessKeyId"]) == ACCOUNT
        assert len(credentials["SecretAccessKey"]) == 40
        assert len(credentials["SessionToken"]) == 160


def test_get_session_token_iam_user_default_is_12_hours(srv: StsServer) -> None:
    key = srv.accounts.create_access_key(ACCOUNT, user_name="alice")
    before = int(time.time())
    credentials = srv.client("sts", key=key).get_session_token()["Credentials"]
    assert int(credentials["Expiration"].timestamp()) - before in (43200, 43201, 43202)
    other = srv.client("sts", key=key).get_session_token(DurationSeconds=129600)["Credentials"]
    assert int(other["Expiration"].timestamp()) - before in (129600, 129601, 129602)
    ident = answer(srv.client("sts", credentials=credentials).get_caller_identity())
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"


def test_duration_out_of_range(srv: StsServer) -> None:
    sts = srv.client("sts", validate=False)
    assert error_of(sts.get_session_token, DurationSeconds=899) == (
        "ValidationError", "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy "
        "constraint: Member must have value greater than or equal to 900", 400)
    assert error_of(sts.get_session_token, DurationSeconds=129601) == (
        "ValidationError", "1 validation error detected: Value '129601' at 'durationSeconds' failed to satisfy "
        "constraint: Member must have value less than or equal to 129600", 400)


def test_session_credentials_work_on_every_service(srv: StsServer) -> None:
    credentials = session(srv)
    assert answer(srv.client("sts", credentials=credentials).get_caller_identity()) == ROOT_IDENTITY
    assert answer(srv.client("sts", credentials=credentials, region="eu-west-1").get_caller_identity()) == ROOT_IDENTITY
    trail = srv.client("cloudtrail", credentials=credentials)
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                    "AttributeValue": "GetSessionToken"}])["Events"]
    assert [e["EventName"] for e in events] == ["GetSessionToken"]
    logs = srv.client("logs", credentials=credentials)
    logs.create_log_group(logGroupName="from-a-session")
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["from-a-session"]
    # the session's account is the root key's: the root key sees the group too
    assert [g["logGroupName"] for g in srv.client("logs").describe_log_groups()["logGroups"]] == ["from-a-session"]


def test_recorded_user_identity_of_a_session_call(srv: StsServer) -> None:
    srv.clock.frozen = float(int(time.time()))
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(srv.clock.frozen))
    credentials = session(srv)
    srv.client("logs", credentials=credentials).describe_log_groups()
    [event] = recorded(srv, "DescribeLogGroups")
    assert event["userIdentity"] == {
        "type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT,
        "accessKeyId": credentials["AccessKeyId"],
        "sessionContext": {"attributes": {"creationDate": created, "mfaAuthenticated": "false"}}}
    assert event["recipientAccountId"] == ACCOUNT


def test_get_session_token_record_holds_no_secret(srv: StsServer) -> None:
    srv.clock.frozen = float(int(time.time()))
    credentials = session(srv, DurationSeconds=900)
    srv.client("sts", credentials=credentials).get_caller_identity()
    [event] = recorded(srv, "GetSessionToken")
    expires = time.gmtime(srv.clock.frozen + 900)
    hour = expires.tm_hour % 12 or 12
    expiration = (f"{time.strftime('%b', expires)} {expires.tm_mday}, {expires.tm_year}, {hour}:"
                  f"{expires.tm_min:02d}:{expires.tm_sec:02d} {'AM' if expires.tm_hour < 12 else 'PM'}")
    assert (event["eventSource"], event["awsRegion"], event["readOnly"], event["eventType"]) == (
        "sts.amazonaws.com", "us-east-1", True, "AwsApiCall")
    assert event["requestParameters"] == {"durationSeconds": 900}
    assert event["responseElements"] == {"credentials": {"accessKeyId": credentials["AccessKeyId"],
                                                         "expiration": expiration}}
    [identity_event] = recorded(srv, "GetCallerIdentity")
    assert identity_event["eventSource"] == "sts.amazonaws.com"
    assert identity_event["responseElements"] is None
    everything = srv.client("cloudtrail").lookup_events(MaxResults=50)["Events"]
    text = json.dumps([e["CloudTrailEvent"] for e in everything])
    assert credentials["SecretAccessKey"] not in text
    assert credentials["SessionToken"] not in text


def test_sessions_are_stored_hashed_and_sealed(srv: StsServer) -> None:
    credentials = session(srv)
    raw = b"".join(p.read_bytes() for p in srv.data_dir.glob("accounts.db*"))
    assert credentials["AccessKeyId"].encode() in raw
    assert credentials["SecretAccessKey"].encode() not in raw
    assert credentials["SessionToken"].encode() not in raw


def test_expired_session_is_refused(srv: StsServer) -> None:
    credentials = session(srv, DurationSeconds=900)
    srv.clock.offset = 900.0  # the server's clock reaches the expiry (checked before the signature's time)
    assert error_of(srv.client("cloudtrail", credentials=credentials).lookup_events) == (
        "ExpiredTokenException", EXPIRED, 400)
    assert error_of(srv.client("logs", credentials=credentials).describe_log_groups) == (
        "ExpiredTokenException", EXPIRED, 400)
    assert error_of(srv.client("sts", credentials=credentials).get_caller_identity) == ("ExpiredToken", EXPIRED, 400)
    # 5 s before the expiry, however long the calls above took (the clock is real time + offset)
    srv.clock.offset = credentials["Expiration"].timestamp() - 5 - time.time()
    with signing_on_server_time(srv):
        assert answer(srv.client("sts", credentials=credentials).get_caller_identity()) == ROOT_IDENTITY


def test_expired_sessions_are_purged(srv: StsServer) -> None:
    first = session(srv, DurationSeconds=900)
    assert srv.accounts.sessions.count() == 1
    srv.clock.offset = 900.0
    with signing_on_server_time(srv):
        session(srv, DurationSeconds=900)  # issuing purges what has expired
        assert srv.accounts.sessions.count() == 1
        assert error_of(srv.client("sts", credentials=first).get_caller_identity) == (
            "InvalidClientTokenId", INVALID, 400)


def test_forged_and_missing_tokens_are_refused(srv: StsServer) -> None:
    credentials = session(srv)
    forged = {**credentials, "SessionToken": credentials["SessionToken"][:-4] + "AAAA"}
    assert error_of(srv.client("cloudtrail", credentials=forged).lookup_events) == (
        "UnrecognizedClientException", INVALID, 400)
    assert error_of(srv.client("sts", credentials=forged).get_caller_identity) == (
        "InvalidClientTokenId", INVALID, 400)
    other = session(srv)  # a real token, of another session
    swapped = {**credentials, "SessionToken": other["SessionToken"]}
    assert error_of(srv.client("sts", credentials=swapped).get_caller_identity) == (
        "InvalidClientTokenId", INVALID, 400)
    no_token = srv.client("cloudtrail", key=type(srv.key)(credentials["AccessKeyId"], ACCOUNT, None,
                                                          credentials["SecretAccessKey"]))
    assert error_of(no_token.lookup_events) == ("UnrecognizedClientException", INVALID + ".", 400)
    wrong_secret = {**credentials, "SecretAccessKey": "x" * 40}
    assert error_of(srv.client("sts", credentials=wrong_secret).get_caller_identity) == (
        "SignatureDoesNotMatch", SIGNATURE_MISMATCH, 400)


def test_session_credentials_cannot_get_a_session_token(srv: StsServer) -> None:
    credentials = session(srv)
    assert error_of(srv.client("sts", credentials=credentials).get_session_token) == (
        "AccessDenied", "Cannot call GetSessionToken with session credentials", 403)


def test_get_access_key_info(srv: StsServer) -> None:
    sts = srv.client("sts")
    credentials = session(srv)
    assert answer(sts.get_access_key_info(AccessKeyId=srv.key.access_key_id)) == {"Account": ACCOUNT}
    assert answer(sts.get_access_key_info(AccessKeyId=credentials["AccessKeyId"])) == {"Account": ACCOUNT}
    # a key that is not stored here: the account its id encodes (Tal Be'ery's published example)
    assert answer(sts.get_access_key_info(AccessKeyId="ASIAY34FZKBOKMUTVV7A")) == {"Account": "609629065308"}


def test_other_operations_answer_invalid_action(srv: StsServer) -> None:
    sts = srv.client("sts")
    assert error_of(sts.decode_authorization_message, EncodedMessage="abc") == (
        "InvalidAction", "opentrail does not implement the DecodeAuthorizationMessage operation yet.", 400)
    assert error_of(sts.get_federation_token, Name="bob") == (
        "InvalidAction", "opentrail does not implement the GetFederationToken operation yet.", 400)


def test_ingest_endpoint_accepts_session_credentials(srv: StsServer) -> None:
    credentials = session(srv)
    body = b'{"Records": []}'
    request = AWSRequest(method="POST", url=srv.url + "/_opentrail/ingest", data=body,
                         headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]),
              "opentrail", "us-east-1").add_auth(request)
    prepared = request.prepare()
    r = httpx.post(prepared.url, content=body, headers=dict(prepared.headers))
    assert r.status_code == 200
    assert r.json()["accepted"] == 0
