"""What delivery tells digests: each log file delivered for a trail with validation on.

:meth:`LogFileRecorder.record_log_file` is the delivery worker's ``on_delivered`` hook, called after
a log file's upload succeeded and before delivery forgets the file's plan. For trails the digest
worker follows (:meth:`LogFileRecorder.set_interest`) it records the file's bucket and key, the hex
SHA-256 of its *uncompressed* bytes, the eventTime range of its records and the delivery time in
``digests.db`` (:mod:`.state`); other trails cost a look at the trail list (in memory).

The delivery time is read from the clock while holding the digest state's lock, the same lock the
digest worker holds from reading its clock to committing a digest, so a file is never recorded into
a period whose digest is already written (except after a final digest: those are *late* files and
go into backfill digests, see :mod:`.worker`).

Which files are digested is decided here, from the trail as it is *when the upload completed*, not
from what the digest worker last noticed (it looks once per poll): a file delivered after
StartLogging or UpdateTrail ``EnableLogFileValidation`` returned is always digested. When the
worker has not opened the trail's chain yet, the recorder opens it (starting at the file's delivery
time) in the same transaction that records the file -- unless the database already holds an
active chain there (the worker, perhaps on another node, opened it meanwhile: it is kept,
:meth:`.state.DigestState.start_chain`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable

import orjson
from isal import igzip

from ..events.times import parse_event_time
from ..trails.model import Trail
from . import format as F
from .state import REGULAR, Chain, DeliveredFile, DigestState, new_chain

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


def validating(trail: Trail) -> bool:
    """The trail logs with log file validation on: its delivered files are digested."""
    return trail.log_file_validation_enabled and trail.status.is_logging


class LogFileRecorder:
    """Records delivered log files of followed trails in ``state``; ``clock`` gives epoch seconds;
    ``trails`` returns every trail as it is now (``TrailService.trails``)."""

    def __init__(self, state: DigestState, clock: Callable[[], float], trails: Callable[[], list[Trail]], *,
                 home: Callable[[Trail], str] = lambda trail: trail.home_region) -> None:
        #: the scope of a trail's home chain (:meth:`opentrail.digests.worker.DigestWorker._home`)
        self._home = home
        self._state = state
        self._clock = clock
        self._trails = trails
        self._interest: dict[str, str] = {}
        self._chains: dict[tuple[str, str], Chain] = {}

    def set_interest(self, interest: dict[str, str], active_chains: dict[tuple[str, str], Chain]) -> None:
        """Called by the digest worker (holding the state lock): arn -> ACTIVE/LATE, and the active
        regular chains by (arn, region)."""
        self._interest = interest
        self._chains = active_chains

    def _validating_trail(self, arn: str) -> Trail | None:
        return next((t for t in self._trails() if t.arn == arn and validating(t)), None)

    def record_log_file(self, arn: str, region: str, bucket: str, key: str, body: bytes) -> None:
        """The delivery hook (see the module docstring). Raises what SQLite raises: delivery then
        keeps the plan and uploads the same bytes again later, so nothing is lost."""
        if arn not in self._interest and self._validating_trail(arn) is None:
            return
        try:
            raw = igzip.decompress(body)
        except (OSError, ValueError, EOFError):
            log.warning("log file %s is not gzip; not digested", key)
            return
        digest_hash = F.sha256_hex(raw)
        newest, oldest = event_time_range(raw)
        with self._state.lock:
            now = int(self._clock())
            statements: list[tuple[str, tuple[object, ...]]] = []
            interest, chains = self._interest, self._chains
            if interest.get(arn) != ACTIVE:
                trail = self._validating_trail(arn)
                if trail is not None:
                    # logging with validation on, not noticed by the worker yet: the chain starts now
                    home = new_chain(trail, self._home(trail), now)
                    statements.append(DigestState.start_chain(home))
                    interest, chains = {**interest, arn: ACTIVE}, {**chains, (arn, home.region): home}
            if arn not in interest:
                return
            statements.append(DigestState.add_file(DeliveredFile(bucket, key, arn, region, digest_hash, newest, oldest, now)))
            if interest[arn] == ACTIVE and (arn, region) not in chains:
                # a multi-Region trail's first file of this Region: the Region's chain starts now
                home_chain = next((c for (a, _), c in chains.items() if a == arn), None)
                if home_chain is not None:
                    chain = dataclasses.replace(home_chain, region=region, kind=REGULAR, start_time=now, prev_bucket=None,
                                                prev_key=None, prev_hash=None, prev_signature=None, prev_end=None,
                                                closing_at=None, close_reason=None)
                    statements.append(DigestState.start_chain(chain))
                    chains = {**chains, (arn, region): chain}
            self._state.write(statements)
            self._interest, self._chains = interest, chains  # only once committed
