"""How the benchmarks measure: the fastest of N runs in CPU seconds, and percentiles of latencies."""

from __future__ import annotations

import gc
import time
from typing import Any, Callable


def fastest(repeat: int, run: Callable[[], Any]) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of the fastest of ``repeat`` runs (by CPU time:
    the machine is shared), with the cyclic garbage collector off (as ``timeit``)."""
    runs = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            run()
            runs.append((time.process_time() - c0, time.perf_counter() - w0))
    finally:
        gc.enable()
    cpu, wall = min(runs)
    return cpu, wall


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]
