"""STS at the wire: every operation of the model answers (implemented or InvalidAction, recorded
either way), and random signed Query bodies never get a 500 or a non-XML answer."""

from __future__ import annotations

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrail.api.services import is_implemented, service_named
from opentrail.api.sts_operations import OPERATION_RESOURCES

from .conftest import REGION, StsServer

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"


def post(srv: StsServer, body: bytes, token: str | None = None) -> httpx.Response:
    request = AWSRequest(method="POST", url=srv.url + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(srv.key.access_key_id, srv.key.secret_access_key, token), "sts", REGION).add_auth(request)
    prepared = request.prepare()
    return httpx.post(prepared.url, content=body, headers=dict(prepared.headers))


def test_operation_table() -> None:
    sts = service_named("sts")
    assert sorted(op for op, h in sts.operations.items() if is_implemented(h)) == [
        "AssumeRole", "GetAccessKeyInfo", "GetCallerIdentity", "GetSessionToken"]
    assert {op: sts.iam_action(op) for op in ("AssumeRole", "GetCallerIdentity")} == {
        "AssumeRole": "sts:AssumeRole", "GetCallerIdentity": "sts:GetCallerIdentity"}
    assert set(OPERATION_RESOURCES) == set(sts.operations)


@pytest.mark.parametrize("operation", sorted(OPERATION_RESOURCES))
def test_every_operation_answers_xml(srv: StsServer, operation: str) -> None:
    r = post(srv, f"Action={operation}&Version=2011-06-15".encode())
    assert r.headers["content-type"].startswith("text/xml")
    assert r.status_code in (200, 400)
    assert f'xmlns="{NAMESPACE}"' in r.text
    if not is_implemented(service_named("sts").operations[operation]):
        assert "<Code>InvalidAction</Code>" in r.text


def test_raw_answers(srv: StsServer) -> None:
    r = post(srv, b"Action=GetCallerIdentity&Version=2011-06-15")
    request_id = r.headers["x-amzn-requestid"]
    assert r.text == (
        f'<GetCallerIdentityResponse xmlns="{NAMESPACE}"><GetCallerIdentityResult>'
        f"<UserId>111122223333</UserId><Account>111122223333</Account><Arn>arn:aws:iam::111122223333:root</Arn>"
        f"</GetCallerIdentityResult><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>")
    r = post(srv, b"Action=GetCallerIdentity&Version=2011-06-15", token="not-a-session")
    assert (r.status_code, r.text) == (400, (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>'
        "<Message>The security token included in the request is invalid</Message></Error>"
        f"<RequestId>{r.headers['x-amzn-requestid']}</RequestId></ErrorResponse>"))
    r = post(srv, b"Action=NoSuchThing&Version=2011-06-15")
    assert (r.status_code, "<Code>InvalidAction</Code>" in r.text) == (400, True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["Action", "Version", "DurationSeconds", "AccessKeyId", "SerialNumber",
                                           "TokenCode", "RoleArn", "x.member.1", "Policy"]),
                          st.text(max_size=30) | st.sampled_from(["GetSessionToken", "GetAccessKeyInfo",
                                                                  "GetCallerIdentity", "2011-06-15", "-1", "1e9"])),
                max_size=5))
def test_random_signed_bodies(srv: StsServer, pairs: list[tuple[str, str]]) -> None:
    from urllib.parse import urlencode

    r = post(srv, urlencode(pairs).encode())
    assert r.status_code in (200, 400, 403), r.text
    assert r.headers["content-type"].startswith("text/xml")
    assert r.text.startswith("<")
