"""Metric alarm evaluation, exactly as the CloudWatch User Guide describes it (pure: no I/O, no clock).

Source: "Using Amazon CloudWatch alarms", sections "Evaluating an alarm", "How alarm state is
evaluated when data is missing" and "Avoiding premature transitions to alarm state"
(``AlarmThatSendsEmail``). The evaluator is given the datapoints of the *evaluation range* (more
periods than Evaluation Periods N: the guide's examples retrieve 5 for N = 3; opentrail fetches N + 2,
see :func:`evaluation_range`), one :class:`~.alarm_model.Slot` per period, oldest first, ``value``
None for a missing period, and decides:

1. no datapoint missing, or at least N real ones: the most recent N real datapoints are evaluated and
   TreatMissingData is not used; ALARM when at least M breach, else OK;
2. fewer than N real datapoints (but some): all of them are evaluated, and
   - ``breaching`` / ``notBreaching``: the N - R missing ones needed are filled in with that value
     (as few as possible); ALARM when at least M breach, else OK;
   - ``missing`` / ``ignore``: ALARM when at least M real ones breach; OK when any real one does not
     breach; otherwise (every real one breaches but fewer than M) the premature-alarm rule: ALARM when
     the oldest breaching datapoint is at least M periods old (``- - X - -`` with M = 3), else
     INSUFFICIENT_DATA (``missing``) or the current state kept (``ignore``, which also keeps the
     state where the rule would go to ALARM: the guide's tables say "Retain current state");
3. every datapoint missing: ``breaching`` ALARM, ``notBreaching`` OK, ``missing`` INSUFFICIENT_DATA,
   ``ignore`` the current state.

Alarms on ``AWS/DynamoDB`` always ignore missing data. With ``EvaluateLowSampleCountPercentile``
``ignore`` and a percentile statistic, the state is kept while an evaluated period has fewer than
10/(1-p) samples (p >= 0.5) or 10/p (p < 0.5).

Both documented tables (N = M = 3 and M = 2 of N = 3, each row under the four TreatMissingData
settings) are in ``tests/monitoring/test_alarm_eval.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .alarm_model import ALARM, INSUFFICIENT_DATA, OK, AlarmConfig, Slot
from .alarm_reason import insufficient_reason, reason_data, threshold_reason
from .statistics import parse_extended_statistic

#: Extra periods fetched beyond N (the guide's example: 5 for N = 3).
EXTRA_PERIODS = 2
#: Alarms whose N x Period exceeds a day are evaluated hourly, on data up to the hour.
MULTI_DAY_S = 86400


@dataclass(frozen=True)
class Outcome:
    """The result of one evaluation. ``state`` is the state after it (the current one when
    ``changed`` is False); ``reason``/``reason_data`` are set when the evaluation decided a state
    (also when it equals the current one), None when the state was kept for want of data."""

    state: str
    changed: bool
    reason: str | None = None
    reason_data: str | None = None
    evaluated: tuple[Slot, ...] = field(default=())


def evaluation_range(config: AlarmConfig) -> int:
    """How many periods an evaluation fetches: N + 2 (the guide: "CloudWatch retrieves the 5 most
    recent data points" for N = 3; the exact number is not documented)."""
    return config.evaluation_periods + EXTRA_PERIODS


def evaluation_interval_s(config: AlarmConfig) -> int:
    """How often the alarm is evaluated: every 10 s for 10/20/30 s periods, every hour when
    N x Period exceeds a day, else every minute (the guide's "Evaluating an alarm")."""
    if config.period_s < 60:
        return 10
    if config.period_s * config.evaluation_periods > MULTI_DAY_S:
        return 3600
    return 60


def query_window(config: AlarmConfig, now_s: float) -> tuple[int, int]:
    """(start, end) in seconds of the data to fetch for an evaluation at ``now_s``: the evaluation
    range ending at the last evaluation boundary (minute, 10 s or hour, see
    :func:`evaluation_interval_s`), so the newest period ends at that boundary. Fetch it with
    ``SqliteMetricStore.statistics(..., align_start=False, limit=None)``."""
    step = evaluation_interval_s(config)
    end = int(math.floor(now_s / step) * step)
    return end - evaluation_range(config) * config.period_s, end


class _DatapointLike(Protocol):
    timestamp_s: int

    @property
    def sample_count(self) -> float: ...

    def value(self, statistic: str) -> float | None: ...


def slots_from_datapoints(config: AlarmConfig, start_s: int, datapoints: Iterable[_DatapointLike]) -> list[Slot]:
    """The evaluation range's slots, oldest first, from the metric store's datapoints of the window
    starting at ``start_s`` (a period without a datapoint, or whose statistic has no value, is
    missing). Datapoints of several units in one period: the first one's value is used (CloudWatch
    documents the behaviour of such alarms as undefined)."""
    found: dict[int, Slot] = {}
    for point in datapoints:
        if point.timestamp_s in found:
            continue
        value = point.value(config.stat)
        if value is not None:
            found[point.timestamp_s] = Slot(point.timestamp_s, value, point.sample_count)
    return [
        found.get(ts, Slot(ts, None))
        for ts in (start_s + i * config.period_s for i in range(evaluation_range(config)))
    ]


def _low_sample_threshold(config: AlarmConfig) -> float | None:
    if config.evaluate_low_sample_count_percentile != "ignore" or not config.extended_statistic:
        return None
    parsed = parse_extended_statistic(config.extended_statistic)
    if parsed is None or parsed.kind != "p" or parsed.upper is None:
        return None
    p = parsed.upper / 100.0
    if p >= 0.5:
        return math.inf if p >= 1 else 10 / (1 - p)
    return math.inf if p <= 0 else 10 / p


def _breaches(config: AlarmConfig, slot: Slot) -> bool:
    return slot.value is not None and config.breaches(slot.value)


def evaluate(config: AlarmConfig, slots: Sequence[Slot], current_state: str, now_s: float) -> Outcome:
    """Evaluate ``slots`` (the evaluation range, oldest first) for an alarm in ``current_state`` at
    ``now_s`` (only used for StateReasonData's queryDate). See the module docstring."""
    n, m = config.evaluation_periods, config.m
    treat = config.missing_data
    real = [s for s in slots if s.value is not None]

    def decided(state: str, evaluated: Sequence[Slot], filled: Sequence[Slot], fill_as: str | None) -> Outcome:
        real_evaluated = [s for s in evaluated if s.value is not None]
        supports = [s for s in real_evaluated if _breaches(config, s) == (state == ALARM)]
        crossed = sorted(supports, key=lambda s: -s.timestamp_s)
        fills_support = fill_as is not None and (fill_as == "Breaching") == (state == ALARM)
        reason = threshold_reason(config, state, crossed, len(real_evaluated), len(filled), fill_as)
        listed = crossed + (list(filled) if fills_support else [])
        data = reason_data(config, now_s, list(evaluated) + list(filled), listed)
        return Outcome(state, state != current_state, reason, data, tuple(list(evaluated) + list(filled)))

    def insufficient(unknown: Sequence[Slot], evaluated: Sequence[Slot]) -> Outcome:
        data = reason_data(config, now_s, list(evaluated) + list(unknown), unknown)
        return Outcome(INSUFFICIENT_DATA, current_state != INSUFFICIENT_DATA, insufficient_reason(len(unknown)),
                       data, tuple(list(evaluated) + list(unknown)))

    def kept() -> Outcome:
        return Outcome(current_state, False)

    low = _low_sample_threshold(config)
    recent_real = real[-n:]
    if low is not None and any((s.sample_count or 0.0) < low for s in recent_real):
        return kept()

    if len(real) >= n:
        breaching_recent = [s for s in recent_real if _breaches(config, s)]
        return decided(ALARM if len(breaching_recent) >= m else OK, recent_real, (), None)

    missing_slots = [s for s in slots if s.value is None]
    needed = sorted(missing_slots, key=lambda s: -s.timestamp_s)[: n - len(real)]
    if not real:
        if treat == "breaching":
            return decided(ALARM, (), needed, "Breaching")
        if treat == "notBreaching":
            return decided(OK, (), needed, "NonBreaching")
        if treat == "ignore":
            return kept()
        return insufficient(needed, ())

    breaching = [s for s in real if _breaches(config, s)]
    if treat in ("breaching", "notBreaching"):
        count = len(breaching) + (len(needed) if treat == "breaching" else 0)
        fill_as = "Breaching" if treat == "breaching" else "NonBreaching"
        return decided(ALARM if count >= m else OK, real, needed, fill_as)
    if len(breaching) >= m:
        return decided(ALARM, real, (), None)
    if len(breaching) < len(real):
        return decided(OK, real, (), None)
    oldest = min(s.timestamp_s for s in breaching)
    age = sum(1 for s in slots if s.timestamp_s >= oldest)
    if treat == "ignore":
        return kept()
    if age >= m:
        return decided(ALARM, real, (), None)
    return insufficient(needed, real)
