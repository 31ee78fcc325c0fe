"""The local copies of an object-stored lake's files (``<data-dir>/lake-cache``), least recently
used first out.

The cache folder mirrors the objects' keys below the lake prefix
(``<cache>/<event data store id>/<YYYY>/<MM>/<DD>/<name>``); a copy is complete once it has its
final name (files being written or downloaded start with ``.tmp-``). :class:`LakeCache` tracks
each copy's size and last use (in memory, seeded from the files' modification times at start,
which :meth:`LakeCache.touch` moves forward so the order survives a restart) and deletes the least
recently used copies while the total is over ``max_bytes``. Copies *pinned* (a query or a rewrite
is reading them) are never deleted, so the cache may exceed ``max_bytes`` by what running readers
need. Thread-safe.
"""

from __future__ import annotations

import os
import threading
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Iterable

#: Prefix of files being written or downloaded into the cache.
TMP_PREFIX = ".tmp-"


class LakeCache:
    """Copies under ``root``, at most ``max_bytes`` of them unless pinned (module docstring)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Path, int] | None = None  # path -> size, least recently used first
        self._total = 0
        self._pins: Counter[Path] = Counter()
        #: discarded while pinned: deleted when the last pin goes
        self._doomed: set[Path] = set()

    def _load(self) -> OrderedDict[Path, int]:
        """The entries (scanned from the folder on first use; caller holds the lock)."""
        if self._entries is None:
            found: list[tuple[int, Path, int]] = []
            if self.root.is_dir():
                for dirpath, _dirs, names in os.walk(self.root):
                    for name in names:
                        if name.startswith("."):
                            continue
                        path = Path(dirpath) / name
                        try:
                            st = path.stat()
                        except OSError:
                            continue
                        found.append((st.st_mtime_ns, path, st.st_size))
            found.sort(key=lambda e: (e[0], str(e[1])))
            self._entries = OrderedDict((p, size) for _, p, size in found)
            self._total = sum(size for _, _, size in found)
        return self._entries

    @property
    def total_bytes(self) -> int:
        """Bytes of the copies the cache holds."""
        with self._lock:
            self._load()
            return self._total

    def paths(self) -> list[Path]:
        """The copies, least recently used first."""
        with self._lock:
            return list(self._load())

    def add(self, path: Path, size: int) -> None:
        """Record the complete copy ``path`` of ``size`` bytes as just used."""
        with self._lock:
            entries = self._load()
            self._total -= entries.pop(path, 0)
            entries[path] = size
            self._total += size
            self._doomed.discard(path)

    def touch(self, path: Path) -> None:
        """Record a use of ``path`` (its modification time moves to now)."""
        with self._lock:
            entries = self._load()
            if path in entries:
                entries.move_to_end(path)
        try:
            os.utime(path)
        except OSError:
            pass

    def discard(self, path: Path) -> None:
        """Delete the copy ``path`` (if any) and forget it; a pinned copy is deleted when its last
        pin goes (a reader that pinned it still reads it)."""
        with self._lock:
            entries = self._load()
            self._total -= entries.pop(path, 0)
            if self._pins[path] > 0:
                self._doomed.add(path)
            else:
                Path(path).unlink(missing_ok=True)

    def pin(self, paths: Iterable[Path]) -> None:
        """Keep ``paths`` until :meth:`unpin` (counted: pins of several readers add up)."""
        with self._lock:
            self._pins.update(paths)

    def unpin(self, paths: Iterable[Path]) -> None:
        """Release the pins :meth:`pin` took."""
        with self._lock:
            self._pins.subtract(paths)
            self._pins += Counter()  # drop the zero counts
            for path in [p for p in self._doomed if self._pins[p] <= 0]:
                self._doomed.discard(path)
                path.unlink(missing_ok=True)

    def evict(self) -> list[Path]:
        """Delete least recently used unpinned copies while the total is over ``max_bytes``;
        returns the deleted paths."""
        gone: list[Path] = []
        with self._lock:
            entries = self._load()
            if self._total <= self.max_bytes:
                return gone
            for path in list(entries):
                if self._total <= self.max_bytes:
                    break
                if self._pins[path] > 0:
                    continue
                self._total -= entries.pop(path)
                path.unlink(missing_ok=True)  # under the lock: a reader pins, then looks for the file
                gone.append(path)
        return gone
