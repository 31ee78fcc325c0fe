"""IAM in the console over HTTP (httpx against a real server with IAM and trails): IAM user sign-in
and its ConsoleLogin records, throttling, pages and actions that follow the user's policies (403
with AWS's message), the IAM page's forms, and the policy simulator."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import boto3
import httpx
import orjson
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.iam.store import IAM_DB, IamStore
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from opentrail.trails.service import TrailService
from tests.serving import serving

from .conftest import ACCOUNT, Clock, csrf_of

READ_ONLY_ARN = "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess"
PASSWORD = "Auditor-Passw0rd!"
DENY_STOP = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "AllowTrails", "Effect": "Allow", "Action": "cloudtrail:*", "Resource": "*"},
    {"Sid": "NeverStopLogging", "Effect": "Deny", "Action": "cloudtrail:StopLogging", "Resource": "*"}]})


@dataclass
class Server:
    url: str
    store: MemoryEventStore
    iam: IamStore
    clock: Clock
    key: AccessKey

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=self.key.access_key_id,
                            aws_secret_access_key=self.key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=20)

    def sign_in_user(self, client: httpx.Client, user: str = "auditor", password: str = PASSWORD,
                     account: str = ACCOUNT) -> httpx.Response:
        token = csrf_of(client.get("/console/signin?method=iam").text)
        return client.post("/console/signin", data={"csrf_token": token, "account_id": account, "user_name": user,
                                                    "password": password, "region": "us-east-1",
                                                    "next": "/console/events"})

    def sign_in_root(self, client: httpx.Client) -> httpx.Response:
        token = csrf_of(client.get("/console/signin").text)
        return client.post("/console/signin", data={"csrf_token": token, "access_key_id": self.key.access_key_id,
                                                    "secret_access_key": self.key.secret_access_key,
                                                    "region": "us-east-1", "next": "/console/events"})

    def records(self, name: str, count: int) -> list[dict[str, Any]]:
        ct = self.client("cloudtrail")
        for _ in range(100):
            self.store.flush()
            events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}],
                                      MaxResults=50)["Events"]
            if len(events) >= count:
                return [orjson.loads(e["CloudTrailEvent"]) for e in events]
            self.clock.offset += 0  # no-op: records are visible after a flush
        raise AssertionError(f"fewer than {count} {name} events")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    accounts = AccountStore(tmp_path / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    iam = IamStore(tmp_path / IAM_DB)
    store = MemoryEventStore()
    clock = Clock()
    storage = LocalFolderStorage(tmp_path / "buckets")
    storage.create_bucket("logs")
    trails = TrailService(tmp_path, storage, clock)
    app = build_app(settings=Settings(data_dir=tmp_path), store=store, accounts=accounts, clock=clock, trails=trails,
                    iam=iam)
    try:
        with serving(app) as url:
            srv = Server(url, store, iam, clock, key)
            admin = srv.client("iam")
            admin.create_user(UserName="auditor", Path="/audit/")
            admin.attach_user_policy(UserName="auditor", PolicyArn=READ_ONLY_ARN)
            admin.create_login_profile(UserName="auditor", Password=PASSWORD)
            admin.create_user(UserName="nopassword")
            srv.client("cloudtrail").create_trail(Name="main", S3BucketName="logs")
            yield srv
    finally:
        trails.close()
        store.close()
        iam.close()
        accounts.close()


def test_iam_user_signs_in_with_a_password_and_is_recorded_as_aws_does(server: Server) -> None:
    user_id = server.iam.get_user(ACCOUNT, "auditor").user_id  # type: ignore[union-attr]
    with server.http() as c:
        r = server.sign_in_user(c)
        assert (r.status_code, r.headers["location"]) == (303, "/console/events")
        page = c.get("/console/events")
        assert page.status_code == 200
        assert f"auditor @ {ACCOUNT}" in page.text
    (login,) = server.records("ConsoleLogin", 1)
    assert login["userIdentity"] == {"type": "IAMUser", "principalId": user_id,
                                     "arn": f"arn:aws:iam::{ACCOUNT}:user/audit/auditor", "accountId": ACCOUNT,
                                     "userName": "auditor"}
    assert user_id.startswith("AIDA")
    assert (login["responseElements"], login["requestParameters"]) == ({"ConsoleLogin": "Success"}, None)
    assert login["additionalEventData"] == {"LoginTo": f"{server.url}/console/events", "MobileVersion": "No",
                                            "MFAUsed": "No"}
    assert "errorMessage" not in login
    # the session's calls are the user's, recorded as console calls
    (lookup,) = [e for e in server.records("LookupEvents", 2) if e["userIdentity"]["type"] == "IAMUser"][:1]
    assert lookup["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/audit/auditor"
    assert lookup["userIdentity"]["principalId"] == user_id
    assert lookup["userIdentity"]["accessKeyId"].startswith("ASIA")
    assert lookup["sessionCredentialFromConsole"] == "true"


def test_failed_sign_ins_look_alike_and_are_recorded(server: Server) -> None:
    user_id = server.iam.get_user(ACCOUNT, "auditor").user_id  # type: ignore[union-attr]
    no_password_id = server.iam.get_user(ACCOUNT, "nopassword").user_id  # type: ignore[union-attr]
    with server.http() as c:
        answers = [server.sign_in_user(c, password="wrong"), server.sign_in_user(c, user="nopassword"),
                   server.sign_in_user(c, user="nobody"), server.sign_in_user(c, account="999999999999")]
    for r in answers:
        assert r.status_code == 401
        assert "Your authentication information is incorrect. Please try again." in r.text
        assert "opentrail_console=" not in r.headers.get("set-cookie", "")
    logins = server.records("ConsoleLogin", 3)  # the unknown account has nowhere to be recorded
    assert len(logins) == 3
    by_name = {e["userIdentity"]["userName"]: e for e in logins}
    assert by_name["auditor"]["userIdentity"] == {"type": "IAMUser", "principalId": user_id, "accountId": ACCOUNT,
                                                  "accessKeyId": "", "userName": "auditor"}
    assert by_name["nopassword"]["userIdentity"]["principalId"] == no_password_id
    assert by_name["HIDDEN_DUE_TO_SECURITY_REASONS"]["userIdentity"] == {
        "type": "IAMUser", "accountId": ACCOUNT, "accessKeyId": "", "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"}
    for e in logins:
        assert (e["errorMessage"], e["responseElements"]) == ("Failed authentication", {"ConsoleLogin": "Failure"})
        assert e["additionalEventData"]["MFAUsed"] == "No"


def test_five_failures_a_minute_refuse_the_user_for_a_minute(server: Server) -> None:
    with server.http() as c:
        for _ in range(5):
            assert server.sign_in_user(c, password="wrong").status_code == 401
        refused = server.sign_in_user(c)  # the right password, refused while throttled
        assert refused.status_code == 429
        assert "Too many failed sign-in attempts for this user. Wait a minute and try again." in refused.text
        server.clock.offset += 61
        assert server.sign_in_user(c).status_code == 303
    logins = server.records("ConsoleLogin", 7)
    assert [e["responseElements"]["ConsoleLogin"] for e in logins] == ["Success"] + ["Failure"] * 6


def test_auditor_reads_but_is_not_offered_changes_and_a_forged_post_is_denied(server: Server) -> None:
    with server.http() as c:
        assert server.sign_in_user(c).status_code == 303
        trails = c.get("/console/trails")
        assert trails.status_code == 200
        assert 'data-trail="main"' in trails.text
        assert 'id="create-trail"' not in trails.text
        assert 'value="start"' not in trails.text and 'value="delete"' not in trails.text
        assert "No actions allowed" in trails.text
        token = csrf_of(trails.text)
        forged = c.post("/console/trails", data={"csrf_token": token, "name": "sneaky", "bucket": "b",
                                                 "management": "All"})
        assert forged.status_code == 403
        message = (f"AccessDeniedException: User: arn:aws:iam::{ACCOUNT}:user/audit/auditor is not authorized to "
                   f"perform: cloudtrail:CreateTrail on resource: arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/sneaky"
                   " because no identity-based policy allows the cloudtrail:CreateTrail action")
        assert message in forged.text
        stop = c.post("/console/trails/action", data={"csrf_token": token, "action": "stop",
                                                      "name": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"})
        assert stop.status_code == 403
        assert "cloudtrail:StopLogging" in stop.text
        iam_page = c.get("/console/iam")  # no IAM permission: denied with IAM's own code
        assert iam_page.status_code == 403
        assert ("AccessDenied: User: arn:aws:iam::" + ACCOUNT + ":user/audit/auditor is not authorized to perform:"
                " iam:GetAccountAuthorizationDetails because no identity-based policy allows the"
                " iam:GetAccountAuthorizationDetails action") in iam_page.text
    assert server.client("cloudtrail").describe_trails()["trailList"][0]["Name"] == "main"
    (denied,) = [e for e in server.records("CreateTrail", 2) if e["userIdentity"]["type"] == "IAMUser"]
    assert denied["errorCode"] == "AccessDeniedException"
    assert denied["errorMessage"] == message.split(": ", 1)[1]
    assert denied["sessionCredentialFromConsole"] == "true"


def test_root_still_signs_in_with_keys_and_is_offered_everything(server: Server) -> None:
    with server.http() as c:
        r = server.sign_in_root(c)
        assert (r.status_code, r.headers["location"]) == (303, "/console/events")
        trails = c.get("/console/trails")
        assert 'id="create-trail"' in trails.text and 'value="start"' in trails.text
        assert 'id="create-user"' in c.get("/console/iam").text


def _form(c: httpx.Client, page: str) -> str:
    return csrf_of(c.get(page).text)


def test_iam_page_forms_go_through_the_iam_api(server: Server) -> None:
    with server.http() as c:
        server.sign_in_root(c)
        page = c.get("/console/iam")
        assert page.status_code == 200
        assert 'data-user="auditor"' in page.text and "arn:aws:iam::" + ACCOUNT + ":user/audit/auditor" in page.text
        assert "AWSCloudTrail_ReadOnlyAccess" in page.text
        assert "&#34;cloudtrail:LookupEvents&#34;" in page.text  # AWS managed documents shown, decoded
        token = csrf_of(page.text)
        r = c.post("/console/iam/users", data={"csrf_token": token, "user_name": "ci", "path": "/", "password": ""})
        assert (r.status_code, r.headers["location"]) == (303, "/console/iam")
        assert "Created user ci." in c.get("/console/iam").text
        dup = c.post("/console/iam/users", data={"csrf_token": token, "user_name": "ci"})
        assert dup.status_code == 303
        assert "EntityAlreadyExists: User with name ci already exists." in c.get("/console/iam").text
        created = c.post("/console/iam/keys", data={"csrf_token": token, "user_name": "ci", "action": "create"})
        assert created.status_code == 200
        key_id = re.search(r'id="new-key-id">([A-Z0-9]+)<', created.text).group(1)  # type: ignore[union-attr]
        secret = re.search(r'id="new-key-secret">([^<]+)<', created.text).group(1)  # type: ignore[union-attr]
        assert secret not in c.get("/console/iam").text  # shown once
        assert c.post("/console/iam/keys", data={"csrf_token": token, "user_name": "ci", "access_key_id": key_id,
                                                 "action": "deactivate"}).status_code == 303
        assert c.post("/console/iam/attachments", data={"csrf_token": token, "kind": "user", "name": "ci",
                                                        "policy_arn": READ_ONLY_ARN, "action": "attach"}).status_code == 303
    iam = server.client("iam")
    assert iam.list_access_keys(UserName="ci")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    assert [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="ci")["AttachedPolicies"]] == [READ_ONLY_ARN]
    (create,) = [e for e in server.records("CreateUser", 3) if e.get("sessionCredentialFromConsole")
                 and e.get("errorCode") is None]
    assert (create["eventSource"], create["awsRegion"], create["requestParameters"]) == (
        "iam.amazonaws.com", "us-east-1", {"userName": "ci", "path": "/"})
    (key_event,) = server.records("CreateAccessKey", 1)
    assert secret not in json.dumps(key_event)
    with server.http() as c:
        server.sign_in_root(c)
        token = _form(c, "/console/iam")
        assert c.post("/console/iam/keys", data={"csrf_token": token, "user_name": "ci", "access_key_id": key_id,
                                                 "action": "delete"}).status_code == 303
        assert c.post("/console/iam/attachments", data={"csrf_token": token, "kind": "user", "name": "ci",
                                                        "policy_arn": READ_ONLY_ARN, "action": "detach"}).status_code == 303
    assert iam.list_access_keys(UserName="ci")["AccessKeyMetadata"] == []
    assert iam.list_attached_user_policies(UserName="ci")["AttachedPolicies"] == []


def _simulate(c: httpx.Client, **fields: str) -> httpx.Response:
    token = _form(c, "/console/iam/simulate")
    return c.post("/console/iam/simulate", data={"csrf_token": token, "context": "", "resource": "", **fields})


def _decision(html: str) -> tuple[str, str, str]:
    def field(name: str) -> str:
        return re.search(rf'id="{name}"[^>]*>([^<]*)<', html).group(1)  # type: ignore[union-attr]
    return field("decision"), field("decision-policy"), field("decision-statement")


def test_simulator_answers_allow_implicit_and_explicit_deny_with_the_deciding_statement(server: Server) -> None:
    admin = server.client("iam")
    admin.create_user(UserName="operator")
    admin.put_user_policy(UserName="operator", PolicyName="no-stop", PolicyDocument=DENY_STOP)
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"
    with server.http() as c:
        server.sign_in_root(c)
        allow = _simulate(c, source="principal", principal="user:auditor", action="cloudtrail:LookupEvents")
        assert allow.status_code == 200
        assert _decision(allow.text) == ("Allow", READ_ONLY_ARN, "#0")
        implicit = _simulate(c, source="principal", principal="user:auditor", action="cloudtrail:StopLogging",
                             resource=trail)
        assert _decision(implicit.text) == ("ImplicitDeny", "—", "no statement allows the action")
        assert ("User: arn:aws:iam::" + ACCOUNT + ":user/audit/auditor is not authorized to perform: "
                "cloudtrail:StopLogging on resource: " + trail + " because no identity-based policy allows the "
                "cloudtrail:StopLogging action") in implicit.text
        explicit = _simulate(c, source="principal", principal="user:operator", action="cloudtrail:StopLogging",
                             resource=trail)
        assert _decision(explicit.text) == ("ExplicitDeny", "no-stop", "NeverStopLogging")
        pasted = _simulate(c, source="custom", action="cloudtrail:StopLogging", policy=DENY_STOP,
                           context="aws:SourceIp=203.0.113.7")
        assert _decision(pasted.text) == ("ExplicitDeny", "pasted policy", "NeverStopLogging")
        cond = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudtrail:*",
                           "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]})
        assert _decision(_simulate(c, source="custom", action="cloudtrail:GetTrail", policy=cond,
                                   context="aws:SourceIp=203.0.113.7").text)[0] == "Allow"
        assert _decision(_simulate(c, source="custom", action="cloudtrail:GetTrail", policy=cond,
                                   context="aws:SourceIp=198.51.100.1").text)[0] == "ImplicitDeny"
        bad = _simulate(c, source="custom", action="cloudtrail:GetTrail", policy='{"Statement": [')
        assert bad.status_code == 400
        assert "MalformedPolicyDocument: Syntax errors in policy." in bad.text
        bad_context = _simulate(c, source="custom", action="cloudtrail:GetTrail", policy=cond, context="nonsense")
        assert bad_context.status_code == 400 and "Context line 1 is not key=value" in bad_context.text
    recorded = server.records("SimulatePrincipalPolicy", 3)
    assert recorded[0]["requestParameters"]["policySourceArn"] == f"arn:aws:iam::{ACCOUNT}:user/operator"


def test_temporary_credentials_sign_in_as_their_role_session_until_they_expire(server: Server) -> None:
    admin = server.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})
    admin.create_role(RoleName="reader", AssumeRolePolicyDocument=trust)
    admin.attach_role_policy(RoleName="reader", PolicyArn=READ_ONLY_ARN)
    creds = server.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/reader", RoleSessionName="alice",
                                             DurationSeconds=900)["Credentials"]
    role_id = server.iam.get_role(ACCOUNT, "reader").role_id  # type: ignore[union-attr]

    def sign_in(client: httpx.Client, token: str) -> httpx.Response:
        csrf = csrf_of(client.get("/console/signin").text)
        return client.post("/console/signin", data={
            "csrf_token": csrf, "access_key_id": creds["AccessKeyId"], "secret_access_key": creds["SecretAccessKey"],
            "session_token": token, "region": "us-east-1", "next": "/console/trails"})

    with server.http() as root:
        server.sign_in_root(root)
        assert 'id="trail-bucket"' in root.get("/console/trails").text  # root is offered the form
    with server.http() as c:
        assert sign_in(c, "not-the-token").status_code == 401
        assert sign_in(c, creds["SessionToken"]).status_code == 303
        page = c.get("/console/trails")
        assert page.status_code == 200 and "main" in page.text
        assert 'id="trail-bucket"' not in page.text  # the role may not create trails: no form offered
        logins = server.records("ConsoleLogin", 2)  # the role's and root's; a token of no session is not recorded
        assert [e["userIdentity"]["type"] for e in logins] == ["AssumedRole", "Root"]  # newest first
        login = logins[0]
        assert login["userIdentity"]["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/alice"
        assert login["userIdentity"]["sessionContext"]["sessionIssuer"]["principalId"] == role_id
        # the console session ends with the credentials
        server.clock.offset += 901
        ended = c.get("/console/trails")
        assert (ended.status_code, ended.headers["location"].startswith("/console/signin")) == (303, True)
