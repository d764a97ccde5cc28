"""The fake GitHub REST API over real HTTP: bodies validate against GitHub's OpenAPI description,
pagination, ETags, errors and rate-limit bookkeeping behave as GitHub's do, and PyGithub can walk
it end to end.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from fakes.scenario import load_scenario
from fakes.server import RunningServer, create_app, serve_in_thread

SPEC_PATH = (
    Path(__file__).resolve().parents[3] / "shared" / "github" / "rest-api.github.com.2022-07.json"
)
AUTH = {"Authorization": "token x"}
PREFIXES = ["", "/api/v3"]


# --- the scenario, built by code --------------------------------------------------------------


def sha(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


def at(hour: int) -> str:
    """Hours after 2026-01-01T00:00Z as a scenario timestamp."""
    return f"2026-01-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z"


def person(login: str | None, name: str = "Someone") -> dict[str, Any]:
    return {"login": login, "name": name, "email": f"{login or 'anon'}@example.com"}


def build_scenario() -> dict[str, Any]:
    """main: c1..c5 then merge m1 of feature/cart (f1, f2 off c3); PR 2's x1 is unreachable."""
    c = {i: sha(f"c{i}") for i in range(1, 6)}
    f1, f2, m1, x1 = sha("f1"), sha("f2"), sha("m1"), sha("x1")

    def commit(s: str, parents: list[str], msg: str, who: str | None, hour: int) -> dict[str, Any]:
        return {
            "sha": s,
            "parents": parents,
            "message": msg,
            "author": person(who),
            "authored_at": at(hour),
            "committed_at": at(hour),
        }

    commits = [commit(c[i], [c[i - 1]] if i > 1 else [], f"c{i}", "alice", i) for i in range(1, 6)]
    commits += [
        commit(f1, [c[3]], "f1", "bob", 6),
        commit(f2, [f1], "f2", "bob", 7),
        commit(m1, [c[5], f2], "Merge pull request #1 from acme/feature/cart", "bob", 9),
        commit(x1, [c[2]], "abandoned work", None, 8),  # an author GitHub cannot map to a user
    ]
    pulls: list[dict[str, Any]] = [
        {
            "number": 1,
            "title": "Add cart",
            "author": "bob",
            "base": "main",
            "head": "feature/cart",
            "labels": ["feature"],
            "created_at": at(6),
            "updated_at": at(9),
            "closed_at": at(9),
            "merged_at": at(9),
            "merge_commit_sha": m1,
            "commits": [f1, f2],
            "reviews": [
                {"id": 901, "author": "carol", "state": "APPROVED", "submitted_at": at(8)},
                {"id": 902, "author": "dave", "state": "COMMENTED", "submitted_at": at(8)},
            ],
            "comments": [{"id": 801, "author": "carol", "created_at": at(7), "body": "nice"}],
        },
        {
            "number": 2,
            "title": "Abandoned",
            "author": "erin",
            "base": "main",
            "head": "wip",
            "created_at": at(8),
            "updated_at": at(10),
            "commits": [x1],
        },
    ]
    for n in range(3, 6):
        pulls.append(
            {
                "number": n,
                "title": f"Change {n}",
                "author": "alice",
                "base": "main",
                "head": f"change-{n}",
                "created_at": at(n),
                "updated_at": at(n + 1),
                "closed_at": at(n + 1),
                "merged_at": at(n + 1),
                "merge_commit_sha": c[n],
                "commits": [c[n]],
                "reviews": [
                    {"id": 910 + n, "author": "carol", "state": "APPROVED", "submitted_at": at(n)}
                ],
            }
        )
    deployments = [
        {
            "id": 5001 + i,
            "sha": s,
            "ref": "main",
            "environment": env,
            "created_at": at(10 + i),
            "statuses": [
                {"id": 7001 + 2 * i, "state": "in_progress", "created_at": at(10 + i)},
                {"id": 7002 + 2 * i, "state": "success", "created_at": at(11 + i)},
            ],
        }
        for i, (s, env) in enumerate([(c[4], "production"), (m1, "staging"), (m1, "production")])
    ]
    runs = [
        {
            "id": 9001 + i,
            "workflow_path": ".github/workflows/deploy.yml"
            if i % 2 == 0
            else ".github/workflows/ci.yml",
            "name": "Deploy" if i % 2 == 0 else "CI",
            "head_sha": m1,
            "head_branch": "main" if i != 4 else "release",
            "event": "push",
            "status": "completed",
            "conclusion": "failure" if i == 2 else "success",
            "created_at": at(10 + 24 * i),
            "run_started_at": at(10 + 24 * i),
            "updated_at": at(11 + 24 * i),
        }
        for i in range(5)
    ]
    issues = [
        {
            "number": 40 + i,
            "title": f"Incident {i}",
            "body": f"Caused by {c[4]}",
            "author": "dave",
            "labels": ["incident", *(["sev1"] if i == 0 else [])],
            "state": "closed" if i < 2 else "open",
            "created_at": at(12 + i),
            "updated_at": at(13 + i),
            "closed_at": at(13 + i) if i < 2 else None,
        }
        for i in range(3)
    ]
    return {
        "format": 1,
        "now": "2026-03-01T00:00:00Z",
        "repositories": [
            {
                "full_name": "acme/checkout",
                "default_branch": "main",
                "created_at": "2025-01-01T00:00:00Z",
                "branches": {"main": m1, "feature/cart": f2},
                "commits": commits,
                "pull_requests": pulls,
                "releases": [
                    {
                        "id": 3001,
                        "tag_name": "v1.0.0",
                        "name": "v1.0.0",
                        "target_sha": c[4],
                        "created_at": at(5),
                        "published_at": at(5),
                    },
                    {
                        "id": 3002,
                        "tag_name": "v1.1.0",
                        "name": None,
                        "target_sha": m1,
                        "draft": True,
                        "created_at": at(9),
                    },
                ],
                "deployments": deployments,
                "workflow_runs": runs,
                "issues": issues,
            }
        ],
    }


SCENARIO = build_scenario()
SHAS = {c["message"].split()[0]: c["sha"] for c in SCENARIO["repositories"][0]["commits"]}


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def response_validator(spec: dict[str, Any], template: str) -> OAS30Validator:
    schema = spec["paths"][template]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    return OAS30Validator(dict(schema, components=spec["components"]))


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve_in_thread(create_app(load_scenario(SCENARIO))) as srv:
        yield srv


@pytest.fixture()
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as c:
        yield c


# --- every endpoint validates against the OpenAPI description ---------------------------------

R = "/repos/acme/checkout"
ENDPOINTS: list[tuple[str, str]] = [
    ("/repos/{owner}/{repo}", R),
    ("/repos/{owner}/{repo}/pulls", f"{R}/pulls?state=all"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", f"{R}/pulls/1"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", f"{R}/pulls/2"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/commits", f"{R}/pulls/1/commits"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/commits", f"{R}/pulls/2/commits"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/reviews", f"{R}/pulls/1/reviews"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", f"{R}/issues/1/comments"),
    ("/repos/{owner}/{repo}/commits", f"{R}/commits"),
    ("/repos/{owner}/{repo}/commits/{ref}", f"{R}/commits/main"),
    ("/repos/{owner}/{repo}/commits/{commit_sha}/pulls", f"{R}/commits/{SHAS['Merge']}/pulls"),
    ("/repos/{owner}/{repo}/compare/{basehead}", f"{R}/compare/v1.0.0...main"),
    ("/repos/{owner}/{repo}/releases", f"{R}/releases"),
    ("/repos/{owner}/{repo}/tags", f"{R}/tags"),
    ("/repos/{owner}/{repo}/deployments", f"{R}/deployments"),
    (
        "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
        f"{R}/deployments/5001/statuses",
    ),
    ("/repos/{owner}/{repo}/actions/runs", f"{R}/actions/runs"),
    (
        "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs",
        f"{R}/actions/workflows/deploy.yml/runs",
    ),
    ("/repos/{owner}/{repo}/actions/workflows", f"{R}/actions/workflows"),
    ("/repos/{owner}/{repo}/issues", f"{R}/issues?state=all"),
    ("/rate_limit", "/rate_limit"),
    ("/user", "/user"),
]


def _non_empty(body: Any) -> bool:
    if isinstance(body, list):
        return bool(body)
    for key in ("workflow_runs", "workflows", "commits"):
        if key in body:
            return bool(body[key])
    return bool(body)


@pytest.mark.parametrize("prefix", PREFIXES, ids=["github.com", "ghes"])
@pytest.mark.parametrize(("template", "path"), ENDPOINTS, ids=[p for _, p in ENDPOINTS])
def test_endpoint_body_validates_against_openapi(
    spec: dict[str, Any], client: httpx.Client, prefix: str, template: str, path: str
) -> None:
    resp = client.get(prefix + path)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert _non_empty(body), f"{path} served nothing: the check would be vacuous"
    response_validator(spec, template).validate(body)
    # URLs inside bodies point back at this server, under the same API prefix
    if template != "/rate_limit":
        api = f"{client.base_url}{prefix}/{'users' if template == '/user' else 'repos'}/"
        assert api in resp.text


def test_validator_rejects_a_broken_body(spec: dict[str, Any], client: httpx.Client) -> None:
    validator = response_validator(spec, "/repos/{owner}/{repo}/pulls")
    pulls = client.get(f"{R}/pulls?state=all").json()
    validator.validate(pulls)
    del pulls[0]["user"]
    with pytest.raises(Exception, match="user"):
        validator.validate(pulls)
    pulls = client.get(f"{R}/pulls?state=all").json()
    pulls[0]["number"] = "1"
    assert not validator.is_valid(pulls)


# --- pagination -------------------------------------------------------------------------------


def _links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', header)}


@pytest.mark.parametrize("prefix", PREFIXES, ids=["github.com", "ghes"])
def test_link_header_walks_every_page_once(client: httpx.Client, prefix: str) -> None:
    url: str | None = f"{client.base_url}{prefix}{R}/pulls?state=all&per_page=2"
    seen: list[int] = []
    pages = 0
    while url:
        resp = client.get(url)
        assert resp.status_code == 200
        seen += [p["number"] for p in resp.json()]
        pages += 1
        links = _links(resp.headers.get("link", ""))
        for target in links.values():
            assert target.startswith(
                f"{client.base_url}{prefix}{R}/pulls?state=all&per_page=2&page="
            )
        url = links.get("next")
    assert pages == 3
    assert sorted(seen) == [1, 2, 3, 4, 5]
    # default sort: created, newest first
    assert seen == [2, 1, 5, 4, 3]


def test_link_header_format_matches_github(client: httpx.Client) -> None:
    base = f"{client.base_url}{R}/pulls?state=all&per_page=2"
    first = client.get(f"{R}/pulls?state=all&per_page=2")
    assert first.headers["link"] == f'<{base}&page=2>; rel="next", <{base}&page=3>; rel="last"'
    middle = client.get(f"{R}/pulls?state=all&per_page=2&page=2")
    assert middle.headers["link"] == (
        f'<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", '
        f'<{base}&page=3>; rel="last", <{base}&page=1>; rel="first"'
    )
    last = client.get(f"{R}/pulls?page=3&state=all&per_page=2")
    assert last.headers["link"] == (f'<{base}&page=2>; rel="prev", <{base}&page=1>; rel="first"')
    single = client.get(f"{R}/pulls?state=all")
    assert "link" not in single.headers


def test_per_page_is_capped_at_100_and_defaults_to_30(client: httpx.Client) -> None:
    big = client.get(f"{R}/commits?per_page=500")
    assert big.status_code == 200 and "link" not in big.headers
    assert len(big.json()) == 8  # main's history: c1..c5, f1, f2, m1


# --- semantics --------------------------------------------------------------------------------


def test_commits_history_since_until_and_sha(client: httpx.Client) -> None:
    main = [c["sha"] for c in client.get(f"{R}/commits").json()]
    assert main[0] == SHAS["Merge"] and SHAS["abandoned"] not in main
    window = client.get(
        f"{R}/commits?since={'2026-01-01T03:00:00Z'}&until=2026-01-01T06:00:00Z"
    ).json()
    assert [c["commit"]["message"] for c in window] == ["f1", "c5", "c4", "c3"]
    feature = client.get(f"{R}/commits", params={"sha": "feature/cart"}).json()
    assert [c["commit"]["message"] for c in feature] == ["f2", "f1", "c3", "c2", "c1"]
    assert client.get(f"{R}/commits?sha=nope").status_code == 404
    unmapped = client.get(f"{R}/commits/{SHAS['abandoned']}").json()
    assert unmapped["author"] is None and unmapped["commit"]["author"]["name"] == "Someone"


def test_compare_reports_commits_between_oldest_first(client: httpx.Client) -> None:
    body = client.get(f"{R}/compare/v1.0.0...main").json()
    assert body["status"] == "ahead" and body["ahead_by"] == 4 and body["behind_by"] == 0
    assert [c["commit"]["message"].split()[0] for c in body["commits"]] == [
        "c5",
        "f1",
        "f2",
        "Merge",
    ]
    behind = client.get(f"{R}/compare/main...feature/cart").json()
    assert (behind["status"], behind["ahead_by"], behind["behind_by"]) == ("behind", 0, 3)
    same = client.get(f"{R}/compare/main...{SHAS['Merge']}").json()
    assert same["status"] == "identical" and same["commits"] == []
    diverged = client.get(f"{R}/compare/feature/cart...{SHAS['abandoned']}").json()
    assert (diverged["status"], diverged["ahead_by"], diverged["behind_by"]) == ("diverged", 1, 3)
    assert diverged["merge_base_commit"]["sha"] == SHAS["c2"]
    paged = client.get(f"{R}/compare/v1.0.0...main?per_page=3")
    assert len(paged.json()["commits"]) == 3 and 'rel="next"' in paged.headers["link"]
    assert client.get(f"{R}/compare/nope...main").status_code == 404


def test_pull_filters_and_associations(client: httpx.Client) -> None:
    open_pulls = client.get(f"{R}/pulls").json()
    assert [p["number"] for p in open_pulls] == [2]
    by_head = client.get(f"{R}/pulls", params={"state": "all", "head": "acme:feature/cart"}).json()
    assert [p["number"] for p in by_head] == [1]
    updated_asc = client.get(f"{R}/pulls?state=closed&sort=updated").json()
    assert [p["number"] for p in updated_asc] == [3, 4, 5, 1]
    assoc = client.get(f"{R}/commits/{SHAS['f1']}/pulls").json()
    assert [p["number"] for p in assoc] == [1]
    pr = client.get(f"{R}/pulls/1").json()
    assert pr["merged"] is True and pr["commits"] == 2 and pr["head"]["sha"] == SHAS["f2"]
    reviews = client.get(f"{R}/pulls/1/reviews").json()
    assert [r["id"] for r in reviews] == [901, 902]


def test_deployments_releases_tags_issues(client: httpx.Client) -> None:
    prod = client.get(f"{R}/deployments?environment=production").json()
    assert [d["id"] for d in prod] == [5003, 5001]  # newest first
    by_sha = client.get(f"{R}/deployments", params={"sha": SHAS["Merge"]}).json()
    assert {d["id"] for d in by_sha} == {5002, 5003}
    statuses = client.get(f"{R}/deployments/5001/statuses").json()
    assert [s["state"] for s in statuses] == ["success", "in_progress"]
    releases = client.get(f"{R}/releases").json()
    assert [(r["tag_name"], r["draft"]) for r in releases] == [("v1.1.0", True), ("v1.0.0", False)]
    assert [t["name"] for t in client.get(f"{R}/tags").json()] == ["v1.0.0"]
    incidents = client.get(f"{R}/issues?labels=incident,sev1&state=all").json()
    assert [i["number"] for i in incidents] == [40]
    since = client.get(f"{R}/issues?state=all&since=2026-01-01T14:00:00Z&direction=asc").json()
    assert [i["number"] for i in since] == [41, 42]


def test_workflow_runs_filters(client: httpx.Client) -> None:
    runs = client.get(f"{R}/actions/runs").json()
    assert runs["total_count"] == 5
    assert [r["id"] for r in runs["workflow_runs"]] == [9005, 9004, 9003, 9002, 9001]
    workflows = client.get(f"{R}/actions/workflows").json()["workflows"]
    deploy = next(w for w in workflows if w["path"].endswith("deploy.yml"))
    by_id = client.get(f"{R}/actions/workflows/{deploy['id']}/runs").json()
    by_name = client.get(f"{R}/actions/workflows/deploy.yml/runs").json()
    assert by_id == by_name and by_id["total_count"] == 3
    assert {r["workflow_id"] for r in by_id["workflow_runs"]} == {deploy["id"]}
    assert [r["run_number"] for r in by_id["workflow_runs"]] == [3, 2, 1]

    def ids(query: str) -> list[int]:
        body = client.get(f"{R}/actions/workflows/deploy.yml/runs{query}").json()
        return [r["id"] for r in body["workflow_runs"]]

    assert ids("?status=success") == [9005, 9001]
    assert ids("?status=completed") == [9005, 9003, 9001]
    assert ids("?branch=main") == [9003, 9001]
    assert ids("?created=>=2026-01-03") == [9005, 9003]
    assert ids("?created=2026-01-01..2026-01-03") == [9003, 9001]
    assert ids("?created=<=2026-01-01") == [9001]
    assert ids("?created=<2026-01-03") == [9001]
    assert ids(f"?head_sha={SHAS['Merge']}&event=push&per_page=1&page=2") == [9003]
    assert client.get(f"{R}/actions/workflows/nope.yml/runs").status_code == 404
    assert client.get(f"{R}/actions/runs?created=yesterday").status_code == 422


# --- headers, ETags, errors -------------------------------------------------------------------


def test_rate_limit_headers_and_unique_request_ids(client: httpx.Client) -> None:
    first, second = client.get(R), client.get(R)
    for resp in (first, second):
        for header in (
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-used",
            "x-ratelimit-reset",
        ):
            assert resp.headers[header].isdigit()
        assert resp.headers["x-ratelimit-resource"] == "core"
    assert int(second.headers["x-ratelimit-used"]) == int(first.headers["x-ratelimit-used"]) + 1
    assert first.headers["x-github-request-id"] != second.headers["x-github-request-id"]
    assert first.headers["etag"] == second.headers["etag"]
    digest = hashlib.sha256(first.content).hexdigest()
    assert first.headers["etag"] == f'W/"{digest}"'


def test_etag_gives_304_without_spending(client: httpx.Client) -> None:
    before_stats = client.get("/_fake/stats").json()["not_modified"]
    first = client.get(f"{R}/pulls?state=all")
    used = int(first.headers["x-ratelimit-used"])
    again = client.get(f"{R}/pulls?state=all", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert int(again.headers["x-ratelimit-used"]) == used
    assert again.headers["etag"] == first.headers["etag"]
    third = client.get(f"{R}/pulls?state=all")
    assert int(third.headers["x-ratelimit-used"]) == used + 1
    assert client.get("/_fake/stats").json()["not_modified"] == before_stats + 1
    changed = client.get(f"{R}/pulls?state=open", headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200


@pytest.mark.parametrize("prefix", PREFIXES, ids=["github.com", "ghes"])
def test_error_bodies(server: RunningServer, prefix: str) -> None:
    with httpx.Client(base_url=server.base_url + prefix, timeout=10) as anon:
        resp = anon.get(R)
        assert resp.status_code == 401
        assert resp.json() == {
            "message": "Requires authentication",
            "documentation_url": "https://docs.github.com/rest",
        }
    with httpx.Client(
        base_url=server.base_url + prefix, headers={"Authorization": "Bearer y"}
    ) as c:
        for path in (
            "/repos/acme/nope",
            f"{R}/pulls/99",
            f"{R}/deployments/1/statuses",
            "/nowhere",
        ):
            resp = c.get(path)
            assert resp.status_code == 404, path
            assert resp.headers["x-ratelimit-resource"] == "core"
            assert resp.json() == {
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest",
            }
        bad = c.get(f"{R}/pulls?state=bogus")
        assert bad.status_code == 422
        body = bad.json()
        assert body["message"] == "Validation Failed"
        assert body["errors"][0]["field"] == "state" and body["errors"][0]["code"] == "invalid"
        assert c.get(f"{R}/commits/{'0' * 40}").status_code == 422


def test_exhausted_budget_answers_primary_403() -> None:
    app = create_app(load_scenario(SCENARIO), rate_limit=2)
    with serve_in_thread(app) as srv, httpx.Client(base_url=srv.base_url, headers=AUTH) as c:
        assert c.get(R).status_code == 200
        assert c.get(R).headers["x-ratelimit-remaining"] == "0"
        blocked = c.get(R)
        assert blocked.status_code == 403
        assert blocked.json()["message"].startswith("API rate limit exceeded")
        assert blocked.headers["x-ratelimit-remaining"] == "0"
        assert c.get("/rate_limit").json()["resources"]["core"]["remaining"] == 0


def test_stats_count_channels_and_routes(client: httpx.Client) -> None:
    assert client.post("/_fake/stats/reset").status_code == 200
    client.get(R)
    client.get(f"/api/v3{R}/pulls")
    client.get(f"{R}/pulls?state=all")
    stats = client.get("/_fake/stats").json()
    assert stats["requests"]["rest"] == 3
    assert stats["routes"]["GET /repos/{owner}/{repo}/pulls"] == 2
    assert stats["faults_injected"] == 0
    assert client.get("/healthz").json() == {"status": "ok"}


# --- GraphQL route ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/graphql", "/api/graphql"])
def test_graphql_route_serves_the_real_service(
    client: httpx.Client, server: RunningServer, path: str
) -> None:
    query = {"query": 'query { repository(owner: "acme", name: "checkout") { name } }'}
    assert httpx.post(server.base_url + path, json=query).status_code == 401
    points = client.get("/_fake/stats").json()["graphql_points"]
    resp = client.post(path, json=query)
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"]["repository"]["name"] == "checkout"
    assert resp.headers["x-ratelimit-resource"] == "graphql"
    assert int(resp.headers["x-ratelimit-used"]) >= 1
    assert client.get("/_fake/stats").json()["graphql_points"] > points
    assert client.post(path, content=b"{not json").status_code == 400


# --- PyGithub walks it ------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES, ids=["github.com", "ghes"])
def test_pygithub_walks_every_pull_commit_and_review(server: RunningServer, prefix: str) -> None:
    from github import Auth, Github

    # PyGithub throttles itself to one request per 0.25 s by default; the fake needs no such care
    gh = Github(
        base_url=server.base_url + prefix,
        auth=Auth.Token("x"),
        per_page=2,
        retry=None,
        seconds_between_requests=0,
    )
    repo = gh.get_repo("acme/checkout")
    assert repo.default_branch == "main"
    pulls = list(repo.get_pulls(state="all"))
    assert sorted(p.number for p in pulls) == [1, 2, 3, 4, 5]
    expected = {p["number"]: p for p in SCENARIO["repositories"][0]["pull_requests"]}
    for pr in pulls:
        want = expected[pr.number]
        assert [c.sha for c in pr.get_commits()] == want["commits"]
        assert [r.id for r in pr.get_reviews()] == [r["id"] for r in want.get("reviews", [])]
        assert pr.user.login == want["author"]
    commits = list(repo.get_commits(sha="main"))
    assert len(commits) == 8
    gh.close()
