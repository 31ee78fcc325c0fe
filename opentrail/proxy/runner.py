"""Start-up of ``opentrail proxy``: accounts, the event client, the pipeline, uvicorn.

The proxy reads the accounts of the opentrail server it reports to: ``<data-dir>/accounts.db`` (on
the same machine, or a copy), or with ``--database-url`` the accounts of the servers' PostgreSQL
database (several nodes; the data directory then only holds the spool). The admin account's oldest
root key signs the ingest requests, the other keys give callers their identity
(:mod:`opentrail.proxy.identity`). The events go to the server's ingest endpoint, which stores them
in its event store (PostgreSQL too with ``--database-url``) as it stores its own: the proxy never
writes to an event store itself. Without ``--endpoint-url`` it sends to the URL the running server
wrote into ``<data-dir>/server.json``, else to ``http://127.0.0.1:4588``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..auth.accounts import ACCOUNTS_DB, AccountStore
from ..local import read_server_file
from .forward import Network, ProxyApp
from .identity import IdentityResolver
from .models import ModelIndex
from .pipeline import RecordPipeline
from .record import RecordBuilder

log = logging.getLogger("opentrail.proxy")

DEFAULT_ENDPOINT_URL = "http://127.0.0.1:4588"


class ProxySetupError(RuntimeError):
    """The proxy cannot start (no accounts database, no admin key, the database does not answer)."""


@dataclass(frozen=True, slots=True)
class ProxyOptions:
    """Resolved ``opentrail proxy`` options (units in the names; see docs/proxy.md)."""

    upstream: str
    data_dir: Path
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 4589
    endpoint_url: str = ""
    spool_dir: Path | None = None
    spool_max_bytes: int = 1 << 30
    trusted_proxies: tuple[Network, ...] = ()
    virtual_host_suffixes: tuple[str, ...] = ()
    log_level: str = "info"


@dataclass
class Proxy:
    """A wired proxy: the ASGI ``app``, its ``pipeline`` and the ``accounts`` it reads."""

    app: ProxyApp
    pipeline: RecordPipeline
    accounts: AccountStore
    endpoint_url: str

    def close(self, timeout_s: float | None = 10.0) -> None:
        """Flush what can be flushed within ``timeout_s``; the rest stays in the spool."""
        self.pipeline.close(timeout_s)
        self.accounts.close()


def build_proxy(options: ProxyOptions, **event_client_options: Any) -> Proxy:
    """Wire the proxy. Raises :class:`ProxySetupError`."""
    from ..client import EventClient

    db = options.data_dir / ACCOUNTS_DB
    if options.database_url:
        import psycopg

        from ..state_db import register_database

        try:
            register_database(options.data_dir, options.database_url)
            accounts = AccountStore(db)
        except psycopg.Error as exc:
            raise ProxySetupError(f"cannot read the accounts of --database-url: {exc}") from exc
        where = "the database of --database-url"
    elif not db.exists():
        raise ProxySetupError(f"{db} does not exist: start `opentrail serve --data-dir {options.data_dir}` once first")
    else:
        accounts = AccountStore(db)
        where = str(db)
    try:
        key_id, secret = accounts.admin_credentials()
        admin_account = accounts.admin_account_id()
    except LookupError as exc:
        accounts.close()
        raise ProxySetupError(f"{exc} in {where}") from exc
    assert admin_account is not None
    endpoint = options.endpoint_url or (read_server_file(options.data_dir) or {}).get("url") or DEFAULT_ENDPOINT_URL
    spool_dir = options.spool_dir or options.data_dir / f"proxy-spool-{options.port}"
    events = EventClient(endpoint, key_id, secret, spool_dir=spool_dir, spool_max_bytes=options.spool_max_bytes,
                         default_account_id=admin_account, close_at_exit=False, **event_client_options)
    builder = RecordBuilder(ModelIndex(), IdentityResolver(accounts, admin_account), options.virtual_host_suffixes)
    pipeline = RecordPipeline(builder, events)
    app = ProxyApp(options.upstream, pipeline.submit, trusted_proxies=options.trusted_proxies)
    return Proxy(app, pipeline, accounts, endpoint)


def run_proxy(options: ProxyOptions) -> None:
    """Run in the foreground until Ctrl-C / SIGTERM."""
    import uvicorn

    logging.basicConfig(level=options.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every upstream request at INFO: one line per proxied call is noise (and costs time)
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    proxy = build_proxy(options)
    print(f"opentrail proxy listening on http://{options.host}:{options.port} -> {options.upstream}"
          f"  (events to {proxy.endpoint_url})", flush=True)
    config = uvicorn.Config(
        proxy.app, host=options.host, port=options.port, log_level=options.log_level, access_log=False,
        proxy_headers=False, server_header=False, date_header=False, lifespan="on",
    )
    try:
        uvicorn.Server(config).run()
    finally:
        proxy.close()
        stats = proxy.pipeline.stats()
        print(f"opentrail proxy stopped: {stats['recorded']} events recorded, {stats['spooled']} left in the spool",
              flush=True)
