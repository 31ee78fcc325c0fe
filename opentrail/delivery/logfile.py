"""Trail log files: the object key and the gzip body, byte-compatible with AWS CloudTrail.

- Body: one gzip member holding ``{"Records":[<record>,<record>,...]}`` where each record is the
  original record bytes as stored (no re-serialisation). Compressed with ISA-L (python-isal's
  ``isal_zlib``, streaming), roughly ten times faster than stdlib zlib at level 6 and still one
  RFC 1952 member that every gzip reader (Athena, DuckDB, Python's gzip) accepts.
- Key (AWS CloudTrail User Guide, "Finding your CloudTrail log files")::

    [<prefix>/]AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 characters>.json.gz

  with the *delivery* time (UTC) in the folders and the timestamp. Insights events go to their
  own files, ``CloudTrail-Insight`` in place of ``CloudTrail`` in the folder and the name
  (User Guide, "Working with CloudTrail Insights")::

    [<prefix>/]AWSLogs/<account>/CloudTrail-Insight/<region>/<YYYY>/<MM>/<DD>/
        <account>_CloudTrail-Insight_<region>_<YYYYMMDDTHHmmZ>_<16 characters>.json.gz

- Organization trails (CloudTrail User Guide, "Creating a trail for an organization") insert the
  organization id after ``AWSLogs/`` and write each member account's events into that account's
  folder and file names: ``AWSLogs/<o-id>/<account>/CloudTrail/<region>/.../<account>_CloudTrail_...``.
- A trail's files form one *stream* per Region and kind, named :func:`stream` (the Region, or
  ``<region>/Insight``; for an organization trail ``<account>/`` before it): the delivery state
  keeps its cursors and plans per (trail, stream).
- A file's events are listed by sequence number as runs ``[(first, last), ...]`` of consecutive
  seqs (:func:`to_runs` / :func:`runs_to_bytes`), so a planned file can be rebuilt from the event
  store byte for byte after a crash.
"""

from __future__ import annotations

import bisect
import queue
import re
import secrets
import string
import threading
import time
from array import array
from concurrent.futures import Future
from itertools import accumulate
from typing import Iterable, Sequence

from isal import isal_zlib

from ..events.record import is_region_name

#: At most this many records per log file.
MAX_RECORDS_PER_FILE = 100_000
#: At most this many uncompressed bytes per log file; gzip never grows data by more than a few
#: bytes per 64 KiB block, so the compressed file stays under AWS's 50 MB.
MAX_RAW_BYTES_PER_FILE = 48 * 1024 * 1024
#: ISA-L compression level (0..3); 1 is the fast setting (AWS files compress ~10x at any level).
GZIP_LEVEL = 1
#: Records joined per compressor call when building a body.
CHUNK_RECORDS = 1000
UNIQUE_ALPHABET = string.ascii_letters + string.digits
UNIQUE_LENGTH = 16

_ORG_ID = re.compile(r"o-[a-z0-9]{10,32}")
_HEAD = b'{"Records":['
_TAIL = b"]}"


def random_unique() -> str:
    """The 16-character unique part of a log file name (letters and digits)."""
    return "".join(secrets.choice(UNIQUE_ALPHABET) for _ in range(UNIQUE_LENGTH))


#: Log file kinds: the folder and name part of management/data event files and of Insights files.
CLOUDTRAIL, CLOUDTRAIL_INSIGHT = "CloudTrail", "CloudTrail-Insight"
_INSIGHT_STREAM = "/Insight"


def stream(region: str, insight: bool = False, account: str | None = None) -> str:
    """The name of a trail's file stream of ``region``: the Region itself for management and data
    events (as delivery.db always had it), ``<region>/Insight`` for Insights events; an organization
    trail's streams of member ``account`` start with ``<account>/``."""
    name = region + _INSIGHT_STREAM if insight else region
    return f"{account}/{name}" if account else name


def stream_account(name: str) -> str | None:
    """The member account of an organization trail's :func:`stream` name, or None."""
    head, sep, _ = name.partition("/")
    return head if sep and len(head) == 12 and head.isdigit() else None


def stream_parts(name: str) -> tuple[str, str]:
    """(Region, kind) of a :func:`stream` name: kind :data:`CLOUDTRAIL` or :data:`CLOUDTRAIL_INSIGHT`."""
    account = stream_account(name)
    if account is not None:
        name = name[len(account) + 1:]
    if name.endswith(_INSIGHT_STREAM):
        return name[: -len(_INSIGHT_STREAM)], CLOUDTRAIL_INSIGHT
    return name, CLOUDTRAIL


def log_file_key(prefix: str | None, account_id: str, region: str, delivery_time: float, unique: str,
                 kind: str = CLOUDTRAIL, organization_id: str | None = None) -> str:
    """The S3 key of a log file of ``kind`` (:data:`CLOUDTRAIL` or :data:`CLOUDTRAIL_INSIGHT`)
    delivered at ``delivery_time`` (epoch seconds, UTC). Raises ValueError unless ``account_id``
    is 12 digits, ``region`` a Region name (:func:`opentrail.events.record.is_region_name`) and
    ``kind`` one of the two: no key is built from unchecked parts. ``organization_id`` (``o-...``)
    makes the organization trail layout."""
    if (organization_id is not None and not _ORG_ID.fullmatch(organization_id)) or (not (len(account_id) == 12 and account_id.isascii() and account_id.isdigit()) or not is_region_name(region)
            or kind not in (CLOUDTRAIL, CLOUDTRAIL_INSIGHT)):
        raise ValueError(f"no log file key for account {account_id!r}, Region {region!r}, kind {kind!r}")
    t = time.gmtime(delivery_time)
    folders = time.strftime("%Y/%m/%d", t)
    stamp = time.strftime("%Y%m%dT%H%MZ", t)
    org = f"{organization_id}/" if organization_id else ""
    key = f"AWSLogs/{org}{account_id}/{kind}/{region}/{folders}/{account_id}_{kind}_{region}_{stamp}_{unique}.json.gz"
    return f"{prefix}/{key}" if prefix else key


def raw_body(records: Iterable[bytes]) -> bytes:
    """``{"Records":[...]}`` from record bytes, uncompressed (one copy of the records: the head
    and tail ride on the first and last record, not on the joined whole)."""
    parts = list(records)
    if not parts:
        return _HEAD + _TAIL
    parts[0] = _HEAD + parts[0]
    parts[-1] = parts[-1] + _TAIL
    return b",".join(parts)


def log_file_body(records: Iterable[bytes]) -> bytes:
    """The gzip body of a log file holding ``records`` (each one compact JSON object): one gzip
    member of :func:`raw_body`'s bytes. The records are fed to the compressor
    :data:`CHUNK_RECORDS` at a time, never joined into one uncompressed whole. The gzip header's
    MTIME is 0 ("no time stamp", RFC 1952), so the same records always give the same bytes -- a
    plan rebuilt after a crash uploads exactly the file first built."""
    parts = records if isinstance(records, list) else list(records)
    compressor = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)  # gzip wrapper
    out = [compressor.compress(_HEAD)]
    for i in range(0, len(parts), CHUNK_RECORDS):
        if i:
            out.append(compressor.compress(b","))
        out.append(compressor.compress(b",".join(parts[i:i + CHUNK_RECORDS])))
    out.append(compressor.compress(_TAIL))
    out.append(compressor.flush())
    return b"".join(out)


class BodyCompressor:
    """Builds log file bodies (:func:`log_file_body`) on a daemon thread, so the delivery worker
    routes the next events while ISA-L compresses (it releases the GIL; joining the records does
    not). At most ``max_pending`` bodies are queued or in progress: :meth:`submit` waits for room
    beyond that, which bounds the memory held by records waiting to be compressed. The thread
    starts on demand and ends after ``idle_s`` seconds without work."""

    def __init__(self, max_pending: int = 2, idle_s: float = 1.0) -> None:
        self._room = threading.BoundedSemaphore(max_pending)
        self._jobs: queue.SimpleQueue[tuple[Future[bytes], list[bytes]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False
        self._idle_s = idle_s

    def submit(self, records: list[bytes]) -> Future[bytes]:
        """The future gzip body of a log file holding ``records``."""
        self._room.acquire()
        future: Future[bytes] = Future()
        with self._lock:
            self._jobs.put((future, records))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="opentrail-log-file-gzip", daemon=True).start()
        return future

    def _run(self) -> None:
        while True:
            try:
                future, records = self._jobs.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._running = False
                        return
                continue
            try:
                future.set_result(log_file_body(records))
            except BaseException as exc:  # noqa: BLE001 -- handed to whoever waits for the body
                future.set_exception(exc)
            finally:
                self._room.release()


def fill_points(count: int, raw_bytes: int, sizes: Sequence[int], max_records: int, max_raw_bytes: int) -> list[int]:
    """Where a batch fills up as records are appended to it one by one.

    The batch holds ``count`` records and ``raw_bytes`` bytes; ``sizes`` are the sizes (bytes,
    each counting its separating comma) of the records appended next, in order. A batch is full
    once it holds ``max_records`` records or at least ``max_raw_bytes`` bytes; the next record
    starts an empty batch. Returns the indexes into ``sizes`` of the records that fill a batch,
    ascending: ``fill_points(0, 0, [5, 5, 5, 5, 5], 2, 100) == [1, 3]``."""
    cumulative = list(accumulate(sizes))
    points: list[int] = []
    start, before = 0, 0  # before: bytes of sizes[:start]
    while start < len(sizes):
        by_count = start + max(max_records - count, 1) - 1
        by_bytes = bisect.bisect_left(cumulative, max_raw_bytes - raw_bytes + before, lo=start)
        end = min(by_count, by_bytes)
        if end >= len(sizes):
            break
        points.append(end)
        start, before, count, raw_bytes = end + 1, cumulative[end], 0, 0
    return points


def to_runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending ``seqs`` as runs of consecutive values: [1,2,3,7] -> [(1,3),(7,7)]."""
    if seqs and seqs[-1] - seqs[0] + 1 == len(seqs):  # ascending and distinct: one run
        return [(seqs[0], seqs[-1])]
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
