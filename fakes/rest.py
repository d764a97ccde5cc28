"""The fake GitHub REST API: route table plus GitHub's HTTP behaviour around every handler.

Behaviour reproduced (see fakes/README.md for deviations):
- any `Authorization: Bearer|token <x>` is accepted; none → 401 "Requires authentication";
- every answer carries x-ratelimit-* (resource core), a unique x-github-request-id and a weak
  ETag over the body; `If-None-Match` with that ETag → 304, empty body, no rate limit spent;
- each other answer spends 1 from the core budget (404/422 included, as on GitHub); an empty
  budget answers 403 "API rate limit exceeded"; `/rate_limit` spends nothing;
- lists page with per_page (default 30, cap 100) and page, and a `Link` header of absolute URLs.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fakes import rest_activity as act
from fakes import rest_repos as rr
from fakes.faults import PRIMARY_DOCS
from fakes.ratelimit import RateLimits
from fakes.rest_builders import Builder, dumps
from fakes.rest_common import DOCS, ApiError, not_found
from fakes.rest_index import RepoIndex
from fakes.scenario import Scenario

Handler = Callable[[rr.Ctx], rr.Answer]

# Order matters where templates overlap: `/commits/{sha}/pulls` before `/commits/{ref:path}`.
REPO_ROUTES: list[tuple[str, Handler]] = [
    ("/repos/{owner}/{repo}", rr.get_repository),
    ("/repos/{owner}/{repo}/pulls", rr.list_pulls),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", rr.get_pull),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/commits", rr.list_pull_commits),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/reviews", rr.list_pull_reviews),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", rr.list_issue_comments),
    ("/repos/{owner}/{repo}/commits", rr.list_commits),
    ("/repos/{owner}/{repo}/commits/{commit_sha}/pulls", rr.list_commit_pulls),
    ("/repos/{owner}/{repo}/commits/{ref:path}", rr.get_commit),
    ("/repos/{owner}/{repo}/compare/{basehead:path}", rr.compare),
    ("/repos/{owner}/{repo}/releases", act.list_releases),
    ("/repos/{owner}/{repo}/tags", act.list_tags),
    ("/repos/{owner}/{repo}/deployments", act.list_deployments),
    ("/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", act.list_deployment_statuses),
    ("/repos/{owner}/{repo}/actions/runs", act.list_runs),
    ("/repos/{owner}/{repo}/actions/workflows", act.list_workflows),
    ("/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs", act.list_workflow_runs),
    ("/repos/{owner}/{repo}/issues", act.list_issues),
]
ACCOUNT_ROUTES = ("/rate_limit", "/user")
GHES_PREFIX = "/api/v3"
FAKE_LOGIN = "fourkeys-viewer"  # GraphQL's viewer too (fakes.graphql_objects)

_AUTH_RE = re.compile(r"^\s*(bearer|token)\s+\S+", re.IGNORECASE)
_CONVERTER_RE = re.compile(r":[a-z]+}")
_COMMON_HEADERS = {
    "cache-control": "private, max-age=60, s-maxage=60",
    "vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
    "x-github-media-type": "github.v3; format=json",
    "x-github-api-version-selected": "2022-11-28",
    "access-control-expose-headers": "ETag, Link, Location, Retry-After, X-GitHub-OTP, "
    "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, "
    "X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, "
    "X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset",
    "x-oauth-scopes": "repo, read:org",
}
JSON_TYPE = "application/json; charset=utf-8"

_REQUEST_PREFIX = os.urandom(2).hex().upper()
_REQUEST_COUNTER = itertools.count(1)


def new_request_id() -> str:
    """GitHub-shaped request id, unique per request of this process."""
    n = next(_REQUEST_COUNTER)
    return (
        f"{_REQUEST_PREFIX}:{n >> 16:04X}:{n:06X}:{n * 7919 & 0xFFFFFF:06X}:{int(time.time()):08X}"
    )


def route_key(template: str) -> str:
    """The stats key of a route: method + template without converters."""
    return "GET " + _CONVERTER_RE.sub("}", template)


def has_github_auth(request: Request) -> bool:
    return bool(_AUTH_RE.match(request.headers.get("authorization", "")))


def etag_of(body: bytes) -> str:
    return f'W/"{hashlib.sha256(body).hexdigest()}"'


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    bare = etag[2:]
    return any(t.strip() in (etag, bare, "*") for t in header.split(","))


@dataclass(slots=True)
class _Urls:
    api: str
    web: str


class RestService:
    """Serves REST for one scenario; builders are cached per base URL, indexes per repository."""

    def __init__(
        self,
        scenario: Scenario,
        rate_limits: RateLimits,
        on_not_modified: Callable[[], None] = lambda: None,
    ) -> None:
        self.scenario = scenario
        self.rate_limits = rate_limits
        self._on_not_modified = on_not_modified
        self._builders: dict[tuple[str, str], Builder] = {}
        self._indexes: dict[str, RepoIndex] = {}

    # --- plumbing -------------------------------------------------------------------------

    def _urls(self, request: Request, prefix: str) -> _Urls:
        # the Host header, not our bind address: clients (PyGithub) check that URLs in bodies
        # point at the host they were configured with
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        web = f"{request.url.scheme}://{host}"
        return _Urls(api=web + prefix, web=web)

    def builder(self, api: str, web: str) -> Builder:
        key = (api, web)
        b = self._builders.get(key)
        if b is None:
            b = self._builders[key] = Builder(api, web)
        return b

    def index(self, full_name: str) -> RepoIndex:
        idx = self._indexes.get(full_name)
        if idx is None:
            repo = self.scenario.repo_by_name[full_name.lower()]
            idx = self._indexes[full_name] = RepoIndex(repo)
        return idx

    def rate_headers(self, spend: bool) -> dict[str, str]:
        budget = self.rate_limits.spend("core", 1) if spend else self.rate_limits.peek("core")
        return budget.headers()

    def json_response(
        self,
        status: int,
        body: Any,
        request_id: str,
        spend: bool,
        extra: dict[str, str] | None = None,
    ) -> Response:
        headers = {**_COMMON_HEADERS, **self.rate_headers(spend), "x-github-request-id": request_id}
        if extra:
            headers.update(extra)
        return Response(dumps(body), status_code=status, headers=headers, media_type=JSON_TYPE)

    def unauthorized(self, request_id: str) -> Response:
        return self.json_response(
            401,
            {"message": "Requires authentication", "documentation_url": DOCS},
            request_id,
            False,
        )

    def exhausted(self, request_id: str) -> Response:
        return self.json_response(
            403,
            {
                "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub "
                f"Support for help, please include the request ID {request_id}.",
                "documentation_url": PRIMARY_DOCS,
            },
            request_id,
            False,
        )

    # --- the request path -----------------------------------------------------------------

    def respond(
        self, request: Request, template: str, handler: Handler | None, prefix: str
    ) -> Response:
        """Answer one GET: auth, budget, handler, ETag/304, headers."""
        request_id = new_request_id()
        if not has_github_auth(request):
            return self.unauthorized(request_id)
        charged = template != "/rate_limit"  # GitHub: checking the limit costs nothing
        if charged and self.rate_limits.peek("core").remaining <= 0:
            return self.exhausted(request_id)
        urls = self._urls(request, prefix)
        try:
            answer = self._answer(request, template, handler, urls)
        except ApiError as exc:
            return self.json_response(exc.status, exc.body, request_id, charged and exc.spends)
        body = dumps(answer.body)
        etag = etag_of(body)
        if _etag_matches(request.headers.get("if-none-match"), etag):
            self._on_not_modified()
            headers = {
                **_COMMON_HEADERS,
                **self.rate_headers(False),
                "x-github-request-id": request_id,
                "etag": etag,
            }
            return Response(b"", status_code=304, headers=headers)
        headers = {
            **_COMMON_HEADERS,
            **self.rate_headers(charged),
            "x-github-request-id": request_id,
            "etag": etag,
            **answer.headers,
        }
        if answer.link:
            headers["link"] = answer.link
        return Response(body, status_code=answer.status, headers=headers, media_type=JSON_TYPE)

    def _answer(
        self, request: Request, template: str, handler: Handler | None, urls: _Urls
    ) -> rr.Answer:
        b = self.builder(urls.api, urls.web)
        if template == "/rate_limit":
            budgets = {
                "core": self.rate_limits.peek("core"),
                "graphql": self.rate_limits.peek("graphql"),
            }
            return rr.Answer(act.rate_limit_body(budgets))
        if template == "/user":
            return rr.Answer(b.private_user(FAKE_LOGIN, self.scenario.now, user_id=1))
        params = request.path_params
        full_name = f"{params['owner']}/{params['repo']}"
        repo = self.scenario.repo_by_name.get(full_name.lower())
        if repo is None or handler is None:
            raise not_found()
        ctx = rr.Ctx(
            builder=b,
            repo=repo,
            index=self.index(repo.full_name),
            path_params=params,
            query=request.query_params,
            url=f"{urls.web}{request.url.path}",
            query_items=list(request.query_params.multi_items()),
        )
        return handler(ctx)
