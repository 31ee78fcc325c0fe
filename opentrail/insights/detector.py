"""The Insights detector: unusual minutes of one series against its own last 7 days.

AWS publishes no algorithm beyond "mathematical models" on a ~7-day baseline (CloudTrail User
Guide, "Working with CloudTrail Insights"); this one is opentrail's own, chosen by measurement
(``bench/insights_quality.py``, docs/insights.md "Algorithm"). For each minute t it compares the
count c(t) with the same time of day on the previous ``days`` days:

1. **expected** λ(t): the median, over lags d = 1..``days`` days, of the mean count in the window
   [t - d·1440 - ``window``, t - d·1440 + ``window``] (``window`` ≤ 60); at least ``flat_share`` × the plain mean of
   the 7 days before t, and at least ``MIN_EXPECTED``.
2. **dispersion** α(t) (negative binomial, variance λ + α·λ²): from the median window variance of
   the same windows, 0 (Poisson) when the windows are empty, at most ``max_dispersion``.
3. **recurring-job guard** J(t): the largest minute in [t' - ``job_window``, t' + ``job_window``]
   at the same time on each previous day (median over the days) and a week before t, whichever is
   greater; a minute at most ``job_slack`` × J(t) is usual (daily and weekly
   batch jobs).
4. t is **hot** when c(t) ≥ ``min_count`` (rare-API guard), c(t) ≥ ``min_ratio`` × λ(t), c(t) >
   ``job_slack`` × J(t) and P(X ≥ c(t)) ≤ ``p_value`` for X ~ NB(λ(t), α(t)) (an upper bound of the
   tail: pmf(c) / (1 - the largest ratio of successive pmf terms from c on)).

Hot minutes closer than ``quiet_minutes`` calm minutes apart make one anomaly (hysteresis): it
starts at its first hot minute and ends after its last one, once ``quiet_minutes`` calm minutes have
followed; until then it is still going on (``end`` None). Every statistic of minute t reads counts in
[t - ``LOOKBACK_MINUTES``, t] only, never an earlier decision, so the result is causal and
deterministic (see :func:`detect`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .model import Anomaly

#: AWS's baseline: the 7 days before the Insights start (CloudTrail User Guide).
BASELINE_MINUTES = 7 * 24 * 60
#: The counts a decision reads: the baseline and up to an hour more, so that the same-time windows
#: of 7 days before are centred on their minute (a weekly job that ran a few minutes earlier last
#: week is still found). Callers give counts from ``analyse_from - LOOKBACK_MINUTES``.
LOOKBACK_MINUTES = BASELINE_MINUTES + 60
DAY_MINUTES = 24 * 60
#: The Start event reports the first anomalous minute (AWS examples show insightDuration 1).
START_MINUTES = 1
#: Floor of the expected calls per minute (one call a week), so an empty baseline still tests.
MIN_EXPECTED = 1 / BASELINE_MINUTES


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """Tuning of :func:`detect` (module docstring; defaults measured in docs/insights.md).

    ``min_count``: calls in a minute below which it is never unusual (rare APIs).
    ``min_ratio``: the least count / expected ratio. ``p_value``: the largest tail probability.
    ``window``: ± minutes of the same-time-of-day windows (≤ 60). ``days``: previous days
    compared, 1..7.
    ``seasonal``: False compares with whole previous days instead of same-time windows.
    ``flat_share``: expected ≥ this share of the 7-day mean. ``max_dispersion``: cap of α.
    ``job_window``: ± minutes of the recurring-job guard (≤ 60); ``job_slack``: its factor (0: no guard).
    ``quiet_minutes``: calm minutes that end an anomaly.
    """

    min_count: int = 5
    min_ratio: float = 3.0
    p_value: float = 1e-6
    window: int = 30
    days: int = 7
    seasonal: bool = True
    flat_share: float = 1.0
    max_dispersion: float = 10.0
    job_window: int = 15
    job_slack: float = 2.0
    quiet_minutes: int = 10


DEFAULT_PARAMS = DetectorParams()


def detect(minutes: Sequence[int], counts: Sequence[int], history_start: int, analyse_from: int, analyse_to: int,
           params: DetectorParams = DEFAULT_PARAMS) -> list[Anomaly]:
    """The anomalies of one series that start in [``analyse_from``, ``analyse_to``) epoch minutes.

    ``minutes``/``counts``: the series' non-zero per-minute counts, ascending, covering at least the
    ``LOOKBACK_MINUTES`` before ``analyse_from`` up to ``analyse_to``; minutes absent count 0.
    ``history_start``: the first minute the series' account and Region was watched (no anomaly
    before ``history_start + BASELINE_MINUTES``). Causal and deterministic: the decision for minute
    t depends only on the counts in [t - ``LOOKBACK_MINUTES``, t], so analysing [a, c) gives the
    anomalies of [a, b) that ended before b exactly as analysing [a, b) does, when a is not inside
    an anomaly. An anomaly still going on at ``analyse_to`` has ``end`` None and ``insight_average``
    equal to ``start_average``. ``baseline_average`` is the mean over the ``BASELINE_MINUTES``
    before ``start``; ``start_average`` the count of the first minute.
    """
    first = max(analyse_from, history_start + BASELINE_MINUTES)
    if first >= analyse_to:
        return []
    lo = first - LOOKBACK_MINUTES
    x = dense(minutes, counts, lo, analyse_to)
    hot = hot_positions(x, LOOKBACK_MINUTES, params)
    return anomalies(x, hot, lo, params.quiet_minutes)


def dense(minutes: Sequence[int], counts: Sequence[int], lo: int, hi: int) -> np.ndarray:
    """Counts of the epoch minutes [lo, hi) as an int64 array (absent minutes 0)."""
    m = np.asarray(minutes, dtype=np.int64)
    c = np.asarray(counts, dtype=np.int64)
    keep = (m >= lo) & (m < hi)
    x = np.zeros(hi - lo, dtype=np.int64)
    x[m[keep] - lo] = c[keep]
    return x


def hot_positions(x: np.ndarray, first: int, params: DetectorParams) -> np.ndarray:
    """Ascending indexes ≥ ``first`` of the hot minutes of ``x`` (module docstring, steps 1–4).

    ``first`` ≥ ``LOOKBACK_MINUTES``: every index's baseline lies inside ``x``."""
    if not (1 <= params.days <= 7 and 0 <= params.window <= 60 and 0 <= params.job_window <= 60):
        raise ValueError("days must be 1..7, window and job_window 0..60")
    p = first + np.flatnonzero(x[first:] >= params.min_count)
    if p.size == 0:
        return p
    c1 = np.concatenate(([0], np.cumsum(x)))
    flat = (c1[p] - c1[p - BASELINE_MINUTES]) / BASELINE_MINUTES
    # λ ≥ flat_share × flat: the cheap part of the ratio test first (most minutes of a busy series).
    keep = x[p] >= params.min_ratio * np.maximum(params.flat_share * flat, MIN_EXPECTED)
    p, flat = p[keep], flat[keep]
    if p.size == 0:
        return p
    c = x[p].astype(np.float64)
    expected, var = _level(x, c1, p, params)
    lam = np.maximum(np.maximum(expected, params.flat_share * flat), MIN_EXPECTED)
    keep = c >= params.min_ratio * lam
    if params.job_slack > 0:
        keep &= c > params.job_slack * _job_guard(x, p, params.job_window, params.days)
    p, c, lam, expected, var = p[keep], c[keep], lam[keep], expected[keep], var[keep]
    if p.size == 0:
        return p
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(expected > 0, (var - expected) / (expected * expected), 0.0)
    alpha = np.clip(np.nan_to_num(alpha), 0.0, params.max_dispersion)
    return p[log_tail(c, lam, alpha) <= math.log(params.p_value)]


def _level(x: np.ndarray, c1: np.ndarray, p: np.ndarray, params: DetectorParams) -> tuple[np.ndarray, np.ndarray]:
    """Median window mean and variance over the previous days at positions ``p``."""
    if params.seasonal:
        length = 2 * params.window + 1
        lags = np.arange(1, params.days + 1) * DAY_MINUTES + params.window
    else:
        length = DAY_MINUTES
        lags = np.arange(1, 8) * DAY_MINUTES
    xf = x.astype(np.float64)
    c2 = np.concatenate(([0.0], np.cumsum(xf * xf)))
    a = p[None, :] - lags[:, None]
    mean = (c1[a + length] - c1[a]) / length
    var = (c2[a + length] - c2[a]) / length - mean * mean
    return np.median(mean, axis=0), np.median(var, axis=0)


def _job_guard(x: np.ndarray, p: np.ndarray, half: int, days: int) -> np.ndarray:
    """The recurring peak at positions ``p``: the median over previous days of the largest minute
    within ± ``half`` of the same time, or that largest minute a week before, whichever is
    greater."""
    width = 2 * half + 1
    starts = p[None, :] - (np.arange(1, days + 1) * DAY_MINUTES + half)[:, None]
    if p.size * days * width < 4 * x.size:
        windows = np.lib.stride_tricks.sliding_window_view(x, width)
        peaks = windows[starts].max(axis=-1)
        weekly = windows[p - BASELINE_MINUTES - half].max(axis=-1)
    else:
        peak = _forward_max(x, width)
        peaks, weekly = peak[starts], peak[p - BASELINE_MINUTES - half]
    return np.maximum(np.median(peaks, axis=0), weekly)


def _forward_max(x: np.ndarray, width: int) -> np.ndarray:
    """out[k] = max(x[k : k + width]) (shorter at the end), by doubling."""
    out = x.copy()
    span = 1
    while span * 2 <= width:
        out[:-span] = np.maximum(out[:-span], out[span:])
        span *= 2
    if span < width:
        rest = width - span
        out[:-rest] = np.maximum(out[:-rest], out[rest:])
    return out


def log_tail(k: np.ndarray, lam: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """An upper bound of log P(X ≥ k) for X negative binomial with mean ``lam`` and variance
    lam + alpha·lam² (Poisson where alpha is 0); 0 where k is not above the mode.

    pmf(k) / (1 - ρ), ρ the largest ratio pmf(j+1)/pmf(j) for j ≥ k (the ratios tend to q for the
    NB and decrease for the Poisson, so ρ = max(ratio(k), q) bounds them all)."""
    poisson = alpha < 1e-9
    r = 1.0 / np.where(poisson, 1.0, alpha)
    q = lam / (lam + r)
    nb_log = _lgamma(k + r) - _lgamma(r) - _lgamma(k + 1) + r * np.log1p(-q) + k * np.log(q)
    ps_log = k * np.log(lam) - lam - _lgamma(k + 1)
    ratio = np.where(poisson, lam / (k + 1), np.maximum((k + r) / (k + 1) * q, q))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(poisson, ps_log, nb_log) - np.log1p(-np.minimum(ratio, 1.0))
    return np.where(ratio < 1.0, np.minimum(out, 0.0), 0.0)


def _lgamma(z: np.ndarray) -> np.ndarray:
    """log Γ(z) for z > 0, vectorised: z shifted to ≥ 8, then Stirling's series (error < 1e-12)."""
    z = np.asarray(z, dtype=np.float64)
    shift = np.zeros_like(z)
    w = z.copy()
    for _ in range(8):
        small = w < 8.0
        shift = shift + np.where(small, np.log(np.where(small, w, 1.0)), 0.0)
        w = np.where(small, w + 1.0, w)
    inv = 1.0 / w
    inv2 = inv * inv
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))
    return (w - 0.5) * np.log(w) - w + 0.5 * math.log(2 * math.pi) + series - shift


def anomalies(x: np.ndarray, hot: np.ndarray, lo: int, quiet: int) -> list[Anomaly]:
    """Group ascending hot indexes of ``x`` (minute ``lo`` at index 0) into anomalies: a gap of
    more than ``quiet`` calm minutes separates two; one whose last hot minute is not followed by
    ``quiet`` calm minutes inside ``x`` is still going on."""
    if hot.size == 0:
        return []
    c1 = np.concatenate(([0], np.cumsum(x)))
    cuts = np.flatnonzero(np.diff(hot) > quiet)
    starts = np.concatenate(([hot[0]], hot[cuts + 1]))
    lasts = np.concatenate((hot[cuts], [hot[-1]]))
    out: list[Anomaly] = []
    for s, last in zip(starts.tolist(), lasts.tolist()):
        baseline = float(c1[s] - c1[s - BASELINE_MINUTES]) / BASELINE_MINUTES
        start_average = float(c1[s + START_MINUTES] - c1[s]) / START_MINUTES
        if last + quiet < len(x):
            end = last + 1
            out.append(Anomaly(lo + s, lo + end, baseline, BASELINE_MINUTES, start_average, START_MINUTES,
                               float(c1[end] - c1[s]) / (end - s)))
        else:
            out.append(Anomaly(lo + s, None, baseline, BASELINE_MINUTES, start_average, START_MINUTES, start_average))
    return out
