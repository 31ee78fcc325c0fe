"""Where an event data store's files are: the contract between Lake ingestion (which writes them)
and Lake queries (which read them). Documented in docs/lake.md so that other engines (Spark,
Trino, Athena, DuckDB) read the same files without opentrail.

``<lake root>/<event data store id>/`` holds immutable Parquet files (zstd) with the columns of
:data:`opentrail.lake.schema.SCHEMA`. Files are found by :func:`data_files`; a reader must not
treat the folder names below the store's folder as columns (read with hive partitioning off).

The lake root is a local folder or an object store prefix (``s3://bucket/prefix``) with the same
layout below it (:mod:`.files`); the paths these functions take and give are local ones (the
folder's, or those of the object-stored lake's cache), the object keys being the same relative paths
after the prefix.

Lake ingestion (:mod:`.ingest`) writes ``<store>/<YYYY>/<MM>/<DD>/<first>-<last>.parquet``: the
day of the rows' eventTime (UTC), and the first and last event log seq of the rows in the file.
A file rewritten (retention purge, compaction) becomes ``<first>-<last>.v<generation>.parquet``
covering the seq range of the file(s) it replaces, then they are deleted. On several nodes the
name also carries the fencing token of the writer's lease of the store's shard:
``<first>-<last>.t<token>[.v<generation>].parquet`` (no ``.t``: token 0, one node).

A file is *superseded* -- :func:`data_files` leaves it out, so a reader never sees a row twice --
when another file of the same folder

1. has a higher token and a seq range that meets its own: it was written by a node that lost the
   lease (an upload under way while the node was paused, landing after the new holder took over
   the shard from its cursor and wrote those events again); or else
2. covers its seq range and is newer (a wider range, or the same range with a higher generation):
   a rewrite whose originals are not deleted yet.

Files are written under a name starting with ``.`` and renamed once complete.

Lake imports (:mod:`.imports`) write ``<store>/<YYYY>/<MM>/<DD>/import-<import id>-<n>.parquet``
(``n`` counts the files one import wrote, from 0). They hold no event log seqs: compaction leaves
them alone, and only a retention purge rewrites one (``import-<id>-<n>.v<generation>.parquet``,
which supersedes the lower generations of the same ``<id>-<n>`` in its folder).
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from pathlib import Path

#: The lake root under the data directory when ``--lake-storage-url`` is not given.
LAKE_DIR = "lake"


def store_dir(lake_root: Path, eds_id: str) -> Path:
    """The folder of one event data store's files."""
    return Path(lake_root) / eds_id


#: ``<first>-<last>[.t<token>][.v<generation>].parquet``
_FILE_NAME = re.compile(r"^(\d+)-(\d+)(?:\.t(\d+))?(?:\.v(\d+))?\.parquet$")


def day_dir(lake_root: Path, eds_id: str, day: dt.date) -> Path:
    """The folder of a store's files whose rows have eventTime on ``day`` (UTC)."""
    return store_dir(lake_root, eds_id) / f"{day.year:04d}" / f"{day.month:02d}" / f"{day.day:02d}"


def file_name(first_seq: int, last_seq: int, generation: int = 0, token: int = 0) -> str:
    """The name of a file holding rows of event log seqs ``first_seq``..``last_seq``, written by
    the holder of the store's shard lease with fencing ``token`` (0: no lease, one node)."""
    return (f"{first_seq}-{last_seq}" + (f".t{token}" if token else "")
            + (f".v{generation}" if generation else "") + ".parquet")


def parse_file_name(name: str) -> tuple[int, int, int, int] | None:
    """``(first_seq, last_seq, generation, token)`` of a name :func:`file_name` made; None otherwise."""
    m = _FILE_NAME.match(name)
    return None if m is None else (int(m[1]), int(m[2]), int(m[4] or 0), int(m[3] or 0))


#: ``import-<import id>-<n>[.v<generation>].parquet``
_IMPORT_FILE_NAME = re.compile(r"^import-([0-9a-f-]{36})-(\d+)(?:\.v(\d+))?\.parquet$")


def import_file_name(import_id: str, n: int, generation: int = 0) -> str:
    """The name of the ``n``-th file an import wrote (``generation`` > 0: rewritten by retention)."""
    return f"import-{import_id}-{n}.parquet" if generation == 0 else f"import-{import_id}-{n}.v{generation}.parquet"


def parse_import_file_name(name: str) -> tuple[str, int, int] | None:
    """``(import_id, n, generation)`` of a name :func:`import_file_name` made; None otherwise."""
    m = _IMPORT_FILE_NAME.match(name)
    return None if m is None else (m[1], int(m[2]), int(m[3] or 0))


def superseded(files: list[Path]) -> set[Path]:
    """The files of ``files`` that another file of the same folder supersedes (see the module
    docstring). Names :func:`file_name` did not make are never superseded."""
    by_dir: dict[Path, list[tuple[int, int, int, int, Path]]] = {}
    newest: dict[tuple[Path, str, int], tuple[int, Path]] = {}
    out: set[Path] = set()
    for path in files:
        parsed = parse_file_name(path.name)
        if parsed is not None:
            by_dir.setdefault(path.parent, []).append((*parsed, path))
            continue
        imported = parse_import_file_name(path.name)
        if imported is not None:  # an import file: the highest generation of its <id>-<n> wins
            key = (path.parent, imported[0], imported[1])
            seen = newest.get(key)
            if seen is None or imported[2] > seen[0]:
                if seen is not None:
                    out.add(seen[1])
                newest[key] = (imported[2], path)
            else:
                out.add(path)
    for entries in by_dir.values():
        stale = _met_by_a_higher_token(entries)
        out |= stale
        # in (first asc, last desc, generation desc) order, a file is superseded exactly when an
        # earlier one reaches as far: that one starts no later and covers it (or is newer)
        entries = sorted((e for e in entries if e[4] not in stale), key=lambda e: (e[0], -e[1], -e[2]))
        reach = -1
        for _first, last, _gen, _token, path in entries:
            if reach >= last:
                out.add(path)
            reach = max(reach, last)
    return out


def _met_by_a_higher_token(entries: list[tuple[int, int, int, int, Path]]) -> set[Path]:
    """The files of one folder (``(first, last, generation, token, path)``) whose seq range meets
    that of a file with a higher token (rule 1 of the module docstring)."""
    tokens = sorted({e[3] for e in entries})
    out: set[Path] = set()
    for token in tokens[:-1]:
        # the seq ranges of the files with a higher token, merged into disjoint sorted ranges
        merged: list[list[int]] = []
        for first, last in sorted((e[0], e[1]) for e in entries if e[3] > token):
            if merged and first <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        starts = [m[0] for m in merged]
        for first, last, _gen, t, path in entries:
            k = bisect.bisect_right(starts, last) - 1  # the last range starting at or before ``last``
            if t == token and k >= 0 and merged[k][1] >= first:
                out.add(path)
    return out


def data_files(lake_root: Path, eds_id: str) -> list[Path]:
    """Every committed Parquet file of the store, sorted (names starting with ``.`` or ``_`` are
    work in progress and not part of the store; superseded files are left out)."""
    root = store_dir(lake_root, eds_id)
    if not root.is_dir():
        return []
    files = [p for p in root.rglob("*.parquet")
             if not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)]
    gone = superseded(files)
    return sorted(p for p in files if p not in gone)


def file_day(lake_root: Path, eds_id: str, path: Path) -> dt.date | None:
    """The day of the folder ``path`` (a file of the store) is in; None outside a day folder."""
    try:
        year, month, day = Path(path).relative_to(store_dir(lake_root, eds_id)).parts[:3]
        return dt.date(int(year), int(month), int(day))
    except (ValueError, TypeError):
        return None


def files_between(lake_root: Path, eds_id: str, files: list[Path], lowest: dt.datetime | None,
                  highest: dt.datetime | None) -> list[Path]:
    """The files of ``files`` (the store's) that can hold a row whose eventTime is within
    ``lowest``..``highest`` (naive UTC; None: unbounded): every file whose day folder is within
    those days, and every file outside a day folder."""
    lo = lowest.date() if lowest is not None else None
    hi = highest.date() if highest is not None else None
    out = []
    for path in files:
        day = file_day(lake_root, eds_id, path)
        if day is None or ((lo is None or day >= lo) and (hi is None or day <= hi)):
            out.append(path)
    return out
