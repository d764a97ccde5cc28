"""Shared pieces of the scenario generator: epoch-second time, deterministic shas, people, words.

The generator works in integer epoch seconds and formats a timestamp once, when it writes a
record; a datetime per item would cost more than the rest of the work together at 1M commits.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import dataclass, field
from datetime import datetime

MINUTE = 60
HOUR = 3600
DAY = 86400
WEEK = 7 * DAY

_DAY_CACHE: dict[int, str] = {}


def iso(t: int) -> str:
    """Epoch seconds → `YYYY-MM-DDTHH:MM:SSZ` (the day part is cached)."""
    d, s = divmod(t, DAY)
    day = _DAY_CACHE.get(d)
    if day is None:
        day = _DAY_CACHE[d] = time.strftime("%Y-%m-%d", time.gmtime(d * DAY))
    h, s = divmod(s, HOUR)
    m, s = divmod(s, MINUTE)
    return f"{day}T{h:02d}:{m:02d}:{s:02d}Z"


def epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def months_before(dt: datetime, months: int) -> datetime:
    year, month = divmod(dt.year * 12 + dt.month - 1 - months, 12)
    return dt.replace(year=year, month=month + 1, day=min(dt.day, 28))


def digest(*parts: object) -> str:
    return hashlib.sha1(":".join(str(p) for p in parts).encode()).hexdigest()


class Shas:
    """40-hex shas from sha1(seed:scope:counter): deterministic, never random."""

    __slots__ = ("_n", "_prefix")

    def __init__(self, scope: str) -> None:
        self._prefix = f"{scope}:".encode()
        self._n = 0

    def __call__(self) -> str:
        self._n += 1
        return hashlib.sha1(self._prefix + str(self._n).encode()).hexdigest()


def uuid_from(hexdigest: str) -> str:
    h = hexdigest
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def lognormal(rng: random.Random, median: float, sigma: float) -> int:
    return int(rng.lognormvariate(math.log(median), sigma))


@dataclass(frozen=True, slots=True)
class Member:
    login: str
    person: dict[str, str | None]  # one dict shared by every commit this member authors


WEB_FLOW: dict[str, str | None] = {
    "login": "web-flow",
    "name": "GitHub",
    "email": "noreply@github.com",
}
DEPENDABOT = Member(
    "dependabot[bot]",
    {"login": "dependabot[bot]", "name": "dependabot[bot]", "email": "support@github.com"},
)


@dataclass(slots=True)
class WorkClock:
    """Working hours (09:00–18:00, Monday–Friday) of a team at a fixed UTC offset."""

    utc_offset_hours: int
    rng: random.Random
    _off: int = field(init=False)

    def __post_init__(self) -> None:
        self._off = self.utc_offset_hours * HOUR

    def snap(self, t: int) -> int:
        """`t` if it falls in working hours, else a moment shortly after the next opening."""
        local = t + self._off
        day, sec = divmod(local, DAY)
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
        if weekday < 5 and 9 * HOUR <= sec < 18 * HOUR:
            return t
        if not (weekday < 5 and sec < 9 * HOUR):
            day += 1
            while (day + 3) % 7 >= 5:
                day += 1
        return day * DAY + 9 * HOUR + int(self.rng.random() * 45 * MINUTE) - self._off

    def working_days(self, start: int, end: int) -> list[int]:
        """Local midnights (as epoch seconds) of the working days in [start, end)."""
        first = (start + self._off) // DAY
        last = (end + self._off) // DAY
        return [d * DAY - self._off for d in range(first, last + 1) if (d + 3) % 7 < 5]

    def during(self, day: int, earliest: float = 9.0, latest: float = 18.0) -> int:
        span = (latest - earliest) * HOUR
        return day + int(earliest * HOUR + self.rng.random() * span)


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


FIRST_NAMES = _words(
    "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert sybil "
    "trent victor walter yara zoe amir bea chen dara emeka farah goran hana ines jonas kemal leila "
    "mateo nadia omar priya quinn rosa sanjay tomas uma vera wei ximena yusuf zainab anika bruno "
    "camila dmitri elena felix gita hugo ingrid jamal kira liam maya noor oscar pablo"
)
LAST_NAMES = _words(
    "nguyen smith garcia kowalski okafor tanaka muller rossi silva haddad novak johansson patel "
    "kim dubois fischer moreau lopez ivanova costa mensah yilmaz larsen sato brennan"
)
TEAM_NAMES = _words(
    "payments growth platform identity search data mobile checkout catalog logistics billing "
    "messaging infra security insights partners onboarding pricing support fulfilment ads "
    "notifications risk compliance"
)
SERVICE_WORDS = _words(
    "checkout cart ledger invoice wallet auth session profile search index catalog pricing "
    "inventory shipping tracking notify mailer gateway router scheduler reports metrics export "
    "import feeds ratings reviews coupons orders refunds fraud kyc payouts accounts signup "
    "billing quotes media thumbnails webhooks audit"
)
SERVICE_SUFFIXES = ("api", "service", "worker", "web", "app", "svc")
VERBS = _words(
    "Add Fix Refactor Update Remove Improve Support Handle Migrate Simplify Cache Validate Log "
    "Rename Split Extract"
)
OBJECTS = _words(
    "cart totals|retry logic|login form|rate limiter|invoice export|webhook signatures|"
    "pagination|currency rounding|search ranking|session expiry|feature flags|audit trail|"
    "error pages|CSV import|email templates|timezone handling|price rules|health checks|"
    "metrics labels|db indexes|cache keys|refund flow|address validation|tax rules|"
    "image resizing|API docs|queue consumer|batch job|config loading|dark mode",
    "|",
)
BUGS = _words(
    "null total on empty cart|double charge on retry|timeout in payment callback|"
    "stale cache after deploy|crash on missing locale|wrong tax for EU orders|"
    "500 on profile update|memory leak in worker|deadlock in order sync|broken pagination",
    "|",
)
COMMIT_MESSAGES = _words(
    "WIP|Add tests|Address review comments|Fix lint|Handle edge case|Rename variables|"
    "Update docs|Clean up|Fix failing test|Simplify|Add logging",
    "|",
)
DIRECT_MESSAGES = _words(
    "Update README|Fix typo|Bump version|Update CODEOWNERS|Tweak CI cache|Update changelog|"
    "Pin dependency|Fix flaky test|Update .gitignore",
    "|",
)
DEPENDENCIES = _words("requests urllib3 boto3 django flask pydantic lodash axios react express")
NOISE_ISSUES = _words(
    "Typo in error message|Support dark mode|Flaky test in CI|Document the retry settings|"
    "Slow page load on mobile|Question: how to configure timeouts?|Add CSV export|"
    "Upgrade to the latest SDK|Improve onboarding docs|Error message is confusing",
    "|",
)
NOISE_LABELS = (("bug",), ("enhancement",), ("question",), ("documentation",), ())
INCIDENT_TITLES = _words(
    "Elevated 5xx on {svc}|{svc} latency above SLO|{svc} returning errors after deploy|"
    "Checkout failures reported by customers|{svc} queue backlog growing|"
    "Login errors on {svc}|Partial outage of {svc}",
    "|",
)
CONFIG_VARS = _words(
    "FEATURE_FLAGS LOG_LEVEL SENTRY_DSN DATABASE_POOL WORKER_CONCURRENCY API_TIMEOUT"
)
PD_NOISE = _words(
    "Disk usage above 80%|CPU saturation on worker dyno|Certificate expires in 14 days|"
    "Synthetic check flapping",
    "|",
)


def make_members(rng: random.Random, count: int, used: set[str], org: str) -> list[Member]:
    members: list[Member] = []
    while len(members) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        login = first
        n = 1
        while login in used:
            n += 1
            login = f"{first}{last[:1]}{n}" if n > 2 else f"{first}-{last}"
        used.add(login)
        person: dict[str, str | None] = {
            "login": login,
            "name": f"{first.title()} {last.title()}",
            "email": f"{login}@{org}.example",
        }
        members.append(Member(login, person))
    return members


def slug(text: str) -> str:
    out = "".join(ch if ch.isalnum() else "-" for ch in text.lower())
    return "-".join(part for part in out.split("-") if part)[:40]
