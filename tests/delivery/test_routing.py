"""Routing over every real record of the shared datasets: the worker's per-partition decisions
(:func:`partition_route` / :func:`takes_record`) deliver exactly what the documented rules select,
for trails of every kind, with logging switched off and on between reads and batches split."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentrail.delivery.routing import (ALWAYS, NEVER, PER_RECORD, _top_level_read_only, _UNPROVEN, partition_route,
                                        takes_raw, takes_record)
from opentrail.events.files import iter_file_records
from opentrail.events.record import RecordRejected, read_record
from opentrail.trails import (AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector, TrailSelectors,
                              TrailSettings, matches)

from .conftest import ACCOUNT, OTHER_ACCOUNT, Env

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "cloudtrail"
GLOBAL = {"iam.amazonaws.com", "sts.amazonaws.com", "cloudfront.amazonaws.com", "route53.amazonaws.com"}
F = AdvancedFieldSelector

#: name -> (home Region, TrailSettings fields, basic selectors, advanced selectors)
TRAILS: dict[str, tuple[str, dict[str, Any], tuple[EventSelector, ...] | None, tuple[AdvancedEventSelector, ...] | None]] = {
    "default": ("us-east-1", {}, None, None),
    "no-global": ("us-east-1", {"include_global_service_events": False}, None, None),
    "multi": ("eu-west-1", {"is_multi_region_trail": True}, None, None),
    "eu-no-global-all": ("eu-west-1", {"include_global_service_events": False}, (EventSelector("All"),), None),
    "basic-read": ("us-west-2", {}, (EventSelector("ReadOnly"),), None),
    "basic-write-data": ("us-east-1", {"is_multi_region_trail": True}, (
        EventSelector("WriteOnly", exclude_management_event_sources=("kms.amazonaws.com",)),
        EventSelector("All", include_management_events=False, data_resources=(
            DataResource("AWS::S3::Object", ("arn:aws:s3",)), DataResource("AWS::Lambda::Function", ("arn:aws:lambda",))))),
        None),
    "write-no-global": ("eu-west-1", {"include_global_service_events": False}, (
        EventSelector("WriteOnly", exclude_management_event_sources=("kms.amazonaws.com", "rdsdata.amazonaws.com")),), None),
    "advanced-read": ("us-west-2", {}, None, (
        AdvancedEventSelector((F("eventCategory", equals=("Management",)), F("readOnly", equals=("true",)),
                               F("eventSource", not_equals=("ec2.amazonaws.com",)))),
        AdvancedEventSelector((F("eventCategory", equals=("Data",)), F("resources.type", equals=("AWS::S3::Object",)))),
    )),
    "advanced": ("us-east-1", {"is_multi_region_trail": True}, None, (
        AdvancedEventSelector((F("eventCategory", equals=("Management",)), F("readOnly", equals=("false",)),
                               F("eventSource", not_equals=("ec2.amazonaws.com",)))),
        AdvancedEventSelector((F("eventCategory", equals=("Data",)), F("resources.type", equals=("AWS::S3::Object",)))),
        AdvancedEventSelector((F("eventCategory", equals=("Data",)), F("resources.type", equals=("AWS::Lambda::Function",)),
                               F("eventName", not_starts_with=("Get",)))),
    )),
}


def _records() -> list[dict[str, Any]]:
    """Every record of the datasets; every other one moved to a second account."""
    out: list[dict[str, Any]] = []
    for folder in sorted(DATASETS.iterdir()):
        for path in sorted(folder.rglob("*.json*")):
            for item in iter_file_records(path):
                if not item.rejected and isinstance(item.record, dict):
                    record = dict(item.record)
                    record["recipientAccountId"] = ACCOUNT if len(out) % 2 == 0 else OTHER_ACCOUNT
                    out.append(record)
    return out


def expected_takes(name: str, account: str, region: str, category: str, record: dict[str, Any]) -> bool:
    """The rules of docs/delivery.md, written out independently of opentrail.delivery.routing."""
    home, settings, basic, advanced = TRAILS[name]
    if account != ACCOUNT:
        return False
    if category == "Insight":  # only to trails with InsightSelectors, in their own files: none of these
        return False
    if not settings.get("is_multi_region_trail") and region != home:
        return False
    if not settings.get("include_global_service_events", True) and record.get("eventSource") in GLOBAL:
        return False
    if basic is None and advanced is None:
        return category == "Management"
    return matches(TrailSelectors(basic, advanced), record)


def test_partition_route_needs_no_record_for_the_default_selection(env: Env) -> None:
    trails = {}
    for name in ("default", "no-global", "multi"):
        home, settings, _, _ = TRAILS[name]
        env.storage.create_bucket(name)
        trails[name] = env.trails.create_trail(ACCOUNT, home, name, TrailSettings(s3_bucket_name=name, **settings))
    assert partition_route(trails["default"], ACCOUNT, "us-east-1", "Management") == ALWAYS
    assert partition_route(trails["default"], ACCOUNT, "us-east-1", "Data") == NEVER
    assert partition_route(trails["default"], ACCOUNT, "eu-west-1", "Management") == NEVER
    assert partition_route(trails["default"], OTHER_ACCOUNT, "us-east-1", "Management") == NEVER
    assert partition_route(trails["no-global"], ACCOUNT, "us-east-1", "Management") == PER_RECORD
    assert partition_route(trails["no-global"], ACCOUNT, "us-east-1", "Insight") == NEVER
    assert partition_route(trails["multi"], ACCOUNT, "ap-south-1", "Management") == ALWAYS


def test_every_dataset_record_goes_exactly_where_the_rules_say(env: Env) -> None:
    assert DATASETS.is_dir(), DATASETS
    events = []
    for record in _records():
        try:
            events.append(read_record(record))
        except RecordRejected:
            pass
    assert len(events) > 3000
    for name, (home, settings, basic, advanced) in TRAILS.items():
        env.storage.create_bucket(name)
        env.trail(name, region=home, s3_bucket_name=name, **settings)
        if basic is not None or advanced is not None:
            env.trails.put_event_selectors(ACCOUNT, home, name, basic, advanced)
    third = len(events) // 3
    env.store.append(events[:third])
    off_from = env.store.last_seq() + 1
    for name in ("no-global", "advanced"):  # not logging while the middle third is appended
        env.trails.stop_logging(ACCOUNT, "us-east-1", name)
    env.store.append(events[third:2 * third])
    off_to = env.store.last_seq()
    for name in ("no-global", "advanced"):
        env.trails.start_logging(ACCOUNT, "us-east-1", name)
    env.store.append(events[2 * third:])
    w = env.worker(read_limit=997, max_records=500)  # many reads, marks inside reads, split files
    while w.step() == 997:
        pass
    env.clock.now += 2
    w.step()
    assert (w.open_events(), w.pending_files()) == (0, 0)
    stored = env.store.read_since(0, 1_000_000)
    seq_of = {orjson.dumps(orjson.loads(e.record)): e.seq for e in stored if e.account_id == ACCOUNT}
    for name in TRAILS:
        want: dict[str, list[int]] = {}
        for e in stored:
            if name in ("no-global", "advanced") and off_from <= e.seq <= off_to:
                continue
            if expected_takes(name, e.account_id, e.region, e.category, orjson.loads(e.record)):
                want.setdefault(e.region, []).append(e.seq)
        got: dict[str, list[int]] = {}
        for key in env.files(name):
            seqs = [seq_of[orjson.dumps(r)] for r in env.records(key, name)]
            assert seqs == sorted(seqs) and 0 < len(seqs) <= 500, (name, key)
            got.setdefault(key.split("/")[3], []).extend(seqs)
        assert {r: sorted(v) for r, v in got.items()} == want, name
    assert len(want) > 1 and sum(map(len, want.values())) > 100  # the last trail: multi-Region, selectors


def test_global_service_events_are_recognised_from_the_bytes_only_when_that_is_exact(env: Env) -> None:
    env.trail("no-global", include_global_service_events=False)
    trail = env.trails.get_trail(ACCOUNT, "us-east-1", "no-global")
    base = {"eventVersion": "1.11", "eventTime": "2024-05-01T10:00:00Z", "awsRegion": "us-east-1",
            "recipientAccountId": ACCOUNT, "managementEvent": True}
    plain = orjson.dumps({**base, "eventSource": "ec2.amazonaws.com", "eventID": "plain"})
    iam = orjson.dumps({**base, "eventSource": "iam.amazonaws.com", "eventID": "iam"})
    escaped = iam.replace(b'"iam.amazonaws.com"', b'"iam\\u002eamazonaws.com"').replace(b'"eventID":"iam"', b'"eventID":"esc"')
    nested = orjson.dumps({**base, "eventSource": "ec2.amazonaws.com", "eventID": "nested",
                           "requestParameters": {"eventSource": "sts.amazonaws.com"}})
    odd = orjson.dumps({**base, "eventSource": ["iam.amazonaws.com"], "eventID": "odd"})
    assert orjson.loads(escaped)["eventSource"] == "iam.amazonaws.com"
    assert takes_raw(trail, "Management", plain) is True
    assert takes_raw(trail, "Data", plain) is False
    spaced = b'{"eventSource" :\n "sts.amazonaws.com", "eventID": "spaced"}'
    mention = orjson.dumps({**base, "eventSource": "ec2.amazonaws.com", "eventID": "mention",
                            "requestParameters": {"roleArn": "iam.amazonaws.com/x", "field": "eventSource"}})
    assert [takes_raw(trail, "Management", r) for r in (iam, escaped, nested, spaced)] == [None] * 4
    assert [takes_raw(trail, "Management", r) for r in (odd, mention)] == [True, True]
    assert [takes_record(trail, "Management", orjson.loads(r)) for r in (iam, escaped, nested, odd)] == [False, False, True, True]
    events = [replace(read_record(orjson.loads(r)), record=r) for r in (plain, iam, escaped, nested, odd)]
    env.store.append(events)
    w = env.worker()
    w.step()
    env.clock.now += 2
    w.step()
    assert [r["eventID"] for k in env.files() for r in env.records(k)] == ["plain", "nested", "odd"]


def _spellings(record: dict[str, Any]) -> list[bytes]:
    """``record`` as orjson writes it, with spaces, and indented."""
    return [orjson.dumps(record), json.dumps(record, separators=(" , ", " : ")).encode(),
            json.dumps(record, indent="\t", ensure_ascii=False).encode()]


BASE = {"eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z", "eventSource": "ec2.amazonaws.com",
        "eventName": "RunInstances", "awsRegion": "us-east-1", "recipientAccountId": ACCOUNT}
ADVERSARIAL: list[tuple[dict[str, Any], Any]] = [  # record, its top-level readOnly
    ({**BASE, "readOnly": True}, True),
    ({**BASE, "readOnly": False, "resources": [{"readOnly": True}]}, False),
    ({**BASE, "requestParameters": {"readOnly": False}}, None),  # only nested
    ({**BASE, "requestParameters": {"readOnly": False}, "readOnly": True, "responseElements": {"x": {"readOnly": False}}}, True),
    ({**BASE, "readOnly": True, "requestParameters": [["readOnly", {"readOnly": False}], "readOnly"]}, True),
    ({**BASE, "readOnly": "true"}, "true"),
    ({**BASE, "readOnly": "TRUE"}, "TRUE"),
    ({**BASE, "readOnly": "yes"}, "yes"),
    ({**BASE, "readOnly": None}, None),
    ({**BASE, "readOnly": {"readOnly": True}}, {"readOnly": True}),
    ({**BASE, "userAgent": '"readOnly":true}', "readOnly": False}, False),
    ({**BASE, "userAgent": ',"readOnly":true}'}, None),
    ({**BASE, 'x"readOnly': True}, None),  # a key that ends in readOnly
    ({**BASE, "errorMessage": '{"readOnly":true', "readOnly": False, "y": '"}'}, False),
]


def test_top_level_read_only_is_exact_or_unproven() -> None:
    for record, want in ADVERSARIAL:
        for raw in _spellings(record):
            assert orjson.loads(raw).get("readOnly", None) == want
            assert _top_level_read_only(raw) == want, raw
    escaped = orjson.dumps({**BASE, "readOnly": False}) + b""
    assert _top_level_read_only(escaped.replace(b'"readOnly"', b'"read\\u004fnly"')) is _UNPROVEN
    duplicated = b'{"readOnly":true,"a":{"readOnly":true},"readOnly":false}'
    assert orjson.loads(duplicated)["readOnly"] is False and _top_level_read_only(duplicated) is False
    assert _top_level_read_only(b'{"readOnly"  :\n true }') is True
    many = b'{"a":"' + b'\\"' * 20
    assert [_top_level_read_only(many + tail) for tail in (b'","read\\u004fnly":true}', b'","readOnly":true}',
                                                             b'\\\\u004f","readOnly":true}')] == [_UNPROVEN, True, _UNPROVEN]
    assert _top_level_read_only(b'{"a":"\\n\\\\u004f\\"","readOnly":true}') is True  # \\ then a letter u
    assert _top_level_read_only(b'{ "a" : [ "readOnly" , 1 ] }') is None


def test_selector_trails_decide_from_the_bytes_exactly_as_a_parse_does(env: Env) -> None:
    names = ("write-no-global", "advanced-read", "basic-read", "basic-write-data", "eu-no-global-all")
    trails = {}
    for name in names:
        home, settings, basic, advanced = TRAILS[name]
        env.storage.create_bucket(name)
        env.trail(name, region=home, s3_bucket_name=name, **settings)
        env.trails.put_event_selectors(ACCOUNT, home, name, basic, advanced)
        trails[name] = env.trails.get_trail(ACCOUNT, home, name)
    records = [r for r, _ in ADVERSARIAL] + [
        {**BASE, "eventSource": "kms.amazonaws.com", "readOnly": False},
        {**BASE, "eventSource": "iam.amazonaws.com", "readOnly": False},
        {**BASE, "eventSource": "s3.amazonaws.com", "readOnly": True, "managementEvent": False},
        {**BASE, "readOnly": False, "requestParameters": {"eventSource": "kms.amazonaws.com"}},
        {**BASE, "eventSource": "kms\\u002eamazonaws.com", "readOnly": False},
    ]
    answered = 0
    for record in records:
        category = read_record(record).category
        for raw in _spellings(record):
            for name, trail in trails.items():
                want = takes_record(trail, category, orjson.loads(raw))
                got = takes_raw(trail, category, raw)
                assert got in (None, want), (name, raw)
                answered += got is not None
    write = trails["write-no-global"]
    plain = [orjson.dumps({**BASE, "readOnly": v}) for v in (False, True, "false", "True", None)]
    assert [takes_raw(write, "Management", r) for r in plain] == [True, False, True, False, False]
    assert [takes_raw(write, c, plain[0]) for c in ("Data", "Insight", "NetworkActivity")] == [False] * 3
    kms = orjson.dumps({**BASE, "eventSource": "kms.amazonaws.com", "readOnly": False})
    nested_kms = orjson.dumps({**BASE, "readOnly": False, "requestParameters": {"eventSource": "kms.amazonaws.com"}})
    assert [takes_raw(write, "Management", r) for r in (kms, nested_kms)] == [None, None]
    read = trails["advanced-read"]
    sqs = [orjson.dumps({**BASE, "eventSource": "sqs.amazonaws.com", "readOnly": v}) for v in (True, False)]
    assert [takes_raw(read, c, sqs[0]) for c in ("Management", "Data", "Insight")] == [True, None, False]
    assert [takes_raw(read, "Management", r) for r in (sqs[1], plain[1])] == [False, None]  # plain: eventSource ec2
    assert takes_raw(trails["basic-write-data"], "Data", plain[0]) is None  # DataResources: parsed
    assert answered > len(records) * 3 * 3


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-5, 5),
                      st.sampled_from(["readOnly", "true", "false", '"readOnly":true', ",{", "\\", "\\u0041", "\u00e9", "kms.amazonaws.com"]))
JSON_KEYS = st.sampled_from(["readOnly", "eventSource", "a", 'x"readOnly', "readOnly\\"])
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                             st.dictionaries(JSON_KEYS, inner, max_size=3)), max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=st.dictionaries(JSON_KEYS, JSON_VALUE, max_size=5), spelling=st.integers(0, 2))
def test_top_level_read_only_agrees_with_a_parse_on_any_object(record: dict[str, Any], spelling: int) -> None:
    raw = _spellings(record)[spelling]
    got = _top_level_read_only(raw)
    assert got is _UNPROVEN or got == orjson.loads(raw).get("readOnly")
    if b"\\u" not in raw:
        assert got is not _UNPROVEN
