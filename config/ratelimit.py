"""Fixed-window counters in the shared cache, for limits such as failed log-ins or posts per minute.

A counter lives in Redis in production, so every app server sees the same count. If the cache is
down, counting stops (requests are allowed) rather than the site failing.
"""

import hashlib
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class RateLimit:
    name: str
    limit: int
    window_seconds: int

    def _key(self, subject: str) -> str:
        digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
        return f"rl:{self.name}:{digest}"

    def count(self, subject: str) -> int:
        return int(cache.get(self._key(subject)) or 0)

    def exceeded(self, subject: str) -> bool:
        return self.count(subject) >= self.limit

    def hit(self, subject: str) -> int:
        """Count one event; returns the count in the current window."""
        key = self._key(subject)
        # add() starts the window (with its expiry) only if no window is running.
        if cache.add(key, 1, self.window_seconds):
            return 1
        try:
            return int(cache.incr(key) or 0)
        except ValueError:  # the window expired between add() and incr()
            cache.add(key, 1, self.window_seconds)
            return 1

    def reset(self, subject: str) -> None:
        cache.delete(self._key(subject))

    @property
    def window_minutes(self) -> int:
        return max(1, round(self.window_seconds / 60))
