"""Channels of CloudTrail Lake integrations: where events from outside AWS (PutAuditEvents) go.

Persisted in ``<data-dir>/lake.db`` (table ``channels``, one JSON document per channel), held in
memory too and reloaded when another node changed them (:mod:`.fresh_rows`). Behaviour copied from AWS (botocore model ``cloudtrail/2013-11-01`` CreateChannel,
GetChannel, UpdateChannel, DeleteChannel, ListChannels; User Guide "Create an integration with an
event source outside of AWS"; ``../shared/reference/lake.md`` §A.3):

- A channel belongs to an account and its Region; the Channel parameter is its ARN
  (``arn:aws:cloudtrail:<region>:<account>:channel/<uuid>``) or its ID. Another account's ARN or a
  value that is neither is ChannelARNInvalidException; an unknown one ChannelNotFoundException.
- Source: ``Custom`` or a partner source name (letters, digits, spaces, ``.``, ``_``, ``-``, at most
  256 characters; else InvalidSourceException); one channel per source, and names unique, per
  account and Region (ChannelAlreadyExistsException); at most 25 channels per account and Region
  (ChannelMaxLimitExceededException, AWS quota page).
- Destinations 1-200: ``EVENT_DATA_STORE`` with the store's ARN or ID as Location. The store must
  be the caller's (EventDataStoreARNInvalidException / EventDataStoreNotFoundException), not
  PENDING_DELETION (InactiveEventDataStoreException) and of category ActivityAuditLog
  (InvalidEventDataStoreCategoryException). ``AWS_SERVICE`` destinations belong to service-linked
  channels, which AWS services create: InvalidParameterException here.
- IngestionStatus (GetChannel): the latest PutAuditEvents attempt, success and error, shared by
  every node and kept across restarts in ``lake-channel-status.db`` (:mod:`.channel_status`: written
  at most every second off the request path, so another node sees it up to a second later).

Changes are staged like those of :class:`opentrail.lake.service.EventDataStoreService`: the API
records a call durably before its change is made.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager

import orjson

from ..staging import Staging
from ..state_db import open_state_db
from ..state_migrate import apply_schema
from ..trails import errors as TE
from ..trails.tags import check_tags, merge_tags, remove_tags
from . import errors as E
from .reruns import write_or_rerun
from .channel_status import FLUSH_S, STATUS_DB, IngestionStatus, IngestionStatusStore
from .fresh_rows import FreshRows

MAX_CHANNELS_PER_REGION = 25
MAX_DESTINATIONS = 200
DESTINATION_TYPES = ("EVENT_DATA_STORE", "AWS_SERVICE")
#: The category a channel's destination stores must have.
ACTIVITY_AUDIT_LOG = "ActivityAuditLog"
_SOURCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,255}")
_CHANNEL_ARN = re.compile(r"arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):([0-9]{12}):channel/(.+)")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

Tags = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class Channel:
    """One channel; ``destinations`` are ``(Type, Location)`` pairs, Locations of event data stores
    kept as their ARNs."""

    id: str
    account_id: str
    region: str
    name: str
    source: str
    destinations: tuple[tuple[str, str], ...]
    tags: Tags = ()
    created_time: float = 0.0

    @property
    def arn(self) -> str:
        return channel_arn(self.region, self.account_id, self.id)

    def store_arns(self) -> tuple[str, ...]:
        return tuple(loc for kind, loc in self.destinations if kind == "EVENT_DATA_STORE")


def channel_arn(region: str, account_id: str, channel_id: str) -> str:
    """``arn:aws:cloudtrail:<region>:<account>:channel/<id>``."""
    return f"arn:aws:cloudtrail:{region}:{account_id}:channel/{channel_id}"


def parse_channel_arn(value: str) -> tuple[str, str, str] | None:
    """(region, account, id) of a channel ARN, or None."""
    m = _CHANNEL_ARN.fullmatch(value)
    return (m.group(1), m.group(2), m.group(3)) if m else None


def is_channel_arn(value: str) -> bool:
    return _CHANNEL_ARN.fullmatch(value) is not None


def _dump(c: Channel) -> bytes:
    return orjson.dumps(dataclasses.asdict(c))


def _load(doc: bytes) -> Channel:
    d = orjson.loads(bytes(doc))
    d["destinations"] = tuple((t, loc) for t, loc in d["destinations"])
    d["tags"] = tuple((k, v) for k, v in d["tags"])
    return Channel(**d)


def _load_all(db: sqlite3.Connection) -> dict[str, Channel]:
    channels = (_load(doc) for (doc,) in db.execute("SELECT doc FROM channels"))
    return {c.id: c for c in channels}


class ChannelService:
    """Channel management over ``<data_dir>/lake.db``; ``stores`` is the
    :class:`opentrail.lake.service.EventDataStoreService` destinations are checked against (its
    ``channel_for_store`` is set to :meth:`channel_for_store`, so DeleteEventDataStore answers
    ChannelExistsForEDSException); ``clock`` gives epoch seconds; ``status_flush_s``: seconds between
    writes of the ingestion status (:class:`.channel_status.IngestionStatusStore`; None: written by
    :meth:`flush_status` and :meth:`close` only)."""

    def __init__(self, data_dir: Path, stores: Any, clock: Callable[[], float], *, recheck_s: float | None = None,
                 status_flush_s: float | None = FLUSH_S) -> None:
        from .service import LAKE_DB

        self._db = open_state_db(Path(data_dir) / LAKE_DB)
        apply_schema(self._db, "opentrail.lake", "channels")
        self._channels: FreshRows[str, Channel] = FreshRows(self._db, _load_all, recheck_s=recheck_s)
        #: hold for a read-check-write block (reloads what other nodes committed on entry)
        self.lock = self._channels.lock
        self._stores = stores
        self._clock = clock
        self._staging = Staging(self.lock)
        self._status = IngestionStatusStore(Path(data_dir) / STATUS_DB, flush_s=status_flush_s,
                                            exists=lambda channel_id: self.get(channel_id) is not None)
        self._changes = 0
        #: called with a channel ARN when a channel is deleted (its resource policy goes with it)
        self.on_delete: Callable[[str], None] | None = None
        stores.channel_for_store = self.channel_for_store

    def close(self) -> None:
        """Write the ingestion status not written yet, close the databases."""
        self._status.close()
        with self._channels.mutex:
            self._db.close()

    @property
    def version(self) -> int:
        """Changes after every change of a channel, by this service or by another node (seen at
        the next look on SQLite, within :data:`~opentrail.state_watch.PG_RECHECK_S` on PostgreSQL):
        Lake ingestion re-reads the routes when it moves."""
        self._channels.sync()
        return self._changes + self._channels.generation

    # --- staging and persistence ---------------------------------------------------------------

    def staged_changes(self) -> ContextManager[Callable[[], None]]:
        """As :meth:`opentrail.lake.service.EventDataStoreService.staged_changes`."""
        return self._staging.changes()

    def _save(self, c: Channel, check: Callable[[], None] | None = None,
              rerun: Callable[[], Channel] | None = None) -> Channel:
        """Write ``c``, a change of the channel as held now (caller holds the lock; a new one: not
        held), now or at the staged call's commit. Inside the write transaction, with every node's
        commits reloaded (:meth:`.fresh_rows.FreshRows.write_transaction`): ConflictException when
        another node changed that channel meanwhile (its change is not overwritten), then ``check``
        (names free, the limit); what they raise is raised and nothing is written. With ``rerun``
        (UpdateChannel, whose model has no ConflictException) the operation runs again against the
        fresh channel instead of the ConflictException (:func:`.reruns.write_or_rerun`); when the
        write ran now (not staged) what the re-run returned is returned."""
        base = self._channels.rows().get(c.id)

        def put() -> None:
            with self._channels.mutex, self._channels.write_transaction() as db:
                if self._channels.rows().get(c.id) != base:
                    raise E.ConflictException()
                if check is not None:
                    check()
                db.execute("INSERT OR REPLACE INTO channels (id, doc) VALUES (?, ?)", (c.id, _dump(c)))
                self._channels.put(c.id, c)
                self._changes += 1

        rerun_result: list[Channel] = []

        def write() -> None:
            again = write_or_rerun(put, rerun)
            if again is not None:
                rerun_result.append(again)

        self._staging.apply(write)
        return rerun_result[0] if rerun_result else c

    def _remove(self, c: Channel) -> None:
        def delete() -> None:
            with self._channels.mutex:
                self._db.execute("DELETE FROM channels WHERE id = ?", (c.id,))
                self._channels.pop(c.id)
                self._changes += 1
            self._status.forget(c.id)
            if self.on_delete is not None:
                self.on_delete(c.arn)

        self._staging.apply(delete)

    # --- reads ------------------------------------------------------------------------------------

    def all(self) -> list[Channel]:
        """Every channel of every account (ordered by creation time, id)."""
        return sorted(self._channels.rows().values(), key=lambda c: (c.created_time, c.id))

    def get(self, channel_id: str) -> Channel | None:
        return self._channels.rows().get(channel_id)

    def _regional(self, account_id: str, region: str) -> list[Channel]:
        return [c for c in self.all() if c.account_id == account_id and c.region == region]

    def find(self, account_id: str, region: str, id_or_arn: str) -> Channel:
        """The channel named by its ARN or ID in the caller's account and Region. Raises
        ChannelARNInvalidException, ChannelNotFoundException."""
        if id_or_arn.startswith("arn:"):
            parsed = parse_channel_arn(id_or_arn)
            if parsed is None or parsed[1] != account_id:
                raise E.ChannelARNInvalidException()
            if parsed[0] != region:
                raise E.ChannelNotFoundException()
            channel_id = parsed[2]
        else:
            channel_id = id_or_arn
            if not _UUID.fullmatch(channel_id):
                raise E.ChannelARNInvalidException()
        c = self._channels.rows().get(channel_id)
        if c is None and self._channels.sync(force=True):  # just created on another node?
            c = self._channels.rows().get(channel_id)
        if c is None or c.account_id != account_id or c.region != region:
            raise E.ChannelNotFoundException()
        return c

    def channel_for_store(self, store_arn: str) -> Channel | None:
        """A channel that has the event data store ``store_arn`` as a destination, or None (what
        every node committed so far: DeleteEventDataStore asks)."""
        self._channels.sync(force=True)
        return next((c for c in self.all() if store_arn in c.store_arns()), None)

    def status(self, channel_id: str) -> IngestionStatus:
        """GetChannel's IngestionStatus of ``channel_id`` (every node's, :mod:`.channel_status`)."""
        return self._status.status(channel_id)

    def record_ingestion(self, channel_id: str, now: float, last_event_id: str | None, error_code: str | None) -> None:
        """Note one durable PutAuditEvents call at ``now`` (epoch seconds; ``last_event_id``: the
        eventID of its last accepted event, None when none was; ``error_code``: its last refused
        event's code, None when none was). No I/O: written within ``status_flush_s``."""
        self._status.record(channel_id, now, last_event_id, error_code)

    def flush_status(self) -> None:
        """Write the noted ingestion status now (tests; :meth:`close` does it too)."""
        self._status.flush()

    # --- checks ----------------------------------------------------------------------------------

    def _destinations(self, account_id: str, region: str, items: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        if not 1 <= len(items) <= MAX_DESTINATIONS:
            raise TE.InvalidParameterException(
                f"A channel must have between 1 and {MAX_DESTINATIONS} destinations; {len(items)} were specified.")
        out: list[tuple[str, str]] = []
        for kind, location in items:
            if kind not in DESTINATION_TYPES:
                raise TE.InvalidParameterException(
                    f"Destination Type must be one of {', '.join(DESTINATION_TYPES)}; {kind} was specified.")
            if kind == "AWS_SERVICE":
                raise TE.InvalidParameterException(
                    "Destinations of type AWS_SERVICE are only used by service-linked channels.")
            eds = self._stores.find(account_id, region, location)
            if eds.status == "PENDING_DELETION":
                raise E.InactiveEventDataStoreException()
            if eds.category != ACTIVITY_AUDIT_LOG:
                raise E.InvalidEventDataStoreCategoryException(
                    f"The event data store {eds.arn} does not collect events of category {ACTIVITY_AUDIT_LOG}; "
                    "a channel can only send events to event data stores of that category.")
            if (kind, eds.arn) not in out:
                out.append((kind, eds.arn))
        return tuple(out)

    # --- operations ------------------------------------------------------------------------------

    def create(self, account_id: str, region: str, name: str, source: str, destinations: list[tuple[str, str]],
               tags: Tags = ()) -> Channel:
        """CreateChannel. Raises InvalidSourceException, ChannelAlreadyExistsException,
        ChannelMaxLimitExceededException, the destination errors (module docstring),
        InvalidTagParameterException, TagsLimitExceededException."""
        if not _SOURCE.fullmatch(source):
            raise E.InvalidSourceException(f"Source {source[:256]} is not valid. Specify Custom or the name of a "
                                           "partner event source.")
        check_tags(tags)
        merged = merge_tags((), tags)

        def check_room() -> None:
            regional = self._regional(account_id, region)
            if any(c.name == name for c in regional):
                raise E.ChannelAlreadyExistsException(f"A channel named {name} already exists.")
            if any(c.source == source for c in regional):
                raise E.ChannelAlreadyExistsException(f"A channel for source {source} already exists.")
            if len(regional) >= MAX_CHANNELS_PER_REGION:
                raise E.ChannelMaxLimitExceededException()

        with self.lock:
            dests = self._destinations(account_id, region, destinations)
            check_room()
            c = Channel(str(uuid.uuid4()), account_id, region, name, source, dests, merged, self._clock())
            return self._save(c, check_room)

    def update(self, account_id: str, region: str, id_or_arn: str, name: str | None,
               destinations: list[tuple[str, str]] | None) -> Channel:
        """UpdateChannel: a new name and/or destinations (the source cannot change). Raises the
        lookup errors, ChannelAlreadyExistsException and the destination errors. Its model has no
        ConflictException: when another node changed the channel meanwhile, the update runs again
        against the fresh channel (:mod:`.reruns`)."""
        with self.lock:
            c = self.find(account_id, region, id_or_arn)
            dests = c.destinations if destinations is None else self._destinations(account_id, region, destinations)

            def check_name() -> None:
                if name is not None and name != c.name and any(o.name == name and o.id != c.id
                                                               for o in self._regional(account_id, region)):
                    raise E.ChannelAlreadyExistsException(f"A channel named {name} already exists.")

            check_name()
            return self._save(dataclasses.replace(c, name=name or c.name, destinations=dests), check_name,
                              rerun=lambda: self.update(account_id, region, id_or_arn, name, destinations))

    def delete(self, account_id: str, region: str, id_or_arn: str) -> None:
        """DeleteChannel (its resource policy goes with it). Raises the lookup errors."""
        with self.lock:
            self._remove(self.find(account_id, region, id_or_arn))

    def list(self, account_id: str, region: str, after: tuple[float, str] | None,
             limit: int) -> tuple[list[Channel], tuple[float, str] | None]:
        """ListChannels: a page of at most ``limit`` after the cursor, and the next cursor."""
        channels = self._regional(account_id, region)
        if after is not None:
            channels = [c for c in channels if (c.created_time, c.id) > after]
        page = channels[:limit]
        return page, ((page[-1].created_time, page[-1].id) if len(channels) > limit else None)

    # --- tags ------------------------------------------------------------------------------------

    def tagged(self, account_id: str, region: str, arn: str) -> Channel:
        """The channel of a channel ARN for AddTags/RemoveTags/ListTags: as for trails, another
        account's ARN is CloudTrailARNInvalidException and an unknown one ResourceNotFoundException."""
        try:
            return self.find(account_id, region, arn)
        except E.ChannelARNInvalidException:
            raise TE.CloudTrailARNInvalidException.wrong_account(account_id) from None
        except E.ChannelNotFoundException:
            raise TE.ResourceNotFoundException.for_arn(arn) from None

    def add_tags(self, account_id: str, region: str, arn: str, tags: Tags) -> None:
        check_tags(tags)
        with self.lock:
            c = self.tagged(account_id, region, arn)
            self._save(dataclasses.replace(c, tags=merge_tags(c.tags, tags)))

    def remove_tags(self, account_id: str, region: str, arn: str, tags: Tags) -> None:
        check_tags(tags)
        with self.lock:
            c = self.tagged(account_id, region, arn)
            self._save(dataclasses.replace(c, tags=remove_tags(c.tags, tags)))
