from __future__ import annotations

import gzip
import json
from pathlib import Path

from opentrail.events.files import FileItem, iter_file_records

R1 = {"eventID": "a", "eventTime": "2020-01-01T00:00:00Z", "n": 2**70}
R2 = {"eventID": "b", "eventTime": "2020-01-01T00:00:01Z"}


def items(path: Path) -> list[FileItem]:
    return list(iter_file_records(path))


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


def test_log_file_plain_and_gzip_by_magic(tmp_path: Path) -> None:
    body = json.dumps({"Records": [R1, R2]})
    for p in (write(tmp_path, "a.json", body), write(tmp_path, "b.json.gz", gzip.compress(body.encode())),
              write(tmp_path, "c.bin", gzip.compress(body.encode()))):
        assert items(p) == [FileItem("Records[0]", R1), FileItem("Records[1]", R2)]
    assert items(p)[0].record["n"] == 2**70  # long integers kept exact


def test_bare_array_single_object_and_bom(tmp_path: Path) -> None:
    assert items(write(tmp_path, "a.json", json.dumps([R1, R2], indent=3))) == [FileItem("[0]", R1), FileItem("[1]", R2)]
    assert items(write(tmp_path, "b.json", "\ufeff" + json.dumps(R2))) == [FileItem("object", R2)]


def test_lookup_events_output(tmp_path: Path) -> None:
    out = {"Events": [{"EventId": "a", "CloudTrailEvent": json.dumps(R1)}, {"EventId": "x", "CloudTrailEvent": "{bad"},
                      R2], "NextToken": "t"}
    got = items(write(tmp_path, "a.json", json.dumps(out)))
    assert got[0] == FileItem("Events[0]", R1)
    assert (got[1].location, got[1].code, got[1].record) == ("Events[1]", "InvalidJson", None)
    assert got[1].reason is not None and got[1].reason.startswith("CloudTrailEvent is not valid JSON at line ")
    assert got[2] == FileItem("Events[2]", R2)
    row = {"EventId": "b", "Username": "u", "CloudTrailEvent": json.dumps(R2)}
    assert items(write(tmp_path, "b.json", json.dumps(row))) == [FileItem("object", R2)]


def test_json_lines_reject_bad_lines_only(tmp_path: Path) -> None:
    text = "\n".join([json.dumps(R1), "", "{not json", json.dumps({"EventId": "b", "CloudTrailEvent": json.dumps(R2)}),
                      json.dumps({"Records": [R2]}), "7", json.dumps({"digestStartTime": "x"})]) + "\n"
    got = items(write(tmp_path, "a.jsonl", text))
    assert [(i.location, i.record, i.code) for i in got] == [
        ("line 1", R1, None),
        ("line 3", None, "InvalidJson"),
        ("line 4", R2, None),
        ("line 5 Records[0]", R2, None),
        ("line 6", None, "NotARecord"),
        ("line 7", None, "NotARecord"),
    ]
    assert got[4].reason == "not CloudTrail records: the JSON document is a int"
    assert got[5].reason == "digest file, not events"
    assert not any(i.whole_file for i in got)


def test_whole_file_rejections(tmp_path: Path) -> None:
    pretty_broken = json.dumps({"Records": [R1, R2]}, indent=2)[:-20]
    cases = {
        "broken.json": (pretty_broken, "InvalidJson", "not valid JSON at line "),
        "empty.json": ("  \n", "EmptyFile", "empty file, no records"),
        "digest.json": (json.dumps({"awsAccountId": "1", "digestStartTime": "x", "logFiles": []}), "NotRecords",
                        "digest file, not events"),
        "scalar.json": ("42", "NotRecords", "not CloudTrail records: the JSON document is a int"),
        "records.json": (json.dumps({"Records": {"a": 1}}), "NotRecords", '"Records" is not a list'),
        "badgz.json.gz": (b"\x1f\x8b\x08garbage", "UnreadableFile", "cannot read file: "),
    }
    for name, (data, code, reason) in cases.items():
        got = items(write(tmp_path, name, data))
        assert len(got) == 1, name
        assert (got[0].whole_file, got[0].code, got[0].location) == (True, code, "file"), name
        assert got[0].reason is not None and got[0].reason.startswith(reason), (name, got[0].reason)
    missing = items(tmp_path / "nope.json")
    assert (missing[0].whole_file, missing[0].code) == (True, "UnreadableFile")


def test_long_numbers_anywhere_stay_exact_and_long_digit_strings_are_strings(tmp_path: Path) -> None:
    """Numbers of 19+ digits (beyond what orjson keeps exact) in any position -- after a key, in an
    array, on a JSON line, negative, after blanks -- keep every digit; digits inside strings do not
    need the slower parser and are read as they are."""
    big = 2**70 + 1
    lines = "\n".join(json.dumps(r, separators=(",", ":")) for r in
                      [{"eventID": "a", "n": -big}, {"eventID": "b", "l": [1, big]}, {"eventID": "c", "s": f"sdk-{big}"}])
    got = [i.record for i in items(write(tmp_path, "a.jsonl", lines))]
    assert got == [{"eventID": "a", "n": -big}, {"eventID": "b", "l": [1, big]}, {"eventID": "c", "s": f"sdk-{big}"}]
    assert items(write(tmp_path, "b.json", '{"Records": [{"n":\n\t  %d}]}' % big))[0].record == {"n": big}
