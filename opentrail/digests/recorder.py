"""What delivery tells digests: each log file delivered for a trail with validation on.

:meth:`LogFileRecorder.record_log_file` is the delivery worker's ``on_delivered`` hook, called after
a log file's upload succeeded and before delivery forgets the file's plan. For trails the digest
worker follows (:meth:`LogFileRecorder.set_interest`) it records the file's bucket and key, the hex
SHA-256 of its *uncompressed* bytes, the eventTime range of its records and the delivery time in
``digests.db`` (:mod:`.state`); other trails cost one dictionary lookup.

The delivery time is read from the clock while holding the digest state's lock, the same lock the
digest worker holds from reading its clock to committing a digest, so a file is never recorded into
a period whose digest is already written (except after a final digest: those are *late* files and
go into backfill digests, see :mod:`.worker`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable

import orjson
from isal import igzip

from ..events.times import parse_event_time
from . import format as F
from .state import REGULAR, Chain, DeliveredFile, DigestState

log = logging.getLogger(__name__)

#: Interest in a trail's files: "active" (a chain is open or closing), "late" (stopped or deleted:
#: what still arrives belongs to the last period and goes into a backfill digest).
ACTIVE = "active"
LATE = "late"


def event_time_range(raw: bytes) -> tuple[int | None, int | None]:
    """(newest, oldest) eventTime of the records of an uncompressed log file, epoch seconds; None
    when no record has a readable eventTime."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None, None
    records = doc.get("Records") if isinstance(doc, dict) else None
    times: list[int] = []
    for record in records if isinstance(records, list) else ():
        if isinstance(record, dict):
            try:
                times.append(parse_event_time(record.get("eventTime")))
            except ValueError:
                continue
    return (max(times), min(times)) if times else (None, None)


class LogFileRecorder:
    """Records delivered log files of followed trails in ``state``; ``clock`` gives epoch seconds."""

    def __init__(self, state: DigestState, clock: Callable[[], float]) -> None:
        self._state = state
        self._clock = clock
        self._interest: dict[str, str] = {}
        self._chains: dict[tuple[str, str], Chain] = {}

    def set_interest(self, interest: dict[str, str], active_chains: dict[tuple[str, str], Chain]) -> None:
        """Called by the digest worker (holding the state lock): arn -> ACTIVE/LATE, and the active
        regular chains by (arn, region)."""
        self._interest = interest
        self._chains = active_chains

    def record_log_file(self, arn: str, region: str, bucket: str, key: str, body: bytes) -> None:
        """The delivery hook (see the module docstring). Raises what SQLite raises: delivery then
        keeps the plan and uploads the same bytes again later, so nothing is lost."""
        if arn not in self._interest:
            return
        try:
            raw = igzip.decompress(body)
        except (OSError, ValueError, EOFError):
            log.warning("log file %s is not gzip; not digested", key)
            return
        digest_hash = F.sha256_hex(raw)
        newest, oldest = event_time_range(raw)
        with self._state.lock:
            interest = self._interest.get(arn)
            if interest is None:
                return
            now = int(self._clock())
            statements = [DigestState.add_file(DeliveredFile(bucket, key, arn, region, digest_hash, newest, oldest, now))]
            if interest == ACTIVE and (arn, region) not in self._chains:
                # a multi-Region trail's first file of this Region: the Region's chain starts now
                home = next((c for (a, _), c in self._chains.items() if a == arn), None)
                if home is not None:
                    chain = dataclasses.replace(home, region=region, kind=REGULAR, start_time=now, prev_bucket=None,
                                                prev_key=None, prev_hash=None, prev_signature=None, prev_end=None)
                    statements.append(DigestState.put_chain(chain))
                    self._chains = {**self._chains, (arn, region): chain}
            self._state.write(statements)
