"""The ``opentrail proxy`` command (registered in :mod:`opentrail.cli`). Every option has one
environment twin, shown in ``--help``; docs/proxy.md and docs/configuration.md list them."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli_options import settings_options


@click.command("proxy")
@click.option("--upstream", required=True, envvar="OPENTRAIL_PROXY_UPSTREAM", show_envvar=True,
              help="AWS-compatible endpoint to forward to, e.g. http://127.0.0.1:9000.")
@click.option("--host", default="127.0.0.1", envvar="OPENTRAIL_PROXY_HOST", show_envvar=True, show_default=True,
              help="Address to listen on.")
@click.option("--port", default=4589, type=int, envvar="OPENTRAIL_PROXY_PORT", show_envvar=True, show_default=True,
              help="TCP port to listen on.")
@click.option("--endpoint-url", default="", envvar="OPENTRAIL_PROXY_ENDPOINT_URL", show_envvar=True,
              help="opentrail server to send events to; empty: the server running on --data-dir, "
                   "else http://127.0.0.1:4588.")
@click.option("--data-dir", default=Path("opentrail-data"), type=click.Path(path_type=Path),
              envvar="OPENTRAIL_DATA_DIR", show_envvar=True, show_default=True,
              help="The opentrail data directory: accounts (identities, the proxy's own ingest key), unless "
                   "--database-url; the spool.")
@settings_options(("database_url",))
@click.option("--spool-dir", default=None, type=click.Path(path_type=Path), envvar="OPENTRAIL_PROXY_SPOOL_DIR",
              show_envvar=True, help="Where unsent events wait on disk; default <data-dir>/proxy-spool-<port>.")
@click.option("--spool-max-bytes", default=1 << 30, type=int, envvar="OPENTRAIL_PROXY_SPOOL_MAX_BYTES",
              show_envvar=True, show_default=True, help="Bound of the on-disk spool, in bytes.")
@click.option("--trusted-proxies", default="", envvar="OPENTRAIL_PROXY_TRUSTED_PROXIES", show_envvar=True,
              help="Comma-separated addresses/CIDRs whose X-Forwarded-For is believed for sourceIPAddress.")
@click.option("--virtual-host-suffixes", default="", envvar="OPENTRAIL_PROXY_VIRTUAL_HOST_SUFFIXES",
              show_envvar=True, help="Comma-separated host suffixes under which <bucket>.<suffix> is S3 "
                                     "virtual-hosted style (besides *.s3.amazonaws.com and *.localhost).")
@click.option("--log-level", default="info", envvar="OPENTRAIL_PROXY_LOG_LEVEL", show_envvar=True,
              show_default=True, help="debug, info, warning or error.")
def proxy(upstream: str, host: str, port: int, endpoint_url: str, data_dir: Path, database_url: str,
          spool_dir: Path | None, spool_max_bytes: int, trusted_proxies: str, virtual_host_suffixes: str,
          log_level: str) -> None:
    """Forward AWS API calls to an upstream endpoint and record each as a CloudTrail event (sent to
    the opentrail server, which stores it). With --database-url, identities and the ingest key are
    read from the servers' PostgreSQL database; give --endpoint-url (a node or the load balancer)."""
    from .forward import parse_trusted_proxies
    from .runner import ProxyOptions, ProxySetupError, run_proxy

    try:
        trusted = parse_trusted_proxies(trusted_proxies)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--trusted-proxies") from exc
    if not upstream.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="--upstream")
    options = ProxyOptions(
        upstream=upstream, data_dir=data_dir, database_url=database_url, host=host, port=port, endpoint_url=endpoint_url, spool_dir=spool_dir,
        spool_max_bytes=spool_max_bytes, trusted_proxies=trusted,
        virtual_host_suffixes=tuple(s.strip() for s in virtual_host_suffixes.split(",") if s.strip()),
        log_level=log_level,
    )
    try:
        run_proxy(options)
    except ProxySetupError as exc:
        raise click.ClickException(str(exc)) from exc
