"""Test helpers for the bus and its targets: an in-memory rule catalog (a real RuleCatalog), CloudTrail
records, a stdlib HTTP receiver on a free port, an alarm outbox, and the AWS error and answer of a boto3
call."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from opentrail.eventbridge.model import ApiDestinationConfig, ConnectionAuth, RuleConfig, TargetConfig

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "us-east-1"
TAMPERING = json.dumps({"source": ["aws.cloudtrail"], "detail-type": ["AWS API Call via CloudTrail"],
                        "detail": {"eventSource": ["cloudtrail.amazonaws.com"],
                                   "eventName": ["StopLogging", "DeleteTrail", "UpdateTrail"]}})

_ids = itertools.count(1)


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(int(epoch_s), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(name: str = "StopLogging", *, account: str = ACCOUNT, region: str = REGION,
           source: str = "cloudtrail.amazonaws.com", at: float | None = None, **extra: Any) -> dict[str, Any]:
    n = next(_ids)
    rec: dict[str, Any] = {
        "eventVersion": "1.11", "userIdentity": {"type": "Root", "accountId": account},
        "eventTime": iso(time.time() if at is None else at), "eventSource": source, "eventName": name,
        "awsRegion": region, "readOnly": False, "eventID": f"00000000-0000-4000-8000-{n:012d}",
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account,
        "eventCategory": "Management"}
    rec.update(extra)
    return rec


def rule(name: str = "tampering", *, account: str = ACCOUNT, region: str = REGION, pattern: str | None = TAMPERING,
         targets: tuple[TargetConfig, ...] = (), state: str = "ENABLED", since_seq: int = 0) -> RuleConfig:
    return RuleConfig(f"arn:aws:events:{region}:{account}:rule/{name}", name, account, region, state, pattern,
                      targets, since_seq=since_seq)


class Catalog:
    """A RuleCatalog held in memory: every change bumps ``version``."""

    def __init__(self) -> None:
        self.version = 1
        self._rules: dict[str, RuleConfig] = {}
        self._destinations: dict[str, ApiDestinationConfig] = {}
        self._connections: dict[str, ConnectionAuth] = {}

    def put(self, *rules: RuleConfig) -> None:
        for r in rules:
            self._rules[r.arn] = r
        self.version += 1

    def set_state(self, arn: str, state: str, since_seq: int | None = None) -> None:
        r = self._rules[arn]
        self._rules[arn] = replace(r, state=state, since_seq=r.since_seq if since_seq is None else since_seq)
        self.version += 1

    def delete(self, arn: str) -> None:
        del self._rules[arn]
        self.version += 1

    def add_destination(self, dest: ApiDestinationConfig, auth: ConnectionAuth) -> None:
        self._destinations[dest.arn] = dest
        self._connections[auth.arn] = auth
        self.version += 1

    def rules(self) -> list[RuleConfig]:
        return list(self._rules.values())

    def api_destination(self, arn: str) -> ApiDestinationConfig | None:
        return self._destinations.get(arn)

    def connection_auth(self, arn: str) -> ConnectionAuth | None:
        return self._connections.get(arn)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 recording every request; ``responses`` (status, headers, delay s)
    are answered in turn, then ``default``."""

    url: str
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    responses: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    default: tuple[int, dict[str, str], float] = (200, {}, 0.0)
    on_request: Callable[[Received], None] | None = None
    #: path (without query) -> (status, body) answered instead, e.g. an OAuth token endpoint
    replies: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[Any]:
        with self.lock:
            return [json.loads(r.body) for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver() -> Receiver:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            rec = holder[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if len(body) < length:  # the sender went away mid-request: nothing was delivered
                self.close_connection = True
                return
            got = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
            reply = rec.replies.get(self.path.split("?", 1)[0])
            if reply is not None:
                with rec.lock:
                    rec.requests.append(got)
                self.send_response(reply[0])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply[1])))
                self.end_headers()
                self.wfile.write(reply[1])
                return
            with rec.lock:
                rec.requests.append(got)
                status, headers, delay = rec.responses.pop(0) if rec.responses else rec.default
            if rec.on_request is not None:
                rec.on_request(got)
            if delay:
                time.sleep(delay)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    rec = Receiver(f"http://127.0.0.1:{server.server_address[1]}", server)
    holder.append(rec)
    return rec


class AlarmOutbox:
    """The alarm state-change outbox's reading side, in memory."""

    def __init__(self) -> None:
        self.events: list[tuple[int, dict[str, Any]]] = []

    def add(self, event: dict[str, Any]) -> None:
        self.events.append((len(self.events) + 1, event))

    def events_after(self, after_id: int = 0, limit: int = 1000) -> list[tuple[int, dict[str, Any]]]:
        return [(i, e) for i, e in self.events if i > after_id][:limit]


def wait_for(check: Callable[[], bool], timeout: float = 5.0, every: float = 0.01) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


def error(call: Any, **kwargs: Any) -> dict[str, str]:
    """The Code and Message of the AWS error ``call(**kwargs)`` answers (fails when it succeeds)."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return {"Code": info.value.response["Error"]["Code"], "Message": info.value.response["Error"].get("Message", "")}


def body(response: dict[str, Any]) -> dict[str, Any]:
    """A boto3 answer without its ResponseMetadata."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}
