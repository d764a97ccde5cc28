"""The fake GitHub GraphQL executor: GitHub's semantics over a scenario, and GitHub's limits."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fakes.graphql_api import GraphQLService, SchemaNotFoundError, default_schema_path
from fakes.ratelimit import RateLimits
from fakes.rest_common import node_id, stable_id
from fakes.scenario import load_scenario

T0 = datetime(2026, 1, 1, tzinfo=UTC)
N_PULLS = 25


def _sha(*parts: object) -> str:
    import hashlib

    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()


def _ts(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _commit(sha: str, parents: list[str], message: str, login: str, hours: float) -> dict:
    person = {"login": login, "name": login.title(), "email": f"{login}@example.com"}
    return {"sha": sha, "parents": parents, "message": message, "author": person,
            "authored_at": _ts(hours), "committed_at": _ts(hours)}  # fmt: skip


def build_scenario() -> dict[str, Any]:
    """main: root, then per PR i a feature commit f_i and, on main, either a squash commit
    (even i) or a two-parent merge commit (odd i). PR 25 is open, PR 24 closed unmerged."""
    root = _sha("root")
    commits = [_commit(root, [], "Initial commit", "alice", 0)]
    head = root
    pulls = []
    for i in range(1, N_PULLS + 1):
        created = 10 * i
        feature = _sha("feature", i)
        commits.append(_commit(feature, [head], f"Work on {i}\n\nDetails {i}", "bob", created))
        merged = i < N_PULLS - 1
        merge_sha = None
        if merged:
            if i % 2 == 0:
                merge_sha, parents, message = _sha("squash", i), [head], f"Feature {i} (#{i})"
            else:
                merge_sha, parents = _sha("merge", i), [head, feature]
                message = f"Merge pull request #{i}"
            commits.append(_commit(merge_sha, parents, message, "bob", created + 5))
            head = merge_sha
        # updated_at is a permutation of the creation order, so UPDATED_AT order is its own
        updated = 1000 + (i * 7) % N_PULLS
        pulls.append({
            "number": i, "title": f"Feature {i}", "body": f"Body {i}", "author": "bob",
            "base": "main", "head": f"feature/{i}", "draft": False,
            "labels": ["feature"] if i % 3 else ["feature", "infra"],
            "created_at": _ts(created), "updated_at": _ts(updated),
            "closed_at": _ts(created + 5) if i < N_PULLS else None,
            "merged_at": _ts(created + 5) if merged else None,
            "merge_commit_sha": merge_sha, "commits": [feature],
            "reviews": [{"id": 9000 + i, "author": "carol", "state": "APPROVED",
                         "submitted_at": _ts(created + 2)}]
                       + ([{"id": 9999, "author": "renovate[bot]", "state": "COMMENTED",
                            "submitted_at": _ts(created + 3)}] if i == N_PULLS else []),
            "comments": [{"id": 8000 + i, "author": "dave", "created_at": _ts(created + 1)}],
        })  # fmt: skip
    repo = {
        "full_name": "acme/checkout",
        "default_branch": "main",
        "created_at": "2025-06-01T00:00:00Z",
        "branches": {"main": head},
        "commits": commits,
        "pull_requests": pulls,
        "releases": [
            {"id": 3001, "tag_name": "v1.0.0", "name": "One", "target_sha": _sha("merge", 1),
             "created_at": _ts(20), "published_at": _ts(21)},
            {"id": 3002, "tag_name": "v1.1.0", "name": "Two", "target_sha": _sha("squash", 10),
             "created_at": _ts(110), "published_at": _ts(111)},
            {"id": 3003, "tag_name": "v0.9.0", "name": "Backport", "target_sha": root,
             "created_at": _ts(200), "published_at": _ts(201)},
        ],
        "tags": {"a-lightweight": _sha("squash", 20)},
        "deployments": [
            {"id": 5001, "sha": _sha("merge", 1), "ref": "main", "environment": "production",
             "created_at": _ts(30), "statuses": [
                 {"id": 7002, "state": "success", "created_at": _ts(32)},
                 {"id": 7001, "state": "in_progress", "created_at": _ts(31)},
                 {"id": 7003, "state": "inactive", "created_at": _ts(60)}]},
            {"id": 5002, "sha": _sha("squash", 2), "ref": "main", "environment": "staging",
             "created_at": _ts(40), "statuses": [
                 {"id": 7004, "state": "failure", "created_at": _ts(41)}]},
            {"id": 5003, "sha": _sha("merge", 3), "ref": "main", "environment": "production",
             "created_at": _ts(50), "statuses": [
                 {"id": 7005, "state": "queued", "created_at": _ts(50.5)},
                 {"id": 7006, "state": "success", "created_at": _ts(55)}]},
        ],
        "issues": [
            {"number": 100 + k, "title": f"Issue {k}", "author": "erin",
             "labels": ["incident"] if k % 2 else ["bug"],
             "state": "closed" if k < 4 else "open",
             "created_at": _ts(10 * k), "updated_at": _ts(10 * k + 100),
             "closed_at": _ts(10 * k + 100) if k < 4 else None}
            for k in range(6)
        ],
    }  # fmt: skip
    return {"format": 1, "now": "2026-03-01T00:00:00Z", "repositories": [repo]}


@pytest.fixture(scope="module")
def scenario_dict() -> dict[str, Any]:
    return build_scenario()


@pytest.fixture
def service(scenario_dict: dict[str, Any]) -> GraphQLService:
    return GraphQLService(load_scenario(scenario_dict), RateLimits())


def run(service: GraphQLService, query: str, **variables: Any) -> dict[str, Any]:
    result = service.execute({"query": query, "variables": variables})
    assert result.status == 200
    assert "errors" not in result.payload, result.payload
    return result.payload["data"]


# --- semantics over the scenario ----------------------------------------------------------------

PULLS_QUERY = """
query($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(first: 10, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasNextPage endCursor hasPreviousPage startCursor }
      nodes {
        id number state updatedAt mergedAt merged isDraft baseRefName headRefName
        author { __typename login }
        mergeCommit { oid }
        labels(first: 10) { totalCount nodes { name } }
        commits(first: 50) { totalCount nodes { commit { oid message author { user { login } } } } }
        reviews(first: 20) { nodes { databaseId state submittedAt author { login } } }
        comments(first: 20) { nodes { databaseId createdAt author { login } } }
      }
    }
  }
}
"""


def test_pull_requests_page_through_every_pr_once_in_updated_desc_order(
    service: GraphQLService, scenario_dict: dict[str, Any]
) -> None:
    seen: list[dict[str, Any]] = []
    after = None
    pages = 0
    while True:
        data = run(service, PULLS_QUERY, owner="acme", name="checkout", after=after)
        conn = data["repository"]["pullRequests"]
        assert conn["totalCount"] == N_PULLS
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen.extend(conn["nodes"])
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
        base64.b64decode(after)  # opaque, but base64 like GitHub's
    assert pages == 3
    numbers = [n["number"] for n in seen]
    assert sorted(numbers) == list(range(1, N_PULLS + 1))
    assert [n["updatedAt"] for n in seen] == sorted((n["updatedAt"] for n in seen), reverse=True)

    by_number = {n["number"]: n for n in seen}
    squashed, merged, closed, still_open = by_number[2], by_number[3], by_number[24], by_number[25]
    assert squashed["state"] == "MERGED" and squashed["merged"] is True
    assert squashed["mergeCommit"]["oid"] == _sha("squash", 2)
    assert merged["mergeCommit"]["oid"] == _sha("merge", 3)
    assert closed["state"] == "CLOSED" and closed["mergeCommit"] is None
    assert still_open["state"] == "OPEN" and still_open["mergedAt"] is None
    assert squashed["author"] == {"__typename": "User", "login": "bob"}
    assert squashed["labels"]["nodes"] == [{"name": "feature"}]
    assert by_number[3]["labels"]["totalCount"] == 2
    assert squashed["commits"]["nodes"][0]["commit"]["oid"] == _sha("feature", 2)
    assert squashed["commits"]["nodes"][0]["commit"]["author"]["user"]["login"] == "bob"
    assert squashed["reviews"]["nodes"] == [
        {"databaseId": 9002, "state": "APPROVED", "submittedAt": _ts(22),
         "author": {"login": "carol"}}
    ]  # fmt: skip
    assert squashed["comments"]["nodes"][0]["databaseId"] == 8002


def test_pull_request_filters_and_backward_pagination(service: GraphQLService) -> None:
    query = """query($before: String) { repository(owner: "acme", name: "checkout") {
      merged: pullRequests(states: [MERGED], first: 100) { totalCount }
      open: pullRequests(states: [OPEN, CLOSED], first: 100) { nodes { number } }
      infra: pullRequests(labels: ["infra"], first: 100) { totalCount }
      head: pullRequests(headRefName: "feature/7", first: 5) { nodes { number } }
      last: pullRequests(last: 3, before: $before) { nodes { number } pageInfo { hasPreviousPage hasNextPage } }
      one: pullRequest(number: 7) { number title }
    } }"""  # noqa: E501
    data = run(service, query)["repository"]
    assert data["merged"]["totalCount"] == N_PULLS - 2
    assert [n["number"] for n in data["open"]["nodes"]] == [24, 25]
    assert data["infra"]["totalCount"] == len([i for i in range(1, N_PULLS + 1) if i % 3 == 0])
    assert data["head"]["nodes"] == [{"number": 7}]
    # default order is creation ascending: last 3 are the newest
    assert [n["number"] for n in data["last"]["nodes"]] == [23, 24, 25]
    assert data["last"]["pageInfo"] == {"hasPreviousPage": True, "hasNextPage": False}
    assert data["one"] == {"number": 7, "title": "Feature 7"}


def test_history_is_newest_first_and_since_until_filter_on_committed_date(
    service: GraphQLService,
) -> None:
    query = """query($since: GitTimestamp, $until: GitTimestamp) {
      repository(owner: "acme", name: "checkout") {
        defaultBranchRef { name target { ... on Commit {
          all: history(first: 100) { totalCount nodes { committedDate } }
          window: history(first: 100, since: $since, until: $until) {
            totalCount nodes { oid committedDate messageHeadline messageBody }
          }
        } } }
      }
    }"""
    data = run(service, query, since=_ts(100), until=_ts(150))
    ref = data["repository"]["defaultBranchRef"]
    assert ref["name"] == "main"
    everything = ref["target"]["all"]
    # root + 23 squash/merge commits + the feature commits that merge commits (odd PRs up to
    # 23) bring in; squashed PRs' own commits are not on main, as on GitHub
    assert everything["totalCount"] == 1 + (N_PULLS - 2) + 12
    dates = [n["committedDate"] for n in everything["nodes"]]
    assert dates == sorted(dates, reverse=True)
    window = ref["target"]["window"]["nodes"]
    assert window and all(_ts(100) <= n["committedDate"] <= _ts(150) for n in window)
    assert window[0]["oid"] == _sha("feature", 15)  # at 150 h: the bound is inclusive
    assert window[-1]["oid"] == _sha("squash", 10)  # at 105 h; feature 10 (100 h) is not on main
    assert len(window) == 5 + 3  # squash/merge of 10..14, features 11, 13 and 15
    feature_13 = next(n for n in window if n["oid"] == _sha("feature", 13))
    assert feature_13["messageHeadline"] == "Work on 13"
    assert feature_13["messageBody"] == "Details 13"
    since_only = run(service, query, since=_ts(200), until=None)
    tail = since_only["repository"]["defaultBranchRef"]["target"]["window"]["nodes"]
    assert tail and all(n["committedDate"] >= _ts(200) for n in tail)


def test_history_windows_are_exactly_the_commits_inside_them(service: GraphQLService) -> None:
    """`since`/`until` (inclusive) cut the newest-first history by bisection: every window,
    bounds on commit times and between them, open on either side, holds exactly the commits a
    scan of the whole history keeps, in the same order."""
    query = """query($since: GitTimestamp, $until: GitTimestamp) {
      repository(owner: "acme", name: "checkout") {
        defaultBranchRef { target { ... on Commit {
          all: history(first: 100) { nodes { oid committedDate } }
          window: history(first: 100, since: $since, until: $until) {
            totalCount nodes { oid } }
        } } }
      }
    }"""
    everything = run(service, query, since=None, until=None)["repository"][
        "defaultBranchRef"]["target"]["all"]["nodes"]
    bounds = [None, *(_ts(h / 2) for h in range(-10, 520, 5))]
    for since in bounds:
        for until in bounds[::7]:
            target = run(service, query, since=since, until=until)["repository"][
                "defaultBranchRef"]["target"]
            want = [n["oid"] for n in everything
                    if (since is None or n["committedDate"] >= since)
                    and (until is None or n["committedDate"] <= until)]
            assert [n["oid"] for n in target["window"]["nodes"]] == want, (since, until)
            assert target["window"]["totalCount"] == len(want)


def test_associated_pull_requests_map_squash_and_merge_commits_to_their_pr(
    service: GraphQLService,
) -> None:
    query = """query($a: GitObjectID!, $b: GitObjectID!, $c: GitObjectID!) {
      repository(owner: "acme", name: "checkout") {
        squash: object(oid: $a) { ... on Commit { associatedPullRequests(first: 5) { nodes { number } } } }
        merge: object(oid: $b) { ... on Commit { associatedPullRequests(first: 5) { nodes { number } } } }
        feature: object(oid: $c) { ... on Commit { associatedPullRequests(first: 5) { totalCount nodes { number } } } }
      }
    }"""  # noqa: E501
    data = run(service, query, a=_sha("squash", 4), b=_sha("merge", 5), c=_sha("feature", 5))
    repo = data["repository"]
    assert repo["squash"]["associatedPullRequests"]["nodes"] == [{"number": 4}]
    assert repo["merge"]["associatedPullRequests"]["nodes"] == [{"number": 5}]
    assert repo["feature"]["associatedPullRequests"] == {"totalCount": 1, "nodes": [{"number": 5}]}


def test_deployments_filter_by_environment_with_statuses_newest_first(
    service: GraphQLService,
) -> None:
    query = """{ repository(owner: "acme", name: "checkout") {
      deployments(environments: ["production"], first: 10, orderBy: {field: CREATED_AT, direction: DESC}) {
        totalCount
        nodes {
          databaseId environment commitOid commit { oid } ref { name } creator { login } state
          latestStatus { state }
          statuses(first: 10) { totalCount nodes { state createdAt } }
        }
      }
    } }"""  # noqa: E501
    conn = run(service, query)["repository"]["deployments"]
    assert conn["totalCount"] == 2
    newest, oldest = conn["nodes"]
    assert (newest["databaseId"], oldest["databaseId"]) == (5003, 5001)
    assert {n["environment"] for n in conn["nodes"]} == {"production"}
    assert newest["commit"]["oid"] == newest["commitOid"] == _sha("merge", 3)
    assert newest["ref"] == {"name": "main"} and newest["creator"] == {"login": "deploy-bot"}
    assert [s["state"] for s in newest["statuses"]["nodes"]] == ["SUCCESS", "QUEUED"]
    assert newest["state"] == "ACTIVE" and newest["latestStatus"] == {"state": "SUCCESS"}
    stamps = [s["createdAt"] for s in oldest["statuses"]["nodes"]]
    assert stamps == sorted(stamps, reverse=True)
    assert oldest["latestStatus"] == {"state": "INACTIVE"} and oldest["state"] == "INACTIVE"


def test_issues_filter_by_since_labels_and_states(service: GraphQLService) -> None:
    query = """query($since: DateTime) { repository(owner: "acme", name: "checkout") {
      recent: issues(first: 50, filterBy: {since: $since}, orderBy: {field: UPDATED_AT, direction: ASC}) {
        nodes { number updatedAt }
      }
      incidents: issues(first: 50, labels: ["incident"]) {
        totalCount nodes { number state closedAt labels(first: 5) { nodes { name } } author { login } }
      }
      open: issues(first: 50, filterBy: {states: [OPEN], labels: ["bug"]}) { nodes { number } }
    } }"""  # noqa: E501
    repo = run(service, query, since=_ts(130))["repository"]
    assert [n["number"] for n in repo["recent"]["nodes"]] == [103, 104, 105]
    incidents = repo["incidents"]
    assert incidents["totalCount"] == 3
    assert [n["number"] for n in incidents["nodes"]] == [101, 103, 105]
    assert all(n["labels"]["nodes"] == [{"name": "incident"}] for n in incidents["nodes"])
    assert incidents["nodes"][0]["state"] == "CLOSED" and incidents["nodes"][2]["closedAt"] is None
    assert repo["open"]["nodes"] == [{"number": 104}]


def test_tag_refs_and_releases(service: GraphQLService) -> None:
    query = """{ repository(owner: "acme", name: "checkout") {
      byName: refs(refPrefix: "refs/tags/", first: 10) { totalCount nodes { name prefix } }
      byDate: refs(refPrefix: "refs/tags/", first: 2, orderBy: {field: TAG_COMMIT_DATE, direction: DESC}) {
        nodes { name target { __typename ... on Commit { oid committedDate } } }
        pageInfo { hasNextPage }
      }
      main: ref(qualifiedName: "refs/heads/main") { name target { oid } }
      short: ref(qualifiedName: "v1.0.0") { prefix target { oid } }
      releases(first: 10, orderBy: {field: CREATED_AT, direction: DESC}) {
        nodes { databaseId name tagName isDraft isPrerelease isLatest createdAt publishedAt
                tagCommit { oid } tag { name target { ... on Commit { oid } } } author { login } }
      }
    } }"""  # noqa: E501
    repo = run(service, query)["repository"]
    assert [n["name"] for n in repo["byName"]["nodes"]] == [
        "a-lightweight", "v0.9.0", "v1.0.0", "v1.1.0"]  # fmt: skip
    assert repo["byName"]["nodes"][0]["prefix"] == "refs/tags/"
    by_date = repo["byDate"]["nodes"]
    assert [n["name"] for n in by_date] == ["a-lightweight", "v1.1.0"]
    assert by_date[0]["target"]["__typename"] == "Commit"
    assert by_date[0]["target"]["oid"] == _sha("squash", 20)
    assert repo["byDate"]["pageInfo"]["hasNextPage"] is True
    assert repo["main"]["name"] == "main"
    assert repo["short"] == {"prefix": "refs/tags/", "target": {"oid": _sha("merge", 1)}}
    releases = repo["releases"]["nodes"]
    assert [r["tagName"] for r in releases] == ["v0.9.0", "v1.1.0", "v1.0.0"]
    latest = [r["tagName"] for r in releases if r["isLatest"]]
    assert latest == ["v0.9.0"]  # the newest non-draft, non-prerelease release
    assert releases[1]["tagCommit"]["oid"] == releases[1]["tag"]["target"]["oid"]
    assert releases[1]["tag"]["name"] == "v1.1.0" and releases[1]["author"]["login"]


def test_node_ids_are_opaque_and_resolve_back(service: GraphQLService) -> None:
    query = """{ repository(owner: "ACME", name: "Checkout") {
      nameWithOwner
      pullRequest(number: 3) { id }
      deployments(first: 1) { nodes { id } }
      object(expression: "main") { id ... on Commit { oid } }
    } }"""
    repo = run(service, query)["repository"]
    assert repo["nameWithOwner"] == "acme/checkout"  # owner/name match case-insensitively
    ids = [repo["pullRequest"]["id"], repo["deployments"]["nodes"][0]["id"], repo["object"]["id"]]
    assert base64.b64decode(ids[0] + "==").decode() == "PullRequest:acme/checkout:3"
    nodes_query = """query($ids: [ID!]!, $one: ID!) {
      nodes(ids: $ids) { __typename ... on PullRequest { number } ... on Deployment { databaseId }
                         ... on Commit { oid } }
      node(id: $one) { id }
    }"""
    data = run(service, nodes_query, ids=ids, one=ids[0])
    assert data["nodes"] == [
        {"__typename": "PullRequest", "number": 3},
        {"__typename": "Deployment", "databaseId": 5001},
        {"__typename": "Commit", "oid": repo["object"]["oid"]},
    ]
    assert data["node"] == {"id": ids[0]}


def test_rest_node_ids_and_bots_resolve_like_github(service: GraphQLService) -> None:
    # GitHub accepts the REST API's node_id in node(id:); the REST fake uses the legacy form
    rest_id = node_id("PullRequest", stable_id("pull", "acme/checkout", 7))
    query = """query($id: ID!) {
      node(id: $id) { ... on PullRequest { number databaseId } }
      repository(owner: "acme", name: "checkout") { pullRequest(number: 25) {
        reviews(first: 5) { nodes { author { __typename login } } } } }
    }"""
    data = run(service, query, id=rest_id)
    assert data["node"] == {"number": 7, "databaseId": stable_id("pull", "acme/checkout", 7)}
    authors = [r["author"] for r in data["repository"]["pullRequest"]["reviews"]["nodes"]]
    # GraphQL names an app's bot without REST's "[bot]" suffix
    assert authors == [
        {"__typename": "User", "login": "carol"},
        {"__typename": "Bot", "login": "renovate"},
    ]


# --- errors -------------------------------------------------------------------------------------


def test_missing_repository_is_github_not_found(service: GraphQLService) -> None:
    result = service.execute({"query": '{ repository(owner: "acme", name: "nope") { id } }'})
    assert result.status == 200 and result.cost == 1
    assert result.payload == {
        "data": {"repository": None},
        "errors": [{
            "type": "NOT_FOUND", "path": ["repository"], "locations": [{"line": 1, "column": 3}],
            "message": "Could not resolve to a Repository with the name 'acme/nope'.",
        }],
    }  # fmt: skip


def test_invalid_field_is_a_validation_error_and_costs_nothing(service: GraphQLService) -> None:
    result = service.execute({"query": 'query Q { repository(owner: "a", name: "b") { bogus } }'})
    assert (result.status, result.cost) == (200, 0)
    assert result.payload == {
        "errors": [{
            "path": ["query Q", "repository", "bogus"],
            "extensions": {"code": "undefinedField", "typeName": "Repository",
                           "fieldName": "bogus"},
            "locations": [{"line": 1, "column": 47}],
            "message": "Field 'bogus' doesn't exist on type 'Repository'",
        }]
    }  # fmt: skip
    assert service.rate_limits.peek("graphql").used == 0


def test_bad_bodies(service: GraphQLService) -> None:
    assert service.execute({"variables": {}}).status == 400
    assert service.execute({"query": 5}).payload["message"].startswith("A query attribute")
    parse = service.execute({"query": "{ viewer { login }"})
    assert (parse.status, parse.cost) == (200, 0)
    assert "errors" in parse.payload and "data" not in parse.payload
    missing_var = service.execute(
        {"query": 'query($o: String!) { repository(owner: $o, name: "x") { id } }'}
    )
    assert missing_var.cost == 0
    assert missing_var.payload == {"errors": [{
        "extensions": {"value": None, "problems": [
            {"path": [], "explanation": "Expected value to not be null"}]},
        "locations": [{"line": 1, "column": 7}],
        "message": "Variable $o of type String! was provided invalid value",
    }]}  # fmt: skip
    unused = service.execute({"query": "query($o: String) { viewer { login } }"})
    assert unused.payload["errors"][0]["message"] == (
        "Variable $o is declared by anonymous query but not used"
    )


# --- cost and limits ----------------------------------------------------------------------------


def cost_of(service: GraphQLService, query: str, **variables: Any) -> dict[str, int]:
    body = f"{{ rateLimit {{ cost nodeCount remaining used }} {query} }}"
    result = service.execute({"query": "query" + _decl(variables) + body, "variables": variables})
    assert result.status == 200 and "errors" not in result.payload, result.payload
    rate = result.payload["data"]["rateLimit"]
    assert rate["cost"] == result.cost
    return rate


def _decl(variables: dict[str, Any]) -> str:
    if not variables:
        return ""
    types = {bool: "Boolean!", int: "Int!"}
    return "(" + ", ".join(f"${k}: {types[type(v)]}" for k, v in variables.items()) + ")"


def test_cost_matches_the_docs_worked_examples(service: GraphQLService) -> None:
    # docs "Calculating nodes", simple query: 50 repositories + 50 x 10 issues = 550 nodes;
    # requests 1 (repositories) + 50 (issues) = 51 → 51/100 = 0.51 → rounds to 1 point
    simple = """viewer { repositories(first: 50) { edges { repository: node { name
      issues(first: 10) { totalCount edges { node { title bodyHTML } } } } } } }"""
    assert cost_of(service, simple)["nodeCount"] == 550
    # docs complex query: 50 + 50x20 + 50x20x10 + 50x20 + 50x20x10 + 10 = 22,060 nodes;
    # requests 1 + 50 + 1,000 + 50 + 1,000 + 1 = 2,102 → 21.02 → 21 points
    complex_query = """viewer {
      repositories(first: 50) { edges { repository: node { name
        pullRequests(first: 20) { edges { pullRequest: node { title
          comments(first: 10) { edges { comment: node { bodyHTML } } } } } }
        issues(first: 20) { totalCount edges { issue: node { title bodyHTML
          comments(first: 10) { edges { comment: node { bodyHTML } } } } } } } } }
      followers(first: 10) { edges { follower: node { login } } } }"""
    assert cost_of(service, complex_query) | {"remaining": 0, "used": 0} == {
        "cost": 21, "nodeCount": 22_060, "remaining": 0, "used": 0}  # fmt: skip
    # docs "Calculating a rate limit score": repositories(first: 100) → issues(first: 50) →
    # labels(first: 60) needs 1 + 100 + 5,000 = 5,101 requests → 51 points;
    # nodes 100 + 5,000 + 300,000 = 305,100 (under the 500,000 limit)
    score = """viewer { login repositories(first: 100) { edges { node { id
      issues(first: 50) { edges { node { id labels(first: 60) { edges { node { id name } } } } } }
    } } } }"""
    assert cost_of(service, score) | {"remaining": 0, "used": 0} == {
        "cost": 51, "nodeCount": 305_100, "remaining": 0, "used": 0}  # fmt: skip
    # repository → issues(first: 100) → labels(first: 50): nodes 100 + 100 x 50 = 5,100;
    # requests 1 + 100 = 101 → 1.01 → 1 point
    issues_labels = """repository(owner: "acme", name: "checkout") {
      issues(first: 100) { nodes { labels(first: 50) { nodes { name } } } } }"""
    assert cost_of(service, issues_labels)["nodeCount"] == 5_100
    assert cost_of(service, issues_labels)["cost"] == 1


def test_rate_limit_field_reports_the_budget_after_this_query(service: GraphQLService) -> None:
    # pullRequests(100) → commits(100) → associatedPullRequests(10):
    # requests 1 + 100 + 10,000 = 10,101 → 101 points; nodes 100 + 10,000 + 100,000 = 110,100
    heavy = """repository(owner: "acme", name: "checkout") { pullRequests(first: 100) { nodes {
      commits(first: 100) { nodes { commit { associatedPullRequests(first: 10) { nodes { number } } } } }
    } } }"""  # noqa: E501
    rate = cost_of(service, heavy)
    assert rate == {"cost": 101, "nodeCount": 110_100, "remaining": 5000 - 101, "used": 101}
    assert service.rate_limits.peek("graphql").used == 101


def test_skip_include_and_fragments_are_honoured(service: GraphQLService) -> None:
    query = """repository(owner: "acme", name: "checkout") {
      ...Pulls
      issues(first: 40) @include(if: $withIssues) { nodes { number } }
      releases(first: 30) @skip(if: $withIssues) { nodes { name } }
    }"""
    fragment = "\nfragment Pulls on Repository { pullRequests(first: 20) { nodes { number } } }"

    def nodes(with_issues: bool) -> int:
        body = f"{{ rateLimit {{ nodeCount }} {query} }}{fragment}"
        result = service.execute({
            "query": f"query($withIssues: Boolean!) {body}",
            "variables": {"withIssues": with_issues},
        })  # fmt: skip
        assert "errors" not in result.payload, result.payload
        return result.payload["data"]["rateLimit"]["nodeCount"]

    assert nodes(True) == 20 + 40
    assert nodes(False) == 20 + 30


def test_node_limit_is_refused_before_execution(service: GraphQLService) -> None:
    # 100 + 100 x 100 + 100 x 100 x 100 = 1,010,100 nodes: over 500,000 at the third connection
    query = """{ repository(owner: "acme", name: "checkout") { pullRequests(first: 100) { nodes {
      commits(first: 100) { nodes { commit { associatedPullRequests(first: 100) { nodes { number } } } } }
    } } } }"""  # noqa: E501
    result = service.execute({"query": query})
    assert (result.status, result.cost) == (200, 0)
    [error] = result.payload["errors"]
    assert "data" not in result.payload
    assert error["type"] == "MAX_NODE_LIMIT_EXCEEDED"
    assert error["message"] == (
        "By the time this query traverses to the associatedPullRequests connection, it is "
        "requesting up to 1,010,100 possible nodes which exceeds the maximum limit of 500,000."
    )
    assert service.rate_limits.peek("graphql").used == 0


def test_connections_need_first_or_last_within_100(service: GraphQLService) -> None:
    missing = service.execute(
        {"query": '{ repository(owner: "acme", name: "checkout") { issues { nodes { id } } } }'}
    )
    assert missing.cost == 0
    assert missing.payload == {"errors": [{
        "type": "MISSING_PAGINATION_BOUNDARIES", "path": ["repository", "issues"],
        "locations": [{"line": 1, "column": 49}],
        "message": "You must provide a `first` or `last` value to properly paginate the "
                   "`issues` connection.",
    }]}  # fmt: skip
    too_many = service.execute({
        "query": 'query($n: Int) { repository(owner: "acme", name: "checkout") '
                 "{ pullRequests(last: $n) { nodes { id } } } }",
        "variables": {"n": 101},
    })  # fmt: skip
    assert too_many.cost == 0
    [error] = too_many.payload["errors"]
    assert error["type"] == "EXCESSIVE_PAGINATION"
    assert error["message"] == (
        "Requesting 101 records on the `pullRequests` connection exceeds the `last` limit of "
        "100 records."
    )
    # a count alone needs no page size, as on github.com
    count_only = '{ repository(owner: "acme", name: "checkout") { issues { totalCount } } }'
    assert run(service, count_only)["repository"]["issues"]["totalCount"] == 6


def test_exhausted_budget_answers_rate_limited(scenario_dict: dict[str, Any]) -> None:
    limits = RateLimits(limit=2)
    service = GraphQLService(load_scenario(scenario_dict), limits)
    query = {"query": "{ viewer { login } rateLimit { remaining } }"}
    assert service.execute(query).payload["data"]["rateLimit"]["remaining"] == 1
    assert service.execute(query).payload["data"]["rateLimit"]["remaining"] == 0
    refused = service.execute(query)
    assert (refused.status, refused.cost) == (200, 0)
    assert refused.payload == {
        "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]
    }
    assert limits.peek("graphql").used == 2


def test_invalid_cursor_is_reported_like_github(service: GraphQLService) -> None:
    result = service.execute({
        "query": '{ repository(owner: "acme", name: "checkout") '
                 '{ pullRequests(first: 5, after: "nope") { totalCount } } }'
    })  # fmt: skip
    [error] = result.payload["errors"]
    assert error["type"] == "INVALID_CURSOR_ARGUMENTS"
    assert error["path"] == ["repository", "pullRequests"]


def test_schema_path_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FOURKEYS_GITHUB_SCHEMA", raising=False)
    assert default_schema_path().name == "schema.graphql"
    monkeypatch.setenv("FOURKEYS_GITHUB_SCHEMA", str(tmp_path / "missing.graphql"))
    with pytest.raises(SchemaNotFoundError, match="FOURKEYS_GITHUB_SCHEMA"):
        default_schema_path()
    assert issubclass(SchemaNotFoundError, ValueError)


def test_dry_run_reports_the_cost_without_charging_or_executing(service: GraphQLService) -> None:
    query = """{ rateLimit(dryRun: true) { cost nodeCount remaining }
      repository(owner: "acme", name: "checkout") { pullRequests(first: 100) { nodes {
        commits(first: 100) { nodes { commit { oid } } } } } } }"""
    result = service.execute({"query": query})
    # requests 1 + 100 = 101 → 1 point; nodes 100 + 10,000
    assert result.payload == {"data": {
        "rateLimit": {"cost": 1, "nodeCount": 10_100, "remaining": 5000},
        "repository": None}}  # fmt: skip
    assert result.cost == 0 and service.rate_limits.peek("graphql").used == 0
