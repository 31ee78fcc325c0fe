"""``opentrail import``: read CloudTrail files and folders and send their records to a sink.

The sink is the ingest service -- :func:`opentrail.ingest.ingest_records` on a local store, or the
HTTP ingest client when a server runs -- so an import is exactly as strict as any other producer.
Folders are walked recursively in sorted order; in a folder only files with a known extension
(:data:`IMPORT_SUFFIXES`) are read, the others are counted as skipped. Files named explicitly are
always read. Records go to the sink in batches of ``batch_size``, across file boundaries.

Invariant of the summary: ``records_read == imported + duplicates + expired + len(records_rejected)``.
"""

from __future__ import annotations

import shlex
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .events.files import iter_file_records
from .ingest import IngestOutcome

#: File name endings read when walking a folder.
IMPORT_SUFFIXES: tuple[str, ...] = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".gz", ".log")

#: How many rejected records :meth:`ImportSummary.render` lists before summarising the rest.
RENDER_REJECTED_LIMIT = 20


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """Progress so far, reported after each file and each batch sent."""

    files_seen: int
    records_read: int
    imported: int
    current_file: Path | None

    def render(self) -> str:
        """One progress line, e.g. ``12 files, 3400 records read, 3100 imported (logs/a.json)``."""
        where = f" ({self.current_file})" if self.current_file is not None else ""
        return f"{self.files_seen} files, {self.records_read} records read, {self.imported} imported{where}"


@dataclass(slots=True)
class ImportSummary:
    """What an import did.

    - ``files_seen``: files opened; ``files_skipped``: files in folders not read (unknown suffix);
    - ``files_rejected``: (path, reason) of files not read at all (bad JSON, digest file...);
    - ``records_read``: records found in the files, including rejected ones;
    - ``imported`` / ``duplicates`` / ``expired``: as the sink counted them;
    - ``records_rejected``: (path, location in the file, code, reason);
    - ``accounts``: events imported per account id, in the order first met.
    """

    files_seen: int = 0
    files_skipped: int = 0
    files_rejected: list[tuple[Path, str]] = field(default_factory=list)
    records_read: int = 0
    imported: int = 0
    duplicates: int = 0
    expired: int = 0
    records_rejected: list[tuple[Path, str, str, str]] = field(default_factory=list)
    accounts: dict[str, int] = field(default_factory=dict)

    def render(self, *, data_dir: Path | None = None, admin_account_id: str | None = None) -> str:
        """A human summary: one ``name: count`` line per figure (``records older than retention``
        only when an older server counted some), then one line per account imported into saying
        how to read its history -- ``admin_account_id`` with the server's ``opentrail`` profile,
        others with a key made by ``opentrail create-access-key --data-dir <data_dir> --profile
        acct-<id>`` -- then the rejected files and (up to :data:`RENDER_REJECTED_LIMIT`) rejected
        records."""
        lines = [
            f"files read: {self.files_seen}",
            f"files skipped: {self.files_skipped}",
            f"files rejected: {len(self.files_rejected)}",
            f"records read: {self.records_read}",
            f"records imported: {self.imported}",
            f"records duplicate: {self.duplicates}",
        ]
        if self.expired:
            lines.append(f"records older than retention: {self.expired}")
        lines.append(f"records rejected: {len(self.records_rejected)}")
        if self.accounts:
            lines.append("Imported into:")
            where = shlex.quote(str(data_dir if data_dir is not None else "opentrail-data"))
            for account, n in self.accounts.items():
                if account == admin_account_id:
                    how = "read them with the server's profile: AWS_PROFILE=opentrail"
                else:
                    how = (f"read them with: opentrail create-access-key --data-dir {where} --account-id {account}"
                           f" --profile acct-{account}, then AWS_PROFILE=acct-{account}")
                lines.append(f"  {account}: {n:,} events — {how}")
        if self.files_rejected:
            lines.append("Rejected files:")
            lines.extend(f"  {path}: {reason}" for path, reason in self.files_rejected)
        if self.records_rejected:
            lines.append("Rejected records:")
            for path, location, code, reason in self.records_rejected[:RENDER_REJECTED_LIMIT]:
                lines.append(f"  {path} {location}: {code}: {reason}")
            more = len(self.records_rejected) - RENDER_REJECTED_LIMIT
            if more > 0:
                lines.append(f"  ... and {more} more")
        return "\n".join(lines)


def _wanted(path: Path) -> bool:
    name = path.name.lower()
    return not name.startswith(".") and name.endswith(IMPORT_SUFFIXES)


def iter_import_files(paths: Sequence[Path], summary: ImportSummary) -> Iterator[Path]:
    """Files to read, in order: each path as given, folders walked recursively in sorted order."""
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if _wanted(child):
                    yield child
                else:
                    summary.files_skipped += 1
        else:
            yield path


#: Batches handed to the sink and not yet answered, at most.
PIPELINE_BATCHES = 2


def run_import(
    paths: Sequence[Path],
    *,
    sink: Callable[[list[Any]], IngestOutcome],
    batch_size: int = 5000,
    progress: Callable[[ImportProgress], None] | None = None,
) -> ImportSummary:
    """Import every record under ``paths`` through ``sink`` and return the summary.

    ``sink`` receives lists of at most ``batch_size`` decoded records and returns the
    :class:`IngestOutcome` of each; its rejections (indexes into the list) are mapped back to
    file and location. Sink errors propagate (records of earlier batches stay imported).
    """
    summary = ImportSummary()
    batch: list[Any] = []
    origins: list[tuple[Path, str]] = []
    current: Path | None = None
    # One sink thread takes batches in order (so "the first copy wins" among duplicates is the
    # file order) while the next batch is read: reading overlaps with the server or the store
    # making the previous batch durable. At most PIPELINE_BATCHES are handed over unanswered.
    pending: deque[tuple[Future[IngestOutcome], list[tuple[Path, str]]]] = deque()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opentrail-import")

    def report() -> None:
        if progress is not None:
            progress(ImportProgress(summary.files_seen, summary.records_read, summary.imported, current))

    def settle(limit: int) -> None:
        while len(pending) > limit:
            future, where = pending.popleft()
            outcome = future.result()
            summary.imported += outcome.accepted
            summary.duplicates += outcome.duplicates
            summary.expired += outcome.expired
            for account, n in outcome.accounts:
                summary.accounts[account] = summary.accounts.get(account, 0) + n
            for r in outcome.rejected:
                path, location = where[r.index]
                summary.records_rejected.append((path, location, r.code, r.reason))
            report()

    def flush() -> None:
        if not batch:
            return
        pending.append((pool.submit(sink, list(batch)), list(origins)))
        batch.clear()
        origins.clear()
        settle(PIPELINE_BATCHES - 1)

    for current in iter_import_files(paths, summary):
        summary.files_seen += 1
        for item in iter_file_records(current):
            if item.whole_file:
                summary.files_rejected.append((current, item.reason or ""))
                continue
            summary.records_read += 1
            if item.rejected:
                summary.records_rejected.append((current, item.location, item.code or "", item.reason or ""))
                continue
            batch.append(item.record)
            origins.append((current, item.location))
            if len(batch) >= batch_size:
                flush()
        report()
    try:
        flush()
        settle(0)
    finally:
        pool.shutdown(wait=True)
    return summary
