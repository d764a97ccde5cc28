"""The fake Heroku Platform API over real HTTP: Range pagination as Heroku documents it, the
Accept-version requirement, auth and not-found bodies, release and slug shapes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakes.scenario import load_scenario
from fakes.server import RunningServer, create_app, serve_in_thread

ACCEPT = "application/vnd.heroku+json; version=3"
HEADERS = {"Accept": ACCEPT, "Authorization": "Bearer heroku-token"}
APP = "/heroku/apps/checkout-prod"
VERSIONS = list(range(1, 8))


def sha(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


def build_scenario() -> dict[str, Any]:
    releases = [
        {
            "id": f"00000000-0000-4000-8000-{v:012d}",
            "version": v,
            "status": "failed" if v == 4 else "succeeded",
            "current": v == VERSIONS[-1],
            "description": f"Deploy {sha(str(v))[:8]}" if v != 3 else "Set FOO config vars",
            "commit": sha(str(v)) if v != 3 else None,
            "user": "deployer@example.com",
            "created_at": f"2026-01-0{v}T10:00:00Z",
            "updated_at": f"2026-01-0{v}T10:01:00Z",
        }
        for v in VERSIONS
    ]
    return {
        "format": 1,
        "now": "2026-03-01T00:00:00Z",
        "heroku_apps": [{"name": "checkout-prod", "releases": releases}, {"name": "empty-app"}],
    }


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve_in_thread(create_app(load_scenario(build_scenario()))) as srv:
        yield srv


@pytest.fixture()
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as c:
        yield c


def walk(client: httpx.Client, first_range: str | None) -> tuple[list[int], list[httpx.Response]]:
    """Follow Next-Range until a 200, as Heroku's clients do."""
    versions: list[int] = []
    responses: list[httpx.Response] = []
    range_header = first_range
    while True:
        headers = {"Range": range_header} if range_header else {}
        resp = client.get(f"{APP}/releases", headers=headers)
        assert resp.status_code in (200, 206), resp.text
        responses.append(resp)
        versions += [r["version"] for r in resp.json()]
        if resp.status_code == 200:
            assert "next-range" not in resp.headers
            return versions, responses
        range_header = resp.headers["next-range"]
        assert len(responses) < 20


def test_range_pagination_desc_walks_every_release_once(client: httpx.Client) -> None:
    versions, responses = walk(client, "version ..; max=2, order=desc")
    assert versions == sorted(VERSIONS, reverse=True)
    assert [r.status_code for r in responses] == [206, 206, 206, 200]
    first = responses[0]
    assert first.headers["next-range"] == "version ]6..; max=2, order=desc"
    assert first.headers["content-range"] == "version 7..6"
    assert first.headers["accept-ranges"] == "id, version"
    assert int(first.headers["ratelimit-remaining"]) > 0


def test_range_pagination_asc_and_defaults(client: httpx.Client) -> None:
    versions, responses = walk(client, "version ..; max=3")
    assert versions == VERSIONS and [r.status_code for r in responses] == [206, 206, 200]
    whole = client.get(f"{APP}/releases")  # default: max 200, ascending
    assert whole.status_code == 200
    assert [r["version"] for r in whole.json()] == VERSIONS
    by_id, _ = walk(client, "id ..; max=4")
    assert sorted(by_id) == VERSIONS


def test_exclusive_start_resumes_after_a_version(client: httpx.Client) -> None:
    resumed = client.get(f"{APP}/releases", headers={"Range": "version ]5..; order=desc"})
    assert resumed.status_code == 200
    assert [r["version"] for r in resumed.json()] == [4, 3, 2, 1]
    inclusive = client.get(f"{APP}/releases", headers={"Range": "version 5..; order=desc, max=2"})
    assert inclusive.status_code == 206
    assert [r["version"] for r in inclusive.json()] == [5, 4]
    newer = client.get(f"{APP}/releases", headers={"Range": "version ]5..; max=10"})
    assert [r["version"] for r in newer.json()] == [6, 7]
    bounded = client.get(f"{APP}/releases", headers={"Range": "version 2..4"})
    assert [r["version"] for r in bounded.json()] == [2, 3, 4]


def test_max_is_capped_at_1000(client: httpx.Client) -> None:
    resp = client.get(f"{APP}/releases", headers={"Range": "version ..; max=5000"})
    assert resp.status_code == 200 and len(resp.json()) == len(VERSIONS)
    bad = client.get(f"{APP}/releases", headers={"Range": "name ..; max=2"})
    assert bad.status_code == 400 and bad.json()["id"] == "bad_request"


def test_release_shape_and_slug_commit(client: httpx.Client) -> None:
    releases = client.get(f"{APP}/releases").json()
    r7 = releases[-1]
    assert set(r7) >= {
        "id",
        "version",
        "status",
        "current",
        "description",
        "created_at",
        "updated_at",
        "user",
        "app",
        "slug",
    }
    assert r7["current"] is True and r7["app"]["name"] == "checkout-prod"
    assert set(r7["user"]) == {"email", "id"} and set(r7["slug"]) == {"id"}
    slug = client.get(f"{APP}/slugs/{r7['slug']['id']}")
    assert slug.status_code == 200 and slug.json()["commit"] == sha("7")
    config_only = next(r for r in releases if r["version"] == 3)
    assert config_only["slug"] is None
    one = client.get(f"{APP}/releases/4").json()
    assert one["status"] == "failed"
    app = client.get(APP).json()
    assert app["name"] == "checkout-prod" and app["id"] == r7["app"]["id"]
    empty = client.get("/heroku/apps/empty-app/releases")
    assert empty.status_code == 200 and empty.json() == []


def test_accept_header_is_required(server: RunningServer) -> None:
    resp = httpx.get(
        f"{server.base_url}{APP}/releases",
        headers={"Authorization": "Bearer x", "Accept": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.json()["id"] == "missing_version"


def test_auth_and_not_found(server: RunningServer, client: httpx.Client) -> None:
    anon = httpx.get(f"{server.base_url}{APP}/releases", headers={"Accept": ACCEPT})
    assert anon.status_code == 401 and anon.json()["id"] == "unauthorized"
    missing = client.get("/heroku/apps/nope/releases")
    assert missing.status_code == 404
    assert missing.json() == {
        "id": "not_found",
        "message": "Couldn't find that app.",
        "resource": "app",
    }
    assert client.get("/heroku/apps/nope").status_code == 404
    stats = client.get("/_fake/stats").json()
    assert stats["requests"]["heroku"] >= 3
    assert stats["routes"]["GET /heroku/apps/{app}/releases"] >= 2


def test_etag_gives_304(client: httpx.Client) -> None:
    first = client.get(f"{APP}/releases")
    again = client.get(f"{APP}/releases", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ratelimit-remaining"] == first.headers["ratelimit-remaining"]
