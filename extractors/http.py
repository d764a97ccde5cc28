"""One HTTP client for every source: retries, rate limits, request accounting, clear errors.

Retriable (jittered exponential backoff, `Retry-After` honoured): 429, GitHub's secondary-limit
403, Heroku's `rate_limit` 403, 5xx, timeouts and connection resets. Primary rate limit: when
`x-ratelimit-remaining` drops below a floor, wait for the reset if that is within the configured
maximum, else stop the run cleanly (`BudgetExhausted`, resumable). Fatal, one line naming the
target: 401, 404, other 4xx, malformed JSON (with GitHub's request id). The token is sent in a
header and never logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from extractors.retry import RetryPolicy
from fourkeys.errors import FourKeysError, PartialRunError

log = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry full URLs


class BudgetExhausted(PartialRunError):
    """The rate-limit budget ran out and the wait is longer than allowed; the run is resumable."""


class _Retriable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class RequestStats:
    """Every request counted, per channel; GraphQL points as GitHub reported them."""

    requests: Counter[str] = field(default_factory=Counter)
    not_modified: int = 0
    retries: int = 0
    graphql_points: int = 0
    waited_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, channel: str, status: int) -> None:
        with self._lock:
            self.requests[channel] += 1
            if status == 304:
                self.not_modified += 1

    def add_points(self, points: int) -> None:
        with self._lock:
            self.graphql_points += points

    def add_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def add_wait(self, seconds: float) -> None:
        with self._lock:
            self.waited_seconds += seconds

    @property
    def total(self) -> int:
        return sum(self.requests.values())


class ApiClient:
    """httpx with the project's retry policy; `channel` names the budget for accounting."""

    def __init__(
        self,
        *,
        channel: str,
        headers: dict[str, str],
        policy: RetryPolicy,
        stats: RequestStats,
        max_rate_limit_wait: float,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.channel = channel
        self.policy = policy
        self.stats = stats
        self.max_rate_limit_wait = max_rate_limit_wait
        self._sleep = sleep
        self._http = httpx.Client(headers=headers, timeout=timeout, follow_redirects=True)
        self._budget_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        ok_statuses: tuple[int, ...] = (200, 201, 206, 304),
        parse: bool = True,
    ) -> tuple[Any, httpx.Response]:
        """Send with retries; return (parsed JSON or None for 304, response).

        `what` names the target in errors ("acme/checkout pull requests"). A malformed body is
        retried like a 5xx, then reported with the request id.
        """

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self.stats.add_retry()
            log.info("retrying %s after: %s", what, exc)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            base = wait_random_exponential(
                multiplier=self.policy.backoff_seconds, max=self.policy.max_backoff_seconds
            )(state)
            if isinstance(exc, _Retriable) and exc.retry_after is not None:
                return max(exc.retry_after, base)
            return base

        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=wait,
            retry=retry_if_exception_type((_Retriable, httpx.TransportError)),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(
                self._send, method, url, what, params, json_body, headers or {}, ok_statuses, parse
            )
        except _Retriable as exc:
            raise FourKeysError(
                f"{what}: gave up after {self.policy.attempts} attempts ({exc}); "
                "the service is failing, re-run later (nothing was lost)"
            ) from None
        except httpx.TransportError as exc:
            raise FourKeysError(
                f"{what}: cannot reach {httpx.URL(url).host} ({type(exc).__name__}); "
                "check api_url and the network"
            ) from None

    def _send(
        self,
        method: str,
        url: str,
        what: str,
        params: dict[str, Any] | None,
        json_body: Any,
        headers: dict[str, str],
        ok_statuses: tuple[int, ...],
        parse: bool,
    ) -> tuple[Any, httpx.Response]:
        response = self._http.request(method, url, params=params, json=json_body, headers=headers)
        self.stats.count(self.channel, response.status_code)
        request_id = response.headers.get("x-github-request-id") or response.headers.get(
            "request-id", "-"
        )
        log.debug(
            "%s %s %s → %s (request id %s)", self.channel, method, response.url.path,
            response.status_code, request_id,
        )
        status = response.status_code
        if status in ok_statuses:
            data = parse_json(response, what) if parse and status != 304 else None
            self._respect_primary_limit(response, what)
            return data, response
        body = _safe_text(response)
        retry_after = _retry_after(response)
        if status == 429 or (status == 403 and _is_rate_limited(body)):
            raise _Retriable(f"rate limited ({status})", retry_after or 60.0)
        if status == 403 and response.headers.get("x-ratelimit-remaining") == "0":
            self._wait_for_reset(response, what)
            raise _Retriable("primary rate limit reset", 0.0)
        if status >= 500:
            raise _Retriable(f"HTTP {status}", retry_after)
        if status == 401:
            raise FourKeysError(
                f"{what}: the token was rejected (401 {_message(body)}); "
                "check the token in the environment variable token_env names"
            )
        if status == 404:
            raise FourKeysError(
                f"{what}: not found (404); check the name in the config and that the token "
                "can read it"
            )
        raise FourKeysError(f"{what}: HTTP {status} {_message(body)} (request id {request_id})")

    def _respect_primary_limit(self, response: httpx.Response, what: str) -> None:
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.isdigit() and int(remaining) < self.policy.floor:
            self._wait_for_reset(response, what)

    def _wait_for_reset(self, response: httpx.Response, what: str) -> None:
        reset = response.headers.get("x-ratelimit-reset", "")
        wait = max(float(reset) - time.time(), 0.0) + 1.0 if reset.isdigit() else 60.0
        if wait > self.max_rate_limit_wait:
            raise BudgetExhausted(
                f"{what}: the {self.channel} rate limit is spent and resets in {wait:.0f}s, "
                f"more than max_rate_limit_wait_seconds={self.max_rate_limit_wait:.0f}; "
                "run again after the reset to resume"
            )
        with self._budget_lock:  # one worker waits; the others queue behind it
            log.warning("%s: rate limit low; waiting %.0fs for the reset", what, wait)
            self.stats.add_wait(wait)
            self._sleep(wait)

def parse_json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        request_id = response.headers.get("x-github-request-id") or response.headers.get(
            "request-id", "-"
        )
        raise _Retriable(f"malformed JSON from {what} (request id {request_id})") from None


def _safe_text(response: httpx.Response) -> str:
    try:
        return response.text[:500]
    except UnicodeDecodeError:
        return ""


def _is_rate_limited(body: str) -> bool:
    """A 403 that is a rate limit: GitHub's secondary limit, or Heroku's `rate_limit` error."""
    if "secondary rate limit" in body.lower():
        return True
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return False
    return isinstance(data, dict) and data.get("id") == "rate_limit"


def _message(body: str) -> str:
    """The error's message on one line (errors are printed as exactly one line)."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return " ".join(body[:120].split())
    if isinstance(data, dict):
        return " ".join(str(data.get("message") or data.get("id") or "")[:200].split())
    return ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None
