"""TrailService: the trail operations, persisted in ``<data-dir>/trails.db``.

Every method takes the caller's account and Region (the signing Region) and raises the trail
errors of :mod:`opentrail.trails.errors`. Behaviour copied from AWS (API Reference and User Guide):

- Trails belong to an account; a trail lives in its home Region. A multi-Region trail is also
  visible in every other Region as a *shadow trail*: DescribeTrails (includeShadowTrails, default
  true) and ListTrails list it (another Region's single-Region trail is not listed), and Get* operations accept it *by ARN* (by name only the caller's Region is
  searched, as AWS: "To return information about a trail in another Region, you must specify its
  trail ARN"). Changes (Update/Delete/Start/Stop/Put*Selectors) are made in the home Region only
  (InvalidHomeRegionException).
- A name is unique per account and Region, counting shadow trails; at most 5 trails per Region,
  shadow trails and (for a member account) the organization trails it sees included
  (MaximumNumberOfTrailsExceededException).
- The bucket must exist in the destination storage at CreateTrail and when UpdateTrail names one
  (S3BucketDoesNotExistException).
- SnsTopicName (a name becomes ``arn:aws:sns:<caller's Region>:<caller's account>:<name>``) must
  name a topic that the injected :class:`SnsTopicChecker` finds, at CreateTrail and whenever
  UpdateTrail gives one (InsufficientSnsTopicPolicyException, as AWS; moto does the same). When
  the SNS endpoint cannot be asked the trail is accepted (the checker logs it); notifications
  then report their own errors as LatestNotificationError. The check runs outside the trail
  lock, so a slow SNS endpoint holds up only this call.
- CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn: the rules of :mod:`.log_groups` (given
  together; the group of the caller's account and partition, existing when a
  :class:`~.log_groups.LogGroupChecker` is injected).
- IsOrganizationTrail (:mod:`.organization`): prerequisites checked by
  :func:`~.organization.organization_owner`; the trail belongs to the management account (also when
  a delegated administrator makes it). Member accounts of the organization see it (DescribeTrails,
  ListTrails, GetTrail, GetTrailStatus, GetEventSelectors, GetInsightSelectors: by name in its home
  Region or by ARN, with the management account's ARN). A member changes it only as a CloudTrail
  delegated administrator and by ARN; any other member gets NotOrganizationMasterAccountException
  (by ARN) -- and by name TrailNotFoundException naming the organization trail's ARN, as AWS
  answered a delegated administrator that used the name (terraform-provider-aws#30387). Only the
  management account turns IsOrganizationTrail off (the trail then stays in its account only).
- New trails do not log until StartLogging.

Changes can be *staged*: inside :meth:`TrailService.staged_changes` (which holds the trail lock)
an operation computes and checks as usual, but what it would write is kept until the block's
``commit`` runs it. The API uses this to make a call's CloudTrail record durable before the call
takes effect (fail closed: a change that cannot be recorded is never made).

Several nodes may share the trail database: every change checks and writes inside one
:meth:`~.repository.TrailRepository.transaction` (the database's write lock, what other nodes
committed reloaded first), so names, limits and the trail's current settings are checked against
every node's trails; reads see other nodes' changes at their next look on SQLite and within
:data:`~opentrail.state_watch.PG_RECHECK_S` on PostgreSQL.

Delivery reads :meth:`TrailService.trails` (a consistent snapshot of immutable values) and reports
with :meth:`record_delivery`, :meth:`record_notification` and :meth:`record_digest_delivery`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager, Protocol

from ..objectstore.base import ObjectStorage
from ..objectstore.local import LocalFolderStorage
from ..staging import Staging
from . import errors as E
from .model import (
    AdvancedEventSelector,
    EventSelector,
    InsightSelector,
    Trail,
    TrailSelectors,
    TrailStatus,
    sns_topic_arn,
    trail_arn,
)
from .log_groups import LogGroupChecker, check_cloud_watch_logs
from .names import (
    check_cloud_watch_logs_log_group_arn,
    check_cloud_watch_logs_role_arn,
    check_kms_key_id,
    check_s3_bucket_name,
    check_trail_name,
    is_arn,
    parse_trail_arn,
)
from .organization import OrganizationDirectory, may_manage, organization_owner, viewers_owner
from .repository import TrailRepository, key_of
from .insight_sources import check_insights_source
from .selectors import validate_advanced_event_selectors, validate_event_selectors, validate_insight_selectors
from .tags import check_tags, merge_tags, remove_tags

MAX_TRAILS_PER_REGION = 5
MAX_S3_KEY_PREFIX = 200
TRAILS_DB = "trails.db"
_SNS_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}|arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}")
_RESOURCE_ARN = re.compile(r"arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):([0-9]{12}):([a-z]+)/(.+)")


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrailSettings:
    """The settable members of CreateTrail/UpdateTrail; None means "not given"."""

    s3_bucket_name: str | None = None
    s3_key_prefix: str | None = None
    sns_topic_name: str | None = None
    include_global_service_events: bool | None = None
    is_multi_region_trail: bool | None = None
    enable_log_file_validation: bool | None = None
    cloud_watch_logs_log_group_arn: str | None = None
    cloud_watch_logs_role_arn: str | None = None
    kms_key_id: str | None = None
    is_organization_trail: bool | None = None


class SnsTopicChecker(Protocol):
    """Answers whether an SNS topic exists (see :class:`opentrail.delivery.topics.SnsTopics`)."""

    def topic_exists(self, topic_arn: str) -> bool | None:
        """True when the topic exists; False when SNS says it does not or refuses to say
        (NotFound, AuthorizationError); None when SNS cannot be asked now."""
        ...


class TrailService:
    """Trail management over ``<data_dir>/trails.db``; ``storage`` answers bucket existence,
    ``sns_topics`` (None: not checked) topic existence, ``log_groups`` (None: not checked) log
    group existence; ``clock`` gives epoch seconds."""

    def __init__(self, data_dir: Path, storage: ObjectStorage, clock: Callable[[], float], *,
                 sns_topics: SnsTopicChecker | None = None, log_groups: LogGroupChecker | None = None,
                 organizations: OrganizationDirectory | None = None) -> None:
        #: the organizations (None: no account is in one); set after construction by the server
        self.organizations = organizations
        self._repo = TrailRepository(Path(data_dir) / TRAILS_DB)
        self._storage = storage
        self._sns_topics = sns_topics
        self._log_groups = log_groups
        self._clock = clock
        self._staging = Staging(self._repo.lock)

    def close(self) -> None:
        self._repo.close()

    # --- reads for delivery --------------------------------------------------------------

    def trails(self) -> list[Trail]:
        """Every trail of every account (immutable snapshot)."""
        return self._repo.all()

    @property
    def version(self) -> int:
        """Changes whenever the trails change, here or on another node (seen within
        :data:`~opentrail.state_watch.PG_RECHECK_S` on PostgreSQL): what caches built from
        :meth:`trails` compare."""
        return self._repo.version

    def refresh(self) -> None:
        """Load what other nodes changed now, not within :data:`~opentrail.state_watch.PG_RECHECK_S`."""
        self._repo.refresh()

    # --- resolution ------------------------------------------------------------------------

    def _account_trails(self, account_id: str) -> list[Trail]:
        return [t for t in self._repo.all() if t.account_id == account_id]

    def _organization_trails(self, account_id: str) -> list[Trail]:
        """The organization trails ``account_id`` sees as a member (of its management account)."""
        owner = viewers_owner(self.organizations, account_id)
        if owner is None:
            return []
        return [t for t in self._account_trails(owner) if t.is_organization_trail]

    def _visible(self, account_id: str, region: str) -> list[Trail]:
        return [t for t in self._account_trails(account_id) + self._organization_trails(account_id)
                if t.visible_in(region)]

    def _member_write(self, account_id: str, trail: Trail) -> None:
        """A member changing its organization's trail: only a delegated administrator may."""
        if not may_manage(self.organizations, account_id, trail.account_id):
            raise E.NotOrganizationMasterAccountException()

    def _find(self, account_id: str, region: str, name_or_arn: str, *, write: bool) -> Trail:
        if is_arn(name_or_arn):
            parts = name_or_arn.split(":")
            owner = viewers_owner(self.organizations, account_id)
            target = owner if owner is not None and len(parts) > 4 and parts[4] == owner else account_id
            arn = parse_trail_arn(name_or_arn, target)
            trail = self._repo.get((target, arn.region, arn.name))
            if trail is None or not trail.visible_in(region) or (target != account_id and not trail.is_organization_trail):
                raise E.TrailNotFoundException.for_arn(name_or_arn, account_id)
            if write and target != account_id:
                self._member_write(account_id, trail)
            if write and trail.home_region != region:
                raise E.InvalidHomeRegionException.for_trail(trail.arn, trail.home_region)
            return trail
        check_trail_name(name_or_arn)
        trail = self._repo.get((account_id, region, name_or_arn))
        if trail is not None:
            return trail
        org_trail = next((t for t in self._organization_trails(account_id)
                          if t.name == name_or_arn and t.home_region == region), None)
        if org_trail is not None:
            if write:  # AWS resolves the name, then refuses it to the member (even a delegated admin)
                raise E.TrailNotFoundException.for_arn(org_trail.arn, account_id)
            return org_trail
        if write:
            shadow = next((t for t in self._visible(account_id, region) if t.name == name_or_arn), None)
            if shadow is not None:
                raise E.InvalidHomeRegionException.for_trail(shadow.arn, shadow.home_region)
        raise E.TrailNotFoundException.for_arn(trail_arn(region, account_id, name_or_arn), account_id)

    # --- staged changes ---------------------------------------------------------------------

    def staged_changes(self) -> ContextManager[Callable[[], None]]:
        """Hold the trail lock and stage this thread's changes until the yielded ``commit`` writes
        them (:class:`opentrail.staging.Staging`; the API records the call in between)."""
        return self._staging.changes()

    def _apply(self, change: Callable[[], None]) -> None:
        """Run ``change`` now, or stage it inside :meth:`staged_changes`."""
        self._staging.apply(change)

    def _save(self, trail: Trail) -> Trail:
        def write() -> None:
            self._repo.put(trail)

        self._apply(write)
        return trail

    # --- checks ------------------------------------------------------------------------------

    def _check_settings(self, s: TrailSettings, multi_region: bool, global_events: bool) -> None:
        if s.s3_bucket_name is not None and not s.s3_bucket_name:
            raise E.InvalidS3BucketNameException("S3 bucket name cannot be empty.")
        if s.s3_bucket_name:
            check_s3_bucket_name(s.s3_bucket_name)
        if s.s3_key_prefix is not None and len(s.s3_key_prefix) > MAX_S3_KEY_PREFIX:
            raise E.InvalidS3PrefixException(
                f"Prefix is too long. Maximum allowed length: {MAX_S3_KEY_PREFIX} characters. "
                f"Specified prefix length: {len(s.s3_key_prefix)} characters."
            )
        if s.sns_topic_name and not _SNS_NAME.fullmatch(s.sns_topic_name):
            raise E.InvalidSnsTopicNameException(f"Topic name or ARN {s.sns_topic_name[:1000]} is not valid.")
        if s.cloud_watch_logs_log_group_arn:
            check_cloud_watch_logs_log_group_arn(s.cloud_watch_logs_log_group_arn)
        if s.cloud_watch_logs_role_arn:
            check_cloud_watch_logs_role_arn(s.cloud_watch_logs_role_arn)
        if s.kms_key_id:
            check_kms_key_id(s.kms_key_id)
        if multi_region and not global_events:
            raise E.InvalidParameterCombinationException("Multi-Region trail must include global service events.")

    def _check_cloud_watch_logs(self, account_id: str, region: str, s: TrailSettings, trail: Trail | None) -> None:
        """The CloudWatch Logs pair rules (:func:`.log_groups.check_cloud_watch_logs`); ``trail`` is
        the trail UpdateTrail changes (None for CreateTrail)."""
        check_cloud_watch_logs(account_id, region, s.cloud_watch_logs_log_group_arn, s.cloud_watch_logs_role_arn,
                               trail.cloud_watch_logs_log_group_arn if trail is not None else None, self._log_groups)

    def _check_room(self, account_id: str, name: str, region: str, multi_region: bool, ignore: Trail | None) -> None:
        """Name collisions and the per-Region limit for a new (or newly multi-Region) trail: the
        limit counts what ListTrails lists in the Region, so a member account's count includes the
        organization trails it sees (AWS's quota page measures the quota's usage with ListTrails;
        AWS does not say more). For
        UpdateTrail (``ignore`` set) the model lists neither TrailAlreadyExistsException nor
        MaximumNumberOfTrailsExceededException, so the same facts are InvalidParameterException."""
        others = [t for t in self._account_trails(account_id) if t is not ignore]
        regions = {region} | ({t.home_region for t in others} if multi_region else set())
        clash = next((t for t in others if t.name == name and (multi_region or t.visible_in(region))), None)
        if clash is not None:
            if ignore is not None:
                raise E.InvalidParameterException(f"A trail named {name} already exists in {clash.home_region}.")
            raise E.TrailAlreadyExistsException.for_name(name, account_id)
        counted = others + self._organization_trails(account_id)
        for r in sorted(regions):
            visible = [t for t in counted if t.visible_in(r)]
            if len(visible) >= MAX_TRAILS_PER_REGION:
                if ignore is not None:
                    raise E.InvalidParameterException(f"User already has {MAX_TRAILS_PER_REGION} trails in {r}")
                raise E.MaximumNumberOfTrailsExceededException.for_region(r, MAX_TRAILS_PER_REGION)

    def _check_bucket(self, bucket: str) -> None:
        if not self._storage.bucket_exists(bucket):
            if isinstance(self._storage, LocalFolderStorage):  # the error stays AWS's; the log says how
                log.warning("bucket %r does not exist; create it with: opentrail create-bucket --data-dir %s %s",
                            bucket, shlex.quote(str(self._storage.root.parent)), shlex.quote(bucket))
            raise E.S3BucketDoesNotExistException.for_bucket(bucket)

    def _check_topic(self, account_id: str, region: str, name: str | None) -> None:
        """InsufficientSnsTopicPolicyException unless the checker finds (or cannot ask about) the
        topic; a malformed name is left to :meth:`_check_settings`."""
        if not name or self._sns_topics is None or not _SNS_NAME.fullmatch(name):
            return
        if self._sns_topics.topic_exists(sns_topic_arn(name, region, account_id)) is False:
            raise E.InsufficientSnsTopicPolicyException()

    # --- trail operations ------------------------------------------------------------------

    def create_trail(self, account_id: str, region: str, name: str, settings: TrailSettings,
                     tags: tuple[tuple[str, str | None], ...] = ()) -> Trail:
        """CreateTrail. Raises InvalidTrailNameException, InvalidS3BucketNameException,
        InvalidS3PrefixException, InvalidSnsTopicNameException, InvalidParameterCombinationException,
        InvalidCloudWatchLogsLogGroupArnException, InvalidCloudWatchLogsRoleArnException,
        InvalidKmsKeyIdException, OrganizationsNotInUseException, TrailAlreadyExistsException,
        MaximumNumberOfTrailsExceededException, S3BucketDoesNotExistException,
        InsufficientSnsTopicPolicyException, tag errors."""
        check_trail_name(name)
        if settings.is_organization_trail:  # the management account owns it (OrganizationDirectory)
            account_id = organization_owner(self.organizations, account_id)
        multi = bool(settings.is_multi_region_trail)
        global_events = settings.include_global_service_events is not False
        self._check_settings(dataclasses.replace(settings, s3_bucket_name=settings.s3_bucket_name or ""), multi, global_events)
        check_tags(tags)
        self._check_cloud_watch_logs(account_id, region, settings, None)
        self._check_topic(account_id, region, settings.sns_topic_name)
        with self._repo.transaction():
            self._check_room(account_id, name, region, multi, None)
            self._check_bucket(settings.s3_bucket_name or "")
            trail = Trail(
                account_id=account_id,
                home_region=region,
                name=name,
                s3_bucket_name=settings.s3_bucket_name or "",
                s3_key_prefix=settings.s3_key_prefix or None,
                sns_topic_name=settings.sns_topic_name or None,
                include_global_service_events=global_events,
                is_multi_region_trail=multi,
                log_file_validation_enabled=bool(settings.enable_log_file_validation),
                cloud_watch_logs_log_group_arn=settings.cloud_watch_logs_log_group_arn or None,
                cloud_watch_logs_role_arn=settings.cloud_watch_logs_role_arn or None,
                kms_key_id=settings.kms_key_id or None,
                is_organization_trail=bool(settings.is_organization_trail),
                tags=merge_tags((), tags),
                created_time=self._clock(),
            )
            return self._save(trail)

    def update_trail(self, account_id: str, region: str, name_or_arn: str, settings: TrailSettings) -> Trail:
        """UpdateTrail: members given in ``settings`` change, an empty string clears optional ones.
        Raises the CreateTrail errors plus TrailNotFoundException, InvalidHomeRegionException,
        CloudTrailARNInvalidException."""
        if settings.sns_topic_name:
            self._find(account_id, region, name_or_arn, write=True)  # lookup errors come first
            self._check_topic(account_id, region, settings.sns_topic_name)
        with self._repo.transaction():
            trail = self._find(account_id, region, name_or_arn, write=True)
            organization = trail.is_organization_trail
            if settings.is_organization_trail and not trail.is_organization_trail:
                organization_owner(self.organizations, account_id)
                organization = True
            elif settings.is_organization_trail is False and trail.is_organization_trail:
                if account_id != trail.account_id:  # only the management account converts it back
                    raise E.NotOrganizationMasterAccountException()
                organization = False
            multi = trail.is_multi_region_trail if settings.is_multi_region_trail is None else settings.is_multi_region_trail
            global_events = (
                trail.include_global_service_events
                if settings.include_global_service_events is None
                else settings.include_global_service_events
            )
            self._check_settings(settings, multi, global_events)
            self._check_cloud_watch_logs(trail.account_id, region, settings, trail)
            if multi and not trail.is_multi_region_trail:
                self._check_room(trail.account_id, trail.name, region, True, trail)
            if settings.s3_bucket_name is not None:
                self._check_bucket(settings.s3_bucket_name)

            def pick(new: str | None, old: str | None) -> str | None:
                return old if new is None else (new or None)

            group = pick(settings.cloud_watch_logs_log_group_arn, trail.cloud_watch_logs_log_group_arn)
            role = pick(settings.cloud_watch_logs_role_arn, trail.cloud_watch_logs_role_arn) if group else None

            updated = dataclasses.replace(
                trail,
                s3_bucket_name=settings.s3_bucket_name or trail.s3_bucket_name,
                s3_key_prefix=pick(settings.s3_key_prefix, trail.s3_key_prefix),
                sns_topic_name=pick(settings.sns_topic_name, trail.sns_topic_name),
                include_global_service_events=global_events,
                is_multi_region_trail=multi,
                log_file_validation_enabled=trail.log_file_validation_enabled
                if settings.enable_log_file_validation is None
                else settings.enable_log_file_validation,
                cloud_watch_logs_log_group_arn=group,
                cloud_watch_logs_role_arn=role,
                kms_key_id=pick(settings.kms_key_id, trail.kms_key_id),
                is_organization_trail=organization,
            )
            return self._save(updated)

    def delete_trail(self, account_id: str, region: str, name_or_arn: str) -> None:
        """DeleteTrail (home Region only)."""
        with self._repo.transaction():
            trail = self._find(account_id, region, name_or_arn, write=True)

            def delete() -> None:
                self._repo.delete(key_of(trail))

            self._apply(delete)

    def get_trail(self, account_id: str, region: str, name_or_arn: str) -> Trail:
        """GetTrail / GetTrailStatus / GetEventSelectors: a trail of the caller's Region by name,
        or any visible trail (shadow trails included) by ARN."""
        return self._find(account_id, region, name_or_arn, write=False)

    def describe_trails(self, account_id: str, region: str, names: list[str] | None,
                        include_shadow_trails: bool = True) -> list[Trail]:
        """DescribeTrails. Without names: the Region's trails (and shadow trails unless
        ``include_shadow_trails`` is false). With names: those of the caller's Region by name, any
        visible trail by ARN; unknown ones are left out (AWS answers an empty list, not an error)."""
        visible = [t for t in self._visible(account_id, region)
                   if include_shadow_trails or t.home_region == region]
        if not names:
            return visible
        out: list[Trail] = []
        for item in names:
            try:
                trail = self._find(account_id, region, item, write=False)
            except E.TrailNotFoundException:
                continue
            if trail in visible and trail not in out:
                out.append(trail)
        return out

    def list_trails(self, account_id: str, region: str, after: tuple[str, str] | None,
                    limit: int) -> tuple[list[Trail], tuple[str, str] | None]:
        """ListTrails in ``region``: the trails that apply there, i.e. the Region's own trails and the
        multi-Region trails of other Regions (shadow trails), not other Regions' single-Region trails
        (the same set as DescribeTrails with includeShadowTrails). Ordered by (home Region, name),
        ``limit`` per page after the cursor ``after``; returns the page and the next cursor (None at
        the end)."""
        trails = sorted(self._visible(account_id, region), key=lambda t: (t.home_region, t.name))
        if after is not None:
            trails = [t for t in trails if (t.home_region, t.name) > after]
        page = trails[:limit]
        more = len(trails) > limit
        return page, ((page[-1].home_region, page[-1].name) if more else None)

    def start_logging(self, account_id: str, region: str, name_or_arn: str) -> Trail:
        """StartLogging: IsLogging true, StartLoggingTime now (unchanged when already logging)."""
        with self._repo.transaction():
            trail = self._find(account_id, region, name_or_arn, write=True)
            if trail.status.is_logging:
                return trail
            status = dataclasses.replace(trail.status, is_logging=True, start_logging_time=self._clock())
            return self._save(dataclasses.replace(trail, status=status))

    def stop_logging(self, account_id: str, region: str, name_or_arn: str) -> Trail:
        """StopLogging: IsLogging false, StopLoggingTime now (unchanged when not logging)."""
        with self._repo.transaction():
            trail = self._find(account_id, region, name_or_arn, write=True)
            if not trail.status.is_logging:
                return trail
            status = dataclasses.replace(trail.status, is_logging=False, stop_logging_time=self._clock())
            return self._save(dataclasses.replace(trail, status=status))

    # --- selectors ---------------------------------------------------------------------------

    def put_event_selectors(self, account_id: str, region: str, name_or_arn: str,
                            event_selectors: tuple[EventSelector, ...] | None,
                            advanced_event_selectors: tuple[AdvancedEventSelector, ...] | None) -> Trail:
        """PutEventSelectors: exactly one of the two lists; advanced selectors replace basic ones and
        vice versa. Raises InvalidEventSelectorsException and the lookup errors."""
        if (event_selectors is None) == (advanced_event_selectors is None):
            raise E.InvalidEventSelectorsException(
                "You must specify either EventSelectors or AdvancedEventSelectors, but not both."
            )
        with self._repo.transaction():
            trail = self._find(account_id, region, name_or_arn, write=True)
            if event_selectors is not None:
                validate_event_selectors(event_selectors)
            else:
                validate_advanced_event_selectors(advanced_event_selectors or ())
            selectors = TrailSelectors(event_selectors, advanced_event_selectors)
            return self._save(dataclasses.replace(trail, selectors=selectors, has_custom_event_selectors=True))

    def put_insight_selectors(self, account_id: str, region: str, name_or_arn: str,
                              insight_selectors: tuple[InsightSelector, ...]) -> Trail:
        """PutInsightSelectors (an empty list turns Insights off). Raises InvalidInsightSelectorsException
        also when the trail does not log the events the selectors watch
        (:func:`.insight_sources.check_insights_source`)."""
        validate_insight_selectors(insight_selectors)
        with self._repo.transaction():
            trail = self._find(account_id, region, name_or_arn, write=True)
            check_insights_source(trail.selectors, insight_selectors)
            return self._save(dataclasses.replace(trail, insight_selectors=insight_selectors))

    def get_insight_selectors(self, account_id: str, region: str, name_or_arn: str) -> Trail:
        """GetInsightSelectors; raises InsightNotEnabledException when the trail has none."""
        trail = self._find(account_id, region, name_or_arn, write=False)
        if not trail.insight_selectors:
            raise E.InsightNotEnabledException.for_trail(trail.arn)
        return trail

    # --- tags --------------------------------------------------------------------------------

    def _tagged(self, account_id: str, region: str, resource_id: str) -> Trail:
        m = _RESOURCE_ARN.fullmatch(resource_id)
        if m is None:
            raise E.CloudTrailARNInvalidException.malformed(resource_id)
        arn_region, arn_account, kind, name = m.groups()
        if arn_account != account_id:
            raise E.CloudTrailARNInvalidException.wrong_account(account_id)
        if kind != "trail":
            raise E.ResourceNotFoundException.for_arn(resource_id)
        trail = self._repo.get((account_id, arn_region, name))
        if trail is None or not trail.visible_in(region):
            raise E.ResourceNotFoundException.for_arn(resource_id)
        return trail

    def add_tags(self, account_id: str, region: str, resource_id: str, tags: tuple[tuple[str, str | None], ...]) -> None:
        """AddTags: new keys are added, existing keys get the new value; at most 50 per trail."""
        check_tags(tags)
        with self._repo.transaction():
            trail = self._tagged(account_id, region, resource_id)
            self._save(dataclasses.replace(trail, tags=merge_tags(trail.tags, tags)))

    def remove_tags(self, account_id: str, region: str, resource_id: str, tags: tuple[tuple[str, str | None], ...]) -> None:
        """RemoveTags: removes the given keys (a given Value must match the stored one)."""
        check_tags(tags)
        with self._repo.transaction():
            trail = self._tagged(account_id, region, resource_id)
            self._save(dataclasses.replace(trail, tags=remove_tags(trail.tags, tags)))

    def list_tags(self, account_id: str, region: str, resource_ids: list[str]) -> list[Trail]:
        """ListTags: the trails named by ``resource_ids``, in order."""
        return [self._tagged(account_id, region, r) for r in resource_ids]

    # --- status written by delivery ----------------------------------------------------------

    def _update_status(self, arn: str, **changes: object) -> None:
        with self._repo.transaction():
            trail = next((t for t in self._repo.all() if t.arn == arn), None)
            if trail is None:
                return
            self._save(dataclasses.replace(trail, status=dataclasses.replace(trail.status, **changes)))

    def record_delivery(self, arn: str, attempt_time: float, error: str | None = None) -> None:
        """A log file delivery attempt of trail ``arn`` at ``attempt_time``: success sets
        LatestDeliveryTime/LatestDeliveryAttemptSucceeded and clears LatestDeliveryError."""
        if error is None:
            self._update_status(arn, latest_delivery_attempt_time=attempt_time, latest_delivery_time=attempt_time,
                                latest_delivery_attempt_succeeded=attempt_time, latest_delivery_error=None)
        else:
            self._update_status(arn, latest_delivery_attempt_time=attempt_time, latest_delivery_error=error)

    def record_notification(self, arn: str, attempt_time: float, error: str | None = None) -> None:
        """An SNS notification attempt (same rules as :meth:`record_delivery`)."""
        if error is None:
            self._update_status(arn, latest_notification_attempt_time=attempt_time, latest_notification_time=attempt_time,
                                latest_notification_attempt_succeeded=attempt_time, latest_notification_error=None)
        else:
            self._update_status(arn, latest_notification_attempt_time=attempt_time, latest_notification_error=error)

    def record_cloudwatch_logs_delivery(self, arn: str, time: float, error: str | None = None) -> None:
        """A delivery to the trail's CloudWatch Logs log group: success sets
        LatestCloudWatchLogsDeliveryTime and clears LatestCloudWatchLogsDeliveryError, failure sets
        the error (the CloudWatch Logs error code)."""
        if error is None:
            self._update_status(arn, latest_cloudwatch_logs_delivery_time=time, latest_cloudwatch_logs_delivery_error=None)
        else:
            self._update_status(arn, latest_cloudwatch_logs_delivery_error=error)

    def record_digest_delivery(self, arn: str, time: float, error: str | None = None) -> None:
        """A digest file delivery: success sets LatestDigestDeliveryTime, failure the error."""
        if error is None:
            self._update_status(arn, latest_digest_delivery_time=time, latest_digest_delivery_error=None)
        else:
            self._update_status(arn, latest_digest_delivery_error=error)


__all__ = ["LogGroupChecker", "SnsTopicChecker", "TrailService", "TrailSettings", "TrailStatus", "MAX_TRAILS_PER_REGION"]
