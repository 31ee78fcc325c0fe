"""opentrail stopped while traffic flows through the proxy: no user request fails, the events wait
in the proxy's spool and all arrive, once each, when opentrail is back."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from opentrail.auth.accounts import AccountStore
from opentrail.proxy.runner import ProxyOptions

from .servers import ACCOUNT, REGION, Moto, Opentrail, RunningProxy, free_port


def _lookup_all(ct: Any, name: str, n: int) -> list[dict[str, Any]]:
    """The events named ``name``, once ``n`` are visible (the proxy's client does not wait for the
    lookup index), or what is there after 15 s."""
    deadline = time.monotonic() + 15
    while True:
        events = _lookup(ct, name)
        if len(events) >= n or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def _lookup(ct: Any, name: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}]}
    while True:
        page = ct.lookup_events(**kwargs)
        events += page["Events"]
        if "NextToken" not in page:
            return events
        kwargs["NextToken"] = page["NextToken"]


def test_opentrail_down_then_back(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    moto = Moto(tmp_path)
    opentrail = Opentrail(data_dir)
    port = opentrail.port
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT, user_name="carol")
    accounts.close()
    proxy = RunningProxy(ProxyOptions(upstream=moto.url, data_dir=data_dir, port=free_port(), endpoint_url=opentrail.url),
                         retry_max_backoff_s=0.5)
    back: Opentrail | None = None
    try:
        sqs = boto3.client("sqs", endpoint_url=proxy.url, region_name=REGION, aws_access_key_id=key.access_key_id,
                           aws_secret_access_key=key.secret_access_key, config=Config(retries={"max_attempts": 1}))
        sqs.create_queue(QueueName="outage-0")
        proxy.settle(1)
        assert proxy.proxy.pipeline.flush(15)
        opentrail.stop()
        for n in range(1, 61):  # every request answered while opentrail is down
            assert sqs.create_queue(QueueName=f"outage-{n}")["QueueUrl"].endswith(f"/outage-{n}")
        proxy.settle(61)
        stats = proxy.proxy.pipeline.stats()
        assert stats["recorded"] == 61
        assert stats["sent"] == 1
        assert stats["spooled"] >= 60
        assert stats["dropped"] == 0
        back = Opentrail(data_dir, port=port)
        assert proxy.proxy.pipeline.flush(30)
        events = _lookup_all(back.cloudtrail(), "CreateQueue", 61)
        names = sorted(json.loads(e["CloudTrailEvent"])["requestParameters"]["queueName"] for e in events)
        assert names == sorted(f"outage-{n}" for n in range(61))
        assert proxy.proxy.pipeline.stats()["spooled"] == 0
    finally:
        proxy.stop()
        (back or opentrail).stop()
        moto.stop()


def test_unsent_events_survive_a_proxy_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    moto = Moto(tmp_path)
    opentrail = Opentrail(data_dir)
    url, port = opentrail.url, opentrail.port
    opentrail.stop()
    spool = tmp_path / "spool"
    proxy_port = free_port()
    options = ProxyOptions(upstream=moto.url, data_dir=data_dir, port=proxy_port, endpoint_url=url, spool_dir=spool)
    proxy = RunningProxy(options, retry_max_backoff_s=0.5)
    back: Opentrail | None = None
    try:
        sns = boto3.client("sns", endpoint_url=proxy.url, region_name=REGION, aws_access_key_id="AKIAUNKNOWNKEY000001",
                           aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
        for n in range(5):
            sns.create_topic(Name=f"restart-{n}")
        proxy.settle(5)
        proxy.stop(close_timeout_s=0.5)  # opentrail still down: the 5 events stay in the spool
        assert any(spool.iterdir())
        back = Opentrail(data_dir, port=port)
        proxy = RunningProxy(options, retry_max_backoff_s=0.5)
        deadline = time.monotonic() + 20
        while proxy.proxy.pipeline.stats()["spooled"] and time.monotonic() < deadline:
            time.sleep(0.05)
        events = _lookup_all(back.cloudtrail(), "CreateTopic", 5)
        assert len(events) == 5
        identity = json.loads(events[0]["CloudTrailEvent"])["userIdentity"]
        # An access key opentrail does not know still yields a record, with its accessKeyId.
        assert identity == {"type": "Unknown", "accountId": ACCOUNT, "accessKeyId": "AKIAUNKNOWNKEY000001"}
    finally:
        proxy.stop()
        (back or opentrail).stop()
        moto.stop()
