"""Where an event data store's files are: the contract between Lake ingestion (which writes them)
and Lake queries (which read them). Documented in docs/lake.md so that other engines (Spark,
Trino, Athena, DuckDB) read the same files without opentrail.

``<lake root>/<event data store id>/`` holds immutable Parquet files (zstd) with the columns of
:data:`opentrail.lake.schema.SCHEMA`. Files are found by :func:`data_files`; a reader must not
treat the folder names below the store's folder as columns (read with hive partitioning off).
"""

from __future__ import annotations

from pathlib import Path

#: The lake root under the data directory when ``--lake-storage-url`` is not given.
LAKE_DIR = "lake"


def store_dir(lake_root: Path, eds_id: str) -> Path:
    """The folder of one event data store's files."""
    return Path(lake_root) / eds_id


def data_files(lake_root: Path, eds_id: str) -> list[Path]:
    """Every committed Parquet file of the store, sorted (names starting with ``.`` or ``_`` are
    work in progress and not part of the store)."""
    root = store_dir(lake_root, eds_id)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.parquet")
                  if not any(part.startswith((".", "_")) for part in p.relative_to(root).parts))
