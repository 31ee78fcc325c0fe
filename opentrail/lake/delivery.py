"""Query results delivered to a bucket (StartQuery ``DeliveryS3Uri``), as CloudTrail Lake does.

AWS sources: User Guide "Download saved query results" (gzip-compressed results, delivered
after the scan), "CloudTrail sign file structure" (location and fields of ``result_sign.json``)
and "Custom implementations of CloudTrail query result file integrity validation" (the data
signing string: the ``fileHashValue`` of every result file, in order, joined by single spaces,
signed SHA256withRSA with the Region's key; the signature hex-encoded).

Objects written under ``s3://<bucket>/<prefix>/AWSLogs/<account>/CloudTrail-Lake/Query/
YYYY/MM/DD/<query-id>/`` (the date: the query's completion, UTC):

- ``result_1.csv.gz``, ``result_2.csv.gz``, ...: CSV (RFC 4180 quoting with every field quoted,
  ``\\n`` line ends, UTF-8), a header line of the column names, then one line per row, values as
  GetQueryResults renders them. A file is cut after :data:`RESULT_FILE_BYTES` bytes of CSV (a row
  is never split; every file has the header line). A query with no rows gives one file with the
  header only. AWS does not publish its CSV dialect or split size: these are opentrail's.
  Compressed with gzip ``mtime=0``, so a retried delivery writes the same bytes.
- ``result_sign.json``: ``{"version": "1.0", "region", "files": [{"fileHashValue": <hex
  SHA-256 of the .csv.gz object>, "fileName"}], "hashAlgorithm": "SHA-256", "signatureAlgorithm":
  "SHA256withRSA", "queryCompleteTime": "YYYY-MM-DDTHH:MM:SSZ", "hashSignature": <hex>,
  "publicKeyFingerprint": <hex MD5 of the DER key>}`` signed with the digest signing key of the
  query's Region (:class:`opentrail.digests.keys.KeyStore`), so ListPublicKeys over a range that
  holds ``queryCompleteTime`` returns the public key. ``queryCompleteTime`` is when the sign file
  was signed (the key valid then is the one used).

:class:`ResultDelivery` makes one attempt (:meth:`ResultDelivery.deliver`); the outcome is a
DeliveryStatus: SUCCESS, RESOURCE_NOT_FOUND (the bucket is gone), FAILED (a result file was
refused), FAILED_SIGNING_FILE (the sign file could not be signed or written). A storage that cannot
be reached raises :class:`~opentrail.objectstore.StorageUnavailable`: :class:`DeliveryQueue`
retries it later (the status stays PENDING) without holding up other deliveries or any query.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import heapq
import io
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator

import orjson

from ..objectstore import InvalidObjectKey, NoSuchBucket, ObjectStorage, StorageError, StorageUnavailable
from ..trails.errors import InvalidS3BucketNameException, InvalidS3PrefixException
from ..trails.names import check_s3_bucket_name

log = logging.getLogger("opentrail.lake.delivery")

#: Bytes of (uncompressed) CSV per result file before the next file starts.
RESULT_FILE_BYTES = 64 * 1024 * 1024
SIGN_FILE_NAME = "result_sign.json"
#: The model's longest DeliveryS3Uri; S3's longest key, in UTF-8 bytes.
MAX_URI = 1024
MAX_KEY_BYTES = 1024
#: Room the key layout needs after the prefix (AWSLogs/<12>/CloudTrail-Lake/Query/YYYY/MM/DD/<uuid>/result_sign.json).
_LAYOUT_BYTES = len("/AWSLogs/123456789012/CloudTrail-Lake/Query/2024/01/01/") + 36 + len("/result_sign.json")


@dataclass(frozen=True, slots=True)
class DeliveryTarget:
    """Where results go: ``bucket`` and ``prefix`` (no leading or trailing ``/``; may be empty)."""

    bucket: str
    prefix: str


def parse_delivery_uri(uri: str) -> DeliveryTarget:
    """``s3://bucket[/prefix][/]`` -> its target. Raises InvalidS3BucketNameException (not an
    ``s3://`` URI, or a bucket name S3 refuses) and InvalidS3PrefixException (a prefix with empty,
    ``.`` or ``..`` segments or control characters, or too long for the key layout)."""
    if len(uri) > MAX_URI:
        raise InvalidS3PrefixException(f"DeliveryS3Uri is too long. Maximum allowed length: {MAX_URI} characters.")
    if not uri.startswith("s3://"):
        raise InvalidS3BucketNameException(f"DeliveryS3Uri {uri} is not valid: it must be s3://bucket or s3://bucket/prefix.")
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    check_s3_bucket_name(bucket)
    prefix = prefix[:-1] if prefix.endswith("/") else prefix
    if prefix:
        parts = prefix.split("/")
        if any(p in ("", ".", "..") for p in parts) or any(ord(c) < 32 or ord(c) == 127 for c in prefix):
            raise InvalidS3PrefixException(
                f"Prefix {prefix} is not valid: it cannot have empty, '.' or '..' segments or control characters.")
        if len(prefix.encode("utf-8", "surrogatepass")) + _LAYOUT_BYTES > MAX_KEY_BYTES:
            raise InvalidS3PrefixException(
                f"Prefix is too long. Maximum allowed length: {MAX_KEY_BYTES - _LAYOUT_BYTES} bytes.")
    return DeliveryTarget(bucket, prefix)


def result_folder(target: DeliveryTarget, account_id: str, completion_time: float, query_id: str) -> str:
    """The key prefix (ending in ``/``) of a query's delivered files."""
    day = datetime.fromtimestamp(completion_time, timezone.utc).strftime("%Y/%m/%d")
    head = f"{target.prefix}/" if target.prefix else ""
    return f"{head}AWSLogs/{account_id}/CloudTrail-Lake/Query/{day}/{query_id}/"


def csv_files(column_names: Iterable[str], rows: Iterable[list[str]], file_bytes: int = RESULT_FILE_BYTES) -> Iterator[bytes]:
    """The gzip-compressed CSV result files, in order (at least one)."""
    header = _csv_line(list(column_names))
    buf = io.StringIO()
    buf.write(header)
    has_rows = False
    for row in rows:
        line = _csv_line(row)
        if has_rows and buf.tell() + len(line) > file_bytes:
            yield _gzip(buf.getvalue())
            buf = io.StringIO()
            buf.write(header)
        buf.write(line)
        has_rows = True
    yield _gzip(buf.getvalue())


def _csv_line(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(values)
    return out.getvalue()


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), mtime=0)


def iso_utc(epoch_s: float) -> str:
    return datetime.fromtimestamp(int(epoch_s), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def signing_string(file_hashes: list[str]) -> bytes:
    """AWS's data signing string: the files' hex SHA-256 values joined by single spaces."""
    return " ".join(file_hashes).encode("utf-8")


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """One query's delivery: where, whose, and its rows (``rows`` re-reads them at each attempt)."""

    query_id: str
    account_id: str
    region: str
    uri: str
    completion_time: float
    column_names: tuple[str, ...]
    rows: Callable[[], Iterable[list[str]]]


class ResultDelivery:
    """Writes result files and the signed sign file to ``storage`` with ``keys``
    (:class:`opentrail.digests.keys.KeyStore`); ``clock`` gives epoch seconds."""

    def __init__(self, storage: ObjectStorage, keys: Any, clock: Callable[[], float], *,
                 file_bytes: int = RESULT_FILE_BYTES) -> None:
        self.storage = storage
        self.keys = keys
        self.clock = clock
        self.file_bytes = file_bytes

    def deliver(self, job: DeliveryJob) -> str:
        """One attempt; the DeliveryStatus it ends with. Raises StorageUnavailable (retry later)."""
        target = parse_delivery_uri(job.uri)
        folder = result_folder(target, job.account_id, job.completion_time, job.query_id)
        files: list[dict[str, str]] = []
        try:
            for n, body in enumerate(csv_files(job.column_names, job.rows(), self.file_bytes), start=1):
                name = f"result_{n}.csv.gz"
                self.storage.put_object(target.bucket, folder + name, body, {})
                files.append({"fileHashValue": hashlib.sha256(body).hexdigest(), "fileName": name})
        except NoSuchBucket:
            return "RESOURCE_NOT_FOUND"
        except StorageUnavailable:
            raise
        except (InvalidObjectKey, StorageError) as exc:
            log.warning("query %s: result file refused by s3://%s/%s: %s", job.query_id, target.bucket, folder, exc)
            return "FAILED"
        try:
            signed_at = self.clock()
            fingerprint, signature = self.keys.sign_bytes(job.region, signing_string([f["fileHashValue"] for f in files]))
            document = {"version": "1.0", "region": job.region, "files": files, "hashAlgorithm": "SHA-256",
                        "signatureAlgorithm": "SHA256withRSA", "queryCompleteTime": iso_utc(signed_at),
                        "hashSignature": signature, "publicKeyFingerprint": fingerprint}
            self.storage.put_object(target.bucket, folder + SIGN_FILE_NAME, orjson.dumps(document), {})
        except NoSuchBucket:
            return "RESOURCE_NOT_FOUND"
        except StorageUnavailable:
            raise
        except (InvalidObjectKey, StorageError, OSError, ValueError) as exc:
            log.warning("query %s: sign file not written: %s", job.query_id, exc)
            return "FAILED_SIGNING_FILE"
        return "SUCCESS"


class DeliveryQueue:
    """Runs deliveries on one background thread. ``job_for(query_id)`` gives the job (None: drop
    it); ``done(query_id, status)`` records a final status. A delivery whose storage is
    unavailable is tried again after ``retry_s`` (doubling up to ``max_retry_s``) while the others
    go on."""

    def __init__(self, delivery: ResultDelivery, job_for: Callable[[str], DeliveryJob | None],
                 done: Callable[[str, str], None], *, retry_s: float = 5.0, max_retry_s: float = 300.0) -> None:
        self.delivery = delivery
        self.job_for = job_for
        self.done = done
        self.retry_s = retry_s
        self.max_retry_s = max_retry_s
        self._heap: list[tuple[float, int, str, float]] = []
        self._seq = 0
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="lake-delivery", daemon=True)
        self._thread.start()

    def submit(self, query_id: str, delay: float = 0.0, backoff: float | None = None) -> None:
        with self._cond:
            self._seq += 1
            heapq.heappush(self._heap, (time.monotonic() + delay, self._seq, query_id, backoff or self.retry_s))
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic()))
                if self._stopped:
                    return
                _, _, query_id, backoff = heapq.heappop(self._heap)
            self._attempt(query_id, backoff)

    def _attempt(self, query_id: str, backoff: float) -> None:
        try:
            job = self.job_for(query_id)
            if job is None:
                return
            status = self.delivery.deliver(job)
        except StorageUnavailable as exc:
            log.warning("query %s: results not delivered yet (%s); retrying in %.0f s", query_id, exc, backoff)
            self.submit(query_id, backoff, min(self.max_retry_s, backoff * 2))
            return
        except Exception:  # never leave a delivery PENDING forever on a bug
            log.exception("query %s: delivery failed", query_id)
            status = "FAILED"
        self.done(query_id, status)
