"""Fault plans: the SPEC grammar, and every fault kind as a client sees it over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakes.faults import Fault, FaultPlan
from fakes.scenario import load_scenario
from fakes.server import RunningServer, create_app, serve_in_thread

GITHUB = {"Authorization": "Bearer t"}
HEROKU = {"Authorization": "Bearer t", "Accept": "application/vnd.heroku+json; version=3"}
REPO = "/repos/acme/app"


def scenario() -> dict[str, Any]:
    sha = "a" * 40
    return {
        "format": 1,
        "now": "2026-03-01T00:00:00Z",
        "repositories": [
            {
                "full_name": "acme/app",
                "created_at": "2025-01-01T00:00:00Z",
                "branches": {"main": sha},
                "commits": [
                    {
                        "sha": sha,
                        "message": "init",
                        "authored_at": "2026-01-01T00:00:00Z",
                        "committed_at": "2026-01-01T00:00:00Z",
                    }
                ],
            }
        ],
        "heroku_apps": [
            {
                "name": "app-prod",
                "releases": [
                    {
                        "id": "00000000-0000-4000-8000-000000000001",
                        "version": 1,
                        "commit": sha,
                        "created_at": "2026-01-01T00:00:00Z",
                        "updated_at": "2026-01-01T00:00:00Z",
                    }
                ],
            }
        ],
    }


# --- parsing ----------------------------------------------------------------------------------


def test_parse_every_kind_and_when_form() -> None:
    plan = FaultPlan.parse(
        "secondary_403@rest:1, primary_403=30@rest:2,429@heroku:2-4,500@graphql:3+,"
        "502@any:9,503@rest:10,401@rest:11,malformed@rest:12,slow=1.5@any:13-14"
    )
    assert plan.check("rest", 1) == Fault("secondary_403")
    assert plan.check("rest", 2) == Fault("primary_403", 30.0)
    assert plan.check("heroku", 1) is None
    assert [plan.check("heroku", n) for n in (2, 3, 4, 5)] == [Fault("429")] * 3 + [None]
    assert plan.check("graphql", 2) is None
    assert plan.check("graphql", 3) == plan.check("graphql", 3000) == Fault("500")
    assert plan.check("rest", 3) is None
    # `any` counts requests across every channel
    assert plan.check("heroku", 1, total_ordinal=9) == Fault("502")
    assert plan.check("rest", 12) == Fault("malformed")
    assert plan.check("graphql", 1, total_ordinal=14) == Fault("slow", 1.5)
    assert FaultPlan.parse("primary_403@rest:1").check("rest", 1) == Fault("primary_403", 1.0)
    assert plan.injected()["429"] == 3


def test_empty_spec_is_an_empty_plan() -> None:
    assert not FaultPlan.parse("")
    assert not FaultPlan.parse(" , ")
    assert FaultPlan.parse("500@rest:1")


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("teapot@rest:1", "unknown kind 'teapot'"),
        ("500@ftp:1", "unknown channel 'ftp'"),
        ("500@rest", "500@rest"),
        ("500@rest:0", "1 <= N <= M"),
        ("500@rest:5-2", "500@rest:5-2"),
        ("slow@rest:1", "slow needs seconds"),
        ("429=3@rest:1", "takes no '=' value"),
        ("500@rest:1,oops", "'oops'"),
        ("500@rest:x", "500@rest:x"),
    ],
)
def test_bad_specs_raise_one_line_errors(spec: str, named: str) -> None:
    with pytest.raises(ValueError, match="bad fault") as info:
        FaultPlan.parse(spec)
    message = str(info.value)
    assert "\n" not in message and named in message


def test_check_is_thread_safe() -> None:
    plan = FaultPlan.parse("500@rest:1+")
    threads = [
        threading.Thread(target=lambda: [plan.check("rest", n) for n in range(1, 1001)])
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert plan.injected() == {"500": 8000}


# --- over HTTP --------------------------------------------------------------------------------

REST_SPEC = (
    "secondary_403@rest:1,primary_403=30@rest:2,429@rest:3,500@rest:4,502@rest:5,"
    "503@rest:6,401@rest:7,malformed@rest:8,slow=0.3@rest:9"
)


@pytest.fixture()
def rest_server() -> Iterator[RunningServer]:
    app = create_app(load_scenario(scenario()), FaultPlan.parse(REST_SPEC))
    with serve_in_thread(app) as srv:
        yield srv


def test_each_rest_fault_kind_over_http(rest_server: RunningServer) -> None:
    with httpx.Client(base_url=rest_server.base_url, headers=GITHUB, timeout=10) as c:
        r1 = c.get(REPO)
        assert r1.status_code == 403 and r1.headers["retry-after"] == "1"
        assert r1.json()["message"].startswith("You have exceeded a secondary rate limit")
        assert r1.headers["x-ratelimit-remaining"] != "0"

        r2 = c.get(REPO)
        assert r2.status_code == 403 and r2.headers["x-ratelimit-remaining"] == "0"
        assert r2.json()["message"].startswith("API rate limit exceeded for")
        assert 25 <= int(r2.headers["x-ratelimit-reset"]) - time.time() <= 35

        r3 = c.get(REPO)
        assert r3.status_code == 429 and r3.headers["retry-after"] == "1"
        assert [c.get(REPO).status_code for _ in range(3)] == [500, 502, 503]

        r7 = c.get(REPO)
        assert r7.status_code == 401 and r7.json()["message"] == "Bad credentials"
        # faults so far answered before the budget: nothing spent
        assert c.get("/_fake/stats").json()["rate_limit"]["core"]["used"] == 0

        r8 = c.get(REPO)
        assert r8.status_code == 200 and r8.headers["content-type"].startswith("application/json")
        with pytest.raises(json.JSONDecodeError):
            json.loads(r8.content)

        started = time.monotonic()
        r9 = c.get(REPO)
        assert time.monotonic() - started >= 0.3
        assert r9.status_code == 200 and r9.json()["full_name"] == "acme/app"

        r10 = c.get(REPO)
        assert r10.status_code == 200
        stats = c.get("/_fake/stats").json()
        assert stats["faults_injected"] == 9
        assert stats["faults_by_kind"]["slow"] == 1
        assert stats["requests"]["rest"] == 10
        # malformed and slow were real 200s and spent like one; so did r10
        assert stats["rate_limit"]["core"]["used"] == 3


def test_heroku_graphql_and_any_channels() -> None:
    spec = "429@heroku:1,500@heroku:2,malformed@heroku:3,503@graphql:1,401@any:6"
    app = create_app(load_scenario(scenario()), FaultPlan.parse(spec))
    with serve_in_thread(app) as srv, httpx.Client(base_url=srv.base_url, timeout=10) as c:
        releases = "/heroku/apps/app-prod/releases"
        h1 = c.get(releases, headers=HEROKU)
        assert h1.status_code == 429 and h1.json()["id"] == "rate_limit"
        assert h1.headers["retry-after"] == "1"
        h2 = c.get(releases, headers=HEROKU)
        assert h2.status_code == 500 and h2.json()["id"] == "internal_server_error"
        h3 = c.get(releases, headers=HEROKU)
        assert h3.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(h3.content)
        g1 = c.post("/graphql", headers=GITHUB, json={"query": "{ viewer { login } }"})
        assert g1.status_code == 503
        assert "x-ratelimit-remaining" in g1.headers
        assert c.get(releases, headers=HEROKU).status_code == 200  # 5th request overall
        sixth = c.get(REPO, headers=GITHUB)  # 6th overall, 1st on rest
        assert sixth.status_code == 401 and sixth.json()["message"] == "Bad credentials"
        assert c.get(REPO, headers=GITHUB).status_code == 200
        stats = c.get("/_fake/stats").json()
        assert stats["requests"] == {"rest": 2, "graphql": 1, "heroku": 4, "total": 7}
        assert stats["faults_injected"] == 5


def test_stats_reset_restarts_fault_ordinals() -> None:
    app = create_app(load_scenario(scenario()), FaultPlan.parse("500@rest:2"))
    with serve_in_thread(app) as srv, httpx.Client(base_url=srv.base_url, headers=GITHUB) as c:
        assert [c.get(REPO).status_code for _ in range(3)] == [200, 500, 200]
        c.post("/_fake/stats/reset")
        assert [c.get(REPO).status_code for _ in range(2)] == [200, 500]
