"""EventBridge connections and API destinations through boto3 against a real server: exact answers,
AWS's errors, ``--webhook-allow`` on endpoints, and secrets that never leave: not in any answer,
not in the recorded CloudTrail events, not in eventbridge.db's bytes (sealed with the 0600 key)."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from typing import Any

from .conftest import ACCOUNT, REGION, EbServer
from .helpers import body, error

SECRETS = ("pa55-w0rd-Zeta", "api-key-value-Omega", "client-secret-Kappa", "header-secret-Sigma")


def make_connections(events: Any) -> dict[str, dict[str, Any]]:
    headers = {"HeaderParameters": [{"Key": "X-Env", "Value": "dev", "IsValueSecret": False},
                                    {"Key": "X-Token", "Value": SECRETS[3], "IsValueSecret": True}]}
    return {
        "basic": events.create_connection(Name="basic", AuthorizationType="BASIC", Description="hooks",
                                          AuthParameters={"BasicAuthParameters": {"Username": "ops",
                                                                                  "Password": SECRETS[0]},
                                                          "InvocationHttpParameters": headers}),
        "key": events.create_connection(Name="key", AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": SECRETS[1]}}),
        "oauth": events.create_connection(Name="oauth", AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters={
            "OAuthParameters": {"ClientParameters": {"ClientID": "app", "ClientSecret": SECRETS[2]},
                                "AuthorizationEndpoint": "https://127.0.0.1:8443/token", "HttpMethod": "POST"}}),
    }


def test_connections(eb: EbServer) -> None:
    events = eb.client()
    made = make_connections(events)
    arn = made["basic"]["ConnectionArn"]
    assert arn.startswith(f"arn:aws:events:{REGION}:{ACCOUNT}:connection/basic/") and len(arn.rsplit("/", 1)[1]) == 36
    assert [made[n]["ConnectionState"] for n in ("basic", "key", "oauth")] == ["AUTHORIZED", "AUTHORIZED", "AUTHORIZING"]
    assert isinstance(made["basic"]["CreationTime"], datetime)
    described = body(events.describe_connection(Name="basic"))
    secret_arn = described.pop("SecretArn")
    assert secret_arn.startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:events!connection/basic/")
    assert len(secret_arn.rsplit("/", 1)[1]) == 36 + 7
    created = made["basic"]["CreationTime"]
    assert described == {
        "ConnectionArn": arn, "Name": "basic", "ConnectionState": "AUTHORIZED", "AuthorizationType": "BASIC",
        "Description": "hooks", "CreationTime": created, "LastModifiedTime": created, "LastAuthorizedTime": created,
        "AuthParameters": {"BasicAuthParameters": {"Username": "ops"}, "InvocationHttpParameters": {
            "HeaderParameters": [{"Key": "X-Env", "Value": "dev", "IsValueSecret": False},
                                 {"Key": "X-Token", "IsValueSecret": True}]}}}
    assert body(events.describe_connection(Name="oauth"))["AuthParameters"] == {"OAuthParameters": {
        "ClientParameters": {"ClientID": "app"}, "AuthorizationEndpoint": "https://127.0.0.1:8443/token",
        "HttpMethod": "POST"}}
    assert [(c["Name"], c["AuthorizationType"], c["ConnectionState"]) for c in events.list_connections()["Connections"]] == [
        ("basic", "BASIC", "AUTHORIZED"), ("key", "API_KEY", "AUTHORIZED"), ("oauth", "OAUTH_CLIENT_CREDENTIALS", "AUTHORIZED")]
    assert [c["Name"] for c in events.list_connections(NamePrefix="o")["Connections"]] == ["oauth"]
    page = events.list_connections(Limit=2)
    assert [c["Name"] for c in events.list_connections(NextToken=page["NextToken"], Limit=2)["Connections"]] == ["oauth"]
    # the data plane's view opens the secrets
    auth = eb.rules.connection_auth(arn)
    assert auth is not None and (auth.basic, auth.http_parameters["HeaderParameters"][1]["Value"]) == (
        ("ops", SECRETS[0]), SECRETS[3])
    assert eb.rules.connection_auth(made["key"]["ConnectionArn"]).api_key == ("x-api-key", SECRETS[1])  # type: ignore[union-attr]
    # an update of the password alone keeps the username
    updated = events.update_connection(Name="basic", AuthParameters={"BasicAuthParameters": {"Password": "n3w-pass"}})
    assert (updated["ConnectionArn"], updated["ConnectionState"]) == (arn, "AUTHORIZED")
    assert eb.rules.connection_auth(arn).basic == ("ops", "n3w-pass")  # type: ignore[union-attr]
    events.update_connection(Name="key", AuthorizationType="BASIC",
                             AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}})
    assert body(events.describe_connection(Name="key"))["AuthParameters"] == {"BasicAuthParameters": {"Username": "u"}}
    deleted = events.delete_connection(Name="oauth")
    assert (deleted["ConnectionArn"], deleted["ConnectionState"]) == (made["oauth"]["ConnectionArn"], "DELETING")
    assert error(events.describe_connection, Name="oauth") == {
        "Code": "ResourceNotFoundException",
        "Message": "Failed to describe the connection(s). Connection 'oauth' does not exist."}


def test_connection_errors(eb: EbServer) -> None:
    events = eb.client()
    events.create_connection(Name="c", AuthorizationType="API_KEY",
                             AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
    assert error(events.create_connection, Name="c", AuthorizationType="API_KEY",
                 AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}) == {
        "Code": "ResourceAlreadyExistsException", "Message": "Connection c already exists."}
    assert error(events.create_connection, Name="d", AuthorizationType="BASIC",
                 AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}) == {
        "Code": "ValidationException",
        "Message": "AuthParameters for a BASIC connection cannot contain ApiKeyAuthParameters."}
    assert error(events.create_connection, Name="d", AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters={
        "OAuthParameters": {"ClientParameters": {"ClientID": "a", "ClientSecret": "b"}, "HttpMethod": "POST",
                            "AuthorizationEndpoint": "https://10.9.8.7/token"}}) == {
        "Code": "ValidationException",
        "Message": "Parameter AuthParameters.OAuthParameters.AuthorizationEndpoint is not valid. Reason: the host "
                   "10.9.8.7 is not allowed by --webhook-allow (OPENTRAIL_WEBHOOK_ALLOW)."}
    # Coral's message leaves a sensitive value out
    assert error(events.create_connection, Name="d", AuthorizationType="BASIC", AuthParameters={
        "BasicAuthParameters": {"Username": "u", "Password": "bad\u0001" + SECRETS[0]}}) == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value at 'authParameters.basicAuthParameters.password' failed to "
                   "satisfy constraint: Member must satisfy regular expression pattern: "
                   "^[ \\t]*[^\\x00-\\x1F:\\x7F]+([ \\t]+[^\\x00-\\x1F:\\x7F]+)*[ \\t]*$"}
    assert error(events.update_connection, Name="nope") == {
        "Code": "ResourceNotFoundException",
        "Message": "Failed to describe the connection(s). Connection 'nope' does not exist."}
    assert error(events.update_connection, Name="c", AuthorizationType="BASIC",
                 AuthParameters={"BasicAuthParameters": {"Username": "u"}}) == {
        "Code": "ValidationException",
        "Message": "BasicAuthParameters.Password must be specified for the BASIC authorization type."}


def test_api_destinations(eb: EbServer) -> None:
    events = eb.client()
    connection = make_connections(events)["key"]["ConnectionArn"]
    created = events.create_api_destination(Name="hook", ConnectionArn=connection, HttpMethod="POST",
                                            InvocationEndpoint="http://127.0.0.1:9000/hook", Description="local")
    arn = created["ApiDestinationArn"]
    assert arn.startswith(f"arn:aws:events:{REGION}:{ACCOUNT}:api-destination/hook/")
    assert created["ApiDestinationState"] == "ACTIVE"
    when = created["CreationTime"]
    assert body(events.describe_api_destination(Name="hook")) == {
        "ApiDestinationArn": arn, "Name": "hook", "Description": "local", "ApiDestinationState": "ACTIVE",
        "ConnectionArn": connection, "InvocationEndpoint": "http://127.0.0.1:9000/hook", "HttpMethod": "POST",
        "InvocationRateLimitPerSecond": 300, "CreationTime": when, "LastModifiedTime": when}
    events.create_api_destination(Name="named", ConnectionArn=connection, HttpMethod="PUT",
                                  InvocationEndpoint="https://hooks.example.com/x", InvocationRateLimitPerSecond=5)
    assert [(d["Name"], d["HttpMethod"], d["InvocationRateLimitPerSecond"])
            for d in events.list_api_destinations()["ApiDestinations"]] == [("hook", "POST", 300), ("named", "PUT", 5)]
    assert [d["Name"] for d in events.list_api_destinations(NamePrefix="na")["ApiDestinations"]] == ["named"]
    assert eb.rules.api_destination(arn).invocation_endpoint == "http://127.0.0.1:9000/hook"  # type: ignore[union-attr]
    updated = events.update_api_destination(Name="hook", InvocationRateLimitPerSecond=10)
    assert updated["ApiDestinationArn"] == arn
    assert events.describe_api_destination(Name="hook")["InvocationRateLimitPerSecond"] == 10
    # a rule may target it once it exists
    events.put_rule(Name="r", EventPattern='{"source": ["my.app"]}')
    missing = arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    assert body(events.put_targets(Rule="r", Targets=[{"Id": "hook", "Arn": arn}, {"Id": "gone", "Arn": missing}])) == {
        "FailedEntryCount": 1, "FailedEntries": [{"TargetId": "gone", "ErrorCode": "ResourceNotFoundException",
                                                  "ErrorMessage": f"API destination {missing} does not exist."}]}
    assert body(events.delete_api_destination(Name="named")) == {}
    assert error(events.describe_api_destination, Name="named") == {
        "Code": "ResourceNotFoundException",
        "Message": "Failed to describe the api-destination(s). An api-destination 'named' does not exist."}


def test_api_destination_errors(eb: EbServer) -> None:
    events = eb.client()
    connection = make_connections(events)["key"]["ConnectionArn"]
    for endpoint, reason in [("http://10.0.0.5/hook", "the host 10.0.0.5 is not allowed by --webhook-allow "
                                                      "(OPENTRAIL_WEBHOOK_ALLOW)."),
                             ("ftp://127.0.0.1/x", "ftp://127.0.0.1/x is not an http:// or https:// URL.")]:
        assert error(events.create_api_destination, Name="d", ConnectionArn=connection, HttpMethod="POST",
                     InvocationEndpoint=endpoint) == {
            "Code": "ValidationException", "Message": f"Parameter InvocationEndpoint is not valid. Reason: {reason}"}
    other = connection.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    assert error(events.create_api_destination, Name="d", ConnectionArn=other, HttpMethod="POST",
                 InvocationEndpoint="http://127.0.0.1/x") == {
        "Code": "ResourceNotFoundException",
        "Message": "Failed to describe the connection(s). Connection 'key' does not exist."}
    events.create_api_destination(Name="d", ConnectionArn=connection, HttpMethod="POST",
                                  InvocationEndpoint="http://127.0.0.1/x")
    assert error(events.create_api_destination, Name="d", ConnectionArn=connection, HttpMethod="POST",
                 InvocationEndpoint="http://127.0.0.1/x") == {
        "Code": "ResourceAlreadyExistsException", "Message": "An api-destination 'd' already exists."}
    assert error(events.update_api_destination, Name="d", InvocationEndpoint="http://192.168.1.1/") == {
        "Code": "ValidationException",
        "Message": "Parameter InvocationEndpoint is not valid. Reason: the host 192.168.1.1 is not allowed by "
                   "--webhook-allow (OPENTRAIL_WEBHOOK_ALLOW)."}


def test_secrets_never_leave(eb: EbServer) -> None:
    events = eb.client()
    made = make_connections(events)
    events.update_connection(Name="basic", AuthParameters={"BasicAuthParameters": {"Password": SECRETS[0]}})
    answers = [events.describe_connection(Name=n) for n in made] + [events.list_connections()]
    text = json.dumps(answers, default=str)
    eb.store.flush()
    store_bytes = b"".join(bytes(e.record) for e in eb.store.read_since(0, 1_000_000))
    db = eb.db_bytes()
    for secret in SECRETS:
        assert secret not in text
        assert secret.encode() not in store_bytes
        assert secret.encode() not in db
    [record] = [r for r in eb.records("CreateConnection") if r["requestParameters"]["name"] == "basic"][-1:]
    assert record["requestParameters"] == {
        "name": "basic", "description": "hooks", "authorizationType": "BASIC",
        "authParameters": {"basicAuthParameters": {"username": "ops"}, "invocationHttpParameters": {
            "headerParameters": [{"key": "X-Env", "isValueSecret": False}, {"key": "X-Token", "isValueSecret": True}]}}}
    key = eb.data_dir / "eventbridge.key"
    assert (stat.S_IMODE(key.stat().st_mode), key.stat().st_size) == (0o600, 32)
