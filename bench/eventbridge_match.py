"""EventBridge pattern-matching benchmark: events/s for rule sets of 10, 100 and 1,000 mixed
patterns, with :class:`PatternSet` (compiled once per rule set, indexed by exact-match fields) and
with the naive loop (every pattern's ``matches`` per event).

    python3 bench/eventbridge_match.py [--events 50000] [--sizes 10,100,1000] [--repeat 3]

Events are EventBridge envelopes around the real CloudTrail records of
``../shared/datasets/cloudtrail`` (the invictus-ir dataset's 2,900 records and stratus-red-team's):
``source`` = ``"aws."`` + the first label of ``eventSource``, ``detail-type`` = ``"AWS API Call via
CloudTrail"``, ``detail`` = the record (``$OPENTRAIL_SHARED_DIR`` overrides where ``../shared`` is).
Rule sets are generated from the values those records hold (:func:`generate_patterns`): exact
event names, prefix, suffix, equals-ignore-case, anything-but, numeric ranges, cidr on
sourceIPAddress, wildcards on ARNs, exists, ``$or``, in realistic proportions.

Everything runs in this process, one thread, events already parsed. Rates are the best of
``--repeat`` runs in CPU time of the process (the 2 cores are shared with other sessions, whose
load inflates wall time; the wall rate of the PatternSet run is printed beside it).
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Iterable

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import fastest  # noqa: E402
from opentrail.eventbridge.pattern import EventPattern, PatternSet, parse_pattern  # noqa: E402


def _shared_dir() -> Path:
    """``$OPENTRAIL_SHARED_DIR``, else the nearest ``shared`` folder beside a parent of this
    checkout (``/work/shared`` for ``/work/main`` and for worktrees under ``/work/wt``)."""
    if os.environ.get("OPENTRAIL_SHARED_DIR"):
        return Path(os.environ["OPENTRAIL_SHARED_DIR"])
    here = Path(__file__).resolve()
    for parent in here.parents[1:]:
        if (parent.parent / "shared" / "datasets").is_dir():
            return parent.parent / "shared"
    return here.parents[2] / "shared"


SHARED = _shared_dir()
DATASETS = SHARED / "datasets" / "cloudtrail"


def envelope(record: dict[str, Any]) -> dict[str, Any]:
    """A CloudTrail record as EventBridge delivers it ("AWS API Call via CloudTrail")."""
    event_source = str(record.get("eventSource") or "unknown.amazonaws.com")
    return {
        "version": "0",
        "id": str(record.get("eventID") or "00000000-0000-0000-0000-000000000000"),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws." + event_source.split(".")[0],
        "account": str(record.get("recipientAccountId") or "123456789012"),
        "time": str(record.get("eventTime") or "2024-01-01T00:00:00Z"),
        "region": str(record.get("awsRegion") or "us-east-1"),
        "resources": [],
        "detail": record,
    }


def dataset_records() -> list[dict[str, Any]]:
    """The invictus-ir records (``{"Records": [...]}`` files) and stratus-red-team's (JSON arrays)."""
    records: list[dict[str, Any]] = []
    for name in sorted(glob.glob(str(DATASETS / "invictus-ir-aws_dataset" / "CloudTrail" / "*.json"))):
        records.extend(orjson.loads(Path(name).read_bytes())["Records"])
    for name in sorted(glob.glob(str(DATASETS / "stratus-red-team" / "*.json"))):
        data = orjson.loads(Path(name).read_bytes())
        records.extend(r for r in (data if isinstance(data, list) else data.get("Records", [])) if isinstance(r, dict))
    return records


def dataset_envelopes() -> list[dict[str, Any]]:
    return [envelope(r) for r in dataset_records()]


def _numeric_fields(records: Iterable[dict[str, Any]]) -> list[tuple[str, float]]:
    """(dot-joined field under detail, a value) for the numbers the records hold."""
    found: dict[str, float] = {}

    def walk(obj: Any, name: str) -> None:
        if isinstance(obj, dict):
            for key, value in obj.items():
                walk(value, f"{name}.{key}" if name else key)
        elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
            found.setdefault(name, float(obj))

    for record in records:
        walk(record, "")
    return sorted(found.items())


def _nest(name: str, value: Any) -> dict[str, Any]:
    """``"a.b"``, v → ``{"a": {"b": v}}``."""
    out: Any = value
    for key in reversed(name.split(".")):
        out = {key: out}
    return out


def generate_patterns(count: int, envelopes: list[dict[str, Any]], seed: int = 1) -> dict[str, str]:
    """``count`` rule patterns (name → JSON text) built from the values ``envelopes`` hold, in the
    proportions of a CloudTrail rule set: most name event names of one service, some filter on
    errors, identities, IP ranges, numbers or use ``$or``."""
    rng = random.Random(seed)
    records = [e["detail"] for e in envelopes]
    by_source: dict[str, list[str]] = {}
    for e in envelopes:
        by_source.setdefault(e["source"], []).append(e["detail"].get("eventName") or "")
    sources = sorted(by_source)
    ips = sorted({r["sourceIPAddress"] for r in records
                  if isinstance(r.get("sourceIPAddress"), str) and r["sourceIPAddress"].replace(".", "").isdigit()
                  and r["sourceIPAddress"].count(".") == 3})
    arns = sorted({r["userIdentity"]["arn"] for r in records if isinstance(r.get("userIdentity"), dict) and r["userIdentity"].get("arn")})
    numbers = _numeric_fields(records[:500])
    error_codes = sorted({r["errorCode"] for r in records if r.get("errorCode")})
    verbs = ("Delete", "Put", "Create", "Update", "Stop", "Attach", "Get", "List", "Describe")

    def names(source: str, k: int) -> list[str]:
        pool = sorted(set(by_source[source]))
        return rng.sample(pool, min(k, len(pool)))

    def make(kind: str) -> dict[str, Any]:
        source = rng.choice(sources)
        if kind == "exact":
            return {"source": [source], "detail-type": ["AWS API Call via CloudTrail"],
                    "detail": {"eventName": names(source, rng.randint(1, 5))}}
        if kind == "exact-service":
            return {"detail": {"eventSource": [source[4:] + ".amazonaws.com"], "readOnly": [False]}}
        if kind == "prefix":
            return {"source": [source], "detail": {"eventName": [{"prefix": rng.choice(verbs)}]}}
        if kind == "anything-but":
            return {"source": [source], "detail": {"eventName": [{"anything-but": names(source, 3)}],
                                                   "userIdentity": {"type": [{"anything-but": {"prefix": "AWS"}}]}}}
        if kind == "numeric" and numbers:
            name, value = rng.choice(numbers)
            return {"detail-type": ["AWS API Call via CloudTrail"],
                    "detail": _nest(name, [{"numeric": [">=", value - 10, "<", value + 1000]}])}
        if kind == "cidr" and ips:
            octets = [str(int(o)) for o in rng.choice(ips).split(".")]
            bits = rng.choice((8, 16, 24))
            network = ".".join(octets[: bits // 8] + ["0"] * (4 - bits // 8)) + f"/{bits}"
            return {"detail": {"sourceIPAddress": [{"cidr": network}], "eventName": [{"prefix": rng.choice(verbs)}]}}
        if kind == "wildcard" and arns:
            arn = rng.choice(arns)
            parts = arn.split(":")
            resource = parts[5] if len(parts) > 5 else "*"
            head, _, tail = resource.rpartition("/")
            glob_ = ":".join(parts[:4] + ["*", (head + "/" if head else "") + tail[:3] + "*"])
            return {"detail": {"userIdentity": {"arn": [{"wildcard": glob_}]},
                               "eventName": [{"prefix": rng.choice(verbs)}]}}
        if kind == "exists":
            return {"source": [source], "detail": {"errorCode": [{"exists": True}]}}
        if kind == "not-exists":
            return {"detail": {"userIdentity": {"invokedBy": [{"exists": False}], "type": ["Root", "IAMUser"]},
                               "eventName": [{"suffix": rng.choice(("Key", "Policy", "Bucket", "User", "Trail"))}]}}
        if kind == "or":
            return {"source": [source], "$or": [{"detail": {"eventName": names(source, 2)}},
                                                {"detail": {"errorCode": [{"prefix": "AccessDenied"}] + error_codes[:1]}}]}
        if kind == "ignore-case":
            return {"detail": {"eventName": [{"equals-ignore-case": rng.choice(by_source[source]).upper()}]}}
        return make("exact")

    kinds = ["exact"] * 30 + ["exact-service"] * 5 + ["prefix"] * 10 + ["anything-but"] * 8 + ["numeric"] * 5 \
        + ["cidr"] * 8 + ["wildcard"] * 8 + ["exists"] * 8 + ["not-exists"] * 5 + ["or"] * 8 + ["ignore-case"] * 5
    return {f"rule-{i:04d}-{kind}": orjson.dumps(make(kind)).decode()
            for i, kind in enumerate(rng.choice(kinds) for _ in range(count))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="events matched per rule-set size")
    parser.add_argument("--sizes", default="10,100,1000", help="rule-set sizes")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    distinct = dataset_envelopes()
    events = (distinct * (args.events // len(distinct) + 1))[: args.events]
    n = len(events)
    print(f"{len(distinct):,} distinct envelopes, {n:,} events per run; load average {os.getloadavg()[0]:.2f}")
    print(f"\n{'rules':>6} {'anchored':>9} {'compile ms':>11} {'matches/event':>14} "
          f"{'PatternSet ev/s':>16} {'us/event':>9} {'wall ev/s':>10} {'naive ev/s':>11} {'us/event':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        texts = generate_patterns(size, distinct)
        c0 = time.process_time()
        patterns: dict[str, EventPattern] = {name: parse_pattern(text) for name, text in texts.items()}
        rules = PatternSet(patterns)
        compile_ms = (time.process_time() - c0) * 1e3
        hits = sum(len(rules.matching(e)) for e in distinct) / len(distinct)
        # The set must agree with the naive loop (checked on every distinct envelope).
        for e in distinct:
            assert rules.matching(e) == [k for k, p in patterns.items() if p.matches(e)]
        matching = rules.matching

        def run_set() -> None:
            for e in events:
                matching(e)

        set_s, set_wall = fastest(args.repeat, run_set)
        naive_events = events[: max(1000, min(n, 2_000_000 // size))]
        compiled = list(patterns.values())

        def run_naive() -> None:
            for e in naive_events:
                for p in compiled:
                    p.matches(e)

        naive_s, _ = fastest(max(1, args.repeat - 1), run_naive)
        nn = len(naive_events)
        print(f"{size:6,} {rules.anchored:9,} {compile_ms:11.1f} {hits:14.2f} {n / set_s:16,.0f} {set_s / n * 1e6:9.1f} "
              f"{n / set_wall:10,.0f} {nn / naive_s:11,.0f} {naive_s / nn * 1e6:9.1f}")
    print(f"\ntarget: 100 rules >= 20,000 events/s; load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
