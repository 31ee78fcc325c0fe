"""ListPublicKeys through boto3 against a real socket: time ranges, the DER PKCS#1 value and its
fingerprint, the signing Region, pagination, errors."""

from __future__ import annotations

import base64
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
import uvicorn
from botocore.config import Config
from botocore.exceptions import ClientError

from opentrail.api import public_keys as handler
from opentrail.api.app import build_app
from opentrail.auth.accounts import AccountStore
from opentrail.digests import KeyStore
from opentrail.digests import format as F
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore

from .conftest import ACCOUNT, T0, Clock

DAY = 86400


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


class Api:
    def __init__(self, url: str, key: Any, keys: KeyStore, clock: Clock) -> None:
        self.url, self.key, self.keys, self.clock = url, key, keys, clock

    def client(self, region: str = "us-east-1") -> Any:
        return boto3.client("cloudtrail", endpoint_url=self.url, region_name=region,
                            aws_access_key_id=self.key.access_key_id, aws_secret_access_key=self.key.secret_access_key,
                            config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp("keys-api")
    accounts = AccountStore(tmp / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    clock = Clock()
    keys = KeyStore(tmp / "keys", clock, rotation_s=30 * DAY)
    keys.current("us-east-1")          # T0 .. T0+30d
    clock.now += 20 * DAY
    keys.rotate("us-east-1")           # T0+20d .. T0+50d
    keys.current("eu-west-1")          # T0+20d .. T0+50d
    store = MemoryEventStore()
    # the API's clock (signature checks, the default range) is real time; the keys live in 2024
    app = build_app(settings=Settings(), store=store, accounts=accounts, clock=time.time, public_keys=keys)
    from .test_e2e_validate_logs import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield Api(f"http://127.0.0.1:{port}", key, keys, clock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        accounts.close()


def test_keys_overlapping_the_range_newest_first(api: Api) -> None:
    first, second = api.keys.public_keys("us-east-1", 0, 2**32)[::-1]
    out = api.client().list_public_keys(StartTime=at(T0 + 21 * DAY), EndTime=at(T0 + 22 * DAY))
    assert "NextToken" not in out
    assert out["PublicKeyList"] == [
        {"Value": second.der, "ValidityStartTime": at(T0 + 20 * DAY), "ValidityEndTime": at(T0 + 50 * DAY),
         "Fingerprint": second.fingerprint},
        {"Value": first.der, "ValidityStartTime": at(T0), "ValidityEndTime": at(T0 + 30 * DAY),
         "Fingerprint": first.fingerprint},
    ]
    value = out["PublicKeyList"][0]["Value"]
    assert value[:4] == bytes.fromhex("3082010a") and F.fingerprint(value) == second.fingerprint
    only_first = api.client().list_public_keys(StartTime=at(T0), EndTime=at(T0 + DAY))["PublicKeyList"]
    assert [k["Fingerprint"] for k in only_first] == [first.fingerprint]
    later = api.client().list_public_keys(StartTime=at(T0 + 31 * DAY), EndTime=at(T0 + 32 * DAY))["PublicKeyList"]
    assert [k["Fingerprint"] for k in later] == [second.fingerprint]
    assert api.client().list_public_keys(StartTime=at(T0 - 2 * DAY), EndTime=at(T0 - DAY))["PublicKeyList"] == []


def test_keys_belong_to_the_signing_region(api: Api) -> None:
    eu = api.keys.public_keys("eu-west-1", 0, 2**32)
    out = api.client("eu-west-1").list_public_keys(StartTime=at(T0), EndTime=at(T0 + 40 * DAY))["PublicKeyList"]
    assert [k["Fingerprint"] for k in out] == [k.fingerprint for k in eu] and len(eu) == 1
    # a Region without digests yet gets its own key on the first call, never another Region's
    ap = api.client("ap-south-1").list_public_keys(StartTime=at(T0), EndTime=at(T0 + 40 * DAY))["PublicKeyList"]
    assert [k["Fingerprint"] for k in ap] == [api.keys.current("ap-south-1").fingerprint]
    assert ap[0]["Fingerprint"] != eu[0].fingerprint


def test_no_range_means_now(api: Api) -> None:
    # the API clock is real time; the key store's clock (and so every key's validity) is at T0,
    # long before: no key is in use at the API's now
    assert api.client().list_public_keys()["PublicKeyList"] == []


def test_start_after_end_is_invalid_time_range(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        api.client().list_public_keys(StartTime=at(T0 + DAY), EndTime=at(T0))
    assert err.value.response["Error"] == {"Code": "InvalidTimeRangeException", "Message": "Start time must be before end time."}


def test_pages_and_tokens(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "PAGE_SIZE", 1)
    client = api.client()
    pages = list(client.get_paginator("list_public_keys").paginate(StartTime=at(T0), EndTime=at(T0 + 40 * DAY)))
    assert [[k["Fingerprint"] for k in p["PublicKeyList"]] for p in pages] == [
        [k.fingerprint] for k in api.keys.public_keys("us-east-1", T0, T0 + 40 * DAY)]
    token = pages[0]["NextToken"]
    for bad in ("not-a-token", token):  # garbage, and a token of another range
        with pytest.raises(ClientError) as err:
            client.list_public_keys(StartTime=at(T0), EndTime=at(T0 + 41 * DAY), NextToken=bad)
        assert err.value.response["Error"] == {"Code": "InvalidTokenException", "Message": "Invalid NextToken."}


def test_the_aws_cli_prints_the_value_base64(api: Api, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    aws = Path(sys.executable).with_name("aws")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": api.key.access_key_id,
           "AWS_SECRET_ACCESS_KEY": api.key.secret_access_key, "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    out = subprocess.run([str(aws), "cloudtrail", "list-public-keys", "--endpoint-url", api.url, "--region", "eu-west-1",
                          "--start-time", "2024-03-21T10:00:00Z", "--end-time", "2024-03-22T10:00:00Z"],
                         env=env, capture_output=True, text=True, timeout=60, check=True)
    (key,) = json.loads(out.stdout)["PublicKeyList"]
    eu = api.keys.public_keys("eu-west-1", 0, 2**32)[0]
    assert base64.b64decode(key["Value"]) == eu.der and key["Fingerprint"] == eu.fingerprint
    assert (key["ValidityStartTime"], key["ValidityEndTime"]) == (T0 + 20 * DAY, T0 + 50 * DAY)  # AWS CLI v1 prints epochs
