"""Fault injection for the fake servers: a plan parsed from a one-line spec, checked per request.

SPEC is a comma-separated list of ``KIND@CHANNEL:WHEN`` items::

    secondary_403@rest:3,429@heroku:2-4,slow=1.5@graphql:5+,malformed@any:7

KIND
    ``secondary_403``      403 + ``retry-after: 1`` + GitHub's secondary-rate-limit body
    ``primary_403[=SECS]`` 403, ``x-ratelimit-remaining: 0``, ``x-ratelimit-reset`` = now + SECS
                           (default 1), body "API rate limit exceeded for …"
    ``429``                429 + ``retry-after: 1``
    ``500`` ``502`` ``503`` a server error with the service's error body
    ``401``                Bad credentials (GitHub) / unauthorized (Heroku, PagerDuty)
    ``malformed``          200 whose JSON body is cut in half
    ``slow=SECONDS``       sleep SECONDS, then answer normally
CHANNEL
    ``rest`` | ``graphql`` | ``heroku`` | ``pagerduty`` | ``any``
WHEN
    ``N`` (the Nth request on that channel, 1-based), ``N-M`` (inclusive), ``N+`` (N and after).
    For ``any``, N counts every request the fake serves across all channels.

The first item that matches a request wins. `malformed` and `slow` answer with a real 200, so they
spend rate limit like any 200; every other fault answers before the budget is touched, as GitHub
does for its own rate-limit and server errors.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

CHANNELS = ("rest", "graphql", "heroku", "pagerduty", "any")
KINDS = (
    "secondary_403",
    "primary_403",
    "429",
    "500",
    "502",
    "503",
    "401",
    "malformed",
    "slow",
)
# kinds that take "=NUMBER"
_WITH_SECONDS = {"slow": None, "primary_403": 1.0}

_ITEM_RE = re.compile(
    r"^(?P<kind>[a-z0-9_]+)(?:=(?P<arg>[0-9]+(?:\.[0-9]+)?))?"
    r"@(?P<channel>[a-z]+):(?P<when>[0-9]+(?:-[0-9]+|\+)?)$"
)

GITHUB_DOCS = "https://docs.github.com/rest"
SECONDARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
PRIMARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
)


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected misbehaviour; `seconds` is the delay (slow) or reset distance (primary_403)."""

    kind: str
    seconds: float = 0.0

    @property
    def answers_normally(self) -> bool:
        """True when the request is still served (slow) or served then broken (malformed)."""
        return self.kind in ("slow", "malformed")


@dataclass(frozen=True, slots=True)
class _Rule:
    fault: Fault
    channel: str
    first: int
    last: int | None  # None: open-ended ("N+")

    def matches(self, channel: str, ordinal: int, total_ordinal: int) -> bool:
        if self.channel == "any":
            ordinal = total_ordinal
        elif self.channel != channel:
            return False
        return ordinal >= self.first and (self.last is None or ordinal <= self.last)


class FaultPlan:
    """Immutable rules plus a thread-safe tally of the faults it has handed out."""

    def __init__(self, rules: list[_Rule] | None = None, spec: str = "") -> None:
        self._rules: tuple[_Rule, ...] = tuple(rules or ())
        self.spec = spec
        self._lock = threading.Lock()
        self._injected: dict[str, int] = {}

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """Parse SPEC (see the module docstring); a bad item raises a one-line ValueError."""
        rules: list[_Rule] = []
        for raw in spec.split(","):
            item = raw.strip()
            if not item:
                continue
            rules.append(_parse_item(item))
        return cls(rules, spec=spec.strip())

    def __bool__(self) -> bool:
        return bool(self._rules)

    def check(
        self, channel: str, request_ordinal: int, total_ordinal: int | None = None
    ) -> Fault | None:
        """The fault for the `request_ordinal`-th request on `channel` (1-based), if any.

        `total_ordinal` is the request's ordinal across all channels, used by `any` rules
        (defaults to `request_ordinal`).
        """
        total = request_ordinal if total_ordinal is None else total_ordinal
        for rule in self._rules:
            if rule.matches(channel, request_ordinal, total):
                with self._lock:
                    self._injected[rule.fault.kind] = self._injected.get(rule.fault.kind, 0) + 1
                return rule.fault
        return None

    def injected(self) -> dict[str, int]:
        with self._lock:
            return dict(self._injected)


def _parse_item(item: str) -> _Rule:
    match = _ITEM_RE.match(item)
    if match is None:
        raise ValueError(
            f"bad fault {item!r}: expected KIND@CHANNEL:WHEN, e.g. 429@rest:3 or slow=2@any:5+"
        )
    kind, arg, channel, when = match.group("kind", "arg", "channel", "when")
    if kind not in KINDS:
        raise ValueError(f"bad fault {item!r}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    if channel not in CHANNELS:
        raise ValueError(
            f"bad fault {item!r}: unknown channel {channel!r} (one of {', '.join(CHANNELS)})"
        )
    if arg is not None and kind not in _WITH_SECONDS:
        raise ValueError(f"bad fault {item!r}: {kind} takes no '=' value")
    if kind == "slow" and arg is None:
        raise ValueError(f"bad fault {item!r}: slow needs seconds, e.g. slow=2@rest:1")
    seconds = float(arg) if arg is not None else (_WITH_SECONDS.get(kind) or 0.0)
    if when.endswith("+"):
        first, last = int(when[:-1]), None
    elif "-" in when:
        a, b = when.split("-", 1)
        first, last = int(a), int(b)
    else:
        first = last = int(when)
    if first < 1 or (last is not None and last < first):
        raise ValueError(f"bad fault {item!r}: WHEN must be N, N-M or N+ with 1 <= N <= M")
    return _Rule(Fault(kind, seconds), channel, first, last)


# --- what a fault looks like on the wire, per channel ---------------------------------------


@dataclass(frozen=True, slots=True)
class FaultAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def fault_answer(
    fault: Fault, channel: str, request_id: str, now: float | None = None
) -> FaultAnswer:
    """The status, JSON body and headers the real service sends for `fault` on `channel`."""
    now = time.time() if now is None else now
    if channel == "heroku":
        return _heroku_answer(fault)
    if channel == "pagerduty":
        return _pagerduty_answer(fault)
    kind = fault.kind
    support = (
        f"If you reach out to GitHub Support for help, please include the request ID {request_id}."
    )
    if kind == "secondary_403":
        return FaultAnswer(
            403,
            {
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                f"before you try again. {support}",
                "documentation_url": SECONDARY_DOCS,
            },
            {"retry-after": "1"},
        )
    if kind == "primary_403":
        reset = math.ceil(now + max(fault.seconds, 0.0))
        return FaultAnswer(
            403,
            {
                "message": f"API rate limit exceeded for user ID 1. {support}",
                "documentation_url": PRIMARY_DOCS,
            },
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        )
    if kind == "429":
        return FaultAnswer(
            429,
            {"message": "Too Many Requests", "documentation_url": PRIMARY_DOCS},
            {"retry-after": "1"},
        )
    if kind == "401":
        return FaultAnswer(
            401, {"message": "Bad credentials", "documentation_url": GITHUB_DOCS}, {}
        )
    if kind == "503":
        return FaultAnswer(503, {"message": "Service Unavailable"}, {})
    # 500 and 502: GitHub's JSON form of "Server Error"
    return FaultAnswer(int(kind), {"message": "Server Error"}, {})


def _heroku_answer(fault: Fault) -> FaultAnswer:
    kind = fault.kind
    if kind in ("secondary_403", "primary_403", "429"):
        # Heroku has one limit and answers 429 "rate_limit" for it, whatever GitHub-ish kind asked
        status = 403 if kind != "429" else 429
        return FaultAnswer(
            status,
            {
                "id": "rate_limit",
                "message": "Your account reached the API rate limit\n"
                "Please wait a few minutes before making new requests",
            },
            {"retry-after": "1", "ratelimit-remaining": "0"},
        )
    if kind == "401":
        return FaultAnswer(
            401, {"id": "unauthorized", "message": "Invalid credentials provided."}, {}
        )
    if kind == "503":
        return FaultAnswer(
            503, {"id": "service_unavailable", "message": "Service temporarily unavailable."}, {}
        )
    return FaultAnswer(
        int(kind), {"id": "internal_server_error", "message": "Internal server error."}, {}
    )


def _pagerduty_answer(fault: Fault) -> FaultAnswer:
    """PagerDuty's error object; its one rate limit answers 429 (no Retry-After header)."""
    kind = fault.kind
    if kind in ("secondary_403", "primary_403", "429"):
        return FaultAnswer(429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}}, {})
    if kind == "401":
        return FaultAnswer(401, {"error": {"message": "Authentication required", "code": 2006}},
                           {})
    return FaultAnswer(int(kind), {"error": {"message": "Internal Server Error", "code": 2000}},
                       {})
