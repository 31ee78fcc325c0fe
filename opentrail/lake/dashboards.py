"""CloudTrail Lake dashboards as values: widgets (saved queries with parameters), refresh
schedules, and the pure rules about them (no I/O, no wire casing).

Behaviour copied from AWS (botocore model ``cloudtrail/2013-11-01``: CreateDashboard,
RequestWidget, RefreshSchedule, StartDashboardRefresh; User Guide "CloudTrail Lake dashboards";
``../shared/reference/lake.md`` §A.5):

- A widget is a QueryStatement whose ``?`` placeholders take, in order, the values of its
  QueryParameters: ``$StartTime$``, ``$EndTime$``, ``$Period$`` (and ``$EventDataStoreId$`` on a
  managed dashboard). AWS: "When a query uses ``?`` with ``eventTime``, ``?`` must be surrounded
  by single quotes as follows: ``'?'``". A quoted ``'?'`` becomes the quoted value; a bare ``?``
  is only allowed for ``$EventDataStoreId$`` (``FROM ?``) and becomes the store ID.
- Values (StartDashboardRefresh QueryParameterValues, or the defaults): ``$StartTime$`` and
  ``$EndTime$`` are ISO 8601 times (``2024-05-01T10:00:00Z``, ``2024-05-01``) or epoch seconds,
  rendered as Lake's ``YYYY-MM-DD HH:MM:SS``; defaults: the 24 hours before the refresh.
  ``$Period$`` is a ``date_trunc`` unit (minute, hour, day, week, month); default ``hour`` for a
  range up to 2 days, else ``day`` (opentrail's choice: AWS does not document its default).
- Refresh schedules: HOURS 1, 6, 12 or 24, or DAYS 1; TimeOfDay ``HH:MM`` UTC (default 00:00;
  for hourly schedules only the minutes count). :func:`schedule_slots` gives the scheduled times.
- At most 10 widgets per dashboard (ServiceQuotaExceededException); names 3-128 of
  ``[a-zA-Z0-9_-]``.

Errors raised here are the domain errors of :mod:`.dashboard_errors`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

from .dashboard_errors import InvalidQueryStatementException, ServiceQuotaExceededException, ValidationException

MAX_WIDGETS = 10
MAX_DASHBOARDS_PER_REGION = 100
START_TIME, END_TIME, PERIOD, EDS_ID = "$StartTime$", "$EndTime$", "$Period$", "$EventDataStoreId$"
CUSTOM_PARAMETERS = (START_TIME, END_TIME, PERIOD)
MANAGED_PARAMETERS = (START_TIME, END_TIME, PERIOD, EDS_ID)
PERIODS = ("minute", "hour", "day", "week", "month")
#: Default range of a refresh without $StartTime$/$EndTime$ values, seconds.
DEFAULT_RANGE_S = 86400
#: The refresh frequencies a custom dashboard may have: unit -> allowed values (model docs).
FREQUENCIES = {"HOURS": (1, 6, 12, 24), "DAYS": (1,)}
SCHEDULE_STATUSES = ("ENABLED", "DISABLED")
_NAME = re.compile(r"[a-zA-Z0-9_\-]{3,128}")
_TIME_OF_DAY = re.compile(r"([0-9]{2}):([0-9]{2})")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: A quoted string literal (kept, unless it is exactly '?') or a bare placeholder.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\?")


@dataclass(frozen=True, slots=True)
class Widget:
    """One widget: ``statement`` with ``parameters`` (names, in placeholder order),
    ``view_properties`` (key, value) pairs as given, and the ``alias`` StartQuery/DescribeQuery
    name it by (``QueryAlias``)."""

    statement: str
    parameters: tuple[str, ...] = ()
    view_properties: tuple[tuple[str, str], ...] = ()
    alias: str = ""

    def view(self, key: str, default: str = "") -> str:
        return dict(self.view_properties).get(key, default)


@dataclass(frozen=True, slots=True)
class RefreshSchedule:
    """``unit`` HOURS|DAYS and ``value`` (None: not given), ``status`` ENABLED|DISABLED,
    ``time_of_day`` ``HH:MM`` UTC."""

    unit: str | None = None
    value: int | None = None
    status: str = "DISABLED"
    time_of_day: str = "00:00"

    @property
    def enabled(self) -> bool:
        return self.status == "ENABLED" and self.unit is not None and self.value is not None

    def period_s(self) -> int:
        assert self.unit is not None and self.value is not None
        return self.value * (3600 if self.unit == "HOURS" else 86400)


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A dashboard of an account and Region. Times are epoch seconds. ``schedule_set_time``: when
    the refresh schedule was last set (the first scheduled refresh is the first slot after it)."""

    name: str
    account_id: str
    region: str
    type: str = "CUSTOM"
    widgets: tuple[Widget, ...] = ()
    refresh_schedule: RefreshSchedule | None = None
    termination_protection_enabled: bool = False
    tags: tuple[tuple[str, str | None], ...] = ()
    created_time: float = 0.0
    updated_time: float = 0.0
    status: str = "CREATED"
    schedule_set_time: float = 0.0
    last_refresh_id: str | None = None
    last_refresh_failure: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return dashboard_arn(self.region, self.account_id, self.name)


def dashboard_arn(region: str, account_id: str, name: str) -> str:
    """``arn:aws:cloudtrail:<region>:<account>:dashboard/<name>`` (../shared/reference/lake.md)."""
    return f"arn:aws:cloudtrail:{region}:{account_id}:dashboard/{name}"


def widget_alias(name: str, index: int) -> str:
    """The QueryAlias of widget ``index`` (0-based) of dashboard ``name``: ``dashboard.<name>.<n>``
    (n from 1; the model's QueryAlias pattern ``^[a-zA-Z][a-zA-Z0-9._-]*$``)."""
    return f"dashboard.{name}.{index + 1}"


def check_name(name: str) -> None:
    """ValidationException unless ``name`` is 3-128 of ``[a-zA-Z0-9_-]`` (the model's DashboardName)."""
    if not _NAME.fullmatch(name):
        raise ValidationException(
            f"1 validation error detected: Value '{name[:128]}' at 'name' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: ^[a-zA-Z0-9_\\-]+$ and have length between 3 and 128")


def placeholder_count(statement: str) -> int:
    """How many ``'?'`` and bare ``?`` placeholders ``statement`` has."""
    return sum(1 for m in _TOKENS.finditer(statement) if m.group(0) in ("?", "'?'"))


def check_widgets(widgets: tuple[Widget, ...], allowed: tuple[str, ...] = CUSTOM_PARAMETERS) -> None:
    """At most 10 widgets (ServiceQuotaExceededException); each widget's parameters among
    ``allowed`` (ValidationException) and as many as its placeholders (InvalidQueryStatementException);
    a bare ``?`` only for $EventDataStoreId$."""
    if len(widgets) > MAX_WIDGETS:
        raise ServiceQuotaExceededException(
            f"A dashboard can have at most {MAX_WIDGETS} widgets; {len(widgets)} were specified.")
    for n, widget in enumerate(widgets, 1):
        for p in widget.parameters:
            if p not in allowed:
                raise ValidationException(
                    f"Query parameter {p[:128]} of widget {n} is not valid. Valid query parameters: {', '.join(allowed)}.")
        count = placeholder_count(widget.statement)
        if count != len(widget.parameters):
            raise InvalidQueryStatementException(
                f"The query statement of widget {n} has {count} query parameter placeholders ('?') but "
                f"{len(widget.parameters)} QueryParameters were specified.")
        bare = [p for p, tok in zip(widget.parameters, _placeholders(widget.statement)) if tok == "?"]
        if any(p != EDS_ID for p in bare):
            raise InvalidQueryStatementException(
                f"Widget {n}: a query parameter used with eventTime must be surrounded by single quotes: '?'.")


def _placeholders(statement: str) -> list[str]:
    return [m.group(0) for m in _TOKENS.finditer(statement) if m.group(0) in ("?", "'?'")]


def check_schedule(schedule: RefreshSchedule) -> None:
    """ValidationException unless the frequency is HOURS 1/6/12/24 or DAYS 1, the status ENABLED or
    DISABLED, TimeOfDay ``HH:MM`` (00-23, 00-59); an ENABLED schedule needs a frequency."""
    if schedule.status not in SCHEDULE_STATUSES:
        raise ValidationException(f"RefreshSchedule Status {schedule.status[:20]} is not valid. Valid values: "
                                  "ENABLED, DISABLED.")
    if (schedule.unit is None) != (schedule.value is None):
        raise ValidationException("RefreshSchedule Frequency needs both Unit and Value.")
    if schedule.unit is not None:
        allowed = FREQUENCIES.get(schedule.unit)
        if allowed is None:
            raise ValidationException(f"RefreshSchedule Frequency Unit {schedule.unit[:20]} is not valid. "
                                      "Valid values: HOURS, DAYS.")
        if schedule.value not in allowed:
            raise ValidationException(
                f"RefreshSchedule Frequency Value {schedule.value} is not valid for Unit {schedule.unit}. Valid values: "
                f"{', '.join(map(str, allowed))}.")
    elif schedule.status == "ENABLED":
        raise ValidationException("An ENABLED RefreshSchedule needs a Frequency.")
    m = _TIME_OF_DAY.fullmatch(schedule.time_of_day)
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValidationException(f"RefreshSchedule TimeOfDay {schedule.time_of_day[:20]} is not valid: use HH:MM (UTC).")


def schedule_slots(schedule: RefreshSchedule, after: float, until: float) -> list[float]:
    """The scheduled refresh times (epoch seconds) in (``after``, ``until``], oldest first: every
    ``Value`` hours (or days) from TimeOfDay UTC; for hourly schedules only TimeOfDay's minutes
    count (AWS: "for hourly only refer to minutes")."""
    if not schedule.enabled or until <= after:
        return []
    hh, mm = (int(x) for x in schedule.time_of_day.split(":"))
    period = schedule.period_s()
    anchor = (mm * 60) if (schedule.unit == "HOURS" and schedule.value == 1) else hh * 3600 + mm * 60
    first = anchor + math.floor((after - anchor) / period + 1) * period
    out = []
    t = float(first)
    while t <= until:
        out.append(t)
        t += period
    return out


def _parse_time(name: str, value: str) -> dt.datetime:
    try:
        if value.isdigit():
            return dt.datetime.fromtimestamp(int(value), dt.timezone.utc).replace(tzinfo=None)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise ValidationException(f"The value {value[:128]} of query parameter {name} is not a time: use ISO 8601 "
                                  "(2024-05-01T10:00:00Z) or epoch seconds.") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def resolve_values(given: dict[str, str], now: float, allowed: tuple[str, ...] = CUSTOM_PARAMETERS) -> dict[str, str]:
    """The value of every parameter for one refresh: ``given`` (StartDashboardRefresh
    QueryParameterValues) completed with the defaults. Raises ValidationException for an unknown
    name, a time that is not one, a start after the end, a period that is not a date_trunc unit,
    a $EventDataStoreId$ that is not an event data store ID."""
    for key in given:
        if key not in allowed:
            raise ValidationException(f"Query parameter {key[:128]} is not valid. Valid query parameters: "
                                      f"{', '.join(allowed)}.")
    end = _parse_time(END_TIME, given[END_TIME]) if END_TIME in given else \
        dt.datetime.fromtimestamp(int(now), dt.timezone.utc).replace(tzinfo=None)
    start = _parse_time(START_TIME, given[START_TIME]) if START_TIME in given else end - dt.timedelta(seconds=DEFAULT_RANGE_S)
    if start > end:
        raise ValidationException(f"{START_TIME} must not be after {END_TIME}.")
    period = given.get(PERIOD, "hour" if (end - start) <= dt.timedelta(days=2) else "day").lower()
    if period not in PERIODS:
        raise ValidationException(f"The value {period[:128]} of query parameter {PERIOD} is not valid. Valid values: "
                                  f"{', '.join(PERIODS)}.")
    values = {START_TIME: start.strftime("%Y-%m-%d %H:%M:%S"), END_TIME: end.strftime("%Y-%m-%d %H:%M:%S"),
              PERIOD: period}
    if EDS_ID in given:
        eds = given[EDS_ID].rsplit("/", 1)[-1]
        if not _UUID.fullmatch(eds):
            raise ValidationException(f"The value {given[EDS_ID][:128]} of query parameter {EDS_ID} is not an event data "
                                      "store ID or ARN.")
        values[EDS_ID] = eds
    return values


def bind(statement: str, parameters: tuple[str, ...], values: dict[str, str]) -> str:
    """``statement`` with its placeholders replaced, in order, by the values of ``parameters``
    (``'?'`` -> the quoted value, ``?`` -> the raw value: only store IDs reach it)."""
    names = iter(parameters)

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token not in ("?", "'?'"):
            return token
        value = values[next(names)]
        if token == "?" and not _UUID.fullmatch(value):
            raise InvalidQueryStatementException(
                f"A query parameter without quotes must be an event data store ID; {value[:128]} is not one.")
        return value if token == "?" else "'" + value.replace("'", "''") + "'"

    return _TOKENS.sub(sub, statement)


def bind_list(statement: str, parameters: tuple[str, ...] | list[str]) -> str:
    """``statement`` with its placeholders replaced, in order, by the literal ``parameters``
    (StartQuery QueryAlias + QueryParameters). InvalidQueryStatementException when the counts differ."""
    if placeholder_count(statement) != len(parameters):
        raise InvalidQueryStatementException(
            f"The query has {placeholder_count(statement)} query parameter placeholders but {len(parameters)} "
            "QueryParameters were specified.")
    values = {f"#{i}": v for i, v in enumerate(parameters)}
    return bind(statement, tuple(values), values)


def sample_values() -> dict[str, str]:
    """Values that make any widget statement checkable at CreateDashboard (its store IDs are real)."""
    return {START_TIME: "2024-01-01 00:00:00", END_TIME: "2024-01-02 00:00:00", PERIOD: "hour",
            EDS_ID: "00000000-0000-0000-0000-000000000000"}
