"""Trail <-> JSON document for the trail database (field names are the dataclass names)."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from .model import (
    AdvancedEventSelector,
    AdvancedFieldSelector,
    DataResource,
    EventSelector,
    InsightSelector,
    Trail,
    TrailSelectors,
    TrailStatus,
)


def dump_trail(trail: Trail) -> bytes:
    """The document of ``trail`` (UTF-8 JSON)."""
    return orjson.dumps(dataclasses.asdict(trail))


def _tuple(values: Any) -> tuple[str, ...]:
    return tuple(values or ())


def _event_selector(d: dict[str, Any]) -> EventSelector:
    return EventSelector(
        read_write_type=d["read_write_type"],
        include_management_events=d["include_management_events"],
        data_resources=tuple(DataResource(r["type"], _tuple(r["values"])) for r in d["data_resources"]),
        exclude_management_event_sources=_tuple(d["exclude_management_event_sources"]),
    )


def _advanced(d: dict[str, Any]) -> AdvancedEventSelector:
    return AdvancedEventSelector(
        field_selectors=tuple(
            AdvancedFieldSelector(**{k: (v if k == "field" else _tuple(v)) for k, v in fs.items()})
            for fs in d["field_selectors"]
        ),
        name=d.get("name"),
    )


def load_trail(doc: bytes) -> Trail:
    """The trail in ``doc`` (written by :func:`dump_trail`)."""
    d = orjson.loads(doc)
    sel = d["selectors"]
    selectors = TrailSelectors(
        event_selectors=None if sel["event_selectors"] is None else tuple(_event_selector(s) for s in sel["event_selectors"]),
        advanced_event_selectors=None
        if sel["advanced_event_selectors"] is None
        else tuple(_advanced(s) for s in sel["advanced_event_selectors"]),
    )
    d["selectors"] = selectors
    d["insight_selectors"] = tuple(
        InsightSelector(s["insight_type"], None if s["event_categories"] is None else _tuple(s["event_categories"]))
        for s in d["insight_selectors"]
    )
    d["tags"] = tuple((k, v) for k, v in d["tags"])
    d["status"] = TrailStatus(**d["status"])
    return Trail(**d)
