"""Lake query benchmark: opentrail's StartQuery path vs DuckDB (and Spark) over the same files.

    python3 bench/bench_lake_query.py [--events 10000000] [--days 30] [--work DIR] [--repeat 9]
                                      [--poll-ms 20] [--no-spark]

1. **The store** (kept in ``--work`` and reused): ``--events`` real-derived records
   (bench/common.py) over ``--days`` days ending yesterday (UTC), in one event data store.
   Ingesting 10M records through the event log would take ~15 minutes on this machine, so the
   store's Parquet files are built directly with the ingestion code: one day of records
   (``events / days``) becomes rows with :func:`opentrail.lake.columns.rows_of_bytes`, then each
   day is that table with eventTime moved to the day and eventIDs made unique, written with
   :func:`opentrail.lake.ingest.write_file` (zstd) as ``<store>/YYYY/MM/DD/<first>-<last>.parquet``
   -- what ingestion plus compaction leave. (eventjson keeps the base day's eventTime.)
2. ``opentrail serve`` on that data directory; the store is created with boto3 and the files are
   moved into its folder.
3. Each query, after one warm-up run of DuckDB's (the files in the page cache), ``--repeat``
   rounds (each starting with the next contender, in turn) of: DuckDB over the same files directly (``read_parquet`` of the store's files, default
   settings); opentrail's QueryManager in process (start, describe every 1 ms until FINISHED,
   every results page); end to end through HTTP with boto3 (StartQuery, then DescribeQuery at
   once and every ``--poll-ms`` until FINISHED, then GetQueryResults: what a client polling that
   often waits for; neither the AWS CLI nor boto3 has a waiter for Lake queries, so the interval is
   the client's). The median of each is printed, and their ratios. Then Spark local mode (pyspark
   from the tests' cache, if installed: ``spark.read.parquet`` of the store folder, the time of
   ``collect()``, once).

Queries: a full-store ``GROUP BY eventName``, a ``GROUP BY useridentity.arn`` over one day, a
selective query (one eventName, one day). Prints one line per query and the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
from botocore.config import Config  # noqa: E402

from bench import common  # noqa: E402
from bench.bench_lake_ingest import _dataset  # noqa: E402
from opentrail.lake import layout  # noqa: E402
from opentrail.lake.columns import rows_of_bytes  # noqa: E402
from opentrail.lake.ingest import write_file  # noqa: E402
from opentrail.lake.queries import QueryManager  # noqa: E402

BUILT = "store-built"
ACCOUNT = "123456789012"


def build(folder: Path, events: int, days: int) -> tuple[dt.date, dt.date]:
    """Build the store's files under ``folder`` (reused when complete); (first day, last day)."""
    marker = folder / "done.json"
    if marker.is_file():
        done = json.loads(marker.read_text())
        if done["events"] == events // days * days and done["days"] == days:
            return dt.date.fromisoformat(done["first"]), dt.date.fromisoformat(done["last"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    last = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=days - 1)
    per_day = events // days
    day0 = int(dt.datetime(first.year, first.month, first.day, tzinfo=dt.timezone.utc).timestamp())
    t = time.perf_counter()
    tables, raws = [], []
    for e in common.synthetic_events(per_day, accounts=(ACCOUNT,), start_time=day0 + 3,
                                     events_per_s=per_day / 86_390):
        raws.append(e.record)
        if len(raws) == 50_000:
            tables.append(rows_of_bytes(raws)[0])
            raws = []
    if raws:
        tables.append(rows_of_bytes(raws)[0])
    base = pa.concat_tables(tables).combine_chunks()
    print(f"built one day of {len(base):,} rows in {time.perf_counter() - t:.1f} s", flush=True)
    ms = pc.cast(base.column("eventtime"), pa.int64())
    ids = base.column("eventid")
    for k in range(days):
        day = first + dt.timedelta(days=k)
        moved = pc.cast(pc.add(ms, k * 86_400_000), pa.timestamp("ms"))
        new_ids = pc.binary_join_element_wise(pa.scalar(f"{k:08x}"), pc.utf8_slice_codeunits(ids, 8), "")
        table = base.set_column(base.schema.get_field_index("eventtime"), "eventtime", moved)
        table = table.set_column(table.schema.get_field_index("eventid"), "eventid", new_ids)
        first_seq = k * len(base) + 1
        write_file(table, folder / day.strftime("%Y/%m/%d") / layout.file_name(first_seq, first_seq + len(base) - 1))
    marker.write_text(json.dumps({"events": per_day * days, "days": days, "first": first.isoformat(),
                                  "last": last.isoformat()}))
    print(f"wrote {days} days, {per_day * days:,} rows in {time.perf_counter() - t:.1f} s", flush=True)
    return first, last


def served_store(ct: Any, data: Path, built: Path) -> tuple[str, list[Path], int]:
    """Create an event data store "bench" through ``ct`` (a boto3 CloudTrail client of a server on
    data dir ``data``) and fill it with the store files built under ``built`` (hard links: instant);
    its id, its data files and their size in bytes."""
    eds_id = ct.create_event_data_store(Name="bench", RetentionPeriod=3653)["EventDataStoreArn"].rsplit("/", 1)[1]
    store = data / "lake" / eds_id
    store.mkdir(parents=True, exist_ok=True)
    for year in built.iterdir():
        if year.is_dir():
            shutil.copytree(year, store / year.name, copy_function=os.link)
    files = layout.data_files(data / "lake", eds_id)
    return eds_id, files, sum(f.stat().st_size for f in files)


def _client(url: str, data: Path) -> Any:
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(data / "credentials")
    os.environ["AWS_CONFIG_FILE"] = str(data / "no-config")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(name, None)
    session = boto3.Session(profile_name="opentrail", region_name="us-east-1")
    return session.client("cloudtrail", endpoint_url=url, config=Config(retries={"total_max_attempts": 1}))


def http_query(ct: Any, statement: str, poll_s: float = 0.02) -> tuple[float, list[Any], dict[str, Any]]:
    """StartQuery -> FINISHED (DescribeQuery at once, then every ``poll_s``) -> GetQueryResults
    (every page): seconds, rows, statistics (with ``DescribeQueryCalls``, the polls it took)."""
    t = time.perf_counter()
    query_id = ct.start_query(QueryStatement=statement)["QueryId"]
    polls = 0
    while True:
        polls += 1
        described = ct.describe_query(QueryId=query_id)
        if described["QueryStatus"] not in ("QUEUED", "RUNNING"):
            break
        time.sleep(poll_s)
    assert described["QueryStatus"] == "FINISHED", described
    rows: list[Any] = []
    kw: dict[str, Any] = {}
    while True:
        page = ct.get_query_results(QueryId=query_id, **kw)
        rows.extend(page["QueryResultRows"])
        if not page.get("NextToken"):
            break
        kw = {"NextToken": page["NextToken"]}
    return time.perf_counter() - t, rows, {**described.get("QueryStatistics", {}), "DescribeQueryCalls": polls}


class _OneStore:
    """The event data store service's ``find`` for the one store (for the in-process QueryManager)."""

    def __init__(self, ct: Any, eds_id: str) -> None:
        from opentrail.lake.model import EventDataStore
        self.store = EventDataStore(eds_id, ACCOUNT, "us-east-1", "bench", "ENABLED", ())

    def find(self, account_id: str, region: str, id_or_arn: str) -> Any:
        return self.store


def manager_query(manager: QueryManager, statement: str) -> tuple[float, int]:
    """QueryManager.start -> FINISHED (describe every 1 ms) -> every page of results: seconds, rows."""
    t = time.perf_counter()
    query_id = manager.start(ACCOUNT, "us-east-1", statement)
    while manager.describe(ACCOUNT, query_id).status in ("QUEUED", "RUNNING"):
        time.sleep(0.001)
    rows, token = 0, None
    while True:
        info, page, token = manager.results(ACCOUNT, query_id, 1000, token)
        rows += len(page)
        if token is None:
            break
    assert info.status == "FINISHED", info
    return time.perf_counter() - t, rows


SPARK = """
import json, sys, time
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]").appName("opentrail-bench").config("spark.ui.enabled", "false")
         .config("spark.sql.session.timeZone", "UTC").config("spark.driver.memory", "4g").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
df = spark.read.option("recursiveFileLookup", "true").parquet(sys.argv[1])
df.createOrReplaceTempView("eds")
out = {}
for name, sql in json.loads(sys.argv[2]).items():
    t = time.perf_counter()
    n = len(spark.sql(sql).collect())
    out[name] = [time.perf_counter() - t, n]
print("RESULT " + json.dumps(out))
spark.stop()
"""


def spark_times(store: Path, queries: dict[str, str]) -> dict[str, list[float]] | None:
    from tests.npm_packages import cache_root
    folders = sorted((cache_root() / "pypi").glob("pyspark@*"))
    if not folders or shutil.which("java") is None:
        return None
    env = dict(os.environ, PYTHONPATH=str(folders[-1]), PYSPARK_PYTHON=sys.executable)
    done = subprocess.run([sys.executable, "-c", SPARK, str(store), json.dumps(queries)], env=env,
                          capture_output=True, text=True, timeout=3600)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print("spark failed:", done.stderr[-2000:])
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--work", type=Path, default=Path("/tmp/opentrail-bench-lake-query"))
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--poll-ms", type=float, default=20)
    ap.add_argument("--no-spark", action="store_true")
    args = ap.parse_args()
    _dataset()
    first, last = build(args.work / BUILT, args.events, args.days)
    day = first + dt.timedelta(days=args.days // 2)
    lo, hi = f"{day} 00:00:00", f"{day + dt.timedelta(days=1)} 00:00:00"
    data = args.work / "data"
    shutil.rmtree(data, ignore_errors=True)
    from tests.test_e2e_cli import Server
    srv = Server(data, None)
    try:
        ct = _client(srv.url, data)
        eds_id, files, size = served_store(ct, data, args.work / BUILT)
        print(f"store {eds_id}: {len(files)} files, {size / 2**20:,.0f} MiB, days {first}..{last}; query day {day}")
        # the "eds" table for DuckDB and Spark; opentrail's SQL names the store
        queries = {
            "GROUP BY eventName (full store)":
                ("SELECT eventName, count(*) AS n FROM {t} GROUP BY eventName ORDER BY n DESC"),
            "GROUP BY useridentity.arn (one day)":
                ("SELECT useridentity.arn, count(*) AS n FROM {t} WHERE eventTime >= {lo} AND eventTime < {hi} "
                 "GROUP BY useridentity.arn ORDER BY n DESC"),
            "selective (one eventName, one day)":
                ("SELECT eventID, eventTime, useridentity.arn FROM {t} WHERE eventName = 'CreateAccessKey' "
                 "AND eventTime >= {lo} AND eventTime < {hi} ORDER BY eventTime"),
        }
        listed = ", ".join("'" + str(f) + "'" for f in files)
        conn = duckdb.connect()
        manager = QueryManager(data / "lake", _OneStore(ct, eds_id), args.work / "results", time.time)
        time.sleep(1)  # its engine connections are prepared in the background
        for name, sql in queries.items():
            statement = sql.format(t=eds_id, lo=f"'{lo}'", hi=f"'{hi}'")
            direct_sql = sql.format(t=f"read_parquet([{listed}], hive_partitioning = false)",
                                    lo=f"TIMESTAMP '{lo}'", hi=f"TIMESTAMP '{hi}'")
            conn.sql(direct_sql).fetchall()  # warm-up: the files in the page cache for every contender
            times: dict[str, list[float]] = {"direct": [], "manager": [], "http": []}
            polls: list[int] = []
            for k in range(args.repeat):
                for contender in ("direct", "manager", "http")[k % 3:] + ("direct", "manager", "http")[:k % 3]:
                    if contender == "http":
                        http_s, rows, stats = http_query(ct, statement, args.poll_ms / 1000)
                        times["http"].append(http_s)
                        polls.append(stats["DescribeQueryCalls"])
                    elif contender == "manager":
                        manager_s, manager_rows = manager_query(manager, statement)
                        times["manager"].append(manager_s)
                    else:
                        t = time.perf_counter()
                        direct = conn.sql(direct_sql).fetchall()
                        times["direct"].append(time.perf_counter() - t)
                # the recorded API calls of this run land in the store's today folder: the full-store
                # GROUP BY may see a few more groups than the files listed before
                assert abs(len(direct) - len(rows)) <= 5 and abs(len(direct) - manager_rows) <= 5, (name, len(direct), len(rows))
            duck, manager_s, http_s = (statistics.median(times[k]) for k in ("direct", "manager", "http"))
            print(f"{name}: DuckDB direct {duck * 1000:,.0f} ms; opentrail QueryManager {manager_s * 1000:,.0f} ms "
                  f"(ratio {manager_s / duck:.2f}), through HTTP {http_s * 1000:,.0f} ms (ratio {http_s / duck:.2f}; "
                  f"medians of {args.repeat}; {len(rows)} rows, DescribeQuery calls {min(polls)}-{max(polls)}, "
                  f"ExecutionTimeInMillis {stats.get('ExecutionTimeInMillis')}, "
                  f"{stats.get('BytesScanned', 0) / 2**20:,.0f} MiB scanned; load {os.getloadavg()[0]:.2f})", flush=True)
        manager.close()
        if not args.no_spark:
            spark = spark_times(store, {name: sql.format(t="eds", lo=f"TIMESTAMP '{lo}'", hi=f"TIMESTAMP '{hi}'")
                                        for name, sql in queries.items()})
            if spark is None:
                print("Spark: not available (run tests/lake/test_spark.py once to install pyspark)")
            else:
                for name, (secs, n) in spark.items():
                    print(f"{name}: Spark local[2] {secs * 1000:,.0f} ms ({n} rows)")
        print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
