from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from opentrail.importer import ImportProgress, ImportSummary, run_import
from opentrail.ingest import IngestOutcome, ingest_records
from opentrail.store.memory import MemoryEventStore


def rec(i: int) -> dict[str, Any]:
    return {"eventID": f"e{i}", "eventTime": "2020-01-01T00:00:00Z", "recipientAccountId": "1"}


def make_tree(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    (root / "b").mkdir(parents=True)
    (root / "a.json").write_text(json.dumps({"Records": [rec(0), rec(1), {"eventID": "x"}]}))
    (root / "b" / "c.json.gz").write_bytes(gzip.compress(json.dumps([rec(2), rec(0)]).encode()))
    (root / "b" / "d.jsonl").write_text(json.dumps(rec(3)) + "\n{oops\n" + json.dumps(rec(4)) + "\n")
    (root / "b" / "digest.json").write_text(json.dumps({"digestStartTime": "x"}))
    (root / "README.md").write_text("# not a log")
    (root / ".hidden.json").write_text("[]")
    return root


def test_run_import_batches_maps_rejections_and_reports(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    store = MemoryEventStore()
    batches: list[int] = []
    progress: list[ImportProgress] = []

    def sink(records: list[Any]) -> IngestOutcome:
        batches.append(len(records))
        return ingest_records(store, records)

    s = run_import([root], sink=sink, batch_size=2, progress=progress.append)
    assert batches == [2, 2, 2, 1]
    assert s == ImportSummary(
        files_seen=4,
        files_skipped=2,
        files_rejected=[(root / "b" / "digest.json", "digest file, not events")],
        records_read=8,
        imported=5,
        duplicates=1,
        expired=0,
        accounts={"1": 5},
        records_rejected=[
            (root / "a.json", "Records[2]", "MissingEventTime", "record has no eventTime (nor @timestamp / p_event_time)"),
            (root / "b" / "d.jsonl", "line 2", "InvalidJson", s.records_rejected[1][3]),
        ],
    )
    assert s.records_rejected[1][3].startswith("line is not valid JSON at line ")
    assert [e.event_id for e in store.read_since(0, 10)] == ["e0", "e1", "e2", "e3", "e4"]
    assert progress[-1] == ImportProgress(4, 8, 5, root / "b" / "digest.json")
    assert len(progress) == 4 + 4  # one per file, one per batch


def test_explicit_files_are_read_whatever_their_name(tmp_path: Path) -> None:
    p = tmp_path / "events.txt"
    p.write_text(json.dumps(rec(9)))
    store = MemoryEventStore()
    s = run_import([p], sink=lambda r: ingest_records(store, r))
    assert (s.files_seen, s.files_skipped, s.imported) == (1, 0, 1)


def test_render(tmp_path: Path) -> None:
    s = ImportSummary(
        files_seen=3, files_skipped=1, files_rejected=[(Path("/x/bad.json"), "not valid JSON: boom")],
        records_read=30, imported=2, duplicates=1, expired=4,
        records_rejected=[(Path("/x/a.json"), f"Records[{i}]", "MissingAccount", "no account") for i in range(23)],
    )
    lines = s.render().splitlines()
    assert lines[:12] == [
        "files read: 3",
        "files skipped: 1",
        "files rejected: 1",
        "records read: 30",
        "records imported: 2",
        "records duplicate: 1",
        "records older than retention: 4",
        "records rejected: 23",
        "Rejected files:",
        "  /x/bad.json: not valid JSON: boom",
        "Rejected records:",
        "  /x/a.json Records[0]: MissingAccount: no account",
    ]
    assert lines[-1] == "  ... and 3 more"
    assert len(lines) == 8 + 3 + 20 + 1


def test_progress_render() -> None:
    assert ImportProgress(12, 3400, 3100, Path("logs/a.json")).render() == "12 files, 3400 records read, 3100 imported (logs/a.json)"
    assert ImportProgress(0, 0, 0, None).render() == "0 files, 0 records read, 0 imported"
