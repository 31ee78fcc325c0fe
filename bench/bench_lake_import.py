"""Lake import benchmark: StartImport events/s from a local bucket folder and from moto's S3 server,
beside DuckDB reading the same .json.gz files.

    python3 bench/bench_lake_import.py [--copies 40] [--repeat 3] [--no-moto] [--records-per-file N]

The invictus-ir dataset (55 trail log files, 2,900 records) is written ``--copies`` times with fresh
eventIDs as gzip trail log files in one day folder (``AWSLogs/<acct>/CloudTrail/us-east-1/2023/07/10/``)
of a local bucket folder. :class:`~opentrail.lake.imports.ImportManager` (in process, its defaults,
the same code StartImport runs) copies them into an empty event data store, timed from the import's
creation to COMPLETED: listing, reading, gunzip, the tolerant reader, de-duplication, record ->
columns, zstd Parquet, fsync'd files, commits. Then the same from moto's S3 server (``moto.server``
on a local port, objects uploaded first, not timed), and what moto's server alone allows: every
object's GET only, on as many threads as the import reads with. ``--records-per-file N`` regroups
the same records into files of N records (the dataset's files hold 53 on average; busier accounts'
5-minute files hold more), since a GET's fixed cost is per file. The collector is set as
``opentrail serve`` sets it (:func:`opentrail.server.freeze_startup_heap`). Each import runs
``--repeat`` times (a new empty store each time); every run is printed with the process's CPU time
(all its threads) per 100,000 events, for moto also its server's (another process, from
``/proc``), and the load average, then the median. Beside them, DuckDB over the same files
(reading and parsing only, nothing written), two ways:
``SELECT count(*) FROM (SELECT unnest(Records) FROM read_json('<folder>/*.json.gz',
columns={'Records': 'JSON[]'}))`` and ``read_json_objects`` of the files with
``unnest(CAST(json->'Records' AS JSON[]))`` (each record cut out as JSON text, the faster form).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentrail.lake.imports import READ_AHEAD, ImportManager  # noqa: E402
from opentrail.lake.model import EventDataStore  # noqa: E402
from opentrail.objectstore import LocalFolderStorage, S3Storage  # noqa: E402
from opentrail.server import freeze_startup_heap  # noqa: E402

DAY = "AWSLogs/123837392027/CloudTrail/us-east-1/2023/07/10/"
ACCOUNT = "111122223333"
EDS_ID = "0b6f2c3e-0000-4000-8000-000000000002"
ROLE = "arn:aws:iam::111122223333:role/import"


def _dataset() -> Path:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "datasets" / "cloudtrail" / "invictus-ir-aws_dataset" / "CloudTrail"
        if candidate.is_dir():
            return candidate
    raise SystemExit("the invictus-ir dataset is not found")


class _Stores:
    def __init__(self) -> None:
        self.store = EventDataStore(id=EDS_ID, account_id=ACCOUNT, home_region="us-east-1", name="bench",
                                    status="ENABLED", advanced_event_selectors=(), retention_period_days=3653)

    def find(self, account_id: str, region: str, ref: str) -> EventDataStore:
        return self.store

    def all(self) -> list[EventDataStore]:
        return [self.store]


def _files(copies: int, records_per_file: int = 0) -> dict[str, bytes]:
    """``copies`` copies of the dataset's records (fresh eventIDs) as gzip trail log files: the
    dataset's own files (1-394 records, 53 on average) or, with ``records_per_file``, the same
    records in that order regrouped into files of that many records (the last one shorter)."""
    out: dict[str, bytes] = {}
    records: list[dict[str, Any]] = []
    for f in sorted(_dataset().glob("*.json")):
        doc = json.loads(f.read_bytes())
        for k in range(copies):
            for r in doc["Records"]:
                r["eventID"] = f"{k:06d}" + r["eventID"][6:]
            if records_per_file:
                records.extend(json.loads(json.dumps(doc["Records"])))
            else:
                out[f"{DAY}{f.stem}_{k}.json.gz"] = gzip.compress(json.dumps(doc).encode())
    for n, start in enumerate(range(0, len(records), records_per_file or 1)):
        chunk = {"Records": records[start:start + records_per_file]}
        out[f"{DAY}{ACCOUNT}_CloudTrail_us-east-1_20230710T1200Z_{n:08d}.json.gz"] = gzip.compress(json.dumps(chunk).encode())
    return out


def _run_import(work: Path, storage: object, bucket: str, label: str) -> tuple[float, int]:
    data = work / f"data-{label}"
    shutil.rmtree(data, ignore_errors=True)
    manager = ImportManager(data, data / "lake", _Stores(), storage, time.time, poll_s=0.01)  # type: ignore[arg-type]
    manager.start()
    t0 = time.perf_counter()
    info = manager.start_import(ACCOUNT, "us-east-1", [EDS_ID],
                                {"S3": {"S3LocationUri": f"s3://{bucket}", "S3BucketRegion": "us-east-1",
                                        "S3BucketAccessRoleArn": ROLE}}, None, None, None)
    assert manager.wait_idle(3600)
    elapsed = time.perf_counter() - t0
    done = manager.get(ACCOUNT, info.id)
    manager.close()
    assert done.status == "COMPLETED", done
    return elapsed, done.events_completed


def _fetch_all(storage: S3Storage, keys: list[str], events: int) -> tuple[float, int]:
    """Every object's body read with ``read_object`` (what imports read with) on
    :data:`~opentrail.lake.imports.READ_AHEAD` threads, nothing else: the import's rate if
    everything after the GET were free. -> (seconds, the files' event count)."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=READ_AHEAD) as pool:
        for _ in pool.map(lambda key: storage.read_object("trail", key), keys):
            pass
    return time.perf_counter() - t0, events


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system, all threads) used so far by the process ``pid`` (``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _repeat(label: str, times: int, run: Any, server_pid: int | None = None) -> None:
    """Run ``run`` (-> seconds, events) ``times`` times; print each run (with this process's CPU
    and, given ``server_pid``, the S3 server's, per 100,000 events) and the median rate."""
    rates = []
    for k in range(times):
        load, cpu = os.getloadavg()[0], time.process_time()
        server = _cpu_of(server_pid) if server_pid else 0.0
        elapsed, n = run()
        cpu = time.process_time() - cpu
        server = _cpu_of(server_pid) - server if server_pid else 0.0
        rates.append(n / elapsed)
        print(f"{label} #{k + 1}: {n} events in {elapsed:.2f} s = {n / elapsed:,.0f} events/s; process CPU {cpu:.2f} s "
              f"({n / cpu:,.0f} events per CPU-second, {cpu / n * 1e5:.2f} s per 100k events"
              + (f"; the S3 server's {server / n * 1e5:.2f} s per 100k events" if server_pid else "")
              + f"); load {load:.2f} -> {os.getloadavg()[0]:.2f}", flush=True)
    print(f"{label}: median {statistics.median(rates):,.0f} events/s over {times} runs", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-moto", action="store_true")
    ap.add_argument("--records-per-file", type=int, default=0,
                    help="regroup the records into files of this many records (default: the dataset's own files)")
    args = ap.parse_args()
    freeze_startup_heap()  # the collector as `opentrail serve` sets it, where StartImport runs
    work = Path(tempfile.mkdtemp(prefix="bench-lake-import-"))
    try:
        files = _files(args.copies, args.records_per_file)
        storage = LocalFolderStorage(work / "buckets")
        bucket_dir = storage.create_bucket("trail")
        for key, body in files.items():
            path = bucket_dir / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        mb = sum(len(b) for b in files.values()) / 1e6
        events = sum(len(json.loads(gzip.decompress(body))["Records"]) for body in files.values())
        print(f"{len(files)} files, {mb:.1f} MB gzip, {events} events, {events / len(files):.0f} per file on average")
        _repeat("StartImport, local bucket folder", args.repeat, lambda: _run_import(work, storage, "trail", "local"))

        import duckdb

        folder = str(bucket_dir / DAY / "*.json.gz")
        for label, sql in (
                ("DuckDB read_json + unnest(Records), same files",
                 "SELECT count(*) FROM (SELECT unnest(Records) FROM read_json(?, columns={'Records': 'JSON[]'},"
                 " maximum_object_size=100000000))"),
                ("DuckDB read_json_objects + unnest(Records), same files",
                 "SELECT count(*) FROM (SELECT unnest(CAST(json->'Records' AS JSON[])) FROM read_json_objects(?,"
                 " format='unstructured', maximum_object_size=100000000))")):
            t0 = time.perf_counter()
            [(count,)] = duckdb.execute(sql, [folder]).fetchall()
            d = time.perf_counter() - t0
            print(f"{label}: {count} events in {d:.2f} s = {count / d:,.0f} events/s")

        if not args.no_moto:
            port = _free_port()
            env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
            os.environ.update(env)
            moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                url = f"http://127.0.0.1:{port}"
                for _ in range(200):
                    try:
                        urllib.request.urlopen(url + "/moto-api/", timeout=1)
                        break
                    except OSError:
                        time.sleep(0.05)
                s3 = S3Storage(url)
                s3._client.create_bucket(Bucket="trail")
                for key, body in files.items():
                    s3.put_object("trail", key, body, {})
                _repeat("StartImport, moto S3 server", args.repeat, lambda: _run_import(work, s3, "trail", "moto"),
                        moto.pid)
                _repeat("GetObject of every file only (the ceiling moto's server sets)", args.repeat,
                        lambda: _fetch_all(s3, list(files), events), moto.pid)
                s3.close()
            finally:
                moto.terminate()
                moto.wait(30)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
