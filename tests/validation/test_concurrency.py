"""Log files are checked on several threads (and prefetched), yet lines come out in the AWS CLI's
order: each digest, then its ``logFiles`` in the digest's order, newest digest first."""

from __future__ import annotations

import gzip
import io
import time
from pathlib import Path
from typing import BinaryIO

from opentrail.objectstore import LocalFolderStorage
from opentrail.validation import ValidateLogsArgs, validate_logs
from opentrail.validation.storage import LocalValidationStorage

from .chain import ARN, HOUR, T0, KeyRing, TrailFiles, when


class SlowFirstLogs(LocalValidationStorage):
    """A local bucket where the first log file of each digest takes 50 ms to open, so that with
    several workers the later ones are checked before it. Counts prefetch hints."""

    def __init__(self, root: Path, slow: set[str]) -> None:
        super().__init__(root)
        self.slow = slow
        self.prefetched: list[str] = []

    def prefetch(self, bucket: str, key: str) -> None:
        self.prefetched.append(key)
        super().prefetch(bucket, key)

    def open_object(self, bucket: str, key: str) -> BinaryIO:
        if key in self.slow:
            time.sleep(0.05)
        return super().open_object(bucket, key)


def _run(root: Path, ring: KeyRing, slow: set[str], workers: int) -> tuple[int, str, str, list[str]]:
    storage = SlowFirstLogs(root, slow)
    out, err = io.StringIO(), io.StringIO()
    args = ValidateLogsArgs(ARN, when(T0 - 2 * HOUR), when(T0 + 6 * HOUR), s3_bucket="trail-logs", verbose=True)
    code = validate_logs(args, stdout=out, stderr=err, keys=ring, storage=storage, workers=workers, progress=False)
    return code, out.getvalue(), err.getvalue(), storage.prefetched


def test_output_order_does_not_depend_on_workers_or_finishing_order(tmp_path: Path) -> None:
    root = tmp_path / "buckets"
    objects = LocalFolderStorage(root)
    objects.create_bucket("trail-logs")
    ring = KeyRing()
    trail = TrailFiles(objects, "trail-logs", ring.add(T0 - 48 * HOUR, T0 + 48 * HOUR))
    digests = trail.hourly(4, logs_per_hour=5)
    tampered = {digests[1].log_keys[0]: "modified", digests[1].log_keys[3]: "appended", digests[3].log_keys[2]: "deleted"}
    for key, how in tampered.items():
        path = root / "trail-logs" / key
        if how == "modified":
            path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()) + b" "))
        elif how == "appended":
            path.write_bytes(path.read_bytes() + gzip.compress(b'{"Records":[]}'))
        else:
            path.unlink()
    slow = {d.log_keys[0] for d in digests}

    sequential = _run(root, ring, slow, workers=1)
    statuses = {"modified": "INVALID: hash value doesn't match", "deleted": "INVALID: not found",
                "appended": "INVALID: unexpected data after end of compressed stream"}
    expected_out: list[str] = []
    expected_err: list[str] = []
    for digest in reversed(digests):
        expected_out.append(f"Digest file\ts3://trail-logs/{digest.key}\tvalid")
        for key in digest.log_keys:
            if key in tampered:
                expected_err.append(f"Log file\ts3://trail-logs/{key}\t{statuses[tampered[key]]}")
            else:
                expected_out.append(f"Log file\ts3://trail-logs/{key}\tvalid")
    code, out, err, prefetched = sequential
    assert code == 1
    assert [text for text in out.splitlines() if text.startswith(("Digest file", "Log file"))] == expected_out
    assert [text for text in err.splitlines() if text] == expected_err  # blank lines: report.py's AWS spacing
    assert "17/20 log files valid, 3/20 log files INVALID" in out
    assert prefetched == [key for digest in reversed(digests) for key in digest.log_keys]
    for workers in (2, 4, 16):
        assert _run(root, ring, slow, workers) == sequential, workers


def test_prefetch_never_raises(tmp_path: Path) -> None:
    root = tmp_path / "buckets"
    LocalFolderStorage(root).create_bucket("trail-logs")
    storage = LocalValidationStorage(root)
    (root / "trail-logs" / "a.json.gz").write_bytes(gzip.compress(b"{}"))
    for bucket, key in [("trail-logs", "a.json.gz"), ("no-such-bucket", "a.json.gz"), ("trail-logs", "missing"),
                        ("trail-logs", "../trail-logs/a.json.gz"), ("trail-logs", ""), ("..", "x")]:
        storage.prefetch(bucket, key)  # before the bucket was opened: nothing to do
    with storage.open_object("trail-logs", "a.json.gz") as stream:
        assert gzip.decompress(stream.read()) == b"{}"
    for bucket, key in [("trail-logs", "a.json.gz"), ("trail-logs", "missing"), ("trail-logs", "../x"), ("trail-logs", "")]:
        storage.prefetch(bucket, key)
