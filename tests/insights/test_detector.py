"""The Insights detector: exact anomalies of small constructed series, and the causality property."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.insights.detector import (
    BASELINE_MINUTES as W,
    DEFAULT_PARAMS,
    LOOKBACK_MINUTES,
    DetectorParams,
    detect,
    log_tail,
)
from opentrail.insights.model import Anomaly

DAY = 1440
H = 28_401_120  # history start: 2024-01-01T00:00Z in epoch minutes
A = H + W  # the first minute an anomaly may start
T = A + 600  # where the constructed events happen
Part = tuple[int, int, int]  # [start, end) minutes, calls added to each


def series(*parts: Part) -> tuple[list[int], list[int]]:
    """Non-zero per-minute counts (ascending minutes, counts) of the parts added together."""
    counts: dict[int, int] = {}
    for start, end, n in parts:
        for m in range(start, end):
            counts[m] = counts.get(m, 0) + n
    minutes = sorted(m for m, c in counts.items() if c)
    return minutes, [counts[m] for m in minutes]


def base(rate: int, end: int = A + 2 * DAY) -> Part:
    return (H, end, rate)


def daily(at: int, minutes: int, n: int) -> list[Part]:
    return [(H + d * DAY + at, H + d * DAY + at + minutes, n) for d in range(10)]


CASES: list[tuple[str, list[Part], int, int, list[Anomaly]]] = [
    ("burst of 5 minutes on a flat baseline",
     [base(2), (T, T + 5, 38)], A, A + 2 * DAY,
     [Anomaly(T, T + 5, 2.0, W, 40.0, 1, 40.0)]),
    ("9 calm minutes inside: one anomaly",
     [base(2), (T, T + 3, 38), (T + 12, T + 14, 38)], A, A + 2 * DAY,
     [Anomaly(T, T + 14, 2.0, W, 40.0, 1, (5 * 40 + 9 * 2) / 14)]),
    ("10 calm minutes (quiet_minutes) end it: two anomalies",
     [base(2), (T, T + 3, 38), (T + 13, T + 15, 38)], A, A + 2 * DAY,
     [Anomaly(T, T + 3, 2.0, W, 40.0, 1, 40.0), Anomaly(T + 13, T + 15, (2 * W + 3 * 38) / W, W, 40.0, 1, 40.0)]),
    ("9 calm minutes after it at analyse_to: still going on",
     [base(2), (T, T + 5, 38)], A, T + 14,
     [Anomaly(T, None, 2.0, W, 40.0, 1, 40.0)]),
    ("10 calm minutes after it at analyse_to: ended",
     [base(2), (T, T + 5, 38)], A, T + 15,
     [Anomaly(T, T + 5, 2.0, W, 40.0, 1, 40.0)]),
    ("2.5 x the baseline: below min_ratio",
     [base(10), (T, T + 5, 15)], A, A + 2 * DAY, []),
    ("3.1 x the baseline: Poisson tail 3e-8",
     [base(10), (T, T + 5, 21)], A, A + 2 * DAY,
     [Anomaly(T, T + 5, 10.0, W, 31.0, 1, 31.0)]),
    ("exactly 3 x: the 2nd minute's 7-day mean holds the 1st minute's burst, so it is below 3 x",
     [base(10), (T, T + 5, 20)], A, A + 2 * DAY,
     [Anomaly(T, T + 1, 10.0, W, 30.0, 1, 30.0)]),
    ("a daily job at 03:00 (x 25 for 10 minutes): usual",
     [base(2), *daily(180, 10, 48)], A, A + 2 * DAY, []),
    ("a weekly job that ran 5 minutes earlier last week: usual",
     [base(2), (T - 7 * DAY - 5, T - 7 * DAY + 5, 48), (T, T + 10, 48)], A, A + 2 * DAY, []),
    ("the same job without last week's run: unusual",
     [base(2), (T, T + 10, 48)], A, A + 2 * DAY,
     [Anomaly(T, T + 10, 2.0, W, 50.0, 1, 50.0)]),
    ("rare API (1 call a day): 4 calls in a minute are below min_count",
     [*daily(720, 1, 1), (T, T + 1, 4)], A, A + 2 * DAY, []),
    ("rare API (1 call a day): 5 calls in a minute",
     [*daily(720, 1, 1), (T, T + 1, 5)], A, A + 2 * DAY,
     [Anomaly(T, T + 1, 7 / W, W, 5.0, 1, 5.0)]),
    ("error storm after 7 days without errors",
     [(T, T + 3, 20)], A, A + 2 * DAY,
     [Anomaly(T, T + 3, 0.0, W, 20.0, 1, 20.0)]),
    ("nothing in the first 7 days of history, even when analysed",
     [base(2), (A - 1, A, 38), (A + 100, A + 101, 38)], H, A + DAY,
     [Anomaly(A + 100, A + 101, (2 * W + 38) / W, W, 40.0, 1, 40.0)]),
    ("an anomaly may start on the first minute after 7 days",
     [base(2), (A, A + 1, 38)], H, A + DAY,
     [Anomaly(A, A + 1, 2.0, W, 40.0, 1, 40.0)]),
]


@pytest.mark.parametrize("name,parts,start,end,expected", CASES, ids=[c[0] for c in CASES])
def test_constructed_series(name: str, parts: list[Part], start: int, end: int, expected: list[Anomaly]) -> None:
    minutes, counts = series(*parts)
    assert detect(minutes, counts, H, start, end) == expected


def test_without_the_job_guard_the_weekly_job_is_unusual() -> None:
    minutes, counts = series(base(2), (T - 7 * DAY - 5, T - 7 * DAY + 5, 48), (T, T + 10, 48))
    got = detect(minutes, counts, H, A, A + 2 * DAY, dataclasses.replace(DEFAULT_PARAMS, job_slack=0))
    # Half of last week's run is inside the 7 days before T.
    assert got == [Anomaly(T, T + 10, (2 * W + 5 * 48) / W, W, 50.0, 1, 50.0)]


def test_bad_params() -> None:
    with pytest.raises(ValueError, match="days must be 1..7"):
        detect([T], [40], H, A, A + DAY, DetectorParams(days=8))


@pytest.mark.parametrize("k,lam,alpha",
                         [(10, 1.0, 0.0), (10, 1.0, 0.5), (60, 20.0, 0.1), (200, 30.0, 2.0), (5, 0.01, 0.0)])
def test_log_tail_bounds_the_exact_tail(k: int, lam: float, alpha: float) -> None:
    if alpha == 0:
        terms = (j * math.log(lam) - lam - math.lgamma(j + 1) for j in range(k, k + 3000))
    else:
        r = 1 / alpha
        q = lam / (lam + r)
        terms = (math.lgamma(j + r) - math.lgamma(r) - math.lgamma(j + 1) + r * math.log1p(-q) + j * math.log(q)
                 for j in range(k, k + 20000))
    exact = math.log(sum(math.exp(t) for t in terms))
    bound = float(log_tail(np.array([float(k)]), np.array([lam]), np.array([alpha]))[0])
    assert exact <= bound + 1e-9 and bound - exact < 0.15


def test_log_tail_is_zero_below_the_mode() -> None:
    assert log_tail(np.array([3.0, 30.0]), np.array([10.0, 40.0]), np.array([0.0, 0.2])).tolist() == [0.0, 0.0]


# --- causality: the decision for minute t reads counts in [t - LOOKBACK_MINUTES, t] only -----------

SPAN = 600  # analysed minutes after the 7 days of history


def random_series(seed: int, rate: float) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(seed)
    n = LOOKBACK_MINUTES + SPAN
    x = rng.poisson(rate, n)
    for _ in range(int(rng.integers(2, 8))):  # bursts, some close together, in the analysed span
        at = LOOKBACK_MINUTES - 60 + int(rng.integers(0, SPAN + 60))
        x[at:at + int(rng.integers(1, 30))] += rng.poisson(rng.uniform(5, 60) * max(rate, 1.0))
    nz = np.flatnonzero(x)
    return (H - 60 + nz).tolist(), x[nz].tolist()


def trimmed(minutes: list[int], counts: list[int], start: int) -> tuple[list[int], list[int]]:
    """Only the counts a caller must give when analysing from ``start``."""
    keep = [i for i, m in enumerate(minutes) if m >= start - LOOKBACK_MINUTES]
    return [minutes[i] for i in keep], [counts[i] for i in keep]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rate=st.sampled_from([0.002, 0.3, 2.0, 25.0]),
       cut=st.integers(1, SPAN - 1), quiet=st.sampled_from([1, 10, 30]))
def test_causal_and_deterministic(seed: int, rate: float, cut: int, quiet: int) -> None:
    minutes, counts = random_series(seed, rate)
    params = dataclasses.replace(DEFAULT_PARAMS, quiet_minutes=quiet)
    end = A + SPAN
    full = detect(minutes, counts, H, A, end, params)
    assert detect(minutes, counts, H, A, end, params) == full
    # Analysing a prefix: the anomalies it closed are the full run's, then at most one still going on.
    b = A + cut
    prefix = detect(minutes, counts, H, A, b, params)
    closed = [a for a in prefix if a.end is not None]
    assert closed == [a for a in full if a.end is not None and a.end + quiet <= b]
    going = [a for a in prefix if a.end is None]
    later = [a for a in full if a not in closed and a.start < b]
    assert [a.start for a in going] == [a.start for a in later]
    assert [dataclasses.replace(a, end=None, insight_average=a.start_average) for a in later] == going
    # Re-analysing from the start of an anomaly, or from a minute outside all, with only the
    # counts the caller must give, gives the same anomalies.
    inside = {m for a in full for m in range(a.start + 1, a.end if a.end is not None else end)}
    restart = b if b not in inside else next(a.start for a in full if a.start < b and b in range(a.start, a.end or end))
    again = detect(*trimmed(minutes, counts, restart), H, restart, end, params)
    assert again == [a for a in full if a.start >= restart]
