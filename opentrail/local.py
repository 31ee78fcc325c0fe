"""Where a local command (``opentrail import``) sends events: the running server or the store.

Only one process opens the SQLite event store at a time. When ``opentrail serve`` runs on the data
directory it holds the store, and it writes ``<data-dir>/server.json`` (its URL and pid); an
import then goes through its ingest endpoint, signed with an admin-account key. Otherwise the
import opens the store itself: the SQLite one of the data directory, or with ``--database-url``
the PostgreSQL one every node of that database appends to (several writers are safe there).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Callable, Iterator

from .ingest import IngestOutcome, ingest_records

SERVER_FILE = "server.json"
EVENTS_DIR = "events"
ACCOUNTS_DB = "accounts.db"

Sink = Callable[[list[Any]], IngestOutcome]


class ServerUnreachableError(RuntimeError):
    """The event store is held by a server whose ingest endpoint can't be reached."""


def read_server_file(data_dir: Path) -> dict[str, Any] | None:
    """The running server's ``{"url": str, "pid": int}``, or None when there is none."""
    try:
        return json.loads((data_dir / SERVER_FILE).read_text())
    except (OSError, ValueError):
        return None


def admin_account_id(data_dir: Path) -> str | None:
    """The admin account (the one the server's ``opentrail`` profile reads), None if there is none."""
    from .auth.accounts import AccountStore

    accounts = AccountStore(data_dir / ACCOUNTS_DB)
    try:
        return accounts.admin_account_id()
    finally:
        accounts.close()


@contextlib.contextmanager
def open_import_sink(
    data_dir: Path,
    *,
    default_account_id: str | None = None,
    default_region: str | None = None,
    database_url: str = "",
) -> Iterator[Sink]:
    """Yield a sink that ingests a batch of records and returns its :class:`IngestOutcome`: through
    the server running on ``data_dir``, else into the event store itself (PostgreSQL at
    ``database_url`` when given, else ``data_dir``'s SQLite store). Raises
    ``psycopg.OperationalError`` when that database does not answer."""
    from .auth.accounts import AccountStore
    from .store.base import EventStore
    from .store.sqlite import SqliteEventStore, store_locked

    data_dir.mkdir(parents=True, exist_ok=True)
    accounts = AccountStore(data_dir / ACCOUNTS_DB)
    try:
        if default_account_id is None:
            default_account_id = accounts.admin_account_id()
        if store_locked(data_dir / EVENTS_DIR):
            server = read_server_file(data_dir)
            if server is None:
                raise ServerUnreachableError(
                    f"the event store in {data_dir} is in use by another process that is not a server"
                )
            yield _http_sink(server["url"], accounts, default_account_id, default_region)
            return
        store: EventStore
        if database_url:
            from .store.postgres import PostgresEventStore

            store = PostgresEventStore(database_url)
        else:
            store = SqliteEventStore(data_dir / EVENTS_DIR)
        try:

            def sink(records: list[Any]) -> IngestOutcome:
                return ingest_records(
                    store, records, default_account_id=default_account_id, default_region=default_region
                )

            yield sink
        finally:
            store.close()
    finally:
        accounts.close()


def _http_sink(url: str, accounts: Any, default_account_id: str | None, default_region: str | None) -> Sink:
    from .client.ingest import IngestClient

    access_key_id, secret = accounts.admin_credentials()
    client = IngestClient(url, access_key_id, secret)

    def sink(records: list[Any]) -> IngestOutcome:
        return IngestOutcome.from_json(
            client.send(records, default_account_id=default_account_id, default_region=default_region)
        )

    return sink
