"""DashboardService: the CloudTrail Lake dashboard operations without the wire, over
``<data-dir>/lake.db`` (:mod:`.dashboard_repository`) and the query runner
(:class:`.queries.QueryManager`).

Behaviour copied from AWS (botocore model, User Guide "CloudTrail Lake dashboards",
``../shared/reference/lake.md`` §A.5); the rules on values are :mod:`.dashboards`'s:

- A dashboard belongs to an account and Region; DashboardId is its name or ARN. At most 100
  custom dashboards per Region (ServiceQuotaExceededException); a name in use is ConflictException.
- Each widget's statement is checked at Create/UpdateDashboard as StartQuery checks a statement
  (InvalidQueryStatementException, EventDataStoreNotFoundException,
  InactiveEventDataStoreException), with sample parameter values.
- DeleteDashboard with TerminationProtectionEnabled (default false) is ConflictException. The
  built-in managed dashboard (:mod:`.managed_dashboard`) is in every account and Region; changing
  or deleting it is UnsupportedOperationException.
- StartDashboardRefresh starts every widget's query through the query runner (the same path as
  StartQuery; each query counts against the 10 concurrent queries) and answers a RefreshId (the
  refresh's creation time in epoch milliseconds, made unique). One refresh at a time per dashboard:
  another while a widget query of the previous one is QUEUED or RUNNING is
  ServiceQuotaExceededException, as is a refresh whose queries would pass the concurrent query
  quota (the ones it started are cancelled). DescribeQuery with QueryAlias + RefreshId names a
  widget's query, whose rows GetQueryResults returns.
- Refresh schedules: :meth:`run_due` (called by :class:`.dashboard_scheduler.DashboardScheduler`
  on the injected clock) refreshes each dashboard whose scheduled time has come; see
  :meth:`run_due` for "exactly once".

Changes are staged exactly as :meth:`opentrail.lake.service.EventDataStoreService.staged_changes`
does (the API records the call before the change is made).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Any, Callable, ContextManager

from ..staging import Staging
from ..trails import errors as TE
from ..trails.tags import MAX_TAGS, check_tags, merge_tags, remove_tags
from . import dashboard_errors as E
from .dashboard_repository import DashboardRepository, Refresh
from .dashboards import (CUSTOM_PARAMETERS, MANAGED_PARAMETERS, MAX_DASHBOARDS_PER_REGION, Dashboard, RefreshSchedule,
                         Widget, bind, check_name, check_schedule, check_widgets, resolve_values, sample_values,
                         schedule_slots, widget_alias)
from .managed_dashboard import NAME as MANAGED_NAME
from .managed_dashboard import managed_dashboard
from .service import LAKE_DB

log = logging.getLogger("opentrail.lake.dashboards")
_ARN = re.compile(r"arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):([0-9]{12}):dashboard/(.+)")
ACTIVE = ("QUEUED", "RUNNING")
Tags = tuple[tuple[str, str | None], ...]


def is_dashboard_arn(value: str) -> bool:
    """True for ``arn:aws:cloudtrail:<region>:<account>:dashboard/<name>``-shaped values."""
    return _ARN.fullmatch(value) is not None


class DashboardService:
    """Dashboards of every account (see the module documentation). ``queries`` is the
    :class:`.queries.QueryManager` (set later when it is made after this service)."""

    def __init__(self, data_dir: Path, clock: Callable[[], float], queries: Any = None) -> None:
        self._repo = DashboardRepository(Path(data_dir) / LAKE_DB)
        self._clock = clock
        self.queries = queries
        self._staging = Staging(self._repo.lock)

    def close(self) -> None:
        self._repo.close()

    def staged_changes(self) -> ContextManager[Callable[[], None]]:
        """Hold the lock and stage this thread's changes until the yielded ``commit`` writes them."""
        return self._staging.changes()

    # --- lookups ------------------------------------------------------------------------------

    def find(self, account_id: str, region: str, ref: str) -> Dashboard:
        """The dashboard named by ``ref`` (name or ARN) in the account and Region, the built-in
        managed one included. Raises ResourceNotFoundException."""
        name = ref
        if ref.startswith("arn:"):
            m = _ARN.fullmatch(ref)
            if m is None or m.group(1) != region or m.group(2) != account_id:
                raise E.ResourceNotFoundException.for_dashboard(ref)
            name = m.group(3)
        if name == MANAGED_NAME:
            return managed_dashboard(account_id, region)
        found = self._repo.get(account_id, region, name)
        if found is None:
            raise E.ResourceNotFoundException.for_dashboard(ref)
        return found

    def _custom(self, account_id: str, region: str, ref: str, operation: str) -> Dashboard:
        d = self.find(account_id, region, ref)
        if d.type == "MANAGED":
            raise E.UnsupportedOperationException(
                f"{operation} is not supported for the managed dashboard {d.name}: its widgets cannot be changed. "
                "Create a custom dashboard with the same widgets instead.")
        return d

    def list(self, account_id: str, region: str, name_prefix: str | None = None,
             type_: str | None = None) -> list[Dashboard]:
        """ListDashboards: the managed dashboard and the custom ones, by name."""
        out = [managed_dashboard(account_id, region), *self._repo.regional(account_id, region)]
        return sorted((d for d in out if (name_prefix is None or d.name.startswith(name_prefix))
                       and (type_ is None or d.type == type_)), key=lambda d: d.name)

    # --- checks -------------------------------------------------------------------------------

    def _check_widgets(self, account_id: str, region: str, widgets: tuple[Widget, ...]) -> None:
        check_widgets(widgets, CUSTOM_PARAMETERS)
        values = sample_values()
        for widget in widgets:
            statement = bind(widget.statement, widget.parameters, values)
            if self.queries is not None:
                try:
                    self.queries.check(account_id, region, statement)
                except Exception as exc:
                    if getattr(exc, "code", None) == "EventDataStoreARNInvalidException":
                        raise E.EventDataStoreNotFoundException(getattr(exc, "message", None)) from None
                    raise

    @staticmethod
    def _named(name: str, widgets: tuple[Widget, ...]) -> tuple[Widget, ...]:
        return tuple(dataclasses.replace(w, alias=widget_alias(name, i)) for i, w in enumerate(widgets))

    def _save(self, d: Dashboard) -> Dashboard:
        self._staging.apply(lambda: self._repo.put(d))
        return d

    # --- operations ---------------------------------------------------------------------------

    def create(self, account_id: str, region: str, name: str, widgets: tuple[Widget, ...] = (),
               schedule: RefreshSchedule | None = None, termination_protection: bool | None = None,
               tags: Tags = ()) -> Dashboard:
        """CreateDashboard. Raises ValidationException (name, schedule), ConflictException (name in
        use), ServiceQuotaExceededException, InvalidTagParameterException and the widget checks."""
        check_name(name)
        if schedule is not None:
            check_schedule(schedule)
        check_tags(tags)
        if len(tags) > MAX_TAGS:
            raise TE.InvalidTagParameterException(f"A dashboard can have at most {MAX_TAGS} tags.")
        merged = merge_tags((), tags)
        self._check_widgets(account_id, region, widgets)
        def taken() -> Exception:
            return E.ConflictException(f"A dashboard named {name} already exists in this Region.")

        def over_limit() -> Exception:
            return E.ServiceQuotaExceededException(
                f"The account already has the maximum of {MAX_DASHBOARDS_PER_REGION} dashboards in this Region.")

        with self._repo.lock:
            if name == MANAGED_NAME or self._repo.get(account_id, region, name) is not None:
                raise taken()
            if len(self._repo.regional(account_id, region)) >= MAX_DASHBOARDS_PER_REGION:
                raise over_limit()
            now = self._clock()
            d = Dashboard(name=name, account_id=account_id, region=region, widgets=self._named(name, widgets),
                          refresh_schedule=schedule, termination_protection_enabled=bool(termination_protection),
                          tags=merged, created_time=now, updated_time=now, schedule_set_time=now)
            self._staging.apply(lambda: self._repo.put(d, new=(MAX_DASHBOARDS_PER_REGION, taken, over_limit)))
            return d

    def update(self, account_id: str, region: str, ref: str, widgets: tuple[Widget, ...] | None = None,
               schedule: RefreshSchedule | None = None, termination_protection: bool | None = None) -> Dashboard:
        """UpdateDashboard: the members given replace the dashboard's (Widgets replaces every
        widget; an empty list removes them). Raises ResourceNotFoundException,
        UnsupportedOperationException (managed), the checks of :meth:`create`."""
        if schedule is not None:
            check_schedule(schedule)
        with self._repo.lock:
            d = self._custom(account_id, region, ref, "UpdateDashboard")
            if widgets is not None:
                self._check_widgets(account_id, region, widgets)
            now = self._clock()
            changed = dataclasses.replace(
                d, widgets=d.widgets if widgets is None else self._named(d.name, widgets),
                refresh_schedule=d.refresh_schedule if schedule is None else schedule,
                schedule_set_time=d.schedule_set_time if schedule is None else now,
                termination_protection_enabled=d.termination_protection_enabled if termination_protection is None
                else termination_protection, updated_time=now, status="UPDATED")
            return self._save(changed)

    def delete(self, account_id: str, region: str, ref: str) -> None:
        """DeleteDashboard. Raises ResourceNotFoundException, UnsupportedOperationException
        (managed), ConflictException (termination protection on)."""
        with self._repo.lock:
            d = self._custom(account_id, region, ref, "DeleteDashboard")
            if d.termination_protection_enabled:
                raise E.ConflictException(
                    f"Dashboard {d.arn} has termination protection enabled. Disable termination protection "
                    "(UpdateDashboard TerminationProtectionEnabled false) before you delete it.")

            def delete() -> None:
                self._repo.delete(account_id, region, d.name)
                self._repo.forget_refreshes(account_id, region, d.name)

            self._staging.apply(delete)

    # --- tags ---------------------------------------------------------------------------------

    def tagged(self, account_id: str, region: str, arn: str) -> Dashboard:
        """The dashboard of a dashboard ARN for AddTags/RemoveTags/ListTags: ResourceNotFoundException
        (the trail operations' class) when there is none."""
        try:
            return self.find(account_id, region, arn)
        except E.ResourceNotFoundException:
            raise TE.ResourceNotFoundException.for_arn(arn) from None

    def add_tags(self, account_id: str, region: str, arn: str, tags: Tags) -> None:
        check_tags(tags)
        with self._repo.lock:
            d = self.tagged(account_id, region, arn)
            if d.type == "MANAGED":
                raise TE.InvalidTagParameterException(f"The managed dashboard {d.name} cannot be tagged.")
            self._save(dataclasses.replace(d, tags=merge_tags(d.tags, tags)))

    def remove_tags(self, account_id: str, region: str, arn: str, tags: Tags) -> None:
        check_tags(tags)
        with self._repo.lock:
            d = self.tagged(account_id, region, arn)
            if d.type == "MANAGED":
                return
            self._save(dataclasses.replace(d, tags=remove_tags(d.tags, tags)))

    # --- refreshes ----------------------------------------------------------------------------

    def _new_refresh_id(self, now: float) -> str:
        n = int(now * 1000)
        while self._repo.refresh_exists(str(n)):
            n += 1
        return str(n)

    def _running(self, refresh: Refresh | None) -> bool:
        if refresh is None or self.queries is None:
            return False
        if refresh.status == "STARTING":
            return True
        for query_id in refresh.queries.values():
            try:
                if self.queries.describe(refresh.account_id, query_id).status in ACTIVE:
                    return True
            except Exception:  # forgotten (older than 7 days)
                continue
        return False

    def start_refresh(self, account_id: str, region: str, ref: str, given: dict[str, str] | None = None,
                      slot: float | None = None) -> str:
        """StartDashboardRefresh: the RefreshId. Raises ResourceNotFoundException, ValidationException
        (parameter values; $EventDataStoreId$ missing on the managed dashboard),
        ServiceQuotaExceededException (a refresh running, the concurrent query quota),
        EventDataStoreNotFoundException, InactiveEventDataStoreException."""
        d = self.find(account_id, region, ref)
        allowed = MANAGED_PARAMETERS if d.type == "MANAGED" else CUSTOM_PARAMETERS
        now = self._clock()
        values = resolve_values(dict(given or {}), slot if slot is not None else now, allowed)
        if d.type == "MANAGED" and "$EventDataStoreId$" not in values:
            raise E.ValidationException("The $EventDataStoreId$ query parameter is required to refresh a managed "
                                        "dashboard.")
        with self._repo.lock:
            if self._running(self._repo.latest_refresh(account_id, region, d.name)):
                raise E.ServiceQuotaExceededException(
                    f"Dashboard {d.name} is being refreshed already: one refresh at a time per dashboard. Try again "
                    "when the current refresh ends.")
            refresh = Refresh(self._new_refresh_id(now), account_id, region, d.name, now, slot, "STARTING", {}, values)
            if not self._repo.claim_refresh(refresh):
                return ""
        return self._run_refresh(d, refresh)

    def _run_refresh(self, d: Dashboard, refresh: Refresh) -> str:
        """Start the widget queries of a claimed refresh and record them (STARTED)."""
        started: dict[str, str] = {}
        try:
            for widget in d.widgets:
                statement = bind(widget.statement, widget.parameters, refresh.values)
                started[widget.alias] = self.queries.start(d.account_id, d.region, statement)
        except Exception as exc:
            for query_id in started.values():
                try:
                    self.queries.cancel(d.account_id, query_id)
                except Exception:  # ended meanwhile
                    pass
            reason = getattr(exc, "message", None) or f"Internal error: {type(exc).__name__}"
            self._repo.finish_refresh(refresh.refresh_id, started, reason[:1000])
            if getattr(exc, "code", None) == "MaxConcurrentQueriesException":
                raise E.ServiceQuotaExceededException(reason) from None
            raise
        self._repo.finish_refresh(refresh.refresh_id, started, None)
        return refresh.refresh_id

    def last_refresh(self, d: Dashboard) -> tuple[str | None, str | None]:
        """(LastRefreshId, LastRefreshFailureReason): the reason a widget query could not start,
        or the error of the first widget query that ended FAILED or TIMED_OUT."""
        refresh = self._repo.latest_refresh(d.account_id, d.region, d.name)
        if refresh is None:
            return None, None
        if refresh.failure:
            return refresh.refresh_id, refresh.failure
        for alias, query_id in refresh.queries.items():
            try:
                info = self.queries.describe(d.account_id, query_id)
            except Exception:
                continue
            if info.status in ("FAILED", "TIMED_OUT"):
                return refresh.refresh_id, f"Widget {alias}: {info.status}: {info.error or 'no message'}"[:1000]
        return refresh.refresh_id, None

    def refresh_query(self, account_id: str, alias: str, refresh_id: str) -> str:
        """The query ID of widget ``alias`` in refresh ``refresh_id`` (DescribeQuery with QueryAlias
        and RefreshId). Raises QueryIdNotFoundException."""
        from .query_errors import QueryIdNotFoundException

        refresh = self._repo.refresh(refresh_id)
        if refresh is None or refresh.account_id != account_id or alias not in refresh.queries:
            raise QueryIdNotFoundException()
        return refresh.queries[alias]

    def template(self, account_id: str, region: str, alias: str) -> Widget:
        """The widget a QueryAlias names (StartQuery with QueryAlias + QueryParameters). Raises
        InvalidParameterException (the query errors' class) when no widget has it."""
        from ..trails.errors import InvalidParameterException

        parts = alias.split(".")
        if len(parts) == 3 and parts[0] == "dashboard" and parts[2].isdigit():
            try:
                d = self.find(account_id, region, parts[1])
            except E.ResourceNotFoundException:
                d = None
            if d is not None:
                for w in d.widgets:
                    if w.alias == alias:
                        return w
        raise InvalidParameterException(f"The query alias {alias[:256]} does not name a dashboard widget.")

    # --- schedules ----------------------------------------------------------------------------

    def run_due(self, now: float | None = None) -> list[str]:
        """Refresh every custom dashboard whose ENABLED schedule has a scheduled time in
        (max(when the schedule was set, its last scheduled refresh), ``now``]; the RefreshIds
        started. Scheduled times missed while opentrail was stopped are coalesced into one refresh
        (for the latest of them). Each scheduled time is claimed durably (``dashboard_refreshes``,
        unique per dashboard and time) before its queries start, so it is refreshed once across
        restarts; a refresh claimed but not marked started (the process stopped in between) is
        started by :meth:`resume`. A scheduled refresh that cannot start records its reason
        (LastRefreshFailureReason) and the next scheduled time tries again."""
        now = self._clock() if now is None else now
        started = []
        for d in self._repo.all():
            schedule = d.refresh_schedule
            if schedule is None or not schedule.enabled:
                continue
            last = self._repo.latest_slot(d.account_id, d.region, d.name)
            after = max(d.schedule_set_time, last if last is not None else d.schedule_set_time)
            slots = schedule_slots(schedule, after, now)
            if not slots:
                continue
            try:
                refresh_id = self._start_scheduled(d, slots[-1])
            except Exception as exc:  # recorded as the dashboard's last refresh failure
                log.warning("scheduled refresh of dashboard %s failed: %s", d.arn, getattr(exc, "message", exc))
                continue
            if refresh_id:
                started.append(refresh_id)
        return started

    def _start_scheduled(self, d: Dashboard, slot: float) -> str:
        with self._repo.lock:
            busy = self._running(self._repo.latest_refresh(d.account_id, d.region, d.name))
            values = resolve_values({}, slot, CUSTOM_PARAMETERS)
            refresh = Refresh(self._new_refresh_id(self._clock()), d.account_id, d.region, d.name, self._clock(), slot,
                              "STARTING", {}, values)
            if not self._repo.claim_refresh(refresh):
                return ""
            if busy:
                self._repo.finish_refresh(refresh.refresh_id, {}, "The previous refresh was still running at the "
                                          "scheduled time; this scheduled refresh was skipped.")
                return ""
        return self._run_refresh(d, refresh)

    def resume(self) -> list[str]:
        """Start the refreshes claimed before the process stopped and never marked started."""
        done = []
        for refresh in self._repo.starting():
            try:
                d = self.find(refresh.account_id, refresh.region, refresh.name)
                done.append(self._run_refresh(d, refresh))
            except Exception as exc:
                log.warning("resuming dashboard refresh %s failed: %s", refresh.refresh_id, getattr(exc, "message", exc))
                if self._repo.refresh(refresh.refresh_id).status == "STARTING":  # type: ignore[union-attr]
                    self._repo.finish_refresh(refresh.refresh_id, {}, str(getattr(exc, "message", exc))[:1000] or
                                              "The refresh could not be resumed.")
        return done


__all__ = ["DashboardService", "is_dashboard_arn"]
