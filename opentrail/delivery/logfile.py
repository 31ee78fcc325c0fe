"""Trail log files: the object key and the gzip body, byte-compatible with AWS CloudTrail.

- Body: one gzip member holding ``{"Records":[<record>,<record>,...]}`` where each record is the
  original record bytes as stored (no re-serialisation). Compressed with ISA-L (python-isal's
  ``igzip``), roughly ten times faster than stdlib zlib at level 6 and still one RFC 1952 member
  that every gzip reader (Athena, DuckDB, Python's gzip) accepts.
- Key (AWS CloudTrail User Guide, "Finding your CloudTrail log files")::

    [<prefix>/]AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 characters>.json.gz

  with the *delivery* time (UTC) in the folders and the timestamp.
- A file's events are listed by sequence number as runs ``[(first, last), ...]`` of consecutive
  seqs (:func:`to_runs` / :func:`runs_to_bytes`), so a planned file can be rebuilt from the event
  store byte for byte after a crash.
"""

from __future__ import annotations

import secrets
import string
import time
from array import array
from typing import Iterable, Sequence

from isal import igzip

#: At most this many records per log file.
MAX_RECORDS_PER_FILE = 100_000
#: At most this many uncompressed bytes per log file; gzip never grows data by more than a few
#: bytes per 64 KiB block, so the compressed file stays under AWS's 50 MB.
MAX_RAW_BYTES_PER_FILE = 48 * 1024 * 1024
#: ISA-L compression level (0..3); 1 is the fast setting (AWS files compress ~10x at any level).
GZIP_LEVEL = 1
UNIQUE_ALPHABET = string.ascii_letters + string.digits
UNIQUE_LENGTH = 16

_HEAD = b'{"Records":['
_TAIL = b"]}"


def random_unique() -> str:
    """The 16-character unique part of a log file name (letters and digits)."""
    return "".join(secrets.choice(UNIQUE_ALPHABET) for _ in range(UNIQUE_LENGTH))


def log_file_key(prefix: str | None, account_id: str, region: str, delivery_time: float, unique: str) -> str:
    """The S3 key of a log file delivered at ``delivery_time`` (epoch seconds, UTC)."""
    t = time.gmtime(delivery_time)
    folders = time.strftime("%Y/%m/%d", t)
    stamp = time.strftime("%Y%m%dT%H%MZ", t)
    key = f"AWSLogs/{account_id}/CloudTrail/{region}/{folders}/{account_id}_CloudTrail_{region}_{stamp}_{unique}.json.gz"
    return f"{prefix}/{key}" if prefix else key


def raw_body(records: Iterable[bytes]) -> bytes:
    """``{"Records":[...]}`` from record bytes, uncompressed."""
    return _HEAD + b",".join(records) + _TAIL


def log_file_body(records: Iterable[bytes]) -> bytes:
    """The gzip body of a log file holding ``records`` (each one compact JSON object)."""
    return igzip.compress(raw_body(records), compresslevel=GZIP_LEVEL)


def to_runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending ``seqs`` as runs of consecutive values: [1,2,3,7] -> [(1,3),(7,7)]."""
    runs: list[tuple[int, int]] = []
    for s in seqs:
        if runs and runs[-1][1] + 1 == s:
            runs[-1] = (runs[-1][0], s)
        else:
            runs.append((s, s))
    return runs


def runs_to_bytes(runs: Sequence[tuple[int, int]]) -> bytes:
    """Runs as a compact blob (signed 64-bit pairs, machine byte order)."""
    return array("q", [v for run in runs for v in run]).tobytes()


def runs_from_bytes(blob: bytes) -> list[tuple[int, int]]:
    """The inverse of :func:`runs_to_bytes`."""
    values = array("q")
    values.frombytes(blob)
    return [(values[i], values[i + 1]) for i in range(0, len(values), 2)]
