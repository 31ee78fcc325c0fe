"""The ``opentrail`` command: ``serve``, ``import``, ``create-access-key``, ``create-bucket``, ``validate-logs``
and ``rotate-digest-key``.

Server flags are generated from :data:`opentrail.settings.SETTINGS`; each shows its environment
twin in ``--help``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import click

from .cli_options import settings_options as _settings_options
from .cli_options import state_database as _state_database
from .settings import Settings

@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="opentrail")
def main() -> None:
    """opentrail: AWS CloudTrail, self-hosted."""


@main.command()
@_settings_options()
def serve(**values: Any) -> None:
    """Run the opentrail server in the foreground (CloudTrail API, ingest endpoint, console)."""
    from .server import StartupRefused, run_server
    from .sql_files import SchemaTooNewError

    try:
        run_server(Settings.from_values(**values))
    except (StartupRefused, SchemaTooNewError) as exc:  # one line, exit status 1
        raise click.ClickException(str(exc)) from None


@main.command("create-access-key")
@_settings_options(("data_dir", "database_url"))
@click.option("--account-id", required=True, help="12-digit AWS-style account id (created if needed).")
@click.option("--user-name", default=None, help="IAM user name; without it the key is the account's root key.")
@click.option(
    "--profile",
    default=None,
    help="Also write the key as this profile into <data-dir>/credentials (mode 0600), for AWS_PROFILE.",
)
def create_access_key(data_dir: Path, database_url: str, account_id: str, user_name: str | None,
                      profile: str | None) -> None:
    """Create an access key and print it as IAM CreateAccessKey JSON (the secret is shown only here,
    and in the credentials file with --profile)."""
    import orjson

    from .auth.accounts import CREDENTIALS_FILE, PROFILE_NAME, AccountStore, InvalidAccountIdError, write_credentials_file

    if profile is not None and not PROFILE_NAME.fullmatch(profile):
        raise click.BadParameter("use 1-64 letters, digits and . _ @ + -", param_hint="--profile")
    data_dir.mkdir(parents=True, exist_ok=True)
    _state_database(data_dir, database_url)
    accounts = AccountStore(data_dir / "accounts.db")
    try:
        key = accounts.create_access_key(account_id, user_name=user_name)
    except InvalidAccountIdError as exc:
        raise click.BadParameter(str(exc), param_hint="--account-id") from exc
    finally:
        accounts.close()
    click.echo(orjson.dumps(key.to_iam_json(), option=orjson.OPT_INDENT_2).decode())
    if profile is not None:
        path = data_dir / CREDENTIALS_FILE
        write_credentials_file(path, key.access_key_id, key.secret_access_key, profile)
        click.echo(
            f"profile {profile!r} written to {path}. Use it with:\n"
            f"  export AWS_SHARED_CREDENTIALS_FILE={path.resolve()} AWS_PROFILE={profile}",
            err=True,
        )


@main.command("create-bucket")
@_settings_options(("data_dir",))
@click.argument("name")
def create_bucket(data_dir: Path, name: str) -> None:
    """Create a local bucket (the folder <data-dir>/buckets/NAME) for trails to deliver to."""
    from .objectstore import LocalFolderStorage

    try:
        path = LocalFolderStorage(data_dir / "buckets").create_bucket(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from exc
    click.echo(str(path))


@main.command("rotate-digest-key")
@_settings_options(("data_dir", "database_url", "digest_key_rotation_days"))
@click.option("--region", required=True, help="Region whose digest signing key is replaced.")
def rotate_digest_key(data_dir: Path, database_url: str, digest_key_rotation_days: float, region: str) -> None:
    """Replace a Region's digest signing key now (works while the server runs); prints the new
    key's fingerprint. The old public key stays listed by ListPublicKeys. With --database-url (the
    servers' own), the key every node shares in that database is replaced."""
    import time

    from .digests import KEYS_DIR, KeyStore

    _state_database(data_dir, database_url)
    try:
        key = KeyStore(data_dir / KEYS_DIR, time.time, digest_key_rotation_days * 86400).rotate(region)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--region") from exc
    click.echo(key.fingerprint)


@main.command("import")
@_settings_options(("data_dir", "database_url"))
@click.option("--account-id", default=None, help="Account for records that name none (default: the first account).")
@click.option("--region", default=None, help="Region for records without awsRegion (default: us-east-1).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines, only the summary.")
# Accepted so that scripts written for earlier versions keep working; imports now keep every record
# (retention counts from receipt), so the value no longer changes anything.
@click.option("--event-history-retention-days", "old_retention_days", type=int, default=None, hidden=True)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def import_(
    data_dir: Path,
    database_url: str,
    account_id: str | None,
    region: str | None,
    quiet: bool,
    old_retention_days: int | None,
    paths: tuple[Path, ...],
) -> None:
    """Import CloudTrail log files or folders (recursive) into the event history.

    Works while a server runs on the same data directory (events then go through its ingest
    endpoint); with --database-url and no server on it, the events go into that PostgreSQL
    database's event store, which every node reads. Imported events are visible to LookupEvents when this command ends, whatever their
    eventTime (event history retention counts from when opentrail received an event). The summary
    names each account imported into and how to read its history.
    """
    from .importer import run_import
    from .local import admin_account_id, open_import_sink

    if old_retention_days is not None:
        click.echo("note: import keeps every record now (event history retention counts from when opentrail "
                   "received an event); --event-history-retention-days is ignored here", err=True)

    data_dir.mkdir(parents=True, exist_ok=True)
    _state_database(data_dir, database_url)
    with open_import_sink(data_dir, default_account_id=account_id, default_region=region,
                          database_url=database_url) as sink:
        # Progress rewrites one terminal line; when stderr is not a terminal only the summary shows.
        progress = None if quiet or not sys.stderr.isatty() else _print_progress
        summary = run_import(list(paths), sink=sink, progress=progress)
    if progress is not None:
        click.echo("", err=True)
    click.echo(summary.render(data_dir=data_dir, admin_account_id=admin_account_id(data_dir)))
    if summary.files_rejected or summary.records_rejected:
        sys.exit(1)


@main.command("validate-logs")
@_settings_options(("data_dir", "s3_endpoint_url"))
@click.option("--trail-arn", required=True, help="Specifies the ARN of the trail to be validated.")
@click.option("--start-time", required=True, help='Validate log files delivered on or after this UTC time, e.g. "2015-01-08T05:21:42Z".')
@click.option("--end-time", default=None, help="Validate log files delivered on or before this UTC time (default: now).")
@click.option("--s3-bucket", default=None, help="Bucket holding the digest files (default: the trail's, from DescribeTrails).")
@click.option("--s3-prefix", default=None, help="Key prefix of the digest files (default: the trail's, from DescribeTrails).")
@click.option("--account-id", default=None, help="Account whose files are validated (default: the trail ARN's).")
@click.option("--verbose", is_flag=True, help="Display verbose log validation information.")
@click.option("--region", default=None, help="Region whose digest files are validated (default: the trail ARN's).")
@click.option(
    "--endpoint-url",
    default=None,
    help="CloudTrail API for DescribeTrails and ListPublicKeys (default: AWS_ENDPOINT_URL_CLOUDTRAIL, "
    "else the server running on --data-dir).",
)
def validate_logs_command(**values: Any) -> None:
    """Validate log files and digest files as `aws cloudtrail validate-logs` does, and more.

    Exit code 0: everything valid; 1: something invalid; 255: the validation could not run.
    See docs/log-file-validation.md.
    """
    from .validation import ValidateLogsArgs, validate_logs

    code = validate_logs(ValidateLogsArgs(**values), stdout=sys.stdout, stderr=sys.stderr, workers=2)
    sys.exit(code)


@main.group()
def monitoring() -> None:
    """CloudWatch Logs and CloudWatch helpers (see docs/monitoring.md)."""


@monitoring.command("cis-setup")
@_settings_options(("data_dir", "database_url"))
@click.option("--log-group", required=True, help="Log group the trail sends its events to (must exist).")
@click.option("--sns-topic", required=True, help="ARN of the SNS topic the alarms notify.")
@click.option("--namespace", default="CISBenchmark", show_default=True, help="Metric namespace of the filters.")
@click.option("--period", type=int, default=300, show_default=True, help="Alarm period in seconds (10, 20, 30 or a multiple of 60).")
@click.option("--region", default="us-east-1", show_default=True, help="Region of the log group and alarms.")
@click.option("--endpoint-url", default=None,
              help="API endpoint (default: AWS_ENDPOINT_URL_CLOUDWATCH_LOGS / _CLOUDWATCH / AWS_ENDPOINT_URL, else the server "
                   "running on --data-dir).")
def cis_setup_command(data_dir: Path, database_url: str, log_group: str, sns_topic: str, namespace: str, period: int,
                      region: str, endpoint_url: str | None) -> None:
    """Create the CIS AWS Foundations Benchmark CloudTrail metric filters and alarms (15 controls),
    through the CloudWatch Logs and CloudWatch APIs. Without other credentials (boto3's, or
    <data-dir>/credentials), --database-url signs with the admin account's root key from that
    database."""
    import botocore.exceptions

    from .monitoring.cis import cis_setup
    from .validation.command import api_client

    _state_database(data_dir, database_url)
    try:
        names = cis_setup(api_client("logs", endpoint_url, region, data_dir),
                          api_client("cloudwatch", endpoint_url, region, data_dir),
                          log_group=log_group, sns_topic_arn=sns_topic, namespace=namespace, period_s=period,
                          echo=click.echo)
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        raise click.ClickException(f"{error.get('Code')}: {error.get('Message')}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(names)} CIS metric filters and alarms on {log_group}, notifying {sns_topic}.")


@main.group()
def insights() -> None:
    """CloudTrail Insights helpers (see docs/insights.md)."""


@insights.command("example-history")
@click.option("--account-id", required=True, help="recipientAccountId of the records (12 digits).")
@click.option("--region", default="us-east-1", show_default=True, help="awsRegion of the records.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The gzipped log file to write.")
@click.option("--end", default=None, help="Time the history ends (ISO 8601, UTC); default: now.")
@click.option("--days", type=click.IntRange(1, 60), default=8, show_default=True, help="Days of history.")
def example_history_command(account_id: str, region: str, out: Path, end: str | None, days: int) -> None:
    """Write a week and a day of CloudTrail history with two unusual periods in it (an
    ApiCallRateInsight and an ApiErrorRateInsight on the last day), to import and try Insights on."""
    from datetime import datetime, timezone

    from .auth.accounts import InvalidAccountIdError, check_account_id
    from .insights.example import write_example_history

    try:
        check_account_id(account_id)
    except InvalidAccountIdError as exc:
        raise click.BadParameter(str(exc), param_hint="--account-id") from None
    try:
        until = datetime.now(timezone.utc) if end is None else datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{end!r} is not an ISO 8601 time", param_hint="--end") from None
    if until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    n = write_example_history(out, account_id, region, until, days=days)
    click.echo(f"{n} records of account {account_id} in {region}, {days} days to {until:%Y-%m-%dT%H:%MZ}: {out}")


def _print_progress(progress: Any) -> None:
    click.echo(f"\r{progress.render()}", nl=False, err=True)


def _register_proxy() -> None:
    from .proxy.command import proxy

    main.add_command(proxy)


_register_proxy()


if __name__ == "__main__":  # pragma: no cover
    main()
