"""Insights events as AWS writes them (placeholder: the full records come with their tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Sequence

from .model import Anomaly, SeriesKey

_NAMESPACE = uuid.UUID("6c0a6f2e-6b1b-4f4e-9a37-0c1e2d3f4a5b")


@dataclass(frozen=True, slots=True)
class Attribution:
    """One attributions[] entry: ``attribute`` (userIdentityArn, userAgent, errorCode) and its top
    (value, calls per minute) pairs in the insight and baseline windows, average descending."""

    attribute: str
    insight: tuple[tuple[str, float], ...]
    baseline: tuple[tuple[str, float], ...]


def event_ids(key: SeriesKey, start_minute: int) -> tuple[str, str, str]:
    """(Start eventID, End eventID, sharedEventID) of the insight of ``key`` starting at
    ``start_minute``: deterministic, so a repeated detection is deduplicated by the event store."""
    base = "|".join((key.account_id, key.region, key.category, key.event_source, key.event_name,
                     key.insight_type, key.error_code, str(start_minute)))
    return (str(uuid.uuid5(_NAMESPACE, base + "|Start")), str(uuid.uuid5(_NAMESPACE, base + "|End")),
            str(uuid.uuid5(_NAMESPACE, base)))


def start_record(key: SeriesKey, anomaly: Anomaly, attributions: Sequence[Attribution]) -> dict[str, Any]:
    """The Start record of ``anomaly``."""
    raise NotImplementedError


def end_record(key: SeriesKey, anomaly: Anomaly, attributions: Sequence[Attribution]) -> dict[str, Any]:
    """The End record of ``anomaly`` (``anomaly.end`` set)."""
    raise NotImplementedError
