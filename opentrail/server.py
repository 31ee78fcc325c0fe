"""``opentrail serve``: open the data directory, print the banner, run uvicorn in the foreground.

Owns the process-level pieces only: the event store and account store it opens, the
``server.json`` file local commands use to find the server, the retention purger, and the
start-up banner. The HTTP layer is :func:`opentrail.api.app.build_app`.

Start-up refuses with :class:`StartupRefused` (one line, no traceback; the CLI exits 1) before
printing anything when the data directory has less than ``min_free_bytes`` free, when another
process holds its event store (the line names that process), or when the port cannot be bound.
The banner is printed once the listening socket is bound.
"""

from __future__ import annotations

import errno
import gc
import json
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import uvicorn

from .settings import Settings

if TYPE_CHECKING:
    from .eventbridge.egress import EgressPolicy
    from .eventbridge.local_targets import LocalTargetPolicy
    from .lake.files import LakeFiles, LakeLocation
    from .store.base import EventStore

log = logging.getLogger("opentrail")

#: How often the retention purger runs, in seconds.
PURGE_INTERVAL_S = 3600.0
#: The server's GIL switch interval (``sys.setswitchinterval``; Python's default is 5 ms). A
#: request hands off between threads several times (HTTP loop, handler thread, event-log writer)
#: and each time waits for the GIL; while a background thread runs Python (Lake ingestion
#: building a second's columns, Insights counting), each wait lasts until that thread is asked to
#: drop the GIL, up to one interval. 1 ms bounds that wait at a fifth, for a few more switches
#: when threads contend (issue 16: PutAuditEvents p99 at 5,000 events/s).
GIL_SWITCH_INTERVAL_S = 0.001


class RetentionPurger(threading.Thread):
    """Deletes events past the event history retention window, once an interval: those whose
    eventTime and receive time are both more than ``retention_days`` old
    (:func:`opentrail.ingest.retention_bound`, which LookupEvents uses too).

    Runs beside ingest; the store deletes in small chunks so appends are not stalled.
    ``retention_days`` 0 keeps events forever.

    With ``lake`` (an :class:`opentrail.lake.Lake`), it also removes the event data stores that
    have been PENDING_DELETION for 7 days (:meth:`EventDataStoreService.purge_deleted`) and their
    files. With ``monitoring`` (the CloudWatch service), it applies CloudWatch's retention to metric
    data and alarm history. With ``logs`` (an :class:`opentrail.monitoring.logs.LogsService`), it
    deletes the log events past their log group's retention (:meth:`LogsService.purge_expired`; AWS
    does it within 72 hours). ``clock`` gives the time of each run (epoch seconds).
    """

    def __init__(self, store: object, retention_days: int, interval_s: float = PURGE_INTERVAL_S, *,
                 lake: object = None, monitoring: object = None, logs: object = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(name="opentrail-retention", daemon=True)
        self._store = store
        self._retention_days = retention_days
        self._interval_s = interval_s
        self._lake = lake
        self._monitoring = monitoring
        self._logs = logs
        self._clock = clock
        self._stop_event = threading.Event()  # not _stop: Thread.join calls self._stop()

    def run(self) -> None:
        while not self._stop_event.is_set():
            now = self._clock()
            self.purge_once(now)
            self.purge_event_data_stores(now)
            self.purge_monitoring()
            self.purge_log_events(now)
            self._stop_event.wait(self._interval_s)

    def purge_monitoring(self) -> None:
        """CloudWatch retention: metric rollups and alarm history past their age
        (:meth:`opentrail.monitoring.cloudwatch.CloudWatchService.housekeeping`)."""
        if self._monitoring is None:
            return
        try:
            self._monitoring.housekeeping()  # type: ignore[attr-defined]
        except Exception:  # retried next interval; it must not stop the server
            log.exception("CloudWatch retention failed")

    def purge_log_events(self, now: float) -> int:
        """Delete the log events past their log group's retention at ``now``; returns how many."""
        if self._logs is None:
            return 0
        try:
            return int(self._logs.purge_expired(now))  # type: ignore[attr-defined]
        except Exception:  # retried next interval; it must not stop the server
            log.exception("log event retention purge failed")
            return 0

    def purge_event_data_stores(self, now: float) -> list[str]:
        """Remove the event data stores deleted 7 days or more before ``now`` and their files;
        returns their IDs. (Files that cannot be removed now, the lake storage being unreachable,
        are removed by Lake ingestion's next purge.)"""
        from .lake.files import LakeFilesUnavailable

        if self._lake is None:
            return []
        try:
            gone = self._lake.stores.purge_deleted(now)  # type: ignore[attr-defined]
            for eds_id in gone:
                try:
                    self._lake.files.remove_store(eds_id)  # type: ignore[attr-defined]
                except LakeFilesUnavailable as exc:
                    log.warning("event data store %s: its files are removed later: %s", eds_id, exc)
            return gone
        except Exception:  # retried next interval; it must not stop the server
            log.exception("event data store purge failed")
            return []

    def purge_once(self, now: float) -> int:
        """Purge once; returns the number of events deleted."""
        from .ingest import retention_bound

        if self._retention_days <= 0:
            return 0
        try:
            bound = retention_bound(self._store, self._retention_days, now)  # type: ignore[arg-type]
            return 0 if bound is None else self._store.purge_before(*bound)  # type: ignore[attr-defined]
        except Exception:  # a failed purge is retried next interval; it must not stop the server
            log.exception("retention purge failed")
            return 0

    def stop(self) -> None:
        self._stop_event.set()


def banner(settings: Settings, url: str, boot: object) -> str:
    """The start-up text: where the server listens and how to use the credentials."""
    account = getattr(boot, "account_id", "?")
    key_id = getattr(boot, "access_key_id", "?")
    creds = getattr(boot, "credentials_path", None)
    lines = [
        f"opentrail listening on {url}  (data: {settings.data_dir.resolve()})",
        f"  account {account}, access key {key_id}",
    ]
    if creds is not None:
        lines += [
            f"  credentials: {creds} (profile 'opentrail'). Use them with:",
            f"    export AWS_SHARED_CREDENTIALS_FILE={Path(creds).resolve()} AWS_PROFILE=opentrail",
            f"    aws cloudtrail lookup-events --endpoint-url {url} --region us-east-1",
        ]
    else:
        lines.append("  credentials: the access key seeded from OPENTRAIL_ACCESS_KEY_ID")
    lines.append(f"  console: {url}/ (sign in with that access key pair)")
    return "\n".join(lines)


class StartupRefused(RuntimeError):
    """``serve`` will not start; the message is the one line to show."""


def check_free_space(data_dir: Path, min_free_bytes: int) -> None:
    """Raise :class:`StartupRefused` when ``data_dir``'s filesystem has less than ``min_free_bytes``
    free."""
    from .store.space import free_bytes, mount_point

    free = free_bytes(data_dir)
    if free < min_free_bytes:
        raise StartupRefused(
            f"the data directory {data_dir} has {free} bytes free on {mount_point(data_dir)}, less than"
            f" --min-free-bytes {min_free_bytes}: free space there (or lower --min-free-bytes)"
        )


def lock_holder_pid(lock_file: Path) -> int | None:
    """The pid of the process holding a ``flock`` on ``lock_file``, from ``/proc/locks`` (Linux);
    None when unknown."""
    try:
        st = os.stat(lock_file)
        with open("/proc/locks") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    ident = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in lines:
        parts = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 00:2d:56 0 EOF" (blocked waiters are marked "->")
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == ident and parts[4].isdigit():
            return int(parts[4])
    return None


def data_dir_in_use(data_dir: Path, events_dir: Path) -> StartupRefused:
    """The refusal for a data directory whose event store another process holds, naming it: the
    lock holder's pid (``/proc/locks``), else the pid in ``server.json``, and the server's URL
    when ``server.json`` is that process's."""
    from .local import read_server_file
    from .store.sqlite import LOCK_NAME

    server = read_server_file(data_dir) or {}
    pid = lock_holder_pid(events_dir / LOCK_NAME)
    if pid is None and isinstance(server.get("pid"), int):
        pid = server["pid"]
    who = "another process" if pid is None else f"another process (pid {pid}"
    if pid is not None:
        if server.get("pid") == pid and server.get("url"):
            who += f", opentrail serving {server['url']}"
        who += ")"
    return StartupRefused(f"the data directory {data_dir} is in use by {who}; stop it or choose another --data-dir")


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (as uvicorn binds: IPv6 when ``host`` holds a
    colon, SO_REUSEADDR). Raises :class:`StartupRefused` when the port is taken or the address
    cannot be used."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            raise StartupRefused(f"port {port} is in use: {reason}; choose another with --port") from None
        raise StartupRefused(f"cannot listen on {host}:{port}: {reason}; choose another --host or --port") from None
    return sock


#: Where Lake query results are kept (7 days), under the data directory.
LAKE_RESULTS_DIR = "lake-results"


def lake_location(settings: Settings) -> LakeLocation:
    """Where ``--lake-storage-url`` puts the event data stores' files (empty: ``<data-dir>/lake``).
    Raises :class:`StartupRefused` for a URL that is neither a folder nor ``s3://bucket[/prefix]``."""
    from .lake.files import parse_lake_url

    try:
        return parse_lake_url(settings.lake_storage_url, settings.data_dir)
    except ValueError as exc:
        raise StartupRefused(f"--lake-storage-url {exc}") from None


def open_lake_files(settings: Settings, timeouts: object) -> LakeFiles:
    """The lake of ``--lake-storage-url``: a :class:`~opentrail.lake.files.FolderFiles`, or an
    :class:`~opentrail.lake.objectfiles.ObjectFiles` on the S3-compatible service at
    ``--s3-endpoint-url`` (AWS S3 when empty) with its cache in ``<data-dir>/lake-cache`` of at most
    ``--lake-cache-size-mb``. Raises :class:`StartupRefused` when the bucket does not exist or the
    service refuses access to it; a service that cannot be reached now only logs a warning
    (ingestion waits for it)."""
    from .lake.files import FolderFiles
    from .lake.objectfiles import CACHE_DIR, INGEST_DB, ObjectFiles
    from .objectstore import S3Storage, StorageError, StorageUnavailable

    location = lake_location(settings)
    if location.folder is not None:
        return FolderFiles(location.folder)
    storage = S3Storage(settings.s3_endpoint_url or None, timeouts=timeouts)  # type: ignore[arg-type]
    where = f" at {settings.s3_endpoint_url}" if settings.s3_endpoint_url else " in AWS S3"
    try:
        if not storage.bucket_exists(location.bucket):
            storage.close()
            raise StartupRefused(f"--lake-storage-url {location.url}: the bucket {location.bucket} does not exist"
                                 f"{where}; create it first")
    except StorageUnavailable as exc:
        log.warning("the lake storage %s cannot be reached now (%s); Lake ingestion waits for it", location.url, exc)
    except StorageError as exc:
        storage.close()
        raise StartupRefused(f"--lake-storage-url {location.url}: the bucket {location.bucket}{where} cannot be used:"
                             f" {exc}") from None
    return ObjectFiles(storage, location.bucket, location.prefix, settings.data_dir / CACHE_DIR,
                       settings.data_dir / INGEST_DB, settings.lake_cache_size_mb * 1024 * 1024,
                       other_writers=bool(settings.database_url))


def attach_channels(lake: Any, data_dir: Path) -> None:
    """Give ``lake`` its channel service and resource policies (``<data-dir>/lake.db``); the event
    data store service learns which stores channels send to (DeleteEventDataStore,
    Lake ingestion's routing of PutAuditEvents' events)."""
    from .lake.channels import ChannelService
    from .lake.resource_policies import ResourcePolicies

    channels = ChannelService(data_dir, lake.stores, time.time)

    def exists(rtype: str, account: str, region: str, arn: str) -> bool:
        try:
            (channels if rtype == "channel" else lake.stores).find(account, region, arn)
        except Exception:
            return False
        return rtype in ("channel", "eventdatastore")  # dashboards: none on this server

    policies = ResourcePolicies(data_dir, exists)
    channels.on_delete = policies.forget
    lake.channels, lake.policies = channels, policies
    lake.stores.channels = channels


def start_lake_ingest(settings: Settings, store: object, lake_stores: object, files: object,
                      shards: Sequence[int] | None = None, write_tokens: Mapping[int, int] | None = None) -> object:
    """The running Lake ingestion thread (:class:`opentrail.lake.ingest.LakeIngestWorker`) over the
    event data store service ``lake_stores``, writing into ``files`` (a
    :class:`~opentrail.lake.files.LakeFiles` or a folder), for the stores of ``shards``
    (:mod:`opentrail.shards`; None: every store), naming its files with ``write_tokens`` (per
    shard, the fencing token of this node's lease of it; several nodes); stop it with
    :func:`stop_lake_ingest`."""
    from .lake.ingest import LakeIngestWorker

    worker = LakeIngestWorker(store, lake_stores, files, time.time, interval_s=settings.lake_ingest_interval_s,  # type: ignore[arg-type]
                              shards=shards, write_tokens=write_tokens)
    worker.organizations = getattr(lake_stores, "organizations", None)  # organization event data stores
    worker.start()
    return worker


def insights_worker(data_dir: Path, store: object, trails: object, lake_stores: object,
                    shards: Sequence[int] | None = None) -> object:
    """The Insights worker (:class:`opentrail.insights.worker.InsightsWorker`), not started: it
    counts the event log into ``<data-dir>/insights.db`` (its ``counts``, the
    :class:`~opentrail.insights.model.InsightMetrics` of ListInsightsMetricData and the console) and
    writes Insights events for the selectors of trails and event data stores, for the accounts of
    ``shards`` (:mod:`opentrail.shards`; None: every account)."""
    from .insights.scope import EventDataStoreInsightsScope, Scopes
    from .insights.worker import InsightsWorker, TrailInsightsScope

    scope = Scopes(TrailInsightsScope(trails), EventDataStoreInsightsScope(lake_stores))
    return InsightsWorker(store, scope, data_dir, time.time, shards=shards)  # type: ignore[arg-type]


def start_lake_imports(data_dir: Path, lake: object, storage: object) -> object:
    """The Lake import manager (:class:`opentrail.lake.imports.ImportManager`) of ``lake``, its
    thread started (imports left running by the previous run resume); set as ``lake.imports``.
    Close it with ``.close()``."""
    from .lake.imports import ImportManager

    imports = ImportManager(data_dir, lake.files, lake.stores, storage, time.time)  # type: ignore[attr-defined]
    lake.imports = imports  # type: ignore[attr-defined]
    imports.start()
    return imports


#: The collector's thresholds while serving (:func:`freeze_startup_heap`).
GC_THRESHOLDS = (20_000, 50, 100)


def freeze_startup_heap() -> None:
    """Collect, then move every object alive now (modules, models, the server's objects: ~125,000)
    to the collector's permanent generation (``gc.freeze``), so a full collection no longer walks
    them: measured at 5,000 PutAuditEvents events/s, a full collection paused every thread for
    90-160 ms every few seconds before, 6-23 ms after (docs/benchmarks.md). Objects made later are
    collected as usual; what was alive at start and later becomes cyclic garbage is never freed
    (the server's long-lived objects, built once).

    It also makes the young collections rarer (:data:`GC_THRESHOLDS`; Python's default is 700, 10,
    10): a generation-0 collection every 20,000 net allocations instead of 700. Measured at 5,000
    PutAuditEvents events/s on a quiet machine (docs/benchmarks.md), p99 28-38 ms against 28-55 ms
    and ~7% less server CPU per request, with the same resident memory over 60 s."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def stop_lake_ingest(worker: object | None) -> None:
    """Stop the thread :func:`start_lake_ingest` started (it writes its open batches first)."""
    if worker is not None:
        worker.stop()  # type: ignore[attr-defined]
        worker.join(timeout=30)  # type: ignore[attr-defined]


def webhook_policy(settings: Settings) -> EgressPolicy:
    """``--webhook-allow`` parsed; :class:`StartupRefused` naming the entry it cannot read."""
    from .eventbridge.egress import EgressPolicy

    try:
        return EgressPolicy.parse(settings.webhook_allow)
    except ValueError as exc:
        raise StartupRefused(str(exc)) from None


def local_target_policy(settings: Settings) -> LocalTargetPolicy:
    """``--file-targets-dir`` and ``--command-targets-dir`` as a policy; :class:`StartupRefused` when
    the two folders contain one another."""
    from .eventbridge.local_targets import LocalTargetPolicy

    try:
        return LocalTargetPolicy.from_settings(settings.data_dir, settings.file_targets_dir,
                                               settings.command_targets_dir)
    except ValueError as exc:
        raise StartupRefused(str(exc)) from None


def _open_store(data_dir: Path, events_dir: Path, database_url: str = "") -> EventStore:
    """The event store -- SQLite in ``events_dir``, or PostgreSQL at ``database_url`` when set --
    or :class:`StartupRefused` when it is held, its disk is full or the database cannot be opened."""
    from .store.errors import DataDirectoryFullError, StoreLockedError
    from .store.sqlite import SqliteEventStore

    try:
        if database_url:
            return _open_postgres_store(events_dir, database_url)
        return SqliteEventStore(events_dir)
    except StoreLockedError:
        raise data_dir_in_use(data_dir, events_dir) from None
    except DataDirectoryFullError as exc:
        raise StartupRefused(str(exc)) from None


def _open_postgres_store(events_dir: Path, database_url: str) -> EventStore:
    """The PostgreSQL event store; the server holds ``events_dir``'s lock meanwhile (one server
    per data directory, as with SQLite). Raises :class:`StartupRefused` naming the database
    (without its password) when it cannot be opened within 10 s."""
    import psycopg
    from psycopg_pool import PoolTimeout

    from .store.postgres import PostgresEventStore
    from .store.sqlite import hold_directory_lock

    fd = hold_directory_lock(events_dir)
    try:
        return PostgresEventStore(database_url, on_close=lambda: os.close(fd))
    except (PoolTimeout, psycopg.Error) as exc:
        os.close(fd)
        where = psycopg.conninfo.conninfo_to_dict(database_url)
        name = f"{where.get('host', 'localhost')}:{where.get('port', 5432)}/{where.get('dbname', '')}"
        raise StartupRefused(f"cannot open the event store in PostgreSQL at {name}: {' '.join(str(exc).split())}") from None
    except BaseException:
        os.close(fd)
        raise


def run_server(settings: Settings) -> None:
    """Run until interrupted. Raises :class:`StartupRefused` (before printing anything) when the
    data directory has too little space or is in use, or the port cannot be bound."""
    from .api.app import build_app
    from .api.token_key import load_token_key
    from .local import ACCOUNTS_DB, EVENTS_DIR, SERVER_FILE
    from .auth.accounts import AccountStore, bootstrap
    from .endpoints import EndpointTimeouts
    from .objectstore import open_storage
    from .delivery import (CLOUDWATCH_LOGS_DB, DELIVERY_DB, CloudWatchLogsState, CloudWatchLogsWorker,
                           DeliveringTrailService, DeliveryState, DeliveryWorker, SnsNotifier, SnsTopics)
    from .digests import DIGESTS_DB, KEYS_DIR, DigestState, DigestWorker, KeyStore, delivery_caught_up

    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    data_dir = settings.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupRefused(f"cannot create the data directory {data_dir}: {exc.strerror or exc}") from None
    check_free_space(data_dir, settings.min_free_bytes)
    timeouts = EndpointTimeouts(settings.destination_connect_timeout_s, settings.destination_read_timeout_s)
    lake_location(settings)  # a bad URL is refused before anything is opened
    if settings.lease_ttl_s <= 0:
        raise StartupRefused(f"--lease-ttl-s must be positive, not {settings.lease_ttl_s}")
    egress = webhook_policy(settings)
    local_targets = local_target_policy(settings)
    store = _open_store(data_dir, data_dir / EVENTS_DIR, settings.database_url)
    if settings.database_url:  # every state store in the same database (the event store checked it answers)
        from .state_db import register_database

        register_database(data_dir, settings.database_url)
    try:
        sock = bind_socket(settings.host, settings.port)
    except BaseException:
        store.close()
        raise
    try:
        lake_files = open_lake_files(settings, timeouts)
    except BaseException:
        sock.close()
        store.close()
        raise
    if settings.database_url and not lake_files.url.startswith("s3://"):
        log.warning("the Lake files are in the folder %s: with several nodes give every node the same "
                    "--lake-storage-url s3://bucket/prefix (or a folder they all mount), else each store's files "
                    "are split over the nodes that ingested them", lake_files.url)
    boot = bootstrap(data_dir, os.environ)
    token_key = load_token_key(data_dir)
    accounts = AccountStore(data_dir / ACCOUNTS_DB)
    storage = open_storage(data_dir, settings.s3_endpoint_url, timeouts)
    delivery_state = DeliveryState(data_dir / DELIVERY_DB)
    sns_topics = SnsTopics(settings.sns_endpoint_url, timeouts)
    from .monitoring.cloudwatch import CloudWatchService
    from .monitoring.logs import LogsService

    # CloudWatch first: log group metric filters put their data points into it.
    monitoring = CloudWatchService(data_dir, time.time, sns_endpoint_url=settings.sns_endpoint_url, timeouts=timeouts)
    logs = LogsService(data_dir, time.time, metric_sink=monitoring.put_metric_points)
    trails = DeliveringTrailService(data_dir, storage, time.time, state=delivery_state, store=store,
                                    sns_topics=sns_topics, log_groups=logs)
    notifier = SnsNotifier(settings.sns_endpoint_url, trails.record_notification, time.time, timeouts)
    keys = KeyStore(data_dir / KEYS_DIR, time.time, settings.digest_key_rotation_days * 86400)
    digest_state = DigestState(data_dir / DIGESTS_DB)
    # several nodes (--database-url): the background work runs under leases (opentrail.cluster),
    # each kind on one node at a time, built afresh when its lease is taken; else started below
    leased = bool(settings.database_url)
    digests = delivery = None
    if not leased:
        digests = DigestWorker(trails, storage, keys, digest_state, clock=time.time,
                               interval_s=settings.digest_interval_s, delivery_caught_up=delivery_caught_up(delivery_state))
        delivery = DeliveryWorker(store, trails, storage, delivery_state, clock=time.time,
                                  interval_s=settings.delivery_interval_s, notifier=notifier,
                                  on_delivered=digests.recorder.record_log_file)
    from .lake import Lake
    from .lake.queries import QueryManager
    from .lake.service import EventDataStoreService
    from .delivery.marks import head_seq

    lake_stores = EventDataStoreService(data_dir, time.time, head_seq=lambda: head_seq(store))
    from .eventbridge.rules_service import RulesService

    eventbridge = RulesService(data_dir, time.time, head_seq=lambda: head_seq(store), egress=egress,
                               local_targets=local_targets)
    from .organizations.service import OrganizationsService

    # AWS Organizations: CreateAccount creates the opentrail account (no keys)
    organizations = OrganizationsService(data_dir, time.time, create_account=accounts.create_account)
    # organization trails and event data stores: whom they cover, who may make them
    trails.organizations = lake_stores.organizations = organizations
    if delivery is not None and digests is not None:
        delivery.organizations = digests.organizations = organizations
    from .iam.store import IAM_DB, IamStore

    iam = IamStore(data_dir / IAM_DB)  # IAM users, groups, roles, policies (keys live in accounts.db)
    from .eventbridge.runtime import EventBusRuntime, runtime_kwargs
    from .eventbridge.trail_gate import TrailDataEvents

    # the default event bus: matches the event log, alarm state changes and PutEvents against the rules
    event_bus_kwargs = dict(egress=egress, timeouts=timeouts, local_targets=local_targets, alarms=monitoring.alarms,
                            metrics=monitoring.put_metric_points, data_events=TrailDataEvents(trails),
                            **runtime_kwargs(settings))
    # with leases, its worker (never started here) takes PutEvents; the leased bus runs elsewhere
    event_bus = EventBusRuntime(data_dir, store, eventbridge, **event_bus_kwargs)  # type: ignore[arg-type]
    queries = QueryManager(lake_files, lake_stores, data_dir / LAKE_RESULTS_DIR, time.time,
                           max_concurrent=settings.max_concurrent_queries, timeout_s=settings.query_timeout_s,
                           storage=storage, keys=keys, memory_limit_mb=settings.lake_query_memory_mb or None)
    from .lake.dashboard_service import DashboardService

    dashboards = DashboardService(data_dir, time.time, queries)  # in lake.db; scheduled refreshes below
    lake = Lake(stores=lake_stores, queries=queries, root=lake_files.root, files=lake_files, dashboards=dashboards)
    attach_channels(lake, data_dir)
    cwl_state = CloudWatchLogsState(data_dir / CLOUDWATCH_LOGS_DB)
    cwl_delivery = purger = None
    if not leased:
        cwl_delivery = CloudWatchLogsWorker(store, trails, logs, delivery_state, cwl_state, clock=time.time,
                                            interval_s=settings.delivery_interval_s, organizations=organizations)
        purger = RetentionPurger(store, settings.event_history_retention_days, lake=lake, monitoring=monitoring,
                                 logs=logs)
    server_file = data_dir / SERVER_FILE
    lake_ingest = None
    lake_imports = None
    from .lake.dashboard_scheduler import DashboardScheduler

    insights: Any = None
    dashboard_scheduler = None
    coordinator = None
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{settings.port}"
    if not leased:
        insights = insights_worker(data_dir, store, trails, lake_stores)
        insight_counts = insights.counts
        dashboard_scheduler = DashboardScheduler(dashboards)
    else:
        from .cluster import NodeWork, coordinator_for
        from .insights.counts import INSIGHTS_DB, SqliteInsightCounts
        from .lake.imports import ImportManager

        insight_counts = SqliteInsightCounts(data_dir / INSIGHTS_DB)  # the API's; the leased worker has its own
        lake.imports = ImportManager(data_dir, lake.files, lake.stores, storage, time.time)  # StartImport; never started
        from .store.shared_reads import SharedLogReads

        coordinator = coordinator_for(NodeWork(  # the background workers follow the log through one shared window
            settings, data_dir, SharedLogReads(store), trails, storage, keys, delivery_state, digest_state, cwl_state, notifier,
            organizations, logs, lake, lake_files, dashboards, monitoring, eventbridge, event_bus_kwargs), url)
    try:
        app = build_app(settings=settings, store=store, accounts=accounts, trails=trails, public_keys=keys,
                        token_key=token_key, lake=lake, logs=logs, monitoring=monitoring, eventbridge=eventbridge,
                        event_bus=event_bus.worker, insights=insight_counts, cluster=coordinator,
                        organizations=organizations, iam=iam)  # type: ignore[attr-defined]
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            access_log=False,
            server_header=False,
        )
        server = uvicorn.Server(config)
        server_file.write_text(json.dumps({"url": url, "pid": os.getpid()}))
        print(banner(settings, url, boot), flush=True)  # the socket is bound: the banner is true
        exit_on_sigterm()  # uvicorn re-raises SIGTERM once stopped: run the cleanup below (final flushes, leases)
        if coordinator is not None:
            monitoring.start(alarms=False)  # this node's metric filter points; alarms run under their lease
            coordinator.start()  # every kind of background work, on the node holding its lease
        else:
            assert purger and delivery and cwl_delivery and digests and dashboard_scheduler
            purger.start()
            delivery.start()
            cwl_delivery.start()
            digests.start()
            lake_ingest = start_lake_ingest(settings, store, lake_stores, lake_files)
            lake_imports = start_lake_imports(data_dir, lake, storage)  # after ingestion's crash recovery
            dashboard_scheduler.start()  # scheduled dashboard refreshes (claimed ones resume)
            insights.start()
            monitoring.start()  # alarm evaluation and actions (pending SNS actions resume)
            event_bus.worker.start()  # and its dispatcher (pending deliveries resume)
        freeze_startup_heap()
        server.run(sockets=[sock])
    finally:
        sock.close()
        if coordinator is not None:
            coordinator.stop()  # stops the leased work and releases its leases: other nodes take it at once
        if purger is not None:
            purger.stop()
        for worker in (delivery, cwl_delivery, digests):
            if worker is not None:
                worker.stop()
        event_bus.stop()
        for worker in (delivery, cwl_delivery, digests):
            if worker is not None and worker.is_alive():
                worker.join(timeout=30)
        if lake_imports is not None:
            lake_imports.close()  # type: ignore[attr-defined]
        elif leased:
            lake.imports.close()
        stop_lake_ingest(lake_ingest)
        if insights is not None:
            if insights.is_alive():
                stop_lake_ingest(insights)  # the same stop and join: it commits its counts first
            insights.close()
        else:
            insight_counts.close()
        monitoring.close()
        if dashboard_scheduler is not None:
            dashboard_scheduler.stop()
        queries.close()
        dashboards.close()
        notifier.close()
        try:
            if read_pid(server_file) == os.getpid():
                server_file.unlink()
        except OSError:
            pass
        store.close()
        accounts.close()
        trails.close()
        lake.channels.close()  # writes the channels' ingestion status not written yet
        lake_stores.close()
        logs.close()
        event_bus.close()
        eventbridge.close()
        organizations.close()
        iam.close()
        cwl_state.close()
        delivery_state.close()
        digest_state.close()
        storage.close()
        lake_files.close()
        sns_topics.close()
        if coordinator is not None:
            coordinator.leases.close()
        if settings.database_url:
            from .state_db import unregister_database
            from .state_pg import close_pools

            unregister_database(data_dir)
            close_pools()


def exit_on_sigterm() -> None:
    """SIGTERM raises ``SystemExit(143)`` (the status a SIGTERM death gives) instead of ending the
    process at once, so ``run_server``'s cleanup runs: uvicorn stops on SIGTERM and then raises the
    signal again with the handler found before it. Main thread only (elsewhere nothing is done)."""
    import signal

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, terminate)


def read_pid(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
