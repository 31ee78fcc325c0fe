"""A folder lake's sweep (the start of crash recovery) deletes the ``.tmp-`` files earlier writes
left, and not one that another thread of this process is writing now: a Lake import's flush, or
compaction, while ingestion recovers from a failed round."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opentrail.lake import files as files_module
from opentrail.lake.files import TMP_PREFIX, FolderFiles

EDS = "0b6f2c3e-0000-4000-8000-000000000009"


def test_sweep_spares_the_file_another_thread_is_writing_and_deletes_leftovers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = FolderFiles(tmp_path / "lake")
    day = tmp_path / "lake" / EDS / "2023" / "07" / "10"
    day.mkdir(parents=True)
    leftover = day / f"{TMP_PREFIX}import-x-0.parquet"
    leftover.write_bytes(b"left by a crash")
    written, release = threading.Event(), threading.Event()
    real_write = pq.write_table

    def paused_write(table: pa.Table, where: Any, **kwargs: Any) -> None:
        real_write(table, where, **kwargs)
        written.set()
        assert release.wait(30)

    monkeypatch.setattr(files_module.pq, "write_table", paused_write)
    final = day / "import-y-0.parquet"
    writer = threading.Thread(target=lake.write, args=(pa.table({"eventid": ["a", "b"]}), final))
    writer.start()
    try:
        assert written.wait(30)
        in_progress = day / f"{TMP_PREFIX}import-y-0.parquet"
        assert in_progress.exists()
        assert lake.sweep() == 1
        assert not leftover.exists()
        assert in_progress.exists()
    finally:
        release.set()
        writer.join(30)
    assert not writer.is_alive()
    assert pq.read_table(final).column("eventid").to_pylist() == ["a", "b"]
    assert sorted(p.name for p in day.iterdir()) == ["import-y-0.parquet"]
    assert files_module._WRITING == set()


def test_a_write_that_failed_leaves_a_file_the_next_sweep_deletes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = FolderFiles(tmp_path / "lake")
    final = tmp_path / "lake" / EDS / "2023" / "07" / "10" / "import-z-0.parquet"

    def failing_rename(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module.os, "replace", failing_rename)
    with pytest.raises(OSError):
        lake.write(pa.table({"eventid": ["a"]}), final)
    monkeypatch.undo()
    assert (final.parent / f"{TMP_PREFIX}import-z-0.parquet").exists()
    assert files_module._WRITING == set()
    assert lake.sweep() == 1
    assert list(final.parent.iterdir()) == []
