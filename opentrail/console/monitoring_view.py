"""Pure helpers of the monitoring pages: table rows from API answers, the alarm chart (an SVG drawn
on the server: the metric's datapoints against the threshold), the filter pattern's explain rows."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

from .svg_chart import fit


def when(value: Any) -> str:
    """A timestamp as ``2026-12-02 10:00:00 UTC``: epoch seconds, epoch milliseconds (≥ 1e11),
    a datetime or text; empty for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000.0 if value >= 1e11 else float(value)
        moment = datetime.fromtimestamp(seconds, timezone.utc)
    else:
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def epoch_s(value: Any) -> float | None:
    """Epoch seconds of a datetime / epoch number / ISO text, or None."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value / 1000.0 if value >= 1e11 else float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def log_group_row(group: dict[str, Any]) -> dict[str, Any]:
    """One DescribeLogGroups item for the table."""
    return {"name": group.get("logGroupName", ""), "created": when(group.get("creationTime")),
            "retention": group.get("retentionInDays") or "Never expire",
            "stored": group.get("storedBytes", 0), "filters": group.get("metricFilterCount", 0),
            "arn": group.get("arn", "")}


def alarm_row(alarm: dict[str, Any]) -> dict[str, Any]:
    """One DescribeAlarms MetricAlarms item for the table."""
    dims = ", ".join(f"{d.get('Name')}={d.get('Value')}" for d in alarm.get("Dimensions") or [])
    statistic = alarm.get("Statistic") or alarm.get("ExtendedStatistic") or ""
    return {"name": alarm.get("AlarmName", ""), "state": alarm.get("StateValue", ""),
            "reason": alarm.get("StateReason", ""), "updated": when(alarm.get("StateUpdatedTimestamp")),
            "metric": f"{alarm.get('Namespace', '')} / {alarm.get('MetricName', '')}" + (f" ({dims})" if dims else ""),
            "condition": f"{statistic} {_OPERATORS.get(alarm.get('ComparisonOperator', ''), alarm.get('ComparisonOperator', ''))} "
                         f"{alarm.get('Threshold', '')} for {alarm.get('DatapointsToAlarm') or alarm.get('EvaluationPeriods', '')}"
                         f" of {alarm.get('EvaluationPeriods', '')} × {alarm.get('Period', '')} s",
            "actions_enabled": alarm.get("ActionsEnabled", True)}


_OPERATORS = {"GreaterThanOrEqualToThreshold": "≥", "GreaterThanThreshold": ">", "LessThanThreshold": "<",
              "LessThanOrEqualToThreshold": "≤"}


def chart(points: Sequence[tuple[float, float]], threshold: float | None, start_s: float, end_s: float,
          statistic: str = "") -> dict[str, Any]:
    """The SVG pieces of an alarm chart: ``points`` are (epoch seconds, value) of the metric;
    returns {"width", "height", "polyline", "dots": [{"x","y","label"}], "threshold_y", "y_max",
    "y_min", "ticks": [{"x","label"}]} in SVG units (y grows downwards)."""
    scale = fit([v for _, v in points] + ([threshold] if threshold is not None else []), start_s, end_s)
    dots = [{"x": scale.x(t), "y": scale.y(v), "label": f"{when(t)}: {v:g}"} for t, v in sorted(points)]
    return {"width": scale.width, "height": scale.height, "pad": scale.pad,
            "polyline": " ".join(f"{d['x']},{d['y']}" for d in dots), "dots": dots,
            "threshold_y": scale.y(threshold) if threshold is not None else None, "threshold": threshold,
            "y_max": f"{scale.y_max:g}", "y_min": f"{scale.y_min:g}", "ticks": scale.ticks(),
            "statistic": statistic}


def explain_rows(explanation: Any) -> list[dict[str, Any]]:
    """The filter pattern's explain output (:meth:`FilterPattern.explain`: a flat list of clauses
    ``{"clause", "kind", "result", "depth", ...}``) as rows ``{"clause", "result", "detail",
    "depth"}``: the detail names the values the selector found, or the explanation's note."""
    rows: list[dict[str, Any]] = []
    for item in explanation if isinstance(explanation, list) else [explanation]:
        if not isinstance(item, dict):
            rows.append({"clause": str(item), "result": None, "detail": "", "depth": 0})
            continue
        detail = ""
        if "values" in item:
            values = item["values"]
            detail = "found " + (", ".join(repr(v) for v in values) if values else "nothing")
        elif item.get("role"):
            detail = f"{item['role']} term, {'found' if item.get('found') else 'not found'}"
        if item.get("note"):
            detail = f"{detail}; {item['note']}" if detail else str(item["note"])
        rows.append({"clause": str(item.get("clause", "")), "result": item.get("result"), "detail": detail,
                     "depth": int(item.get("depth", 0) or 0)})
    return rows
