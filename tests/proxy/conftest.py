"""Fixtures: moto's server, ``opentrail serve`` and the proxy between boto3 and moto."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.config import Config

from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.proxy.runner import ProxyOptions

from .servers import ACCOUNT, REGION, Moto, Opentrail, RunningProxy, free_port


@dataclass
class Stack:
    moto: Moto
    opentrail: Opentrail
    proxy: RunningProxy
    alice: AccessKey
    data_dir: Path

    def client(self, service: str, key: AccessKey | None = None, **config: Any) -> Any:
        key = key or self.alice
        return boto3.client(service, endpoint_url=self.proxy.url, region_name=REGION,
                            aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                            config=Config(retries={"max_attempts": 1}, **config))

    def records_for(self, pred: Callable[[dict[str, Any]], bool], n: int = 1, timeout_s: float = 15.0) -> list[dict[str, Any]]:
        """Wait until ``n`` records match ``pred``; return them in call order."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [r for r in list(self.proxy.records) if pred(r)]
            if len(found) >= n or time.monotonic() > deadline:
                assert len(found) == n, f"{len(found)} records match, wanted {n}"
                return found
            time.sleep(0.02)

    def record(self, event_name: str, **params: Any) -> dict[str, Any]:
        """The one record of ``event_name`` whose requestParameters contain ``params``."""
        def pred(r: dict[str, Any]) -> bool:
            rp = r.get("requestParameters") or {}
            return r["eventName"] == event_name and all(rp.get(k) == v for k, v in params.items())
        return self.records_for(pred)[0]


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from make_stack(tmp_path_factory)


def make_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """moto, ``opentrail serve`` and the proxy, started; stopped when the generator ends."""
    tmp = tmp_path_factory.mktemp("proxy")
    data_dir = tmp / "data"
    data_dir.mkdir()
    moto = Moto(tmp)
    opentrail = Opentrail(data_dir)
    accounts = AccountStore(data_dir / "accounts.db")
    alice = accounts.create_access_key(ACCOUNT, user_name="alice")
    accounts.close()
    proxy = RunningProxy(ProxyOptions(upstream=moto.url, data_dir=data_dir, port=free_port(), endpoint_url=opentrail.url))
    try:
        yield Stack(moto, opentrail, proxy, alice, data_dir)
    finally:
        proxy.stop()
        opentrail.stop()
        moto.stop()


def alice_identity(key: AccessKey) -> dict[str, Any]:
    """The IAMUser identity opentrail's own API records for alice's key."""
    from opentrail.auth.sigv4 import Caller

    return Caller(ACCOUNT, key.access_key_id, "alice", REGION).user_identity()
