"""Train the zstd dictionary the SQLite event store compresses records with.

    python3 scripts/train_zdict.py ../shared/datasets/cloudtrail opentrail/store/cloudtrail.zdict

Reads every record of every file below the folder (the importer's reader, so every layout counts),
trains a 32 KiB dictionary with zstandard.train_dictionary and writes it. A store keeps the
dictionary it was created with, so a new dictionary only affects new stores.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import zstandard

from opentrail.events.files import iter_file_records

DICT_BYTES = 32 * 1024


def main(folder: str, out: str) -> None:
    samples = []
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".gz", ".log"):
            samples += [orjson.dumps(i.record) for i in iter_file_records(path) if isinstance(i.record, dict)]
    zdict = zstandard.train_dictionary(DICT_BYTES, samples, level=3)
    Path(out).write_bytes(zdict.as_bytes())
    print(f"{len(samples)} records -> {out} ({len(zdict.as_bytes())} bytes)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
