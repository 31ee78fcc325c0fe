"""Log file validation benchmark: ``validate-logs`` throughput in MB/s of log files, local storage.

    python3 bench/bench_validate.py [--files 240] [--records 2000] [--workers 1 2] [--repeat 2] [--dir DIR] [--drop-caches]

Builds, once (kept in ``--dir`` and reused), a trail's bucket under ``<dir>/buckets``: ``--files``
log files of ``--records`` records each (the invictus-ir dataset's real records via
``bench/common.py``, ~1.4 KB each, gzip'd with ISA-L level 1 as delivery writes them), delivered
every 5 minutes, and one signed digest per hour (12 log files each) chained as the digest worker
chains them. Then runs :func:`opentrail.validation.validate_logs` over it in process (the command's
code path, minus ListPublicKeys: keys come from an in-process key source) with each ``--workers``
count, and prints, per run: seconds, MB/s of compressed (``.json.gz`` as stored) and of
uncompressed (what is hashed) log file bytes, and the process's peak RSS; then, per worker count,
the best and median of each. ``--drop-caches`` (root) empties the page cache before each run
(cold).

The target (issue 4) is >= 100 MB/s of log files from local storage on this 2-core machine, judged
on *compressed* bytes (the objects as stored; MB = 10^6 bytes); the uncompressed rate is ~6.6
times it with these files.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import synthetic_events  # noqa: E402
from opentrail.delivery.logfile import log_file_body, log_file_key, raw_body  # noqa: E402
from opentrail.digests import format as F  # noqa: E402
from opentrail.objectstore import LocalFolderStorage  # noqa: E402
from opentrail.validation import ValidateLogsArgs, validate_logs  # noqa: E402
from opentrail.validation.storage import LocalValidationStorage  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "bench-trail"
ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/bench"
START = 1_767_571_200  # 2026-01-05T00:00:00Z
HOUR = 3600


class Keys:
    def __init__(self, der: bytes) -> None:
        self.der = der

    def list_public_keys(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return [{"Value": self.der, "Fingerprint": F.fingerprint(self.der),
                 "ValidityStartTime": start, "ValidityEndTime": end}]


def build(root: Path, files: int, records: int) -> tuple[bytes, int, int]:
    """Write the bucket; returns the public key, uncompressed and compressed bytes of log files."""
    marker = root / "built.txt"
    if marker.exists():
        der_hex, raw_total, gz_total = marker.read_text().split()
        return bytes.fromhex(der_hex), int(raw_total), int(gz_total)
    storage = LocalFolderStorage(root / "buckets")
    storage.create_bucket(BUCKET)
    key = F.generate_private_key()
    der = F.public_key_der(key)
    events = synthetic_events(files * records, start_time=START - 600, accounts=[ACCOUNT], regions=[REGION])
    raw_total = gz_total = 0
    previous: F.PreviousDigest | None = None
    hour_logs: list[F.LogFileEntry] = []
    for i in range(files):
        delivered = START + i * 300
        raw = raw_body(next(events).record for _ in range(records))
        body = log_file_body([raw[len(b'{"Records":['):-2]])  # the same bytes, gzip'd as delivery does
        log_key = log_file_key(None, ACCOUNT, REGION, delivered, f"{i:016d}")
        storage.put_object(BUCKET, log_key, body, {})
        raw_total += len(raw)
        gz_total += len(body)
        hour_logs.append(F.LogFileEntry(BUCKET, log_key, F.sha256_hex(raw), delivered, delivered - 300))
        if len(hour_logs) == 12 or i == files - 1:
            end = START + (i // 12 + 1) * HOUR
            digest_key = F.digest_key(None, ACCOUNT, REGION, "bench", REGION, end)
            doc = F.Digest(ACCOUNT, end - HOUR, end, BUCKET, digest_key, F.fingerprint(der), previous, tuple(hour_logs))
            raw_digest, signature = F.sign_digest(doc, key)
            storage.put_object(BUCKET, digest_key, F.gzip_body(raw_digest), F.signature_metadata(signature))
            previous = F.PreviousDigest(BUCKET, digest_key, F.sha256_hex(raw_digest), signature, end)
            hour_logs = []
    marker.write_text(f"{der.hex()} {raw_total} {gz_total}")
    return der, raw_total, gz_total


def drop_caches() -> None:
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=240)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-validate"))
    parser.add_argument("--drop-caches", action="store_true")
    opts = parser.parse_args()
    opts.dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    der, raw_total, gz_total = build(opts.dir, opts.files, opts.records)
    print(f"bucket: {opts.files} log files, {raw_total / 1e6:,.1f} MB uncompressed, {gz_total / 1e6:,.1f} MB gzip "
          f"(ratio {raw_total / gz_total:.1f}); ready in {time.perf_counter() - t0:.1f} s")
    hours = (opts.files + 11) // 12
    args = ValidateLogsArgs(ARN, F.format_time(START - HOUR), F.format_time(START + hours * HOUR), s3_bucket=BUCKET)
    for workers in opts.workers:
        rates: list[float] = []
        for _ in range(opts.repeat):
            if opts.drop_caches:
                drop_caches()
            out, err = io.StringIO(), io.StringIO()
            started = time.perf_counter()
            code = validate_logs(args, stdout=out, stderr=err, keys=Keys(der),
                                 storage=LocalValidationStorage(opts.dir / "buckets"), workers=workers, progress=False)
            seconds = time.perf_counter() - started
            assert code == 0 and f"{opts.files}/{opts.files} log files valid" in out.getvalue(), (code, out.getvalue(), err.getvalue())
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rates.append(gz_total / 1e6 / seconds)
            print(f"workers={workers}{' cold' if opts.drop_caches else ''}: {seconds:.2f} s, "
                  f"{gz_total / 1e6 / seconds:,.1f} MB/s compressed, {raw_total / 1e6 / seconds:,.0f} MB/s uncompressed, "
                  f"peak RSS {rss:,.0f} MB")
        ratio = raw_total / gz_total
        best, median = max(rates), statistics.median(rates)
        print(f"workers={workers}{' cold' if opts.drop_caches else ''} summary: best {best:,.1f} MB/s compressed "
              f"({best * ratio:,.0f} uncompressed), median {median:,.1f} ({median * ratio:,.0f}); "
              f"target >= 100 MB/s compressed: {'met' if median >= 100 else 'missed'} (median)")


if __name__ == "__main__":
    main()
