"""Insights detector quality: recall, precision and F1 on labelled injections into realistic traffic.

    PYTHONPATH=. python bench/insights_quality.py [--series 120] [--days 37] [--seed 1]

CloudTrail-specific labelled data does not exist publicly (reference insights.md C.7), so this
builds it. Series names and their mix come from the real trail logs in
``../shared/datasets/cloudtrail/invictus-ir-aws_dataset``: the write management APIs (an
ApiCallRateInsight series each) and the (API, errorCode) pairs (ApiErrorRateInsight), ranked by
how often they occur there. Each series gets ``--days`` days of per-minute counts:

- a level by rank: *busy* (10–60 calls/min at the daily peak), *medium* (0.2–3/min) or *rare*
  (2–10 calls a day, in sessions of 1–4 calls in one minute); error series are medium or rare;
- a diurnal rhythm (business-hours bump of random amplitude), quieter weekends, an hourly level
  wobble (lognormal, σ 0.15) and per-minute over-dispersion (gamma-Poisson, shape 3–30);
- **normal things that must not fire** (unlabelled): a daily batch job in about a third of the
  series (same hour every day, ±5 min jitter, 5–30 min, 5–30 × the unit rate) and a weekly job in
  a fifth (same weekday and hour);
- **labelled anomalies**, 3 per series after the 7-day baseline: bursts (× 3–50, log-uniform, of
  1–120 minutes), slow ramps (linear up to × 5–20 over 30–180 minutes) and, in error series,
  error storms (5–50 errors/min for 2–60 minutes). "× f" means a total rate of f × unit, the unit
  being the series' expected rate at that minute but at least 2 calls/min (× 3 of a rate of a few
  calls a day would be no anomaly).

Every detector variant analyses days 7.. of every series (history from day 0). A labelled window
[s, e) is **found** when a reported anomaly starts in [s - 5 min, e); a reported anomaly is
**true** when it overlaps [s - 5 min, e) of a window. Recall = found / windows, precision = true /
reported, F1 their harmonic mean. Deterministic for a seed; prints one table row per variant, the
recall by kind of injection and the per-series time of :func:`detect`.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import orjson

from opentrail.insights import detector
from opentrail.insights.detector import BASELINE_MINUTES, DEFAULT_PARAMS, LOOKBACK_MINUTES, DetectorParams, detect
from opentrail.insights.model import Anomaly

#: The real logs, next to the checkout (../shared) or to a worktree's parent (../../shared).
DATASET = next(p / "shared" / "datasets" / "cloudtrail" / "invictus-ir-aws_dataset" / "CloudTrail"
               for p in Path(__file__).resolve().parents if (p / "shared" / "datasets").is_dir())
DAY = 1440
#: 2024-01-01T00:00:00Z (a Monday) in epoch minutes.
T0 = 1704067200 // 60
LEAD = 5


@dataclass
class Series:
    name: str
    kind: str  # busy / medium / rare
    minutes: np.ndarray
    counts: np.ndarray
    windows: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, label) epoch minutes
    jobs: list[tuple[int, int]] = field(default_factory=list)


def real_mix() -> tuple[list[str], list[str]]:
    """Write-API series names and error series names of the real dataset, most frequent first."""
    writes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    files = sorted(glob.glob(str(DATASET / "*.json")))
    if not files:
        raise SystemExit(f"no logs in {DATASET}")
    for name in files:
        for r in orjson.loads(Path(name).read_bytes())["Records"]:
            api = f"{r['eventSource'].split('.')[0]}:{r['eventName']}"
            if r.get("errorCode"):
                errors[f"{api}/{r['errorCode']}"] += 1
            if not r.get("readOnly", False) and r.get("managementEvent", True):
                writes[api] += 1
    return [n for n, _ in writes.most_common()], [n for n, _ in errors.most_common()]


def rate_profile(rng: np.random.Generator, n: int, peak: float) -> np.ndarray:
    """Expected calls per minute: business-hours bump, quieter weekends, hourly wobble."""
    t = np.arange(n)
    hour = (t % DAY) / 60.0
    amp = rng.uniform(0.0, 0.9)
    centre = rng.uniform(10, 18)
    bump = np.exp(-0.5 * ((hour - centre) / rng.uniform(2.5, 5)) ** 2)
    weekday = ((t // DAY) % 7) < 5
    weekend = np.where(weekday, 1.0, rng.uniform(0.3, 1.0))
    wobble = np.repeat(rng.lognormal(0.0, 0.15, n // 60 + 1), 60)[:n]
    return peak * ((1 - amp) + amp * bump) * weekend * wobble


def make_series(rng: np.random.Generator, name: str, kind: str, days: int) -> Series:
    n = days * DAY
    if kind == "rare":
        per_day = rng.uniform(2, 10)
        sessions = rng.poisson(per_day / 2.5 * rate_profile(rng, n, 1.0) / DAY * 2)
        x = np.where(sessions > 0, sessions * rng.integers(1, 5, n), 0)
        expected = np.full(n, per_day / DAY)
    else:
        peak = rng.uniform(10, 60) if kind == "busy" else rng.uniform(0.2, 3)
        expected = rate_profile(rng, n, peak)
        shape = rng.uniform(3, 30)
        x = rng.poisson(expected * rng.gamma(shape, 1 / shape, n))
    s = Series(name, kind, np.array([]), np.array([]))
    unit = np.maximum(expected, 2.0)
    if rng.random() < 0.35:  # daily batch job
        at, dur, f = int(rng.integers(0, DAY - 60)), int(rng.integers(5, 31)), rng.uniform(5, 30)
        for d in range(days):
            a = d * DAY + at + int(rng.integers(-5, 6))
            x[a:a + dur] += rng.poisson(f * unit[a:a + dur])
            s.jobs.append((T0 + a, T0 + a + dur))
    if rng.random() < 0.2:  # weekly job
        at, dur, f = int(rng.integers(0, 7 * DAY - 60)), int(rng.integers(5, 31)), rng.uniform(5, 30)
        for w in range(days // 7 + 1):
            a = w * 7 * DAY + at + int(rng.integers(-5, 6))
            if a + dur <= n:
                x[a:a + dur] += rng.poisson(f * unit[a:a + dur])
                s.jobs.append((T0 + a, T0 + a + dur))
    slots = rng.choice(np.arange(7 * DAY + 60, n - 240, 6 * 60), size=3, replace=False)
    for a in sorted(int(v) for v in slots):
        a += int(rng.integers(0, 120))
        kinds = ["burst", "burst", "ramp"] + (["storm"] if "/" in name else [])
        label = kinds[int(rng.integers(0, len(kinds)))]
        if label == "burst":
            dur = int(rng.choice([1, 2, 3, 5, 10, 20, 30, 60, 90, 120]))
            f = math.exp(rng.uniform(math.log(3), math.log(50)))
            add = np.maximum(f * unit[a:a + dur] - expected[a:a + dur], 0)
            label = f"burst {'short' if dur <= 5 else 'long'}"
        elif label == "ramp":
            dur = int(rng.integers(30, 181))
            f = rng.uniform(5, 20)
            add = (f - 1) * unit[a:a + dur] * np.linspace(0, 1, dur)
        else:
            dur = int(rng.integers(2, 61))
            add = np.full(dur, rng.uniform(5, 50))
        x[a:a + dur] += rng.poisson(add)
        s.windows.append((T0 + a, T0 + a + dur, label))
    nz = np.flatnonzero(x)
    s.minutes, s.counts = T0 + nz, x[nz]
    return s


def build(seed: int, n_series: int, days: int) -> list[Series]:
    rng = np.random.default_rng(seed)
    writes, errors = real_mix()
    out: list[Series] = []
    n_err = n_series // 4
    for i in range(n_series - n_err):
        name = writes[i % len(writes)]
        r = i / (n_series - n_err)
        kind = "busy" if r < 0.25 else "medium" if r < 0.65 else "rare"
        out.append(make_series(rng, name, kind, days))
    for i in range(n_err):
        kind = "medium" if i < n_err // 2 else "rare"
        out.append(make_series(rng, errors[i % len(errors)], kind, days))
    return out


Detector = Callable[[Series, int, int], list[Anomaly]]


def ours(params: DetectorParams) -> Detector:
    return lambda s, a, b: detect(s.minutes, s.counts, T0, a, b, params)


def naive(k: float, min_count: int = 1, quiet: int = 10) -> Detector:
    """7-day mean + k·σ over the 7 days before each minute (upward), at least ``min_count`` calls,
    the same hysteresis."""
    def run(s: Series, a: int, b: int) -> list[Anomaly]:
        lo = a - LOOKBACK_MINUTES
        x = detector.dense(s.minutes, s.counts, lo, b)
        xf = x.astype(np.float64)
        c1 = np.concatenate(([0.0], np.cumsum(xf)))
        c2 = np.concatenate(([0.0], np.cumsum(xf * xf)))
        p = np.arange(LOOKBACK_MINUTES, len(x))
        mean = (c1[p] - c1[p - BASELINE_MINUTES]) / BASELINE_MINUTES
        sd = np.sqrt(np.maximum((c2[p] - c2[p - BASELINE_MINUTES]) / BASELINE_MINUTES - mean * mean, 0))
        hot = p[(x[p] > mean + k * sd) & (x[p] >= min_count)]
        return detector.anomalies(x, hot, lo, quiet)
    return run


def score(series: list[Series], run: Detector, days: int) -> dict[str, float]:
    a, b = T0 + 7 * DAY, T0 + days * DAY
    windows = reported = true = found = 0
    by_label: Counter[str] = Counter()
    found_by_label: Counter[str] = Counter()
    fp_jobs = 0
    for s in series:
        got = run(s, a, b)
        spans = [(g.start, g.end if g.end is not None else b) for g in got]
        reported += len(spans)
        for ws, we, label in s.windows:
            windows += 1
            by_label[label] += 1
            if any(ws - LEAD <= st < we for st, _ in spans):
                found += 1
                found_by_label[label] += 1
        for st, en in spans:
            if any(st < we and en > ws - LEAD for ws, we, _ in s.windows):
                true += 1
            elif any(st < je and en > js for js, je in s.jobs):
                fp_jobs += 1
    recall = found / windows if windows else 0.0
    precision = true / reported if reported else 1.0
    f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
    out = {"windows": windows, "reported": reported, "recall": recall, "precision": precision, "f1": f1,
           "fp_jobs": fp_jobs, "fp_other": reported - true - fp_jobs}
    for label in sorted(by_label):
        out[f"R {label}"] = found_by_label[label] / by_label[label]
    return out


def variants() -> list[tuple[str, Detector]]:
    d = DEFAULT_PARAMS
    r = dataclasses.replace
    return [
        ("naive 7-day mean + 4σ", naive(4)),
        ("naive 7-day mean + 6σ", naive(6)),
        ("naive 7-day mean + 10σ", naive(10)),
        ("naive 7-day mean + 6σ, ≥ 5 calls", naive(6, 5)),
        ("naive 7-day mean + 10σ, ≥ 5 calls", naive(10, 5)),
        ("flat NB (whole days), no job guard", ours(r(d, seasonal=False, job_slack=0))),
        ("flat NB (whole days) + job guard", ours(r(d, seasonal=False))),
        ("seasonal NB, no job guard", ours(r(d, job_slack=0))),
        ("seasonal Poisson + job guard", ours(r(d, max_dispersion=0))),
        ("DEFAULT seasonal NB + job guard", ours(d)),
        ("  p_value 1e-4", ours(r(d, p_value=1e-4))),
        ("  p_value 1e-8", ours(r(d, p_value=1e-8))),
        ("  min_count 3", ours(r(d, min_count=3))),
        ("  min_count 10", ours(r(d, min_count=10))),
        ("  min_ratio 2", ours(r(d, min_ratio=2.0))),
        ("  min_ratio 4", ours(r(d, min_ratio=4.0))),
        ("  flat_share 0", ours(r(d, flat_share=0.0))),
        ("  flat_share 0.5", ours(r(d, flat_share=0.5))),
        ("  days 6", ours(r(d, days=6))),
        ("  window 15", ours(r(d, window=15))),
        ("  window 60", ours(r(d, window=60))),
        ("  job_slack 1.5", ours(r(d, job_slack=1.5))),
        ("  job_slack 3.0", ours(r(d, job_slack=3.0))),
        ("  quiet_minutes 5", ours(r(d, quiet_minutes=5))),
        ("  quiet_minutes 30", ours(r(d, quiet_minutes=30))),
    ]


def timing(series: list[Series], repeat: int = 5) -> tuple[float, float]:
    """Median ms of detect over 30 days (43,200 minutes) for the busiest series, and mean ms over
    all series."""
    a = T0 + 7 * DAY
    b = a + 30 * DAY
    busiest = max(series, key=lambda s: int(s.counts.sum()))
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        detect(busiest.minutes, busiest.counts, T0, a, b)
        runs.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    for s in series:
        detect(s.minutes, s.counts, T0, a, b)
    return sorted(runs)[repeat // 2], (time.perf_counter() - t) * 1000 / len(series)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", type=int, default=120)
    ap.add_argument("--days", type=int, default=37)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    started = time.perf_counter()
    series = build(args.seed, args.series, args.days)
    kinds = Counter(s.kind for s in series)
    print(f"seed {args.seed}: {len(series)} series ({dict(kinds)}), {args.days} days each, "
          f"{sum(len(s.windows) for s in series)} labelled windows, "
          f"{sum(1 for s in series if s.jobs)} series with jobs; load {os.getloadavg()[0]:.2f}")
    rows = [(name, score(series, run, args.days)) for name, run in variants()]
    labels = [k for k in rows[0][1] if k.startswith("R ")]
    print(f"{'variant':38} {'recall':>6} {'prec':>6} {'F1':>6} {'rep':>5} {'FPjob':>5} {'FPoth':>5} "
          + " ".join(f"{k[2:]:>11}" for k in labels))
    for name, m in rows:
        print(f"{name:38} {m['recall']:6.3f} {m['precision']:6.3f} {m['f1']:6.3f} {m['reported']:5d} {m['fp_jobs']:5d} "
              f"{m['fp_other']:5d} " + " ".join(f"{m[k]:11.3f}" for k in labels))
    busiest_ms, mean_ms = timing(series)
    print(f"detect, 30 days (43,200 minutes + 7-day baseline): busiest series {busiest_ms:.1f} ms (median of 5), "
          f"mean over all series {mean_ms:.1f} ms; bench {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
