"""Import every file of the shared CloudTrail datasets and check the exact outcome per folder.

The numbers were computed by reading the data (each folder's SOURCE.md, then independent scripts
over the raw files); the comments say where each one comes from.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

from opentrail.events.files import iter_file_records
from opentrail.events.record import RecordRejected, read_record
from opentrail.importer import ImportSummary, run_import
from opentrail.ingest import IngestOutcome, ingest_records
from opentrail.store.base import EventStore, LookupQuery
from opentrail.store.memory import MemoryEventStore
from opentrail.store.sqlite import SqliteEventStore
from tests.paths import DATASETS

ROOT = DATASETS
NOW = 1_800_000_000.0

# folder: (files read, files skipped [SOURCE.md, INDEX.tsv], rejected files, records read,
#          imported, duplicates, {rejection code: count})
# Folders are imported in sorted order into ONE store, so a record already imported from an
# earlier folder counts as a duplicate in a later one.
EXPECTED: dict[str, tuple[int, int, dict[str, str], int, int, int, dict[str, int]]] = {
    # 41 records in the 12 parsable files; no eventIDs, so ids derive from content: the .json.gz
    # twin and the same records repeated across the Serializer* files give 20 duplicates; 3 records
    # have eventTime null, one has "ThisIsAWrongEventTime".
    "aws-cloudtrail-processing-library": (
        13, 1, {"SerializerTestFileBadJsonFormat.json": "not valid JSON at line 37 column 9 (char 1293)"},
        41, 17, 20, {"MissingEventTime": 3, "InvalidEventTime": 1},
    ),
    # 24 records in 22 files + 2 digests; two sign-in examples reuse eventIDs (same account); the
    # user-identity example has no eventTime.
    "aws-docs-examples": (
        24, 1, {"cloudtrail-log-file-validation-digest-file-structure__01.json": "digest file, not events",
                "cloudtrail-log-file-validation-digest-file-structure__02.json": "digest file, not events"},
        24, 21, 2, {"MissingEventTime": 1},
    ),
    "cado-cloudgrep-test-data": (
        3, 1, {"bad_cloudtrail.json": "not valid JSON at line 26 column 26 (char 965)"},
        2, 2, 0, {},
    ),
    "elastic-integrations-digest": (1, 1, {"test-cloudtrail-digest-json.log": "digest file, not events"}, 0, 0, 0, {}),
    "invictus-ir-aws_dataset": (55, 1, {}, 2900, 2900, 0, {}),
    # Logstash records: eventTime comes from @timestamp.
    "otrf-security-datasets": (1, 1, {}, 103, 103, 0, {}),
    # 464 lines; 14 with no eventTime/@timestamp/p_event_time, 2 with "redacted"/"...", 11 with no
    # account at all; eventID "1" (99x), "1111" (36x)... give 279 duplicates inside the file, and
    # lines 51, 52 (AWS docs sign-in examples) and 126 (the docs' StopInstances example, also in
    # cado) repeat records imported from earlier folders: 282.
    "panther-analysis-tests": (
        1, 2, {}, 464, 155, 282, {"MissingEventTime": 14, "InvalidEventTime": 2, "MissingAccount": 11},
    ),
    "plaso-test-data": (1, 1, {}, 6, 6, 0, {}),
    # aws.execution.ec2-launch-unusual-instances.json [0] is also panther line 98.
    "stratus-red-team": (35, 1, {}, 310, 309, 1, {}),
}


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    s: EventStore = SqliteEventStore(tmp_path / "store") if request.param == "sqlite" else MemoryEventStore()
    yield s
    s.close()


def _sink(store: EventStore) -> Any:
    def sink(records: list[Any]) -> IngestOutcome:
        return ingest_records(store, records)

    return sink


def _folders() -> list[Path]:
    return sorted(p for p in ROOT.iterdir() if p.is_dir())


def test_every_folder_is_expected() -> None:
    assert [p.name for p in _folders()] == sorted(EXPECTED)


def _import_all(store: EventStore, batch_size: int = 5000) -> dict[str, ImportSummary]:
    return {d.name: run_import([d], sink=_sink(store), batch_size=batch_size) for d in _folders()}


def test_import_datasets_exact_counts(store: EventStore) -> None:
    summaries = _import_all(store, batch_size=700)
    for name, s in summaries.items():
        files, skipped, bad_files, read, imported, dups, codes = EXPECTED[name]
        got = (
            s.files_seen, s.files_skipped, {p.name: r for p, r in s.files_rejected}, s.records_read,
            s.imported, s.duplicates, dict(Counter(code for _, _, code, _ in s.records_rejected)),
        )
        assert got == (files, skipped, bad_files, read, imported, dups, codes), name
        assert s.expired == 0
        assert s.records_read == s.imported + s.duplicates + s.expired + len(s.records_rejected)
    assert store.count() == sum(e[4] for e in EXPECTED.values()) == 3513


def _originals() -> dict[tuple[str, str, str], tuple[str, Any]]:
    """(account, region, eventID) -> (category, original record) of the first occurrence of each
    event that the reader accepts, in import order."""
    first: dict[tuple[str, str], tuple[str, str, str, Any]] = {}
    for folder in _folders():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            for item in iter_file_records(path):
                if item.rejected or item.whole_file:
                    continue
                try:
                    e = read_record(item.record)
                except RecordRejected:
                    continue
                first.setdefault((e.account_id, e.event_id), (e.region, e.category, e.event_id, item.record))
    return {(acct, region, eid): (cat, rec) for (acct, _), (region, cat, eid, rec) in first.items()}


def _all_looked_up(store: EventStore, account: str, region: str, insight: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cursor = None
    while True:
        page = store.lookup(LookupQuery(account, region, insight=insight, limit=50, after=cursor))
        for e in page.events:
            assert e.event_id not in out
            out[e.event_id] = json.loads(e.record)
        cursor = page.next_cursor
        if cursor is None:
            return out


def test_lookup_returns_every_imported_management_and_insights_event_unchanged(store: EventStore) -> None:
    _import_all(store)
    originals = _originals()
    categories = Counter(cat for cat, _ in originals.values())
    # Data: otrf's 9 S3 data events, cado's PutObject, 7 in panther (3 classified from
    # eventSource/eventName alone); NetworkActivity: panther's 8 AwsVpceEvent records;
    # Insight: the 5 AWS docs examples.
    assert categories == {"Management": 3483, "Data": 17, "NetworkActivity": 8, "Insight": 5}
    partitions = {(a, r) for a, r, _ in originals}
    for insight, wanted in ((False, "Management"), (True, "Insight")):
        expected = {(a, r, eid): rec for (a, r, eid), (cat, rec) in originals.items() if cat == wanted}
        got = {}
        for account, region in partitions:
            for eid, rec in _all_looked_up(store, account, region, insight).items():
                got[(account, region, eid)] = rec
        assert got == expected


def test_import_twice_reports_everything_as_duplicates(store: EventStore) -> None:
    first = run_import([ROOT], sink=_sink(store))
    second = run_import([ROOT], sink=_sink(store))
    assert (first.files_seen, first.files_skipped, len(first.files_rejected)) == (134, 10, 5)
    assert (first.records_read, first.imported, len(first.records_rejected)) == (3850, 3513, 32)
    assert first.duplicates == 3850 - 3513 - 32
    assert (second.records_read, second.imported, second.duplicates, len(second.records_rejected)) == (3850, 0, 3818, 32)
    assert store.count() == 3513
