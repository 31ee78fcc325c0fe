"""Does a trail's selection take a record? A pure function over the record dict.

Rules (AWS CloudTrail User Guide: "Logging management events", "Logging data events", "Filtering
data events by using advanced event selectors"; PutEventSelectors in the API Reference):

- The event category comes from :func:`opentrail.events.classify.event_category` (eventCategory,
  else eventType/managementEvent, else the data-event API table). Insights events are never taken
  by event selectors (Insights selectors deliver them).
- No selectors put: every management event, read and write; no data or network activity events.
- Basic selectors -- an event is taken if *any* selector takes it:
  * management event: IncludeManagementEvents, the ReadWriteType, and eventSource not in
    ExcludeManagementEventSources;
  * data event: the ReadWriteType and some resource of the record (``resources[].type``/``ARN``)
    whose type is a DataResources Type and whose ARN starts with one of its Values (the bare values
    ``arn:aws:s3``, ``arn:aws:lambda``, ``arn:aws:dynamodb`` are prefixes of every ARN of the type).
  * ReadOnly takes records with readOnly true, WriteOnly those with readOnly false; a record without
    readOnly is taken only by All.
- Advanced selectors -- an event is taken if any selector matches, and a selector matches when
  every field selector matches. In one field selector every operator given must hold; a positive
  operator (Equals, StartsWith, EndsWith) holds when the value matches *one* of its values, a
  negative one (NotEquals, NotStartsWith, NotEndsWith) when it matches *none*. A field the record
  lacks fails positive operators and satisfies negative ones. ``resources.type``/``resources.ARN``:
  the field selectors on ``resources.*`` must all hold for one and the same resource of the record.
  ``readOnly`` and ``sessionCredentialFromConsole`` compare as "true"/"false".
"""

from __future__ import annotations

from typing import Any

from ..events.classify import event_category
from ..events.lookup import bool_text
from .model import AdvancedEventSelector, AdvancedFieldSelector, EventSelector, TrailSelectors



def _read_only(record: dict[str, Any]) -> bool | None:
    text = bool_text(record.get("readOnly"))
    return None if text is None else text == "true"


def _resources(record: dict[str, Any]) -> list[dict[str, Any]]:
    resources = record.get("resources")
    if not isinstance(resources, list):
        return []
    return [r for r in resources if isinstance(r, dict)]


def _read_write_ok(selector: EventSelector, read_only: bool | None) -> bool:
    if selector.read_write_type == "All":
        return True
    if read_only is None:
        return False
    return read_only if selector.read_write_type == "ReadOnly" else not read_only


def _basic_matches(selector: EventSelector, record: dict[str, Any], category: str) -> bool:
    if not _read_write_ok(selector, _read_only(record)):
        return False
    if category == "Management":
        return selector.include_management_events and record.get("eventSource") not in selector.exclude_management_event_sources
    if category != "Data":
        return False
    for resource in _resources(record):
        rtype, arn = resource.get("type"), resource.get("ARN")
        if not isinstance(arn, str):
            continue
        for data in selector.data_resources:
            if data.type == rtype and any(arn.startswith(v) for v in data.values):
                return True
    return False


def _condition(fs: AdvancedFieldSelector, value: str | None) -> bool:
    if fs.equals and (value is None or value not in fs.equals):
        return False
    if fs.starts_with and (value is None or not any(value.startswith(v) for v in fs.starts_with)):
        return False
    if fs.ends_with and (value is None or not any(value.endswith(v) for v in fs.ends_with)):
        return False
    if value is None:
        return True
    if fs.not_equals and value in fs.not_equals:
        return False
    if fs.not_starts_with and any(value.startswith(v) for v in fs.not_starts_with):
        return False
    if fs.not_ends_with and any(value.endswith(v) for v in fs.not_ends_with):
        return False
    return True


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def field_value(record: dict[str, Any], field: str, category: str) -> str | None:
    """The value an advanced field selector on ``field`` compares (not for ``resources.*``)."""
    if field == "eventCategory":
        return category
    if field in ("readOnly", "sessionCredentialFromConsole"):
        return bool_text(record.get(field))
    if field == "userIdentity.arn":
        identity = record.get("userIdentity")
        return _text(identity.get("arn")) if isinstance(identity, dict) else None
    return _text(record.get(field))


def _advanced_matches(selector: AdvancedEventSelector, record: dict[str, Any], category: str) -> bool:
    resource_selectors = []
    for fs in selector.field_selectors:
        if fs.field.startswith("resources."):
            resource_selectors.append(fs)
        elif not _condition(fs, field_value(record, fs.field, category)):
            return False
    if not resource_selectors:
        return True
    for resource in _resources(record) or [{}]:
        if all(_condition(fs, _text(resource.get(fs.field.removeprefix("resources.")))) for fs in resource_selectors):
            return True
    return False


def matches(trail_selectors: TrailSelectors, record: dict[str, Any]) -> bool:
    """True when a trail with ``trail_selectors`` logs ``record`` (see the module docstring)."""
    category = event_category(record)
    if category == "Insight":
        return False
    if trail_selectors.advanced_event_selectors is not None:
        return any(_advanced_matches(s, record, category) for s in trail_selectors.advanced_event_selectors)
    selectors = trail_selectors.event_selectors
    if selectors is None:
        return category == "Management"
    return any(_basic_matches(s, record, category) for s in selectors)


__all__ = ["matches", "field_value"]
