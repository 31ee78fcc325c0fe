"""The digest worker: every trail with log file validation on gets a signed digest file per Region
every ``interval_s`` seconds (AWS: every hour), also when no log file was delivered.

Rules (CloudTrail User Guide, "CloudTrail digest file structure"; behaviour the AWS CLI's
``validate-logs`` relies on):

- A chain (trail, Region) starts when the worker sees the trail logging with validation on
  (StartLogging, CreateTrail/UpdateTrail with EnableLogFileValidation) -- at most ``poll_s`` after
  the call -- or when the recorder is handed a log file of that trail delivered before the worker
  looked (:mod:`.recorder`), whichever is first: every file delivered after the call is digested.
  The home Region's chain starts then; another Region's (multi-Region trails) with its first log
  file. The first digest of a chain is a *starting* digest (``previousDigest*`` null).
- Digests cover consecutive periods [start, start + interval_s) of *delivery* time and list every
  log file delivered in it (recorded by :mod:`.recorder`), each file in exactly one digest. A
  digest chains to the previous one: its bucket, key, SHA-256 of its uncompressed bytes and its
  signature. After the server was down the missed periods are written one by one (late): the
  trail kept logging, so the chain goes on (AWS breaks chains only for StopLogging, DeleteTrail
  and validation turned off).
- An organization trail's chain of one member account (``AWSLogs/<o-id>/<account>/``) closes the
  same way when the trail stops covering that account: the account is removed from the
  organization, the organization is deleted or trusted access for CloudTrail is disabled (the
  trail then writes the plain ``AWSLogs/<account>/`` layout, whose chain starts afresh). AWS does
  not document this case; ending the chain with a final digest, as for StopLogging, is opentrail's
  choice, so that ``validate-logs`` finds a closed chain instead of empty digests forever.
- StopLogging, DeleteTrail or turning validation off *closes* the chain: a *final* digest, ending
  when it is written, covers what was delivered since the last one. It waits until delivery has
  uploaded every log file planned before the change -- and, for StopLogging and DeleteTrail, every
  event taken before it (``delivery_caught_up``) -- or ``final_wait_s`` passed. Log files of a stopped or deleted trail delivered after its final
  digest are *late*: they go into *backfill* digests (key suffix ``_backfill``, metadata
  ``backfill-generation-timestamp``), which form their own chain per trail and Region and start
  when the oldest late file was delivered. (AWS documents backfill digests only by their key; the
  fields are opentrail's choice and are what the AWS CLI validates.)
- Each digest is written to ``digests.db`` signed (Region's key, :mod:`.keys`), with its files
  assigned and its chain moved, in one transaction, then uploaded to the trail's bucket with the
  ``signature`` / ``signature-algorithm`` metadata; failed uploads are retried with exponential
  backoff and reported through ``TrailService.record_digest_delivery`` (LatestDigestDeliveryTime /
  LatestDigestDeliveryError).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import TYPE_CHECKING, Any, Callable

from ..objectstore.base import ObjectStorage, StorageError
from ..shards import every_unit
from ..trails.model import Trail
from ..trails.organization import covered
from ..trails.service import TrailService
from . import format as F
from .keys import KeyStore
from .recorder import ACTIVE, LATE, LogFileRecorder, validating as _validating
from .state import BACKFILL, REGULAR, Chain, DeliveredFile, DigestState, new_chain

if TYPE_CHECKING:
    from ..delivery.state import DeliveryState

log = logging.getLogger(__name__)

#: AWS writes a digest every hour.
DEFAULT_INTERVAL_S = 3600.0
#: Uploaded digests and their files are forgotten this long after the digest's end (seconds).
KEEP_S = 7 * 86400


def _error_code(exc: StorageError) -> str:
    from ..delivery.worker import delivery_error

    return delivery_error(exc)


class DigestWorker(threading.Thread):
    """Writes and uploads digest files (see the module docstring). :meth:`step` does one round
    (tests call it directly); :attr:`recorder` is the delivery worker's ``on_delivered`` hook.
    ``delivery_caught_up(arn)`` says whether delivery uploaded everything a stopped or deleted
    trail took (None: never wait). ``owns(arn)`` picks the trails whose chains it keeps (one
    shard's, :mod:`opentrail.shards`, the shard of the delivery worker that feeds
    :attr:`recorder`; None: all)."""

    def __init__(self, trails: TrailService, storage: ObjectStorage, keys: KeyStore, state: DigestState, *,
                 clock: Callable[[], float], interval_s: float = DEFAULT_INTERVAL_S, final_wait_s: float | None = None,
                 delivery_caught_up: Callable[[str], bool] | None = None, poll_s: float = 1.0,
                 max_backoff_s: float = 300.0, owns: Callable[[str], bool] | None = None) -> None:
        super().__init__(name="opentrail-digests", daemon=True)
        if interval_s < 1:
            raise ValueError("interval_s must be at least 1 second")
        self._trails, self._storage, self._keys, self._state = trails, storage, keys, state
        self._clock = clock
        self._interval = int(interval_s)
        self._final_wait = int(interval_s if final_wait_s is None else final_wait_s)
        self._caught_up = delivery_caught_up
        self._poll_s, self._max_backoff_s = poll_s, max_backoff_s
        self._mine = owns or every_unit
        self._stop_event = threading.Event()
        self._failures: dict[str, int] = {}
        self._next_attempt: dict[str, float] = {}
        self._last_prune = float("-inf")
        #: whom organization trails cover (None: no organizations; settable after construction)
        self.organizations: Any = None
        self.recorder = LogFileRecorder(state, clock, self._owned_trails, home=self._home)
        with state.lock:
            self._publish(self._owned_chains(), {t.arn: t for t in self._owned_trails()})

    # --- thread ------------------------------------------------------------------------------
    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.step()
            except Exception:  # the round is redone from durable state
                log.exception("digest round failed")
            self._stop_event.wait(self._poll_s)

    def stop(self) -> None:
        self._stop_event.set()

    # --- one round ---------------------------------------------------------------------------
    def step(self) -> int:
        """Open/close chains, write due digests, upload pending ones. Returns digests written."""
        written = 0
        with self._state.lock:
            now = int(self._clock())
            trails = {t.arn: t for t in self._owned_trails()}
            chains = {(c.arn, c.region, c.kind): c for c in self._owned_chains()}
            for key, chain in list(chains.items()):
                if chain.kind == REGULAR and chain.active:
                    chain, n = self._advance(chain, trails.get(chain.arn), now)
                    chains[key] = chain
                    written += n
            for trail in trails.values():
                key = (trail.arn, self._home(trail), REGULAR)
                chain = chains.get(key)
                if _validating(trail) and (chain is None or not chain.active):
                    chains[key] = self._open(trail, now)
            written += self._backfill(chains, now)
            self._publish(list(chains.values()), trails)
        self._upload_due(now)
        if now - self._last_prune >= 3600:
            self._state.prune(now - KEEP_S)
            self._last_prune = now
        return written

    def _owned_trails(self) -> list[Trail]:
        return [t for t in self._trails.trails() if self._mine(t.arn)]

    def _owned_chains(self) -> list[Chain]:
        return [c for c in self._state.chains() if self._mine(c.arn)]

    def _publish(self, chains: list[Chain], trails: dict[str, Trail]) -> None:
        interest: dict[str, str] = {}
        active: dict[tuple[str, str], Chain] = {}
        for c in chains:
            if c.kind != REGULAR:
                continue
            if c.active:
                interest[c.arn] = ACTIVE
                active[(c.arn, c.region)] = c
            elif c.close_reason in ("stop", "delete") and interest.get(c.arn) != ACTIVE:
                trail = trails.get(c.arn)
                if trail is None or not trail.status.is_logging:
                    interest[c.arn] = LATE
        self.recorder.set_interest(interest, active)

    def _home(self, trail: Trail) -> str:
        """The scope of a trail's home chain (:func:`.format.digest_scope`): its home Region; for an
        organization trail its management account's home Region in the organization layout."""
        org_id, _ = covered(self.organizations, trail.account_id, trail.is_organization_trail)
        return F.digest_scope(trail.home_region, trail.account_id, org_id)

    def _covers(self, trail: Trail, scope: str) -> bool:
        """The trail still writes the layout of chain ``scope``: a plain Region while it covers no
        organization; ``<o-id>/<account>/<region>`` while it covers that organization and account
        (an account removed, the organization deleted or trusted access off end that chain)."""
        org_id, member, _ = F.scope_parts(scope)
        now_org, accounts = covered(self.organizations, trail.account_id, trail.is_organization_trail)
        return org_id == now_org and (member is None or member in accounts)

    def _open(self, trail: Trail, now: int, region: str | None = None) -> Chain:
        """A new chain of ``trail`` in ``region`` (a :func:`.format.digest_scope`; default: its home
        chain's) starting at ``now``."""
        chain = new_chain(trail, region or self._home(trail), now)
        self._state.write([DigestState.put_chain(chain)])
        return chain

    def _advance(self, chain: Chain, trail: Trail | None, now: int) -> tuple[Chain, int]:
        """Regular digests due for an active chain, then its final digest when it is closing."""
        written = 0
        if trail is not None:
            chain = dataclasses.replace(chain, account_id=trail.account_id, trail_name=trail.name,
                                        bucket=trail.s3_bucket_name, prefix=trail.s3_key_prefix)
        reason = None if trail is not None and _validating(trail) else _close_reason(trail)
        if reason is None and trail is not None and not self._covers(trail, chain.region):
            reason = "coverage"
        if reason is not None and chain.closing_at is None:
            chain = dataclasses.replace(chain, closing_at=now, close_reason=reason)
            self._state.write([DigestState.put_chain(chain)])
        elif reason is None and chain.closing_at is not None:
            # logging or validation came back before the final digest: that one is written now and
            # a new chain starts, as AWS does for a restart
            if now > chain.start_time and trail is not None:
                self._write(chain, now, self._state.pending_files(chain.arn, chain.region), final=True)
                return self._open(trail, now, chain.region), 1
            chain = dataclasses.replace(chain, closing_at=None, close_reason=None)
            self._state.write([DigestState.put_chain(chain)])
        while chain.start_time + self._interval <= now:
            end = chain.start_time + self._interval
            files = [f for f in self._state.pending_files(chain.arn, chain.region) if f.delivered_at < end]
            chain = self._write(chain, end, files)
            written += 1
        if chain.closing_at is not None and now > chain.start_time:
            waited = now - chain.closing_at >= self._final_wait
            ready = self._caught_up is None or self._caught_up(chain.arn)
            if ready or waited:
                chain = self._write(chain, now, self._state.pending_files(chain.arn, chain.region), final=True)
                written += 1
        return chain, written

    def _backfill(self, chains: dict[tuple[str, str, str], Chain], now: int) -> int:
        """Backfill digests for late files: pending files of a Region whose regular chain is closed
        (or that were delivered before its current period)."""
        written = 0
        for arn, region in sorted(p for p in self._state.pending_regions() if self._mine(p[0])):
            regular = chains.get((arn, region, REGULAR))
            late = [f for f in self._state.pending_files(arn, region)
                    if regular is None or not regular.active or f.delivered_at < regular.start_time]
            if regular is None:  # a Region whose chain never started: the trail's home chain describes it
                home = next((c for (a, _, k), c in chains.items() if a == arn and k == REGULAR), None)
                regular = None if home is None else dataclasses.replace(home, region=region, active=False)
            if not late or regular is None:
                continue
            key = (arn, region, BACKFILL)
            chain = chains.get(key) or dataclasses.replace(
                regular, kind=BACKFILL, active=False, closing_at=None, close_reason=None, prev_bucket=None,
                prev_key=None, prev_hash=None, prev_signature=None, prev_end=None, start_time=0)
            chain = dataclasses.replace(chain, bucket=regular.bucket, prefix=regular.prefix,
                                        start_time=min(f.delivered_at for f in late))
            if now <= chain.start_time or (chain.prev_end is not None and now <= chain.prev_end):
                continue  # a digest must end after its start and after the previous one
            chains[key] = self._write(chain, now, late)
            written += 1
        return written

    # --- writing -----------------------------------------------------------------------------
    def _write(self, chain: Chain, end: int, files: list[DeliveredFile], *, final: bool = False) -> Chain:
        """Sign the digest of ``chain`` ending at ``end`` listing ``files``; store it, assign the
        files, move the chain -- one transaction. Returns the moved chain."""
        backfill = chain.kind == BACKFILL
        org_id, member, region = F.scope_parts(chain.region)
        account = member or chain.account_id
        key = F.digest_key(chain.prefix, account, region, chain.trail_name, chain.home_region, end,
                           backfill=backfill, organization_id=org_id)
        previous = None
        if chain.prev_key is not None:
            assert chain.prev_bucket and chain.prev_hash and chain.prev_signature and chain.prev_end is not None
            previous = F.PreviousDigest(chain.prev_bucket, chain.prev_key, chain.prev_hash, chain.prev_signature,
                                        chain.prev_end)
        entries = tuple(F.LogFileEntry(f.bucket, f.key, f.hash, f.newest, f.oldest) for f in files)
        digest = F.Digest(account, chain.start_time, end, chain.bucket, key, "", previous, entries)
        _, raw, signature = self._keys.sign_digest(region, digest)
        metadata = F.signature_metadata(signature, end if backfill else None)
        moved = dataclasses.replace(chain, start_time=end, prev_bucket=chain.bucket, prev_key=key,
                                    prev_hash=F.sha256_hex(raw), prev_signature=signature, prev_end=end)
        if final:
            moved = dataclasses.replace(moved, active=False)
        statements = [DigestState.add_digest(chain.arn, chain.region, chain.bucket, key, F.gzip_body(raw), metadata, end)]
        # the digest just inserted (another shard's writer may insert one meanwhile: not max(id) alone)
        statements += [("UPDATE files SET digest_id = (SELECT max(id) FROM digests WHERE arn = ? AND region = ? "
                        "AND bucket = ? AND key = ?) WHERE bucket = ? AND key = ?",
                        (chain.arn, chain.region, chain.bucket, key, f.bucket, f.key)) for f in files]
        statements.append(DigestState.put_chain(moved))
        self._state.write(statements)
        log.info("digest %s: %d log files%s", key, len(files), " (final)" if final else "")
        return moved

    # --- uploads -----------------------------------------------------------------------------
    def _upload_due(self, now: float) -> None:
        for planned in self._state.planned_digests():
            if not self._mine(planned.arn):
                continue  # another shard's
            if self._next_attempt.get(planned.arn, float("-inf")) > now:
                continue
            try:
                self._storage.put_object(planned.bucket, planned.key, planned.body, planned.metadata)
            except StorageError as exc:
                failures = self._failures[planned.arn] = self._failures.get(planned.arn, 0) + 1
                self._next_attempt[planned.arn] = now + min(self._max_backoff_s, 2.0 ** (failures - 1))
                log.warning("digest %s to bucket %s failed (%s): %s", planned.key, planned.bucket, failures, exc)
                self._trails.record_digest_delivery(planned.arn, now, _error_code(exc))
                continue
            self._state.mark_uploaded(planned.id)
            self._failures.pop(planned.arn, None)
            self._next_attempt.pop(planned.arn, None)
            self._trails.record_digest_delivery(planned.arn, now, None)


def delivery_caught_up(state: "DeliveryState") -> Callable[[str], bool]:
    """``delivery_caught_up(arn)`` for :class:`DigestWorker` over the delivery state: no planned
    log file of the trail is waiting for upload, and -- when its last logging mark stopped logging
    -- delivery has planned every event up to that mark. A deleted trail (marks forgotten) only
    waits for its planned files: delivery drops what it had not planned yet."""

    def check(arn: str) -> bool:
        if any(p.arn == arn for p in state.pending_plans()):
            return False
        marks = state.marks().get(arn)
        if not marks or marks[-1].logging:
            return True
        return state.read_seqs().get(arn, 0) >= marks[-1].seq

    return check


def _close_reason(trail: Trail | None) -> str:
    if trail is None:
        return "delete"
    if not trail.status.is_logging:
        return "stop"
    return "validation"
