"""GitHub transport: GraphQL with error classification, REST with `Link` pagination and ETags."""

from __future__ import annotations

import logging
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx

from extractors.http import ApiClient, BudgetExhausted, RequestStats
from extractors.retry import RetryPolicy
from fourkeys.errors import FourKeysError

log = logging.getLogger(__name__)

_LINK_RE = re.compile(r'<([^>]+)>;\s*rel="([^"]+)"')
_TRANSIENT = ("something went wrong", "timeout", "timed out", "try again")


def parse_link_header(value: str | None) -> dict[str, str]:
    """RFC 8288 `Link` header → {rel: url}, as GitHub sends it."""
    return {rel: url for url, rel in _LINK_RE.findall(value or "")}


@dataclass
class Page:
    items: Any
    response: httpx.Response | None
    not_modified: bool = False
    has_next: bool = False  # a `Link: rel="next"` follows


class GitHubClient:
    def __init__(
        self,
        *,
        api_url: str,
        graphql_url: str,
        token: str,
        policy: RetryPolicy,
        stats: RequestStats,
        max_rate_limit_wait: float,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.graphql_url = graphql_url
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "fourkeys-extractor",
        }
        self.stats = stats
        self.rest = ApiClient(
            channel="rest", headers=headers, policy=policy, stats=stats,
            max_rate_limit_wait=max_rate_limit_wait,
        )
        self.gql = ApiClient(
            channel="graphql", headers=headers, policy=policy, stats=stats,
            max_rate_limit_wait=max_rate_limit_wait,
        )
        self.policy = policy

    def close(self) -> None:
        self.rest.close()
        self.gql.close()

    def graphql(
        self, query: str, variables: dict[str, Any], *, what: str,
        not_found: str = "check the repository name in the config and that the token can read it",
        aliases: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Run a query; any error in the answer stops the stream (never a silent partial page).
        `not_found` is the fix a NOT_FOUND error's line suggests; `aliases` names what each
        top-level alias reads, so an error under one names it (several repositories a query)."""
        for attempt in range(1, self.policy.attempts + 1):
            data, _ = self.gql.request(
                "POST", self.graphql_url, what=what, json_body={"query": query,
                                                                "variables": variables},
            )
            if not isinstance(data, dict):
                raise FourKeysError(f"{what}: GraphQL answered with a non-object body")
            rate = (data.get("data") or {}).get("rateLimit") or {}
            self.stats.add_points(int(rate.get("cost") or 0))
            errors = data.get("errors") or []
            if not errors:
                return data["data"]
            first = errors[0]
            path = first.get("path") or []
            if aliases and path and path[0] in aliases:
                what = aliases[path[0]]
            kind = str(first.get("type", ""))
            message = str(first.get("message", ""))
            if kind == "NOT_FOUND":
                raise FourKeysError(f"{what}: not found on GitHub ({message}); {not_found}")
            if kind == "RATE_LIMITED":
                raise BudgetExhausted(
                    f"{what}: the GraphQL rate limit is spent; run again after the reset to resume"
                )
            if attempt < self.policy.attempts and any(t in message.lower() for t in _TRANSIENT):
                log.info("%s: transient GraphQL error, retrying: %s", what, message)
                continue
            raise FourKeysError(f"{what}: GraphQL error {kind or ''} {message}".rstrip())
        raise FourKeysError(f"{what}: GraphQL kept failing")  # pragma: no cover - loop returns

    def rest_pages(
        self, path: str, params: dict[str, Any], *, what: str, etag: str | None = None,
        empty_statuses: tuple[int, ...] = (),
    ) -> Generator[Page, None, None]:
        """Walk a REST list by its `Link: rel="next"` headers; a 304 on page one ends the walk.
        A status in `empty_statuses` (e.g. 409 for an empty repository's commits) is one page
        with no items."""
        url: str | None = f"{self.api_url}{path}"
        first = True
        while url:
            headers = {"If-None-Match": etag} if (first and etag) else None
            data, response = self.rest.request(
                "GET", url, what=what, params=params if first else None, headers=headers,
                ok_statuses=(200, 304, *empty_statuses),
            )
            if response.status_code == 304:
                yield Page(items=None, response=response, not_modified=True)
                return
            if response.status_code in empty_statuses:
                yield Page(items=None, response=response)
                return
            url = parse_link_header(response.headers.get("link")).get("next")
            yield Page(items=data, response=response, has_next=url is not None)
            first = False
