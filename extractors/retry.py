"""The one retry policy, for httpx (extractors/http.py) and for PyGithub (its GithubRetry)."""

from __future__ import annotations

from dataclasses import dataclass

from github.GithubRetry import GithubRetry


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    # below this many requests/points left, wait for the reset (or stop if it is too far)
    floor: int = 50

    def github_retry(self) -> GithubRetry:
        """PyGithub's own retry (secondary limits, 5xx) configured from the same numbers."""
        return GithubRetry(total=self.attempts - 1, backoff_factor=self.backoff_seconds)


DEFAULT_POLICY = RetryPolicy()
