"""The Insights detector (placeholder: replaced by the measured algorithm, docs/insights.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .model import Anomaly

#: AWS's baseline: the 7 days before the Insights start (CloudTrail User Guide).
BASELINE_MINUTES = 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """Tuning of :func:`detect`."""

    min_count: int = 10
    factor: float = 10.0


DEFAULT_PARAMS = DetectorParams()


def detect(minutes: Sequence[int], counts: Sequence[int], history_start: int, analyse_from: int, analyse_to: int,
           params: DetectorParams = DEFAULT_PARAMS) -> list[Anomaly]:
    """The anomalies of one series that start in [``analyse_from``, ``analyse_to``) epoch minutes.

    ``minutes``/``counts``: the series' non-zero per-minute counts, ascending, covering at least the
    ``BASELINE_MINUTES`` before ``analyse_from`` up to ``analyse_to``; minutes absent count 0.
    ``history_start``: the first minute the series' account and Region was watched (no anomaly
    before ``history_start + BASELINE_MINUTES``). Causal and deterministic: the decision for minute
    t depends only on the counts up to t, so analysing [a, c) gives the anomalies of [a, b) that
    ended before b exactly as analysing [a, b) does, when a is not inside an anomaly. An anomaly
    still going on at ``analyse_to`` has ``end`` None.
    """
    by_minute = dict(zip(minutes, counts))
    out: list[Anomaly] = []
    open_start: int | None = None
    total = 0
    for t in range(max(analyse_from, history_start + BASELINE_MINUTES), analyse_to):
        window = sum(c for m, c in by_minute.items() if t - BASELINE_MINUTES <= m < t)
        base = window / BASELINE_MINUTES
        c = by_minute.get(t, 0)
        hot = c >= params.min_count and c > params.factor * max(base, 0.1)
        if hot and open_start is None:
            open_start, total, start_base = t, 0, base
        if open_start is not None:
            if hot:
                total += c
            else:
                n = t - open_start
                first = by_minute.get(open_start, 0)
                out.append(Anomaly(open_start, t, start_base, BASELINE_MINUTES, first, 1, total / n))
                open_start = None
    if open_start is not None:
        n = analyse_to - open_start
        out.append(Anomaly(open_start, None, start_base, BASELINE_MINUTES, by_minute.get(open_start, 0), 1, total / n))
    return out
