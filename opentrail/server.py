"""``opentrail serve``: open the data directory, print the banner, run uvicorn in the foreground.

Owns the process-level pieces only: the event store and account store it opens, the
``server.json`` file local commands use to find the server, the retention purger, and the
start-up banner. The HTTP layer is :func:`opentrail.api.app.build_app`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

import uvicorn

from .settings import Settings

log = logging.getLogger("opentrail")

#: How often the retention purger runs, in seconds.
PURGE_INTERVAL_S = 3600.0


class RetentionPurger(threading.Thread):
    """Deletes events past the event history retention window, once an interval: those whose
    eventTime and receive time are both more than ``retention_days`` old
    (:func:`opentrail.ingest.retention_bound`, which LookupEvents uses too).

    Runs beside ingest; the store deletes in small chunks so appends are not stalled.
    ``retention_days`` 0 keeps events forever (the thread then does nothing).
    """

    def __init__(self, store: object, retention_days: int, interval_s: float = PURGE_INTERVAL_S) -> None:
        super().__init__(name="opentrail-retention", daemon=True)
        self._store = store
        self._retention_days = retention_days
        self._interval_s = interval_s
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.is_set():
            self.purge_once(time.time())
            self._stop.wait(self._interval_s)

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
        self._stop.set()


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


def run_server(settings: Settings) -> None:
    """Run until interrupted. Raises ``StoreLockedError`` if another process holds the store."""
    from .api.app import build_app
    from .api.token_key import load_token_key
    from .local import ACCOUNTS_DB, EVENTS_DIR, SERVER_FILE
    from .auth.accounts import AccountStore, bootstrap
    from .store.sqlite import SqliteEventStore
    from .objectstore import open_storage
    from .delivery import DELIVERY_DB, DeliveringTrailService, DeliveryState, DeliveryWorker, SnsNotifier
    from .digests import DIGESTS_DB, KEYS_DIR, DigestState, DigestWorker, KeyStore, delivery_caught_up

    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    boot = bootstrap(data_dir, os.environ)
    token_key = load_token_key(data_dir)
    store = SqliteEventStore(data_dir / EVENTS_DIR)
    accounts = AccountStore(data_dir / ACCOUNTS_DB)
    storage = open_storage(data_dir, settings.s3_endpoint_url)
    delivery_state = DeliveryState(data_dir / DELIVERY_DB)
    trails = DeliveringTrailService(data_dir, storage, time.time, state=delivery_state, store=store)
    notifier = SnsNotifier(settings.sns_endpoint_url, trails.record_notification, time.time)
    keys = KeyStore(data_dir / KEYS_DIR, time.time, settings.digest_key_rotation_days * 86400)
    digest_state = DigestState(data_dir / DIGESTS_DB)
    digests = DigestWorker(trails, storage, keys, digest_state, clock=time.time, interval_s=settings.digest_interval_s,
                           delivery_caught_up=delivery_caught_up(delivery_state))
    delivery = DeliveryWorker(store, trails, storage, delivery_state, clock=time.time,
                              interval_s=settings.delivery_interval_s, notifier=notifier,
                              on_delivered=digests.recorder.record_log_file)
    purger = RetentionPurger(store, settings.event_history_retention_days)
    server_file = data_dir / SERVER_FILE
    try:
        app = build_app(settings=settings, store=store, accounts=accounts, trails=trails, public_keys=keys,
                        token_key=token_key)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            access_log=False,
            server_header=False,
        )
        server = uvicorn.Server(config)
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        url = f"http://{host}:{settings.port}"
        server_file.write_text(json.dumps({"url": url, "pid": os.getpid()}))
        print(banner(settings, url, boot), flush=True)
        purger.start()
        delivery.start()
        digests.start()
        server.run()
    finally:
        purger.stop()
        delivery.stop()
        digests.stop()
        if delivery.is_alive():
            delivery.join(timeout=30)
        if digests.is_alive():
            digests.join(timeout=30)
        notifier.close()
        try:
            if read_pid(server_file) == os.getpid():
                server_file.unlink()
        except OSError:
            pass
        store.close()
        accounts.close()
        trails.close()
        delivery_state.close()
        digest_state.close()
        storage.close()


def read_pid(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
