"""The on-disk spool of :class:`opentrail.client.EventClient`: an append-only queue of encoded records.

Layout of ``spool_dir``::

    lock                     fcntl lock held by the one process using the directory
    00000000000000000001.seg segments, oldest first; each line is one record's compact JSON + "\\n"
    00000000000000000002.seg (orjson never writes a raw newline inside a value)

- :meth:`Spool.append` writes a record with one ``write(2)`` on an ``O_APPEND`` descriptor, so an
  appended record survives the application process being killed; :meth:`Spool.sync` (called by
  the client's sender every ``flush_interval_s``) fsyncs, so it survives a machine crash after that.
- A segment is closed at ``segment_max_bytes`` or when everything in it was delivered, and deleted
  once every record in it was acknowledged by the server.
- The spool holds at most ``max_bytes`` of segment files (delivered records of the current
  segment count until it is closed). An append that would go over the bound is refused: the
  caller counts the record as dropped and logs it; it never blocks.
- After a restart every segment is replayed from its start, in order. Records delivered just
  before a crash may be sent twice; the server deduplicates on eventID, so they are stored once.
- A last line without its newline (a write torn by a crash) is ignored; a line that is not JSON
  (a machine crash between write and fsync) is skipped and counted in :attr:`Spool.corrupt`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("opentrail.client")

SEGMENT_SUFFIX = ".seg"
LOCK_FILE = "lock"
#: Read at most this many bytes from a segment for one batch (more than a batch needs).
_READ_CHUNK = 1 << 20


class SpoolLockedError(RuntimeError):
    """Another process (or another client in this process) uses the spool directory."""


@dataclass(frozen=True, slots=True)
class SpoolBatch:
    """Records read from segment ``segment`` between byte offsets ``start`` and ``end``."""

    records: list[bytes]
    segment: int
    start: int
    end: int


class Spool:
    """An append-only, size-bounded, crash-safe queue of records in ``directory``.

    Thread-safe: appends come from application threads, reads/acks/syncs from the sender thread.
    Raises :class:`SpoolLockedError` when the directory is in use by another process.
    """

    def __init__(self, directory: Path, *, max_bytes: int, segment_max_bytes: int = 8 << 20) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_max_bytes = segment_max_bytes
        self.corrupt = 0
        self._lock = threading.Lock()
        self._lock_fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise SpoolLockedError(f"spool directory {self.directory} is in use by another process") from None
        # segment number -> size in bytes, for every segment on disk (closed ones and the active one)
        self._sizes: dict[int, int] = {}
        self._records = 0  # records on disk not yet acknowledged
        for path in sorted(self.directory.glob("*" + SEGMENT_SUFFIX)):
            try:
                seq = int(path.stem)
            except ValueError:
                continue
            data = path.read_bytes()
            self._sizes[seq] = len(data)
            self._records += data.count(b"\n")
        self._replayed = self._records
        self._next_seq = max(self._sizes, default=0) + 1
        self._active: int | None = None  # segment being appended to
        self._fd: int | None = None
        self._dirty = False
        self._to_sync: list[int] = []  # descriptors of closed segments waiting for their fsync
        self._read_seg: int | None = min(self._sizes) if self._sizes else None
        self._read_off = 0
        self._closed = False

    # -- writing (application threads) ---------------------------------------------------------

    def append(self, data: bytes) -> bool:
        """Append one encoded record (no newline in it). False when the spool is full or closed."""
        line = data + b"\n"
        with self._lock:
            if self._closed or self.total_bytes() + len(line) > self.max_bytes:
                return False
            if self._fd is None or self._sizes[self._active] + len(line) > self.segment_max_bytes:  # type: ignore[index]
                self._rotate()
            assert self._fd is not None and self._active is not None
            os.write(self._fd, line)
            self._sizes[self._active] += len(line)
            self._records += 1
            self._dirty = True
            if self._read_seg is None:
                self._read_seg, self._read_off = self._active, 0
            return True

    def _rotate(self) -> None:
        if self._fd is not None:
            self._to_sync.append(self._fd)
        seq = self._next_seq
        self._next_seq += 1
        path = self.directory / f"{seq:020d}{SEGMENT_SUFFIX}"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._active = seq
        self._sizes[seq] = 0

    # -- reading (sender thread) ----------------------------------------------------------------

    def read_batch(self, max_events: int, max_bytes: int) -> SpoolBatch | None:
        """The next records after the last acknowledged batch (never across segments), or None when
        there are none. Reading again before :meth:`ack` returns the same records."""
        while True:
            with self._lock:
                seg, off = self._read_seg, self._read_off
                if seg is None:
                    return None
                size = self._sizes[seg]
                active = seg == self._active
            if off >= size:
                if active:
                    return None
                with self._lock:
                    self._finish_segment(seg)
                continue
            with open(self.directory / f"{seg:020d}{SEGMENT_SUFFIX}", "rb") as f:
                f.seek(off)
                chunk = f.read(min(size - off, max(max_bytes, _READ_CHUNK)))
            records: list[bytes] = []
            pos = 0
            used = 0
            while len(records) < max_events:
                nl = chunk.find(b"\n", pos)
                if nl < 0:
                    break
                line = chunk[pos:nl]
                if records and used + len(line) > max_bytes:
                    break
                pos = nl + 1
                if not _is_json(line):
                    self.corrupt += 1
                    with self._lock:
                        self._records -= 1
                    log.warning("opentrail spool: skipped a damaged record in segment %d at byte %d", seg, off + pos)
                    continue
                records.append(line)
                used += len(line)
            if pos == 0 and not active:
                # a torn last line with no newline: nothing more can come, skip it
                log.warning("opentrail spool: ignored a torn record at the end of segment %d", seg)
                with self._lock:
                    self._finish_segment(seg)
                continue
            if not records:
                with self._lock:
                    if pos and self._read_seg == seg:
                        self._read_off = off + pos
                continue
            return SpoolBatch(records, seg, off, off + pos)

    def ack(self, batch: SpoolBatch) -> None:
        """The server acknowledged ``batch``: advance past it; delete segments fully delivered."""
        with self._lock:
            if self._read_seg != batch.segment or self._read_off != batch.start:
                return
            self._read_off = batch.end
            self._records -= len(batch.records)
            if self._read_off >= self._sizes[batch.segment]:
                if batch.segment == self._active:
                    if self._read_off >= self.segment_max_bytes // 8:
                        self._close_active()
                        self._finish_segment(batch.segment)
                else:
                    self._finish_segment(batch.segment)

    def _close_active(self) -> None:
        if self._fd is not None:
            self._to_sync.append(self._fd)
        self._fd = None
        self._active = None

    def _finish_segment(self, seg: int) -> None:
        """Delete segment ``seg`` (fully read) and move the read cursor to the next one. Lock held."""
        try:
            (self.directory / f"{seg:020d}{SEGMENT_SUFFIX}").unlink()
        except FileNotFoundError:
            pass
        self._sizes.pop(seg, None)
        later = sorted(s for s in self._sizes if s > seg)
        self._read_seg = later[0] if later else None
        self._read_off = 0

    # -- durability -----------------------------------------------------------------------------

    def sync(self) -> None:
        """fsync what was appended so far (outside the append lock, so puts never wait for it)."""
        with self._lock:
            fds = self._to_sync
            self._to_sync = []
            dup = os.dup(self._fd) if self._fd is not None and self._dirty else None
            self._dirty = False
            created = bool(fds) or dup is not None
        for fd in fds:
            os.fsync(fd)
            os.close(fd)
        if dup is not None:
            try:
                os.fsync(dup)
            finally:
                os.close(dup)
        if created:
            dfd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    # -- state ----------------------------------------------------------------------------------

    def total_bytes(self) -> int:
        """Bytes of segment files on disk."""
        return sum(self._sizes.values())

    @property
    def records(self) -> int:
        """Records on disk not yet acknowledged."""
        return self._records

    @property
    def replayed(self) -> int:
        """Records found in the spool when it was opened (left by an earlier process)."""
        return self._replayed

    def close(self) -> None:
        """fsync, delete the active segment when it was fully delivered, release the lock."""
        self.sync()
        with self._lock:
            self._closed = True
            if self._active is not None and self._read_seg == self._active and self._read_off >= self._sizes[self._active]:
                seg = self._active
                self._close_active()
                self._finish_segment(seg)
            elif self._fd is not None:
                self._close_active()
            fds, self._to_sync = self._to_sync, []
        for fd in fds:
            os.fsync(fd)
            os.close(fd)
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)


def _is_json(line: bytes) -> bool:
    """A cheap check that ``line`` is a whole record (the server rejects anything else anyway)."""
    return line.startswith(b"{") and line.endswith(b"}")
