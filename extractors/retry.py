"""The one retry policy, for httpx (extractors/http.py) and for PyGithub (its GithubRetry).

`FOURKEYS_RETRY_BASE_SECONDS` (environment, read once when the process starts) sets the base of
the jittered exponential backoff (default 0.5 s; 0 retries at once). A server's `Retry-After`
is honoured whatever the base: the wait is never shorter than what the server asked for.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from github.GithubRetry import GithubRetry

from fourkeys.errors import FourKeysError

RETRY_BASE_ENV = "FOURKEYS_RETRY_BASE_SECONDS"


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


def backoff_from_env(default: float = RetryPolicy.backoff_seconds) -> float:
    """The backoff base from `FOURKEYS_RETRY_BASE_SECONDS`, or `default` when it is unset."""
    raw = os.environ.get(RETRY_BASE_ENV, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise FourKeysError(
            f"{RETRY_BASE_ENV}={raw!r} is not a number of seconds >= 0; use e.g. 0.5 or unset it"
        )
    return value


DEFAULT_POLICY = RetryPolicy(backoff_seconds=backoff_from_env())
