"""GitHub's rate-limit bookkeeping for the fake server: one budget per API (core REST, GraphQL).

REST spends 1 per request; GraphQL spends the query's computed cost (points). Headers follow
GitHub: x-ratelimit-limit / -remaining / -used / -reset (epoch seconds) / -resource.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class Budget:
    resource: str
    limit: int = 5000
    used: int = 0
    window_seconds: int = 3600
    reset_at: float = field(default_factory=lambda: time.time() + 3600)

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-reset": str(int(self.reset_at)),
            "x-ratelimit-resource": self.resource,
        }


class RateLimits:
    """Thread-safe budgets for `core` (REST) and `graphql`, reset when the window passes."""

    def __init__(self, limit: int = 5000, window_seconds: int = 3600) -> None:
        self._lock = threading.Lock()
        self.core = Budget("core", limit=limit, window_seconds=window_seconds)
        self.graphql = Budget("graphql", limit=limit, window_seconds=window_seconds)

    def _roll(self, budget: Budget) -> None:
        now = time.time()
        if now >= budget.reset_at:
            budget.used = 0
            budget.reset_at = now + budget.window_seconds

    def spend(self, resource: str, points: int) -> Budget:
        with self._lock:
            budget = self.core if resource == "core" else self.graphql
            self._roll(budget)
            budget.used += points
            return budget

    def peek(self, resource: str) -> Budget:
        with self._lock:
            budget = self.core if resource == "core" else self.graphql
            self._roll(budget)
            return budget
