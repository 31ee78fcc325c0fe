"""Reading records out of files in the layouts CloudTrail data is found in.

One file yields :class:`FileItem` values: a record (a decoded JSON value, to be read by
:func:`opentrail.events.record.read_record`), a rejected record (a bad JSON line, an undecodable
``CloudTrailEvent`` string), or -- as its only item -- the rejection of the whole file.

Layouts (gzip is detected by its magic bytes, whatever the file name):

- CloudTrail log file ``{"Records": [...]}`` -- locations ``Records[i]``;
- LookupEvents output ``{"Events": [...]}`` -- each event's ``CloudTrailEvent`` (a JSON string, or
  a record object as in ``lookup-events --event-category insight`` output) -- ``Events[i]``;
- bare JSON array of records (or of LookupEvents rows) -- ``[i]``;
- a single record object (or LookupEvents row) -- ``object``;
- JSON lines: one record, LookupEvents row or ``{"Records": [...]}`` per line -- ``line n``
  (1-based); a bad line is rejected alone (code ``InvalidJson``), the other lines are read.

A file is JSON lines only when it does not parse as one JSON document *and* its first non-blank
line does. A file that fails to parse otherwise is rejected whole, never half-imported. Digest files
(objects with ``digestStartTime``) are rejected whole: "digest file, not events".
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

GZIP_MAGIC = b"\x1f\x8b"
DIGEST_REJECTION = "digest file, not events"

#: orjson reads integers beyond 64 bits as floats (losing digits); documents with a number of 19+
#: digits are parsed with the stdlib json module instead, which keeps them exact. Found by
#: :func:`has_long_number` (digits inside strings, as in ``aws-go-sdk-1688990082523310002``
#: session names, do not count).
_NUMBER_TABLE = bytes.maketrans(b"0123456789,[\n", b"0000000000:::")
_LONG_NUMBER = b":" + b"0" * 19


def has_long_number(raw: bytes) -> bool:
    """True when ``raw`` may hold a JSON number of 19 digits or more: 19 digits right after a ``:``,
    ``[``, ``,``, a line break or the start, once blanks and ``-`` are taken out (a number can only
    follow those; a false alarm only costs the slower parser). bytes.translate: ~20x faster than
    a regular expression over the text."""
    digits = raw.translate(_NUMBER_TABLE, b" \t\r-")
    return _LONG_NUMBER in digits or digits.startswith(_LONG_NUMBER[1:])


@dataclass(frozen=True, slots=True)
class FileItem:
    """One item of a file: ``location`` in it ("Records[3]", "line 12", "object", "file"), and
    either the decoded ``record`` or, when it could not be read, ``code``/``reason``.
    ``whole_file`` marks the rejection of the entire file (then it is the file's only item)."""

    location: str
    record: Any = None
    code: str | None = None
    reason: str | None = None
    whole_file: bool = False

    @property
    def rejected(self) -> bool:
        return self.reason is not None


def _json_error(exc: ValueError) -> str:
    """Where a JSON document broke: ``at line L column C (char P)``. The position, not the
    parser's wording, which changes between orjson releases."""
    if isinstance(exc, json.JSONDecodeError):
        return f"at line {exc.lineno} column {exc.colno} (char {exc.pos})"
    return f"({exc})"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(data: bytes | str) -> Any:
    """Decode one JSON document: orjson, or the stdlib for documents holding very long numbers.
    Raises ValueError (orjson.JSONDecodeError and json.JSONDecodeError are subclasses)."""
    raw = data.encode() if isinstance(data, str) else data
    if has_long_number(raw):
        return json.loads(raw, parse_constant=_reject_constant)
    return orjson.loads(raw)


def _file_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if data.startswith(GZIP_MAGIC):
        data = gzip.decompress(data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data


def _unwrap(item: Any, location: str) -> FileItem:
    """A record, or the record inside a LookupEvents row (``CloudTrailEvent``)."""
    if isinstance(item, dict) and "CloudTrailEvent" in item:
        inner = item["CloudTrailEvent"]
        if isinstance(inner, str):
            try:
                inner = loads(inner)
            except ValueError as exc:
                return FileItem(location, code="InvalidJson", reason=f"CloudTrailEvent is not valid JSON {_json_error(exc)}")
        return FileItem(location, record=inner)
    return FileItem(location, record=item)


def _document_items(doc: Any, prefix: str) -> Iterator[FileItem]:
    """Items of one parsed JSON document; ``prefix`` is "" for a file, "line n " for a line."""
    if isinstance(doc, dict):
        if "digestStartTime" in doc:
            raise _FileRejected(DIGEST_REJECTION)
        for key in ("Records", "Events"):
            if key in doc:
                items = doc[key]
                if not isinstance(items, list):
                    raise _FileRejected(f'"{key}" is not a list')
                for i, item in enumerate(items):
                    yield _unwrap(item, f"{prefix}{key}[{i}]")
                return
        yield _unwrap(doc, prefix.strip() or "object")
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            yield _unwrap(item, f"{prefix}[{i}]")
    else:
        raise _FileRejected(f"not CloudTrail records: the JSON document is a {type(doc).__name__}")


class _FileRejected(Exception):
    pass


def _json_lines(data: bytes) -> Iterator[FileItem]:
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = loads(line)
        except ValueError as exc:
            yield FileItem(f"line {n}", code="InvalidJson", reason=f"line is not valid JSON {_json_error(exc)}")
            continue
        try:
            yield from _document_items(doc, f"line {n} ")
        except _FileRejected as exc:
            yield FileItem(f"line {n}", code="NotARecord", reason=str(exc))


def _first_line_parses(data: bytes) -> bool:
    for line in data.splitlines():
        if line.strip():
            try:
                loads(line)
            except ValueError:
                return False
            return True
    return False


def iter_file_records(path: Path) -> Iterator[FileItem]:
    """Yield the items of the file at ``path`` (layouts and rules in the module docstring).

    Never raises for file contents; an unreadable file (OSError) is also yielded as a whole-file
    rejection.
    """
    try:
        data = _file_bytes(path)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        yield FileItem("file", code="UnreadableFile", reason=f"cannot read file: {exc}", whole_file=True)
        return
    yield from iter_data_records(data)


def iter_data_records(data: bytes) -> Iterator[FileItem]:
    """Yield the items of a file's (decompressed) bytes ``data``, as :func:`iter_file_records` does
    for a file (objects read from a bucket). Never raises."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        yield FileItem("file", code="EmptyFile", reason="empty file, no records", whole_file=True)
        return
    try:
        doc = loads(data)
    except ValueError as exc:
        if _first_line_parses(data):
            yield from _json_lines(data)
        else:
            yield FileItem("file", code="InvalidJson", reason=f"not valid JSON {_json_error(exc)}", whole_file=True)
        return
    try:
        items = list(_document_items(doc, ""))
    except _FileRejected as exc:
        yield FileItem("file", code="NotRecords", reason=str(exc), whole_file=True)
        return
    yield from items
