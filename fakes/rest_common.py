"""Shared pieces of the fake GitHub REST API: errors, stable ids, timestamps, query parsing,
pagination windows and GitHub's `Link` header.

Ids are derived from names with a hash so that the same scenario always serves the same ids
(extractors key rows on them) without the scenario having to spell them out.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

DOCS = "https://docs.github.com/rest"
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


class ApiError(Exception):
    """An error answer with GitHub's JSON body; `spends` tells whether it costs rate limit."""

    def __init__(self, status: int, body: dict[str, Any], spends: bool = True) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body
        self.spends = spends


def not_found() -> ApiError:
    return ApiError(404, {"message": "Not Found", "documentation_url": DOCS})


def no_commit(ref: str) -> ApiError:
    # what GitHub answers for a ref it cannot resolve on the commit endpoints
    return ApiError(422, {"message": f"No commit found for SHA: {ref}", "documentation_url": DOCS})


def validation_failed(resource: str, field_name: str, value: str) -> ApiError:
    """GitHub's 422 shape (cf. shared/github/recorded/errors.json)."""
    return ApiError(
        422,
        {
            "message": "Validation Failed",
            "errors": [
                {"resource": resource, "field": field_name, "code": "invalid", "value": value}
            ],
            "documentation_url": DOCS,
        },
    )


# --- ids ------------------------------------------------------------------------------------


def stable_id(*parts: object) -> int:
    """A positive 31-bit id from `parts`: the same scenario always yields the same ids."""
    digest = hashlib.sha1(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


def node_id(kind: str, number: int) -> str:
    """An opaque global node id in the shape GitHub's legacy ids have (base64 of type+id)."""
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode().rstrip("=")


def derived_sha(*parts: object) -> str:
    """A 40-hex sha for objects the scenario does not model (trees)."""
    return hashlib.sha1(":".join(str(p) for p in parts).encode()).hexdigest()


# --- time -----------------------------------------------------------------------------------


def iso(dt: datetime | None) -> str | None:
    """GitHub's timestamp form: UTC, seconds, `Z`."""
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_timestamp(value: str, resource: str, field_name: str) -> datetime:
    """An ISO-8601 timestamp or date (GitHub accepts both for since/until); 422 otherwise."""
    text = value.strip()
    try:
        if _DATE_RE.match(text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise validation_failed(resource, field_name, value) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DateRange:
    """A half-open [start, end) interval; None bounds are open."""

    start: datetime | None = None
    end: datetime | None = None

    def contains(self, dt: datetime) -> bool:
        return (self.start is None or dt >= self.start) and (self.end is None or dt < self.end)


def _bound(text: str, upper: bool, field_name: str) -> datetime | None:
    """One side of a search-syntax range; a bare date covers the whole day."""
    if text == "*":
        return None
    dt = parse_timestamp(text, "WorkflowRun", field_name)
    if _DATE_RE.match(text.strip()) and upper:
        return dt + timedelta(days=1)
    if upper:
        return dt + timedelta(seconds=1)  # inclusive upper bound on a second-resolution stamp
    return dt


def parse_date_range(value: str, field_name: str = "created") -> DateRange:
    """GitHub's search date syntax: `>=D`, `>D`, `<=D`, `<D`, `A..B`, `D` (inclusive, UTC)."""
    text = value.strip()
    for op in (">=", "<=", ">", "<"):
        if text.startswith(op):
            rest = text[len(op) :]
            if op == ">=":
                return DateRange(start=_bound(rest, False, field_name))
            if op == "<=":
                return DateRange(end=_bound(rest, True, field_name))
            if op == ">":
                return DateRange(start=_bound(rest, True, field_name))
            return DateRange(end=_bound(rest, False, field_name))
    if ".." in text:
        lo, hi = text.split("..", 1)
        return DateRange(start=_bound(lo, False, field_name), end=_bound(hi, True, field_name))
    return DateRange(start=_bound(text, False, field_name), end=_bound(text, True, field_name))


# --- query parameters -----------------------------------------------------------------------


def choice(query: Any, name: str, allowed: tuple[str, ...], default: str, resource: str) -> str:
    value = query.get(name)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise validation_failed(resource, name, value)
    return str(value)


@dataclass(frozen=True, slots=True)
class Paging:
    per_page: int
    page: int
    explicit: bool  # the request named per_page or page (compare changes behaviour on it)


def _int_or(value: str | None, default: int) -> int:
    # GitHub ignores a non-numeric per_page/page rather than failing the request
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return default


def paging(query: Any) -> Paging:
    per_page = _int_or(query.get("per_page"), DEFAULT_PER_PAGE)
    per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
    page = max(_int_or(query.get("page"), 1), 1)
    explicit = "per_page" in query or "page" in query
    return Paging(per_page, page, explicit)


@dataclass(slots=True)
class Window:
    """The slice of a result list one page covers, plus the Link header for it."""

    start: int
    end: int
    total: int
    link: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


def link_header(url: str, query_items: list[tuple[str, str]], page: int, last: int) -> str | None:
    """GitHub's Link header: prev, next, last, first (as recorded from api.github.com).

    `url` is the absolute URL without query; the other query parameters are kept in their order
    and `page` goes last, as GitHub writes it.
    """
    if last <= 1 and page <= 1:
        return None
    kept = [(k, v) for k, v in query_items if k != "page"]

    def href(n: int) -> str:
        return f"<{url}?{urlencode([*kept, ('page', str(n))], quote_via=quote, safe=':/,')}>"

    parts: list[str] = []
    if page > 1:
        parts.append(f'{href(min(page - 1, max(last, 1)))}; rel="prev"')
    if page < last:
        parts.append(f'{href(page + 1)}; rel="next"')
        parts.append(f'{href(last)}; rel="last"')
    if page > 1:
        parts.append(f'{href(1)}; rel="first"')
    return ", ".join(parts)


def window(total: int, pg: Paging, url: str, query_items: list[tuple[str, str]]) -> Window:
    start = min((pg.page - 1) * pg.per_page, total)
    end = min(start + pg.per_page, total)
    last = max((total + pg.per_page - 1) // pg.per_page, 1)
    return Window(start, end, total, link_header(url, query_items, pg.page, last))


def take(items: list[Any], start: int, end: int, descending: bool) -> list[Any]:
    """items[start:end] of `items` read ascending, or of its reverse, without copying it."""
    if not descending:
        return items[start:end]
    n = len(items)
    return items[n - end : n - start][::-1]
