"""Insights events as AWS writes them to a trail (CloudTrail User Guide, "CloudTrail record
contents for Insights events for trails" and "CloudTrail Insights insightDetails element"; the
samples in shared/datasets/cloudtrail/aws-docs-examples: log-file-examples__08 is a Start/End
pair, event-reference__02 a Start with attributions).

A record, members in the order AWS writes them::

    {"eventVersion": "1.07", "eventTime": "2019-11-14T00:51:00Z", "awsRegion": "us-east-1",
     "eventID": <uuid>, "eventType": "AwsCloudTrailInsight", "recipientAccountId": <account>,
     "sharedEventID": <uuid, the same in Start and End>,
     "insightDetails": {"state": "Start" | "End", "eventSource": ..., "eventName": ...,
                        "insightType": "ApiCallRateInsight" | "ApiErrorRateInsight",
                        "errorCode": ... (ApiErrorRateInsight only),
                        "insightContext": {"statistics": {"baseline": {"average": <float>},
                                                          "insight": {"average": <float>},
                                                          "insightDuration": <minutes>,
                                                          "baselineDuration": <minutes>},
                                           "attributions": [...] (when there are any)}},
     "eventCategory": "Insight"}

- ``eventVersion`` "1.07": every Insights field is documented "Since: 1.07" and every AWS sample
  carries 1.07 (no document shows a later version on an Insights event).
- ``eventTime``: the Start event's is the first anomalous minute; the End event's the minute the
  unusual activity ended (``anomaly.end``, the minute after the last anomalous one: the AWS pair
  has Start 00:51, End 00:52 with insightDuration 1).
- ``statistics``: averages are calls (or errors) per minute, floats rounded to 10 decimals (AWS
  writes e.g. 0.0000882145, 85.4202380952). ``insight.average`` is the rate over the first
  ``start_duration`` minutes for Start and over the whole anomaly for End; ``insightDuration``
  (minutes) is ``start_duration`` for Start (the attribution sample: Start, 5 minutes, 0.6/min)
  and the anomaly's length for End; ``baselineDuration`` (minutes, >= 10080) is in both ("occurs
  in both starting and ending Insights events").
- ``attributions``: per attribute in the order userIdentityArn, userAgent, errorCode, at most five
  values per window "sorted by an average of the count of activity, in descending order" (ties by
  value, as in the sample's three roles at 0.2); the errorCode value of calls without an error is
  the string "null". An ApiErrorRateInsight is about one error code (``insightDetails.errorCode``)
  and carries no errorCode attribution. An attribute with no value in either window is left out,
  and ``attributions`` is left out when none is left ("Optional: True"; the 1.07 pair has none).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Sequence

from .model import ATTRIBUTES, ERROR_RATE, MAX_ATTRIBUTION_VALUES, Anomaly, SeriesKey

_NAMESPACE = uuid.UUID("6c0a6f2e-6b1b-4f4e-9a37-0c1e2d3f4a5b")

EVENT_VERSION = "1.07"
EVENT_TYPE = "AwsCloudTrailInsight"
EVENT_CATEGORY = "Insight"
START, END = "Start", "End"
#: Decimals kept in averages (AWS's samples show ten).
AVERAGE_DECIMALS = 10


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


def minute_time(minute: int) -> str:
    """An epoch minute as eventTime: ``YYYY-MM-DDTHH:MM:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(minute * 60))


def _average(value: float) -> float:
    return round(float(value), AVERAGE_DECIMALS)


def _values(pairs: Sequence[tuple[str, float]]) -> list[dict[str, Any]]:
    ranked = sorted(((str(v), _average(a)) for v, a in pairs), key=lambda p: (-p[1], p[0]))
    return [{"value": v, "average": a} for v, a in ranked[:MAX_ATTRIBUTION_VALUES]]


def attributions_json(insight_type: str, attributions: Sequence[Attribution]) -> list[dict[str, Any]]:
    """The ``attributions`` list (module docstring): AWS's attribute order, top five values per
    window by average descending, no errorCode attribution on an ApiErrorRateInsight, attributes
    without values left out. Raises ValueError for an attribute AWS does not write or given twice."""
    by_name: dict[str, Attribution] = {}
    for a in attributions:
        if a.attribute not in ATTRIBUTES:
            raise ValueError(f"unknown attribution attribute {a.attribute!r}")
        if a.attribute in by_name:
            raise ValueError(f"attribution attribute {a.attribute!r} given twice")
        by_name[a.attribute] = a
    out: list[dict[str, Any]] = []
    for name in ATTRIBUTES:
        a = by_name.get(name)
        if a is None or (name == "errorCode" and insight_type == ERROR_RATE) or not (a.insight or a.baseline):
            continue
        out.append({"attribute": name, "insight": _values(a.insight), "baseline": _values(a.baseline)})
    return out


def _record(key: SeriesKey, anomaly: Anomaly, attributions: Sequence[Attribution], state: str) -> dict[str, Any]:
    start_id, end_id, shared_id = event_ids(key, anomaly.start)
    if state == START:
        minute, event_id, average, duration = anomaly.start, start_id, anomaly.start_average, anomaly.start_duration
    else:
        if anomaly.end is None:
            raise ValueError("an End record needs anomaly.end")
        minute, event_id, average, duration = anomaly.end, end_id, anomaly.insight_average, anomaly.end - anomaly.start
    details: dict[str, Any] = {"state": state, "eventSource": key.event_source, "eventName": key.event_name,
                               "insightType": key.insight_type}
    if key.insight_type == ERROR_RATE:
        details["errorCode"] = key.error_code
    context: dict[str, Any] = {"statistics": {
        "baseline": {"average": _average(anomaly.baseline_average)},
        "insight": {"average": _average(average)},
        "insightDuration": int(duration),
        "baselineDuration": int(anomaly.baseline_duration),
    }}
    listed = attributions_json(key.insight_type, attributions)
    if listed:
        context["attributions"] = listed
    details["insightContext"] = context
    return {
        "eventVersion": EVENT_VERSION,
        "eventTime": minute_time(minute),
        "awsRegion": key.region,
        "eventID": event_id,
        "eventType": EVENT_TYPE,
        "recipientAccountId": key.account_id,
        "sharedEventID": shared_id,
        "insightDetails": details,
        "eventCategory": EVENT_CATEGORY,
    }


def start_record(key: SeriesKey, anomaly: Anomaly, attributions: Sequence[Attribution]) -> dict[str, Any]:
    """The Start record of ``anomaly`` (module docstring): eventTime ``anomaly.start``, insight
    average ``start_average`` over ``start_duration`` minutes. Raises ValueError for a bad
    attribution (:func:`attributions_json`)."""
    return _record(key, anomaly, attributions, START)


def end_record(key: SeriesKey, anomaly: Anomaly, attributions: Sequence[Attribution]) -> dict[str, Any]:
    """The End record of ``anomaly`` (``anomaly.end`` set, else ValueError): eventTime
    ``anomaly.end``, insight average ``insight_average`` over ``end - start`` minutes."""
    return _record(key, anomaly, attributions, END)
