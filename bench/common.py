"""Synthetic, realistic CloudTrail events for benchmarks (shared by the store and HTTP benchmarks).

Records are copies of real ones from ``../shared/datasets/cloudtrail/invictus-ir-aws_dataset``
(2,900 management events, ~1.3 KB of JSON each) with fresh eventID/requestID/eventTime and a chosen
account and Region, so sizes, key sets and value distributions stay realistic.
"""

from __future__ import annotations

import datetime as dt
import functools
import glob
import random
from pathlib import Path
from typing import Any, Iterator, Sequence

import orjson

from opentrail.store.base import NewEvent

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cloudtrail" / "invictus-ir-aws_dataset" / "CloudTrail"
DEFAULT_ACCOUNTS: tuple[str, ...] = ("123456789012", "210987654321", "111122223333")
DEFAULT_REGIONS: tuple[str, ...] = ("us-east-1", "eu-west-1", "ap-southeast-2")
#: 2024-01-01T00:00:00Z
DEFAULT_START_TIME = 1704067200

_templates: list[dict[str, Any]] | None = None


def templates() -> list[dict[str, Any]]:
    """The dataset's records (loaded once), in file order."""
    global _templates
    if _templates is None:
        records: list[dict[str, Any]] = []
        for name in sorted(glob.glob(str(DATASET / "*.json"))):
            records.extend(orjson.loads(Path(name).read_bytes())["Records"])
        _templates = records
    return _templates


def username(record: dict[str, Any]) -> str | None:
    """The LookupEvents ``Username`` of a record: userName, else the session issuer's userName,
    else the part of principalId after ':' (AWS's own rule is undocumented; this matches what the
    console shows for IAM users and assumed roles)."""
    ui = record.get("userIdentity") or {}
    if ui.get("userName"):
        return str(ui["userName"])
    issuer = ((ui.get("sessionContext") or {}).get("sessionIssuer") or {})
    if issuer.get("userName"):
        return str(issuer["userName"])
    principal = ui.get("principalId")
    if principal:
        return str(principal).split(":")[-1]
    return None


def lookup_pairs(record: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(attribute, value) pairs LookupEvents indexes for ``record``."""
    pairs: list[tuple[str, str]] = [("EventId", record["eventID"])]
    if record.get("eventName"):
        pairs.append(("EventName", record["eventName"]))
    if record.get("eventSource"):
        pairs.append(("EventSource", record["eventSource"]))
    if "readOnly" in record:
        pairs.append(("ReadOnly", "true" if record["readOnly"] else "false"))
    user = username(record)
    if user:
        pairs.append(("Username", user))
    key_id = (record.get("userIdentity") or {}).get("accessKeyId")
    if key_id:
        pairs.append(("AccessKeyId", key_id))
    for res in record.get("resources") or ():
        if res.get("type"):
            pairs.append(("ResourceType", res["type"]))
        if res.get("ARN"):
            pairs.append(("ResourceName", res["ARN"]))
    return tuple(dict.fromkeys(pairs))


@functools.lru_cache(maxsize=4096)
def _iso(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def synthetic_events(
    n: int,
    *,
    seed: int = 0,
    start_time: int = DEFAULT_START_TIME,
    events_per_s: float = 50.0,
    accounts: Sequence[str] = DEFAULT_ACCOUNTS,
    regions: Sequence[str] = DEFAULT_REGIONS,
) -> Iterator[NewEvent]:
    """Yield ``n`` management events with fresh eventIDs, eventTimes rising from ``start_time`` at
    about ``events_per_s`` (with a little disorder, as real deliveries have), spread over
    ``accounts`` x ``regions``. Deterministic for a given ``seed``."""
    rng = random.Random(seed)
    tpl = [orjson.dumps(r) for r in templates()]
    for i in range(n):
        rec = orjson.loads(tpl[rng.randrange(len(tpl))])
        account = accounts[rng.randrange(len(accounts))]
        region = regions[rng.randrange(len(regions))]
        t = start_time + int(i / events_per_s) - rng.randrange(3)
        h = "%032x" % rng.getrandbits(128)
        rec["eventID"] = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"
        rec["requestID"] = "%016X" % rng.getrandbits(64)
        rec["eventTime"] = _iso(t)
        rec["awsRegion"] = region
        rec["recipientAccountId"] = account
        ui = rec.get("userIdentity")
        if isinstance(ui, dict) and "accountId" in ui:
            ui["accountId"] = account
        yield NewEvent(
            event_id=rec["eventID"],
            event_time=t,
            account_id=account,
            region=region,
            category=rec.get("eventCategory", "Management"),
            record=orjson.dumps(rec),
            lookup=lookup_pairs(rec),
        )
