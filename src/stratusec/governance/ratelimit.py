"""Per-caller rate limits: one token bucket per key (a bearer token's id, or a principal)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``per_minute`` calls refill continuously; at most ``burst`` can be spent at once.

    Thread-safe. Buckets idle for more than ten minutes are dropped so the table stays
    bounded by the number of recently active callers."""

    def __init__(self, per_minute: int, burst: int) -> None:
        if per_minute < 1 or burst < 1:
            raise ValueError("per_minute and burst must be at least 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._last_sweep = time.monotonic()

    def allow(self, key: str, now: float | None = None) -> tuple[bool, float]:
        """Spend one call for ``key``: ``(allowed, seconds until the next call is allowed)``."""
        t = time.monotonic() if now is None else now
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                b = self._buckets[key] = _Bucket(self.burst, t)
            else:
                b.tokens = min(self.burst, b.tokens + (t - b.updated) * self.rate)
                b.updated = t
            if t - self._last_sweep > 600:
                self._sweep(t)
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return True, 0.0
            return False, (1.0 - b.tokens) / self.rate

    def _sweep(self, now: float) -> None:
        self._last_sweep = now
        for k in [k for k, b in self._buckets.items() if now - b.updated > 600]:
            del self._buckets[k]
