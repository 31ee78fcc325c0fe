"""Delivering outbox rows: API destinations against a real local HTTP receiver (auth, parameters,
headers, retries, Retry-After, egress policy, OAuth), SQS and SNS on moto's server, the dead-letter
queue with EventBridge's message attributes, the local file and command targets, and a slow
webhook that does not hold up another target."""

from __future__ import annotations

import base64
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import orjson
import pytest

from opentrail.endpoints import EndpointTimeouts
from opentrail.eventbridge.bus_state import BUS_DB, BusState, Delivery
from opentrail.eventbridge.dispatch import Dispatcher
from opentrail.eventbridge.egress import EgressPolicy
from opentrail.eventbridge.model import ApiDestinationConfig, ConnectionAuth, TargetConfig
from opentrail.eventbridge.targets import API_DESTINATION, COMMAND, FILE, SNS, SQS, TargetRouter
from opentrail.eventbridge.targets_aws import SnsTargets, SqsTargets
from opentrail.eventbridge.targets_http import ApiDestinations, TokenBucket
from opentrail.eventbridge.local_targets import LocalTargetPolicy
from opentrail.eventbridge.targets_local import CommandTargets, FileTargets
from tests.eventbridge.helpers import ACCOUNT, REGION, Catalog, Receiver, start_receiver, wait_for

MOTO_ACCOUNT = "123456789012"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tampering"
DEST = f"arn:aws:events:{REGION}:{ACCOUNT}:api-destination/hook/6f1d"
CONN = f"arn:aws:events:{REGION}:{ACCOUNT}:connection/hook-auth/77aa"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)


class Env:
    def __init__(self, path: Path, moto_url: str = "", policy: str = "loopback") -> None:
        self.clock = Clock()
        self.state = BusState(path / BUS_DB)
        self.catalog = Catalog()
        #: file targets under <path>/files, programs under <path>/bin
        self.local = LocalTargetPolicy.from_settings(path, str(path / "files"), str(path / "bin"))
        self.points: list[tuple[Any, ...]] = []
        self.sqs = SqsTargets(moto_url, EndpointTimeouts(2, 5))
        self.http = ApiDestinations(self.catalog, EgressPolicy.parse(policy), EndpointTimeouts(2, 2),
                                    sleep=lambda s: None)
        router = TargetRouter({API_DESTINATION: self.http, SQS: self.sqs, SNS: SnsTargets(moto_url),
                               FILE: FileTargets(self.local), COMMAND: CommandTargets(self.local, timeout_s=5)})
        self.dispatcher = Dispatcher(self.state, router, clock=self.clock, dead_letters=self.sqs,
                                     metrics=lambda *p: self.points.append(p), rng=random.Random(7))

    def add(self, target: TargetConfig, event: dict[str, Any] | None = None, body: bytes | None = None) -> Delivery:
        event = event or {"version": "0", "id": "e-1", "detail-type": "AWS API Call via CloudTrail",
                          "source": "aws.cloudtrail", "detail": {"eventName": "StopLogging"}}
        d = Delivery(target.arn, RULE_ARN, "tampering", ACCOUNT, REGION, target, str(event["id"]), orjson.dumps(event),
                     body, self.clock.now, 0, self.clock.now)
        (committed,) = self.state.commit_round({}, {}, [d], [])
        return committed

    def metrics(self) -> list[str]:
        return sorted(p[3] for p in self.points)

    def close(self) -> None:
        self.dispatcher.stop()
        self.http.close()
        self.sqs.close()
        self.state.close()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.close()


def destination(rec: Receiver, env: Env, auth: ConnectionAuth, endpoint: str = "/hooks/*/events", method: str = "POST",
                rate: int = 300) -> None:
    env.catalog.add_destination(ApiDestinationConfig(DEST, "hook", CONN, rec.url + endpoint, method, rate), auth)


def test_api_destination_request_basic_auth_parameters_and_body(env: Env, receiver: Receiver) -> None:
    destination(receiver, env, ConnectionAuth(CONN, "BASIC", basic=("ops", "s3cret"), http_parameters={
        "HeaderParameters": [{"Key": "X-Team", "Value": "security", "IsValueSecret": False}],
        "QueryStringParameters": [{"Key": "source", "Value": "opentrail", "IsValueSecret": False}],
        "BodyParameters": [{"Key": "channel", "Value": "#alerts", "IsValueSecret": False}]}))
    target = TargetConfig("hook", DEST, http_parameters={"PathParameterValues": ["prod"],
                                                         "HeaderParameters": {"X-Rule": "tampering"},
                                                         "QueryStringParameters": {"level": "high"}})
    d = env.add(target)
    assert env.dispatcher.run_due() == 1
    (got,) = receiver.requests
    assert (got.method, got.path) == ("POST", "/hooks/prod/events?level=high&source=opentrail")
    assert got.headers["authorization"] == "Basic " + base64.b64encode(b"ops:s3cret").decode()
    assert got.headers["content-type"] == "application/json; charset=utf-8"
    assert got.headers["user-agent"] == "Amazon/EventBridge/ApiDestinations"
    assert (got.headers["x-team"], got.headers["x-rule"]) == ("security", "tampering")
    assert got.headers["host"] == receiver.url.removeprefix("http://")
    assert json.loads(got.body) == {**orjson.loads(d.event), "channel": "#alerts"}
    assert env.state.pending() == 0 and env.metrics() == ["Invocations"]


def test_api_key_header_and_transformed_body(env: Env, receiver: Receiver) -> None:
    destination(receiver, env, ConnectionAuth(CONN, "API_KEY", api_key=("x-api-key", "k-123")), endpoint="/in")
    env.add(TargetConfig("hook", DEST), body=b'"instance i-1 stopped"')
    env.dispatcher.run_due()
    (got,) = receiver.requests
    assert (got.path, got.headers["x-api-key"], got.body) == ("/in", "k-123", b'"instance i-1 stopped"')
    assert "authorization" not in got.headers


def test_oauth_client_credentials_token_fetched_and_renewed_on_401(env: Env, receiver: Receiver) -> None:
    receiver.replies["/token"] = (200, b'{"access_token": "tok-1", "expires_in": 3600}')
    destination(receiver, env, ConnectionAuth(CONN, "OAUTH_CLIENT_CREDENTIALS", oauth={
        "AuthorizationEndpoint": receiver.url + "/token", "HttpMethod": "POST",
        "ClientParameters": {"ClientID": "cid", "ClientSecret": "csecret"},
        "OAuthHttpParameters": {"BodyParameters": [{"Key": "grant_type", "Value": "client_credentials"}]}}),
        endpoint="/in")
    receiver.responses = [(401, {}, 0.0)]
    env.add(TargetConfig("hook", DEST))
    env.dispatcher.run_due()
    token_calls = [r for r in receiver.requests if r.path == "/token"]
    hooks = [r for r in receiver.requests if r.path == "/in"]
    assert len(token_calls) == 2 and len(hooks) == 2  # refused once, token renewed, sent again
    assert token_calls[0].headers["authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
    assert token_calls[0].body == b"grant_type=client_credentials"
    assert [h.headers["authorization"] for h in hooks] == ["Bearer tok-1", "Bearer tok-1"]
    assert env.state.pending() == 0


def test_5xx_is_retried_with_backoff_then_delivered(env: Env, receiver: Receiver) -> None:
    destination(receiver, env, ConnectionAuth(CONN, "API_KEY", api_key=("k", "v")))
    receiver.responses = [(503, {}, 0.0), (500, {}, 0.0)]
    d = env.add(TargetConfig("hook", DEST, http_parameters={"PathParameterValues": ["p"]}))
    env.dispatcher.run_due()
    (row,) = env.state.deliveries()
    assert row.attempts == 1 and T0 + 0.5 <= row.next_attempt_s <= T0 + 1.0
    assert env.dispatcher.run_due() == 0  # not due yet
    env.clock.now = row.next_attempt_s
    env.dispatcher.run_due()
    (row,) = env.state.deliveries()
    assert row.attempts == 2 and env.clock.now + 1.0 <= row.next_attempt_s <= env.clock.now + 2.0
    env.clock.now = row.next_attempt_s
    env.dispatcher.run_due()
    assert env.state.pending() == 0 and len(receiver.requests) == 3
    assert env.metrics() == ["Invocations"] and env.state.failures(RULE_ARN) == []
    assert [orjson.loads(r.body)["id"] for r in receiver.requests] == [d.event_id] * 3


def test_retry_after_is_honoured_and_a_negative_one_stops(env: Env, receiver: Receiver) -> None:
    destination(receiver, env, ConnectionAuth(CONN, "API_KEY", api_key=("k", "v")), endpoint="/in")
    receiver.responses = [(429, {"Retry-After": "120"}, 0.0), (503, {"Retry-After": "-1"}, 0.0)]
    env.add(TargetConfig("hook", DEST))
    env.dispatcher.run_due()
    (row,) = env.state.deliveries()
    assert row.next_attempt_s == T0 + 120
    env.clock.now = row.next_attempt_s
    env.dispatcher.run_due()
    assert env.state.pending() == 0
    (failure,) = env.state.failures(RULE_ARN)
    assert (failure.error_code, failure.attempts, failure.outcome) == ("ERROR_FROM_TARGET", 2, "DROPPED")


def dlq(moto_url: str, name: str) -> tuple[Any, str, str]:
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return sqs, url, f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:{name}"


def messages(sqs: Any, url: str, n: int = 10) -> list[dict[str, Any]]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=n, MessageAttributeNames=["All"],
                               AttributeNames=["All"]).get("Messages", [])


def test_4xx_goes_to_the_dead_letter_queue_at_once(tmp_path: Path, moto_url: str, receiver: Receiver) -> None:
    env = Env(tmp_path, moto_url)
    try:
        sqs, url, arn = dlq(moto_url, "dlq-4xx")
        destination(receiver, env, ConnectionAuth(CONN, "API_KEY", api_key=("k", "v")), endpoint="/in")
        receiver.default = (404, {}, 0.0)
        d = env.add(TargetConfig("hook", DEST, dead_letter_arn=arn), body=b'{"transformed": true}')
        env.dispatcher.run_due()
        assert len(receiver.requests) == 1 and env.state.pending() == 0
        (msg,) = messages(sqs, url)
        assert json.loads(msg["Body"]) == orjson.loads(d.event)  # the event, not the transformed input
        attrs = {k: v.get("StringValue") for k, v in msg["MessageAttributes"].items()}
        assert attrs == {"RULE_ARN": RULE_ARN, "TARGET_ARN": DEST, "ERROR_CODE": "ERROR_FROM_TARGET",
                         "ERROR_MESSAGE": f"{receiver.url}/in answered 404 Not Found", "RETRY_ATTEMPTS": "0"}
        (failure,) = env.state.failures(RULE_ARN)
        assert (failure.target_id, failure.error_code, failure.outcome, failure.attempts) == (
            "hook", "ERROR_FROM_TARGET", "DLQ", 1)
        assert env.metrics() == ["FailedInvocations", "Invocations", "InvocationsSentToDlq"]
    finally:
        env.close()


def test_retries_run_out_by_attempts_and_by_event_age(tmp_path: Path, moto_url: str, receiver: Receiver) -> None:
    env = Env(tmp_path, moto_url)
    try:
        sqs, url, arn = dlq(moto_url, "dlq-exhausted")
        destination(receiver, env, ConnectionAuth(CONN, "API_KEY", api_key=("k", "v")), endpoint="/in")
        receiver.default = (500, {}, 0.0)
        env.add(TargetConfig("by-attempts", DEST, maximum_retry_attempts=2, dead_letter_arn=arn))
        env.add(TargetConfig("by-age", DEST, maximum_event_age_s=60, dead_letter_arn=arn))
        for _ in range(12):
            env.dispatcher.run_due()
            env.clock.now += 30
        assert env.state.pending() == 0
        got = sorted((m["MessageAttributes"]["EXHAUSTED_RETRY_CONDITION"]["StringValue"],
                      m["MessageAttributes"]["RETRY_ATTEMPTS"]["StringValue"]) for m in messages(sqs, url))
        by_age = [f for f in env.state.failures(RULE_ARN) if f.target_id == "by-age"][0]
        assert got == [("MaximumEventAgeInSeconds", str(by_age.attempts - 1)), ("MaximumRetryAttempts", "2")]
    finally:
        env.close()


def test_forbidden_host_is_not_invoked(tmp_path: Path, receiver: Receiver) -> None:
    env = Env(tmp_path, policy="10.0.0.0/8")
    try:
        destination(receiver, env, ConnectionAuth(CONN, "API_KEY", api_key=("k", "v")))
        env.add(TargetConfig("hook", DEST, http_parameters={"PathParameterValues": ["p"]}))
        env.dispatcher.run_due()
        assert receiver.requests == []
        (failure,) = env.state.failures(RULE_ARN)
        assert (failure.error_code, failure.error_message) == (
            "NO_PERMISSIONS", "the host 127.0.0.1 is not allowed by --webhook-allow")
        assert env.metrics() == ["DeadLetterInvocations"]
    finally:
        env.close()


def test_missing_api_destination_and_unknown_target_kind(env: Env) -> None:
    env.add(TargetConfig("gone", DEST))
    env.add(TargetConfig("lambda", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"))
    env.dispatcher.run_due()
    got = sorted((f.target_id, f.error_code) for f in env.state.failures(RULE_ARN))
    assert got == [("gone", "NO_RESOURCE"), ("lambda", "INVALID_PARAMETER")]


def test_sqs_standard_and_fifo_and_sns_targets(tmp_path: Path, moto_url: str) -> None:
    env = Env(tmp_path, moto_url)
    try:
        sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
        plain = sqs.create_queue(QueueName="events")["QueueUrl"]
        fifo = sqs.create_queue(QueueName="events.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        sns = boto3.client("sns", endpoint_url=moto_url, region_name=REGION)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        sub_queue = sqs.create_queue(QueueName="alerts-sub")["QueueUrl"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:alerts-sub",
                      Attributes={"RawMessageDelivery": "true"})
        d1 = env.add(TargetConfig("q", f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:events"))
        env.add(TargetConfig("f", f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:events.fifo", sqs_message_group_id="g1"))
        env.add(TargetConfig("f", f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:events.fifo", sqs_message_group_id="g1"))
        env.add(TargetConfig("t", topic), body=b'"text"')
        env.add(TargetConfig("nq", f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:no-such-queue"))
        env.dispatcher.run_due()
        assert [m["Body"] for m in messages(sqs, plain)] == [d1.event.decode()]
        (only,) = messages(sqs, fifo)  # the same event twice for one target: SQS drops the repeat
        assert only["Attributes"]["MessageGroupId"] == "g1"
        assert [m["Body"] for m in messages(sqs, sub_queue)] == ['"text"']
        (failure,) = env.state.failures(RULE_ARN)
        assert (failure.target_id, failure.error_code) == ("nq", "NO_RESOURCE")
    finally:
        env.close()


def program(folder: Path, name: str, code: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"#!{sys.executable}\nimport sys\n{code}\n")
    (folder / name).chmod(0o755)


def test_file_and_command_targets(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "files" / "sink" / "events.jsonl"
    seen = tmp_path / "seen.txt"
    program(tmp_path / "bin", "record", "open(sys.argv[1], 'ab').write(sys.stdin.buffer.read())")
    program(tmp_path / "bin", "fail", "sys.exit(3)")
    (tmp_path / "files" / "link").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "files" / "link").symlink_to(tmp_path / "bin")
    env.add(TargetConfig("file", f"arn:opentrail:file:::{out}"))
    env.add(TargetConfig("file", "arn:opentrail:file:::sink/events.jsonl"), body=b'"line one\nline two"')
    env.add(TargetConfig("cmd", f"arn:opentrail:command:::record {seen}"), body=b"hello")
    env.add(TargetConfig("bad", f"arn:opentrail:command:::{tmp_path / 'bin' / 'fail'}"))
    env.add(TargetConfig("none", "arn:opentrail:command:::missing"))
    # outside the operator's folders: not invoked
    env.add(TargetConfig("shell", "arn:opentrail:command:::/bin/sh -c id"))
    env.add(TargetConfig("escape", "arn:opentrail:command:::../files/x"))
    env.add(TargetConfig("abs", f"arn:opentrail:file:::{tmp_path / 'elsewhere.jsonl'}"))
    env.add(TargetConfig("up", "arn:opentrail:file:::../bin/record"))
    env.add(TargetConfig("link", "arn:opentrail:file:::link/record"))
    env.dispatcher.run_due()
    lines = out.read_bytes().splitlines()
    assert json.loads(lines[0])["id"] == "e-1" and json.loads(lines[1]) == '"line one\nline two"'
    assert seen.read_bytes() == b"hello"
    (retrying,) = env.state.deliveries()
    assert (retrying.target.id, retrying.attempts) == ("bad", 1)
    failures = {f.target_id: f.error_code for f in env.state.failures(RULE_ARN)}
    assert failures == {"none": "NO_RESOURCE", "shell": "NO_PERMISSIONS", "escape": "NO_PERMISSIONS",
                        "abs": "NO_PERMISSIONS", "up": "NO_PERMISSIONS", "link": "NO_PERMISSIONS"}
    assert not (tmp_path / "elsewhere.jsonl").exists()
    assert (tmp_path / "bin" / "record").read_text().count("\n") == 3  # never appended to


def test_a_slow_webhook_does_not_hold_up_another_target(tmp_path: Path) -> None:
    slow, fast = start_receiver(), start_receiver()
    env = Env(tmp_path)
    try:
        slow.default = (200, {}, 1.5)
        other = DEST.replace("hook/6f1d", "fast/1a2b")
        env.catalog.add_destination(ApiDestinationConfig(DEST, "hook", CONN, slow.url + "/s", "POST"),
                                    ConnectionAuth(CONN, "API_KEY", api_key=("k", "v")))
        env.catalog.add_destination(ApiDestinationConfig(other, "fast", CONN, fast.url + "/f", "POST"),
                                    ConnectionAuth(CONN, "API_KEY", api_key=("k", "v")))
        env.clock.now = time.time()
        env.dispatcher.start()
        slow_rows = [env.add(TargetConfig("s", DEST)) for _ in range(10)]
        env.dispatcher.submit(slow_rows)
        assert wait_for(lambda: len(slow.requests) == 4, timeout=2)  # four lane threads busy for 1.5 s
        started = time.time()
        env.dispatcher.submit([env.add(TargetConfig("f", other)) for _ in range(3)])
        assert wait_for(lambda: len(fast.requests) == 3, timeout=1)
        assert time.time() - started < 0.5 and len(slow.requests) == 4
    finally:
        env.close()
        slow.close()
        fast.close()


def test_token_bucket_spaces_requests() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(2, lambda: now[0], sleep)
    waits = [bucket.take() for _ in range(5)]
    assert waits == [0.0, 0.0, 0.5, 0.5, 0.5]
    now[0] += 10
    assert bucket.take() == 0.0


def test_rows_survive_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    env = Env(tmp_path)
    destination(receiver, env, ConnectionAuth(CONN, "API_KEY", api_key=("k", "v")), endpoint="/in")
    receiver.default = (502, {}, 0.0)
    env.add(TargetConfig("hook", DEST))
    env.dispatcher.run_due()
    env.close()
    env2 = Env(tmp_path)
    try:
        env2.catalog = env.catalog
        env2.http = ApiDestinations(env.catalog, EgressPolicy.parse("loopback"), sleep=lambda s: None)
        env2.dispatcher = Dispatcher(env2.state, TargetRouter({API_DESTINATION: env2.http}), clock=env2.clock)
        receiver.default = (200, {}, 0.0)
        env2.clock.now = T0 + 5
        (row,) = env2.state.deliveries()
        assert row.attempts == 1
        env2.dispatcher.run_due()
        assert env2.state.pending() == 0 and len(receiver.requests) == 2
    finally:
        env2.close()
    assert os.path.exists(tmp_path / BUS_DB)


def test_a_row_the_scheduler_took_is_not_sent_again_when_the_bus_hands_it_over(tmp_path: Path,
                                                                               receiver: Receiver) -> None:
    env = Env(tmp_path)
    try:
        destination(receiver, env, ConnectionAuth(CONN, "API_KEY", api_key=("k", "v")), endpoint="/in")
        receiver.default = (200, {}, 0.3)
        env.clock.now = time.time()
        row = env.add(TargetConfig("hook", DEST))
        env.dispatcher.start()  # its first round takes the row from the outbox
        assert wait_for(lambda: len(receiver.requests) == 1, timeout=2)
        env.dispatcher.submit([row])  # the bus hands over the same row while its request is under way
        time.sleep(0.6)
        assert len(receiver.requests) == 1 and env.state.pending() == 0
    finally:
        env.close()


def test_an_endpoint_that_drips_its_answer_is_cut_off_at_the_deadline(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Headers at once, then one body byte every 0.2 s for 10 s: each read is quick, so only the
    request's own deadline (here 1 s) ends it, as TIMEOUT (retried)."""
    import socket
    import threading

    import opentrail.eventbridge.targets_http as targets_http

    monkeypatch.setattr(targets_http, "MAX_REQUEST_S", 1.0)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def drip() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n")
        try:
            for _ in range(50):
                conn.sendall(b"x")
                time.sleep(0.2)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=drip, daemon=True).start()
    env = Env(tmp_path)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/drip"
        env.catalog.add_destination(ApiDestinationConfig(DEST, "hook", CONN, url, "POST"),
                                    ConnectionAuth(CONN, "API_KEY", api_key=("k", "v")))
        started = time.monotonic()
        outcome = env.http.send(env.add(TargetConfig("drip", DEST)))
        took = time.monotonic() - started
        assert (outcome.ok, outcome.code, outcome.retryable) == (False, "TIMEOUT", True)
        assert 1.0 <= took < 2.5
    finally:
        env.close()
        listener.close()


def test_an_event_past_its_maximum_age_is_given_up_unsent(tmp_path: Path, receiver: Receiver) -> None:
    """The server was down longer than the target's MaximumEventAgeInSeconds: the row is not sent."""
    env = Env(tmp_path)
    try:
        destination(receiver, env, ConnectionAuth(CONN, "API_KEY", api_key=("k", "v")))
        env.add(TargetConfig("old", DEST, maximum_event_age_s=60))
        env.clock.now += 61
        env.dispatcher.run_due()
        assert receiver.requests == [] and env.state.pending() == 0
        (failure,) = env.state.failures(RULE_ARN)
        assert (failure.error_code, failure.error_message, failure.attempts, failure.outcome) == (
            "EVENT_EXPIRED", "the event is older than 60 s (MaximumEventAgeInSeconds)", 0, "DROPPED")
        assert env.metrics() == ["DeadLetterInvocations"]
    finally:
        env.close()
