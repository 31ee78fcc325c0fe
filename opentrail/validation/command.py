"""``opentrail validate-logs``: arguments, clients and storage, the run, the exit code.

Mirrors ``aws cloudtrail validate-logs`` (awscli 1.46 ``CloudTrailValidateLogs``): the same flags,
output (:mod:`.report`) and exit codes -- 0 all valid, 1 something invalid, 255 the command could
not run (the message goes to stderr as ``"\\n<message>\\n"``, as the AWS CLI writes it).

Where things are found (see docs/log-file-validation.md):

- the CloudTrail API (DescribeTrails when ``--s3-bucket`` is not given, ListPublicKeys):
  ``--endpoint-url``; else ``AWS_ENDPOINT_URL_CLOUDTRAIL``/``AWS_ENDPOINT_URL`` (boto3 reads them);
  else the URL in ``<data-dir>/server.json`` of a running server; else AWS. Credentials: the
  standard AWS chain; when it has none, ``<data-dir>/credentials`` (profile ``opentrail``).
- an organization trail (DescribeTrails says ``IsOrganizationTrail``) needs ``--account-id`` (the
  member account whose files are validated, as the AWS CLI requires) and its organization's id from
  Organizations' DescribeOrganization (``AWS_ENDPOINT_URL_ORGANIZATIONS``, else the CloudTrail
  endpoint: opentrail serves both on one port); files under ``AWSLogs/<o-id>/<account>/``. As the
  AWS CLI, with ``--s3-bucket`` the trail is not described and the plain layout is read.
- the bucket: ``--s3-endpoint-url`` (``OPENTRAIL_S3_ENDPOINT_URL``), else ``AWS_ENDPOINT_URL_S3``
  -> that S3-compatible service (standard credential chain); else the folders under
  ``<data-dir>/buckets`` (the server's default destination).
"""

from __future__ import annotations

import configparser
import os
import re
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

from ..objectstore import StorageError
from .digests import parse_date
from .errors import ValidationAbort
from .findings import ChainGap, DigestInvalid, DigestValid, Finding, LogAdded, LogToCheck
from .layout import TrailLayout
from .loghash import check_log_file
from .public_keys import CloudTrailPublicKeys, PublicKeySource
from .report import Progress, Reporter
from .storage import ValidationStorage, open_validation_storage
from .walker import ChainWalker

_ARN = re.compile(r"arn:.+:cloudtrail:.+:\d{12}:trail/.+")
CREDENTIALS_PROFILE = "opentrail"


@dataclass(frozen=True, slots=True)
class ValidateLogsArgs:
    """The command's flags (the AWS CLI's names; the last four are opentrail's)."""

    trail_arn: str
    start_time: str
    end_time: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str | None = None
    account_id: str | None = None
    verbose: bool = False
    region: str | None = None
    endpoint_url: str | None = None
    data_dir: Path = Path("opentrail-data")
    s3_endpoint_url: str = ""


def cloudtrail_client(endpoint_url: str | None, region: str, data_dir: Path) -> Any:
    """A boto3 CloudTrail client found as the module docstring says."""
    return api_client("cloudtrail", endpoint_url, region, data_dir)


def api_client(service: str, endpoint_url: str | None, region: str, data_dir: Path) -> Any:
    """A boto3 client of ``service`` (``cloudtrail``, ``logs``, ``cloudwatch``): at ``endpoint_url``;
    else at ``AWS_ENDPOINT_URL_<SERVICE ID>`` (``CLOUDTRAIL``, ``CLOUDWATCH_LOGS``, ``CLOUDWATCH``) / ``AWS_ENDPOINT_URL`` (boto3 reads them); else at the
    server running on ``data_dir``. Credentials: boto3's chain; else the ``opentrail`` profile of
    ``<data-dir>/credentials`` (written by ``opentrail create-access-key``); else, when ``data_dir``
    is registered on PostgreSQL (``--database-url``), the admin account's oldest active root key
    from that database (:meth:`opentrail.auth.accounts.AccountStore.admin_credentials`)."""
    import boto3
    import botocore.exceptions

    from ..local import read_server_file

    session = boto3.session.Session()
    endpoint = endpoint_url or None
    # boto3's service-specific variable is named after the service id ("CloudWatch Logs").
    env_name = "AWS_ENDPOINT_URL_" + {"logs": "CLOUDWATCH_LOGS"}.get(service, service.upper())
    if endpoint is None and not (os.environ.get(env_name) or os.environ.get("AWS_ENDPOINT_URL")):
        server = read_server_file(data_dir)
        if server is not None:
            endpoint = str(server["url"])
    extra: dict[str, str] = {}
    try:
        has_credentials = session.get_credentials() is not None
    except botocore.exceptions.BotoCoreError:
        has_credentials = False
    if not has_credentials:
        parser = configparser.ConfigParser()
        parser.read(data_dir / "credentials")
        if parser.has_section(CREDENTIALS_PROFILE):
            section = parser[CREDENTIALS_PROFILE]
            extra = {
                "aws_access_key_id": section.get("aws_access_key_id", ""),
                "aws_secret_access_key": section.get("aws_secret_access_key", ""),
            }
        else:
            extra = _admin_key_in_database(data_dir)
    return session.client(service, region_name=region, endpoint_url=endpoint, **extra)


def _admin_key_in_database(data_dir: Path) -> dict[str, str]:
    """The admin account's root key as boto3 client arguments, read from the accounts of
    ``data_dir`` when they are in PostgreSQL; empty when they are not (or there is no such key)."""
    from ..auth.accounts import ACCOUNTS_DB, AccountStore
    from ..state_db import database_url_for

    if database_url_for(data_dir / ACCOUNTS_DB) is None:
        return {}
    accounts = AccountStore(data_dir / ACCOUNTS_DB)
    try:
        key_id, secret = accounts.admin_credentials()
    except LookupError:
        return {}
    finally:
        accounts.close()
    return {"aws_access_key_id": key_id, "aws_secret_access_key": secret}


def _trail_by_arn(client: Any, trail_arn: str) -> dict[str, Any]:
    """The AWS CLI's ``get_trail_by_arn``: DescribeTrails, matched on TrailARN."""
    for trail in client.describe_trails()["trailList"]:
        if trail.get("TrailARN") == trail_arn:
            return dict(trail)
    raise ValidationAbort(f"A trail could not be found for {trail_arn}")


def _parse_cli_date(value: str) -> datetime:
    try:
        return parse_date(value)
    except ValueError as exc:
        raise ValidationAbort(str(exc)) from None


def run_findings(findings: Iterator[Finding], reporter: Reporter, storage: ValidationStorage, pool: ThreadPoolExecutor, window: int) -> None:
    """Print findings in order while log files are checked on ``pool`` (at most ``window`` pending)."""
    pending: deque[Finding | Future[Any]] = deque()

    def emit(item: Finding | Future[Any]) -> None:
        if isinstance(item, Future):
            reporter.log_checked(item.result())
        elif isinstance(item, DigestValid):
            reporter.digest_valid(item.digest, item.backfill)
        elif isinstance(item, DigestInvalid):
            reporter.digest_invalid(item.message, item.backfill, item.count)
        elif isinstance(item, ChainGap):
            reporter.gap(item.message, item.backfill)
        elif isinstance(item, LogAdded):
            reporter.log_added(item.bucket, item.key)

    try:
        for finding in findings:
            if isinstance(finding, LogToCheck):
                storage.prefetch(str(finding.log.get("s3Bucket")), str(finding.log.get("s3Object")))
                pending.append(pool.submit(check_log_file, storage.open_object, finding.log))
            else:
                pending.append(finding)
            while len(pending) > window:
                emit(pending.popleft())
        while pending:
            emit(pending.popleft())
    finally:
        for item in pending:
            if isinstance(item, Future):
                item.cancel()


def no_digests_hint(data_dir: Path, trail_arn: str, region: str) -> str:
    """Why a trail may have no digest file yet and when its first is due: digest files come from the
    server's schedule (``--digest-interval-s``, hourly by default, as AWS), the first one an interval
    after the chain started (``<data_dir>/digests.db``, when it is there)."""
    from ..digests.state import DIGESTS_DB, DigestState
    from ..digests.worker import DEFAULT_INTERVAL_S

    hour = int(DEFAULT_INTERVAL_S)
    start = None
    if (Path(data_dir) / DIGESTS_DB).exists():
        state = DigestState(Path(data_dir) / DIGESTS_DB)
        try:
            start = next((c.start_time for c in state.chains()
                          if c.arn == trail_arn and c.region == region and c.kind == "regular" and c.active), None)
        finally:
            state.close()
    if start is None:
        when = "within an hour of the server seeing the trail log with validation on"
    else:
        due = datetime.fromtimestamp(start + hour, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        when = f"at {due} (an hour after the chain started) with the default schedule"
    return (f"No digest file yet: digest files cover an hour of deliveries each (serve --digest-interval-s, "
            f"default {hour}); this trail's first one is due {when}. "
            f"For one a minute, run the server with: opentrail serve --digest-interval-s 60")


def validate_logs(
    args: ValidateLogsArgs,
    *,
    stdout: TextIO,
    stderr: TextIO,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    client: Any = None,
    keys: PublicKeySource | None = None,
    storage: ValidationStorage | None = None,
    workers: int = 2,
    progress: bool | None = None,
) -> int:
    """Run the command; returns the exit code. ``client``/``keys``/``storage`` replace the ones
    found from ``args`` (tests, benchmarks); ``progress`` None = when stderr is a terminal."""
    own_storage = storage is None
    try:
        start = _parse_cli_date(args.start_time)
        end = _parse_cli_date(args.end_time) if args.end_time else now().astimezone(timezone.utc).replace(microsecond=0)
        if start > end:
            raise ValidationAbort("Invalid time range specified: start-time must occur before end-time")
        if not _ARN.match(args.trail_arn):
            raise ValidationAbort(f"Invalid trail ARN provided: {args.trail_arn}")
        home_region = args.trail_arn.split(":")[3]
        trail_name = args.trail_arn.split("/")[-1]
        region = args.region or home_region
        if client is None and (keys is None or args.s3_bucket is None):
            client = cloudtrail_client(args.endpoint_url, region, args.data_dir)
        bucket, prefix = args.s3_bucket, args.s3_prefix
        organization_id = None
        if bucket is None:
            trail = _trail_by_arn(client, args.trail_arn)
            bucket, prefix = trail["S3BucketName"], trail.get("S3KeyPrefix")
            if trail.get("IsOrganizationTrail"):  # as the AWS CLI: --account-id, then DescribeOrganization
                if not args.account_id:
                    raise ValidationAbort("Missing required parameter for organization trail: '--account-id'")
                organization_id = str(api_client("organizations", os.environ.get("AWS_ENDPOINT_URL_ORGANIZATIONS")
                                                 or args.endpoint_url, region, args.data_dir)
                                      .describe_organization()["Organization"]["Id"])
        account_id = args.account_id or args.trail_arn.split(":")[4]
        layout = TrailLayout(account_id, trail_name, home_region, region, prefix or None, organization_id)
        if storage is None:
            storage = open_validation_storage(args.data_dir, args.s3_endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3", ""))
        show_progress = stderr.isatty() if progress is None else progress
        reporter = Reporter(
            stdout, stderr, trail_arn=args.trail_arn, start=start, end=end, verbose=args.verbose,
            progress=Progress(stderr) if show_progress else None,
        )
        walker = ChainWalker(storage, keys or CloudTrailPublicKeys(client), layout, bucket, start, end)
        reporter.startup()
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="validate-logs") as pool:
            run_findings(walker.walk(backfill=False), reporter, storage, pool, window=8 * max(1, workers))
            run_findings(walker.walk(backfill=True), reporter, storage, pool, window=8 * max(1, workers))
        reporter.summary()
        if reporter.found_nothing():  # stdout and exit code stay the AWS CLI's; stderr says why
            stderr.write(no_digests_hint(args.data_dir, args.trail_arn, region) + "\n")
        return reporter.exit_code()
    except (ValidationAbort, StorageError) as exc:
        stderr.write(f"\n{exc}\n")
        return 255
    except Exception as exc:  # botocore errors (endpoint down, access denied): the AWS CLI's 255
        import botocore.exceptions

        if isinstance(exc, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)):
            stderr.write(f"\n{exc}\n")
            return 255
        raise
    finally:
        if own_storage and storage is not None:
            storage.close()
