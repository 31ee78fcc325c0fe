"""Spark (pyspark from PyPI, local mode, the machine's Java 17) reads an event data store's files
and gets the same answers as DuckDB over the same files: a GROUP BY eventName and a selective
query (one eventName, one day). pyspark (~500 MB) is installed on first use into
``<cache>/opentrail-tests/pypi/pyspark@<version>`` (tests/npm_packages.py's cache root), not into
the venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

from opentrail.events.record import read_record
from opentrail.lake import layout
from opentrail.lake.ingest import LakeIngestWorker
from opentrail.store.memory import MemoryEventStore

from tests.npm_packages import cache_root
from .ingest_fakes import FakeStores, eds, record

PYSPARK_VERSION = "4.3.0"
pytestmark = pytest.mark.slow


def pyspark_path() -> Path:
    """A folder holding ``pyspark`` (pip ``--target``), installed the first time into a temporary
    folder renamed into place."""
    folder = cache_root() / "pypi" / f"pyspark@{PYSPARK_VERSION}"
    if (folder / "pyspark" / "__init__.py").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=folder.parent))
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(staging),
                               f"pyspark=={PYSPARK_VERSION}"], capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            raise RuntimeError(f"pip install pyspark failed ({done.returncode}): {done.stderr.strip()}")
        try:
            staging.rename(folder)
        except OSError:  # installed by another process meanwhile
            if not (folder / "pyspark" / "__init__.py").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


SPARK = """
import json, sys
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[1]").appName("opentrail-lake-test")
         .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
df = spark.read.option("recursiveFileLookup", "true").parquet(sys.argv[1])
df.createOrReplaceTempView("eds")
by_name = [tuple(r) for r in spark.sql(
    "SELECT eventname, count(*) AS n FROM eds GROUP BY eventname ORDER BY n DESC, eventname").collect()]
selective = [tuple(r) for r in spark.sql(
    "SELECT eventid, useridentity.arn, awsregion FROM eds WHERE eventname = 'DescribeVpcs'"
    " AND eventtime >= TIMESTAMP '2024-05-02 00:00:00' AND eventtime < TIMESTAMP '2024-05-03 00:00:00'"
    " ORDER BY eventid").collect()]
print(json.dumps({"by_name": by_name, "selective": selective}))
spark.stop()
"""


def test_spark_reads_the_store_files_with_the_same_answers_as_duckdb(tmp_path: Path) -> None:
    if shutil.which("java") is None:
        pytest.skip("java is needed for the Spark test")
    clock = lambda: 1_714_600_000.0  # noqa: E731
    events, store = MemoryEventStore(), eds()
    w = LakeIngestWorker(events, FakeStores(store), tmp_path / "lake", clock, interval_s=0.0)
    w.run_once()
    names = ["DescribeVpcs", "RunInstances", "DescribeInstances", "CreateBucket"]
    records = [record(name=names[i % 4 if i % 3 else 0], region=["us-east-1", "eu-west-1"][i % 2],
                      time=f"2024-05-0{1 + i % 3}T{i % 24:02d}:{i % 60:02d}:00Z") for i in range(3000)]
    events.append([read_record(r) for r in records])
    while w.caught_up_seq() < events.last_seq():
        w.run_once()
    w.close()
    files = [str(p) for p in layout.data_files(tmp_path / "lake", store.id)]
    assert len(files) == 3

    con = duckdb.connect()
    by_name = con.execute("SELECT eventname, count(*) AS n FROM read_parquet($f, hive_partitioning=false)"
                          " GROUP BY eventname ORDER BY n DESC, eventname", {"f": files}).fetchall()
    selective = con.execute(
        "SELECT eventid, useridentity.arn, awsregion FROM read_parquet($f, hive_partitioning=false)"
        " WHERE eventname = 'DescribeVpcs' AND eventtime >= TIMESTAMP '2024-05-02 00:00:00'"
        " AND eventtime < TIMESTAMP '2024-05-03 00:00:00' ORDER BY eventid", {"f": files}).fetchall()
    assert sum(n for _, n in by_name) == 3000 and len(selective) > 100

    env = dict(os.environ, PYTHONPATH=str(pyspark_path()), PYSPARK_PYTHON=sys.executable)
    done = subprocess.run([sys.executable, "-c", SPARK, str(layout.store_dir(tmp_path / "lake", store.id))],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    import json
    spark = json.loads(done.stdout.strip().splitlines()[-1])
    assert [tuple(r) for r in spark["by_name"]] == by_name
    assert [tuple(r) for r in spark["selective"]] == selective
