"""Which trails take an event: account, Region, global service events and event selectors.

Rules (AWS CloudTrail User Guide, "How CloudTrail works", "Receiving CloudTrail log files from
multiple Regions", "Enabling and disabling logging global service events"):

- A trail takes only events of its own account; an organization trail those of every account its
  organization has when delivery plans them (``accounts``, :func:`opentrail.trails.organization.covered`).
- A single-Region trail takes events of its home Region; a multi-Region trail takes every Region's
  events (delivered under that Region's key path).
- Global service events (IAM, STS, CloudFront, Route 53: recorded in us-east-1) are taken only
  by trails with IncludeGlobalServiceEvents.
- Then the trail's event selectors decide (:func:`opentrail.trails.matching.matches`).

:func:`takes` parses the record only when the trail needs a field of it: with the default
selection and global service events included, the stored event category is enough. The worker
splits the same decision in two: :func:`partition_route` once per (trail, account, Region,
category) partition -- :data:`NEVER`, :data:`ALWAYS` or :data:`PER_RECORD` -- and
:func:`takes_record` on the parsed record only for :data:`PER_RECORD`, so a trail with the default
selection takes a backlog without parsing a record. For :data:`PER_RECORD`, :func:`raw_decider`
first tries to answer exactly from the record's bytes (global service events, ReadWriteType,
ExcludeManagementEventSources, advanced eventCategory/readOnly/eventSource conditions).

Insights events (stored category ``Insight``) are routed apart, never by event selectors
(CloudTrail User Guide, "Working with CloudTrail Insights": a trail logs Insights events when
Insights are enabled on it, into its own ``CloudTrail-Insight`` files): :func:`insight_route` per
partition and :func:`takes_insight` per record -- a trail takes an Insights event of its own
account and of a Region it covers (home Region, or every Region when multi-Region) when one of its
InsightSelectors names the record's ``insightDetails.insightType``. A trail without
InsightSelectors takes none.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable, Collection

import orjson

from ..events.classify import CATEGORIES
from ..events.lookup import bool_text
from ..store.base import StoredEvent
from ..trails.matching import matches
from ..trails.model import AdvancedEventSelector, Trail, TrailSelectors

GLOBAL_SERVICE_EVENT_SOURCES: frozenset[str] = frozenset(
    {"iam.amazonaws.com", "sts.amazonaws.com", "cloudfront.amazonaws.com", "route53.amazonaws.com"}
)
_GLOBAL_NAMES: frozenset[bytes] = frozenset(s.encode() for s in GLOBAL_SERVICE_EVENT_SOURCES)
_SOURCE_MEMBER = re.compile(rb'"eventSource"[ \t\n\r]*:[ \t\n\r]*"([^"]*)"')
_JSON_SPACE = b" \t\n\r"
_BACKSLASH = 0x5C  # ``int in bytes`` is a memchr: several times faster than ``b"\\" in bytes``


def default_selection(trail: Trail) -> bool:
    """True when the trail never had selectors put (every management event, read and write)."""
    return trail.selectors.event_selectors is None and trail.selectors.advanced_event_selectors is None


#: :func:`partition_route` answers: the trail takes no event of the partition, every event, or
#: the events :func:`takes_record` accepts.
NEVER, ALWAYS, PER_RECORD = 0, 1, 2


def partition_route(trail: Trail, account_id: str, region: str, category: str,
                    accounts: Collection[str] | None = None) -> int:
    """How ``trail`` decides for the events stored under (``account_id``, ``region``,
    ``category``): :data:`NEVER`, :data:`ALWAYS` or :data:`PER_RECORD`. Insights events are never
    routed by event selectors (:func:`insight_route` decides for them). ``accounts``: the accounts
    the trail covers (None: its own)."""
    if (account_id != trail.account_id if accounts is None else account_id not in accounts) or category in (
            "Insight", "ActivityAuditLog"):  # events from outside AWS (PutAuditEvents) are in Lake only
        return NEVER
    if not trail.is_multi_region_trail and region != trail.home_region:
        return NEVER
    if default_selection(trail):
        if category != "Management":
            return NEVER
        return ALWAYS if trail.include_global_service_events else PER_RECORD
    return PER_RECORD


#: The stored category of Insights events (:mod:`opentrail.events.classify`).
INSIGHT = "Insight"


def insight_route(trail: Trail, account_id: str, region: str, accounts: Collection[str] | None = None) -> int:
    """How ``trail`` decides for the Insights events stored under (``account_id``, ``region``):
    :data:`NEVER` (another account, a Region it does not cover, or no InsightSelectors) or
    :data:`PER_RECORD` (:func:`takes_insight`); ``accounts`` as for :func:`partition_route`."""
    if (account_id != trail.account_id if accounts is None else account_id not in accounts) or not trail.insight_selectors:
        return NEVER
    if not trail.is_multi_region_trail and region != trail.home_region:
        return NEVER
    return PER_RECORD


def takes_insight(trail: Trail, parsed: dict[str, Any]) -> bool:
    """Does ``trail`` (past :func:`insight_route`) take the Insights event ``parsed``: one of its
    InsightSelectors has the record's ``insightDetails.insightType``."""
    details = parsed.get("insightDetails")
    insight_type = details.get("insightType") if isinstance(details, dict) else None
    return isinstance(insight_type, str) and any(s.insight_type == insight_type for s in trail.insight_selectors)


def takes_record(trail: Trail, category: str, parsed: dict[str, Any]) -> bool:
    """The :data:`PER_RECORD` decision: ``parsed`` is the record, ``category`` the stored one. An
    eventSource that is not a string names no global service."""
    source = parsed.get("eventSource")
    if not trail.include_global_service_events and isinstance(source, str) and source in GLOBAL_SERVICE_EVENT_SOURCES:
        return False
    if default_selection(trail):
        return category == "Management"
    return matches(trail.selectors, parsed)


_READ_ONLY_KEY = b'"readOnly"'
#: :func:`_top_level_read_only` could not prove the value from the bytes.
_UNPROVEN: Any = object()
#: Advanced selector fields :func:`raw_decider` answers without a parse; eventSource only with
#: Equals/NotEquals (whether it is one of the values is provable from the bytes, its text is not).
_RAW_FIELDS = frozenset({"eventCategory", "readOnly", "eventSource"})
#: ``raw[p:]`` -> its readOnly (or :data:`_NESTED`) for the tails :func:`_top_level_read_only` has
#: parsed: the members after readOnly repeat from record to record (eventType, managementEvent,
#: recipientAccountId, eventCategory, tlsDetails...). Tails up to ``_TAIL_BYTES_KEPT`` bytes;
#: emptied when it holds ``_TAILS_KEPT`` (at most ~8 MiB).
_TAILS: dict[bytes, Any] = {}
_TAILS_KEPT = 4096
_TAIL_BYTES_KEPT = 2048
_NESTED: Any = object()


def _has_unicode_escape(raw: bytes) -> bool:
    """True when the JSON ``raw`` may hold a ``\\uXXXX`` escape. Each ``\\`` found starts an escape
    of the byte after it (a string's only backslashes), so the search resumes past that byte;
    after 8 escapes a plain search (a two-byte ``in`` costs about ten times a ``\\`` search)."""
    i = raw.find(b"\\")
    if i < 0:
        return False
    for _ in range(8):
        if raw[i + 1:i + 2] == b"u":
            return True
        i = raw.find(b"\\", i + 2)
        if i < 0:
            return False
    return b"\\u" in raw[i:]


def _may_name(raw: bytes, names: frozenset[bytes]) -> bool:
    """False only when no object member ``"eventSource"`` anywhere in the JSON ``raw`` can be a
    string in ``names`` (UTF-8, none holding ``"``, ``\\`` or a control character). Exact, not a
    heuristic: without ``\\u`` escapes (checked first) a member named eventSource is spelled
    ``"eventSource"``, optional whitespace, ``:``, whitespace; :data:`_SOURCE_MEMBER` captures a
    string value there up to its first ``"``, which is one of ``names`` only if spelled out
    literally (a capture holding a ``\\`` counts as a possible match). A capture starting at an
    escaped ``\"eventSource"`` ends a key's name, followed by its whole value, so the scan stays
    aligned with the JSON tokens until a capture holds a ``\\``."""
    if _BACKSLASH in raw and _has_unicode_escape(raw):  # most records hold no backslash
        return True
    for value in _SOURCE_MEMBER.findall(raw):
        if value in names or _BACKSLASH in value:
            return True
    return False


def _may_name_a_global_service(raw: bytes) -> bool:
    """:func:`_may_name` for the global services' names."""
    if _BACKSLASH in raw and _has_unicode_escape(raw):
        return True
    for value in _SOURCE_MEMBER.findall(raw):
        if value in _GLOBAL_NAMES or _BACKSLASH in value:
            return True
    return False


def _top_level_read_only(raw: bytes) -> Any:
    """The value of the top-level member ``readOnly`` of the JSON object ``raw`` (a stored record:
    valid JSON), None when it has none, or :data:`_UNPROVEN`. Exact: without ``\\u`` escapes a
    member named readOnly is spelled ``"readOnly"``. An occurrence at offset ``p`` whose previous
    non-space byte is ``,`` or ``{`` opens a string (a ``"`` inside a string follows a ``\\``, and
    a string cannot be followed by ``r``); it is a top-level member exactly when ``{`` + ``raw[p:]``
    is one JSON object -- an array element gives ``{"readOnly",``, and a member of a nested object
    ends its object before the end of ``raw``, leaving the outer ``}`` as trailing content, which
    orjson rejects. Scanning from the end finds the last top-level member, the one a parse keeps.
    Whether ``{`` + ``raw[p:]`` is an object, and its readOnly, depend on those bytes alone:
    remembered in :data:`_TAILS`."""
    if _BACKSLASH in raw and _has_unicode_escape(raw):  # most records hold no backslash
        return _UNPROVEN
    p = raw.rfind(_READ_ONLY_KEY)
    while p >= 0:
        q = p - 1
        while q >= 0 and raw[q] in _JSON_SPACE:
            q -= 1
        if q >= 0 and raw[q] in b",{":
            tail = raw[p:]
            value = _TAILS.get(tail, _UNPROVEN)
            if value is _UNPROVEN:
                try:
                    parsed = orjson.loads(b"{" + tail)
                except orjson.JSONDecodeError:
                    parsed = None
                value = parsed["readOnly"] if isinstance(parsed, dict) else _NESTED
                if len(tail) <= _TAIL_BYTES_KEPT:
                    if len(_TAILS) >= _TAILS_KEPT:
                        _TAILS.clear()
                    _TAILS[tail] = value
            if value is not _NESTED:
                return value
        p = raw.rfind(_READ_ONLY_KEY, 0, p)
    return None


def _spellable(names: frozenset[str]) -> bool:
    return all(not any(c in '"\\' or c < " " for c in name) for name in names)


@functools.lru_cache(maxsize=1024)
def _raw_rule(selectors: TrailSelectors, include_global: bool, category: str) -> Callable[[bytes], bool | None]:
    """:func:`raw_decider` for a trail with these (non-default) selectors. Decides on a stand-in
    record holding only ``category`` and the proven top-level readOnly, matched by
    :func:`opentrail.trails.matching.matches` itself (once per readOnly value): exact because the
    selectors read no other field -- basic selectors' ExcludeManagementEventSources and advanced
    eventSource Equals/NotEquals read only whether eventSource is one of their values, which
    :func:`_may_name` rules out first. Records are parsed for the categories where other fields
    matter: Data events for basic selectors with DataResources; for an advanced selector on any
    other field (or eventSource with other operators), the categories its eventCategory
    conditions admit."""
    names: set[str] = set() if include_global else set(GLOBAL_SERVICE_EVENT_SOURCES)
    parse = category not in CATEGORIES
    if selectors.advanced_event_selectors is not None:
        reads_read_only = False
        for selector in selectors.advanced_event_selectors:
            fields = selector.field_selectors
            if any(fs.field not in _RAW_FIELDS or (fs.field == "eventSource" and (
                    fs.starts_with or fs.ends_with or fs.not_starts_with or fs.not_ends_with)) for fs in fields):
                # Parsed when its eventCategory conditions let the category through.
                by_category = AdvancedEventSelector(tuple(f for f in fields if f.field == "eventCategory"))
                parse = parse or matches(TrailSelectors(None, (by_category,)), {"eventCategory": category})
                continue
            for fs in fields:
                reads_read_only = reads_read_only or fs.field == "readOnly"
                if fs.field == "eventSource":
                    names.update(fs.equals, fs.not_equals)
    else:
        basic = selectors.event_selectors or ()
        reads_read_only = any(s.read_write_type != "All" for s in basic)
        for selector in basic:
            if selector.include_management_events:
                names.update(selector.exclude_management_event_sources)
        parse = parse or (category == "Data" and any(s.data_resources for s in basic))
    if parse or not _spellable(frozenset(names)):
        return _parse
    encoded = frozenset(n.encode() for n in names)
    answers = {text: matches(selectors, {"eventCategory": category, "readOnly": text}) for text in ("true", "false")}
    missing = matches(selectors, {"eventCategory": category})
    if not reads_read_only and answers["true"] == answers["false"] == missing:
        return (lambda raw: None if _may_name(raw, encoded) else missing) if encoded else (lambda raw: missing)
    on_true, on_false = answers["true"], answers["false"]

    def rule(raw: bytes) -> bool | None:
        if encoded and _may_name(raw, encoded):
            return None
        value = _top_level_read_only(raw)
        if value is True:
            return on_true
        if value is False:
            return on_false
        if value is _UNPROVEN:
            return None
        text = bool_text(value)
        return missing if text is None else answers[text]

    return rule


def _parse(raw: bytes) -> None:
    return None


def raw_decider(trail: Trail, category: str) -> Callable[[bytes], bool | None]:
    """The :data:`PER_RECORD` decision for ``trail`` on events stored with ``category``, from a
    record's JSON bytes alone: True/False, or None when the record must be parsed
    (:func:`takes_record`). ``category`` must be the stored one, which
    :func:`opentrail.events.record.read_record` derives from the same record with
    :func:`opentrail.events.classify.event_category`, as :func:`matches` does.

    - Default selection (:data:`PER_RECORD` only to leave out global service events): answered
      when no eventSource member in the bytes can name a global service -- then the top-level
      one cannot either.
    - Selectors: answered by :func:`_raw_rule` when the selectors read only the event category,
      readOnly and whether eventSource is one of a set of names.
    """
    if default_selection(trail):
        management = category == "Management"
        return lambda raw: None if _may_name_a_global_service(raw) else management
    return _raw_rule(trail.selectors, trail.include_global_service_events, category)


def takes_raw(trail: Trail, category: str, raw: bytes) -> bool | None:
    """:func:`raw_decider` for one record."""
    return raw_decider(trail, category)(raw)


def takes(trail: Trail, event: StoredEvent, record: Callable[[], dict[str, Any]]) -> bool:
    """Does ``trail`` take ``event``? ``record()`` returns the parsed record (called lazily)."""
    route = partition_route(trail, event.account_id, event.region, event.category)
    if route != PER_RECORD:
        return route == ALWAYS
    return takes_record(trail, event.category, record())
