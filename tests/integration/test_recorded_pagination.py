"""The REST paginator walks GitHub's real recorded pages (octokit fixtures) exactly."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from extractors.github.client import GitHubClient, parse_link_header
from extractors.http import RequestStats
from extractors.retry import RetryPolicy
from fakes.server import serve_in_thread
from tests.conftest import SHARED

RECORDED = SHARED / "github" / "recorded" / "paginate-issues.json"


def _replay_app(base: list[str]) -> Starlette:
    """Serve each recording at its path+query; Link URLs point back at this server."""
    recordings = json.loads(RECORDED.read_text())
    by_target = {r["path"]: r for r in recordings}

    async def handler(request: Request) -> JSONResponse:
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        record = by_target.get(target)
        if record is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        headers = {"link": record["headers"]["link"].replace("https://api.github.com", base[0])}
        return JSONResponse(record["response"], status_code=record["status"], headers=headers)

    return Starlette(routes=[Route("/{path:path}", handler)])


def test_paginator_walks_the_recorded_pages() -> None:
    base: list[str] = [""]
    with serve_in_thread(_replay_app(base)) as server:
        base[0] = server.base_url
        stats = RequestStats()
        client = GitHubClient(api_url=server.base_url, graphql_url=server.base_url + "/graphql",
                              token="x", policy=RetryPolicy(attempts=1), stats=stats,
                              max_rate_limit_wait=0)
        pages = list(client.rest_pages("/repos/octokit-fixture-org/paginate-issues/issues",
                                       {"per_page": 3}, what="recorded issues"))
        client.close()
    recordings = json.loads(RECORDED.read_text())
    assert len(pages) == 5 == stats.requests["rest"]
    walked = [issue["number"] for page in pages for issue in page.items]
    expected = [issue["number"] for r in recordings for issue in r["response"]]
    assert walked == expected
    assert len(walked) == 13 == len(set(walked))
    # each page's request went exactly where the previous page's rel="next" pointed
    for page, record in zip(pages, recordings, strict=True):
        assert page.response is not None
        got = page.response.request.url
        assert got.path + "?" + got.query.decode() == record["path"]


def test_parse_link_header_reads_every_rel() -> None:
    record = json.loads(RECORDED.read_text())[1]
    rels = parse_link_header(record["headers"]["link"])
    assert set(rels) == {"prev", "next", "last", "first"}
    assert urlsplit(rels["next"]).query == "per_page=3&page=3"
    assert parse_link_header(None) == {}
