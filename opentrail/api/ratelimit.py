"""A token bucket per key (account and Region), with an injected clock.

AWS limits LookupEvents to 2 requests per second per account and Region and answers
``ThrottlingException`` "Rate exceeded" beyond that (LookupEvents API Reference, "Important").
opentrail makes the rate a setting (``lookup_events_rate_limit_per_s``, 0 = off).
"""

from __future__ import annotations

import threading
from typing import Callable, Hashable


class RateLimiter:
    """``rate_per_s`` tokens per second per key, bucket size ``max(1, rate_per_s)`` (so a burst of
    that many requests passes). ``rate_per_s`` 0 turns the limiter off."""

    def __init__(self, rate_per_s: float, clock: Callable[[], float]) -> None:
        self._rate = float(rate_per_s)
        self._burst = max(1.0, self._rate)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def allow(self, key: Hashable) -> bool:
        """Take one token for ``key``; False when the bucket is empty (the caller throttles)."""
        if self._rate <= 0:
            return True
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + max(0.0, now - last) * self._rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True
