"""LookupEvents NextTokens are authenticated (HMAC-SHA256 under the server's key): a changed, made
up or foreign token is InvalidNextTokenException; tokens survive a restart of ``opentrail serve``."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import httpx
import orjson
import pytest
from botocore.config import Config

from opentrail.api.lookup_events import TOKEN_CHARS, encode_token
from opentrail.api.token_key import TOKEN_KEY_FILE, load_token_key
from opentrail.client.ingest import IngestClient
from opentrail.events.times import format_event_time
from opentrail.settings import Settings

from .conftest import ADMIN_ACCOUNT, REGION, Server, management_record, start_server
from .test_lookup_events import error_of, seed

KEY = bytes(range(32))
INVALID = ("InvalidNextTokenException", "Invalid NextToken.")
ATTRS = [{"AttributeKey": "EventName", "AttributeValue": "RunInstances"}]
BINDING = orjson.dumps([ADMIN_ACCOUNT, REGION, ["EventName", "RunInstances"], None, None, False])


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[Server]:
    """A server whose NextToken key the test knows."""
    yield from start_server(tmp_path, Settings(), token_key=KEY)


def event_ids(page: dict[str, Any]) -> list[int]:
    return [int(e["EventId"][-12:]) for e in page["Events"]]


def test_tokens_are_url_safe_fixed_length_and_page_exactly(keyed: Server) -> None:
    base = int(time.time()) - 600
    seed(keyed, [management_record(i, format_event_time(base + i)) for i in range(7)])
    client = keyed.client()
    pages = list(client.get_paginator("lookup_events").paginate(LookupAttributes=ATTRS,
                                                                PaginationConfig={"PageSize": 2}))
    assert [event_ids(p) for p in pages] == [[6, 5], [4, 3], [2, 1], [0]]
    tokens = [p["NextToken"] for p in pages[:-1]]
    assert TOKEN_CHARS == 66
    assert all(len(t) == 66 and re.fullmatch(r"[A-Za-z0-9_-]+", t) for t in tokens)
    # the format is what the docstring says: cursor (eventTime, seq) of the page's last event + HMAC
    assert tokens[0] == encode_token((base + 5, 6), BINDING, KEY)  # record 5 is the 6th appended


def test_changed_made_up_and_foreign_tokens_are_refused(keyed: Server) -> None:
    base = int(time.time()) - 600
    seed(keyed, [management_record(i, format_event_time(base + i)) for i in range(5)])
    client = keyed.client()
    token = client.lookup_events(LookupAttributes=ATTRS, MaxResults=2)["NextToken"]
    assert event_ids(client.lookup_events(LookupAttributes=ATTRS, MaxResults=2, NextToken=token)) == [2, 1]

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    changed = [token[:i] + alphabet[(alphabet.index(c) + 1) % 64] + token[i + 1 :] for i, c in enumerate(token)]
    changed += [token[:-1], token + "A", token + "=", token + "==", token[1:] + token[0], token.swapcase()]
    for bad in changed:
        assert error_of(client.lookup_events, LookupAttributes=ATTRS, MaxResults=2, NextToken=bad) == INVALID, bad

    # a cursor that jumps elsewhere, with the MAC of another key (or of the old plain-hash format)
    forged = [
        encode_token((base + 1, 2), BINDING, os.urandom(32)),
        encode_token((base + 1, 2), BINDING + b" ", KEY),
        base64.urlsafe_b64encode(orjson.dumps(
            [base + 1, 2, hashlib.sha256(BINDING).hexdigest()[:16]])).decode().rstrip("="),
    ]
    for bad in forged:
        assert error_of(client.lookup_events, LookupAttributes=ATTRS, MaxResults=2, NextToken=bad) == INVALID, bad
    # the same cursor with the server's key is honoured: the check is the key, not the shape
    page = client.lookup_events(LookupAttributes=ATTRS, MaxResults=2,
                                NextToken=encode_token((base + 1, 2), BINDING, KEY))
    assert event_ids(page) == [0]


def test_token_of_another_server_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    runs = [start_server(tmp_path / "a", Settings(), token_key=KEY), start_server(tmp_path / "b", Settings())]
    try:
        a, b = (next(run) for run in runs)
        for s in (a, b):
            seed(s, [management_record(i, format_event_time(int(time.time()) - 600 + i)) for i in range(3)])
        token = a.client().lookup_events(LookupAttributes=ATTRS, MaxResults=1)["NextToken"]
        assert event_ids(a.client().lookup_events(LookupAttributes=ATTRS, MaxResults=1, NextToken=token)) == [1]
        assert error_of(b.client().lookup_events, LookupAttributes=ATTRS, MaxResults=1, NextToken=token) == INVALID
    finally:
        for run in runs:
            for _ in run:  # stops the server
                pass


def test_token_key_file_is_created_once_0600_and_checked(tmp_path: Path) -> None:
    key = load_token_key(tmp_path)
    path = tmp_path / TOKEN_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == key.hex() + "\n" and len(key) == 32
    assert load_token_key(tmp_path) == key
    assert [p.name for p in tmp_path.iterdir()] == [TOKEN_KEY_FILE]  # no temporary file left
    path.chmod(0o644)
    assert load_token_key(tmp_path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("not a key\n")
    with pytest.raises(ValueError) as info:
        load_token_key(tmp_path)
    assert str(info.value) == (f"{path} does not hold a NextToken key (64 hex digits); delete it to make a new"
                               " one (LookupEvents NextTokens issued before then stop working)")


# -- opentrail serve: the key lives in the data directory -------------------------------------------

SERVE_KEY_ID = "AKIAOPENTRAILTEST001"
SERVE_SECRET = "s3cr3t/s3cr3t/s3cr3t/s3cr3t/s3cr3t/abcde"


class Serve:
    """``opentrail serve`` on a free port over ``data_dir`` (seeded with the admin key above)."""

    def __init__(self, data_dir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = data_dir.parent / f"serve-{port}.log"
        env = {**os.environ, "OPENTRAIL_ACCOUNT_ID": ADMIN_ACCOUNT, "OPENTRAIL_ACCESS_KEY_ID": SERVE_KEY_ID,
               "OPENTRAIL_SECRET_ACCESS_KEY": SERVE_SECRET}
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "opentrail.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
                 "--event-history-retention-days", "0"], stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + "/_opentrail/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)

    def client(self) -> Any:
        return boto3.client("cloudtrail", endpoint_url=self.url, region_name=REGION, aws_access_key_id=SERVE_KEY_ID,
                            aws_secret_access_key=SERVE_SECRET, config=Config(retries={"max_attempts": 1}))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def test_tokens_survive_a_restart_of_serve_and_not_another_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Serve(data)
    try:
        records = [management_record(i, f"2024-03-01T12:00:{i:02d}Z") for i in range(5)]
        assert IngestClient(first.url, SERVE_KEY_ID, SERVE_SECRET).send(records)["accepted"] == 5
        page = first.client().lookup_events(LookupAttributes=ATTRS, MaxResults=2)
        assert event_ids(page) == [4, 3]
        token = page["NextToken"]
    finally:
        first.stop()
    key_file = data / TOKEN_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()

    second, other = Serve(data), Serve(tmp_path / "other")
    try:
        page = second.client().lookup_events(LookupAttributes=ATTRS, MaxResults=2, NextToken=token)
        assert event_ids(page) == [2, 1]
        assert key_file.read_text() == key
        assert error_of(other.client().lookup_events, LookupAttributes=ATTRS, MaxResults=2,
                        NextToken=token) == INVALID
    finally:
        second.stop()
        other.stop()
