"""The fake GraphQL API's `PullRequest.timelineItems`: commits, reviews, comments and label
events of a pull request in time order, with GitHub's filters, counts, paging and cost."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from fakes.graphql_api import GraphQLService
from fakes.graphql_cost import analyze
from fakes.ratelimit import RateLimits
from fakes.scenario import load_scenario

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ALL_KINDS = "[PULL_REQUEST_COMMIT, PULL_REQUEST_REVIEW, ISSUE_COMMENT, LABELED_EVENT]"


def _ts(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


def _commit(name: str, parents: list[str], hours: float) -> dict[str, Any]:
    person = {"login": "bob", "name": "Bob", "email": "bob@example.com"}
    return {"sha": _sha(name), "parents": parents, "message": f"{name}\n\nbody of {name}",
            "author": person, "authored_at": _ts(hours - 0.5),
            "committed_at": _ts(hours)}  # fmt: skip


@pytest.fixture(scope="module")
def service() -> GraphQLService:
    """PR 7, opened at 2h: commits c1 (1h), c2 (2h), c3 (5h; listed before c2, as after a
    rebase), reviews r1 (2h), r2 (3h), r3 pending (6h), comments k1 (2h), k2 (4h), labels bug
    and feature. At 2h a commit, a review, a comment and both label events tie."""
    c1, c2, c3 = _commit("c1", [], 1), _commit("c2", [_sha("c1")], 2), _commit("c3", [], 5)
    pull = {
        "number": 7, "title": "Timeline", "author": "alice", "base": "main", "head": "feature/t",
        "labels": ["bug", "feature"], "created_at": _ts(2), "updated_at": _ts(3),
        "commits": [c1["sha"], c3["sha"], c2["sha"]],
        "reviews": [{"id": 901, "author": "carol", "state": "COMMENTED", "submitted_at": _ts(2)},
                    {"id": 902, "author": "dave", "state": "CHANGES_REQUESTED",
                     "submitted_at": _ts(3), "body": "please fix"},
                    {"id": 903, "author": "erin", "state": "PENDING", "submitted_at": _ts(6)}],
        "comments": [{"id": 801, "author": "carol", "created_at": _ts(4), "body": "later"},
                     {"id": 800, "author": "dave", "created_at": _ts(2), "body": "first"}],
    }  # fmt: skip
    bare = {"number": 8, "title": "Bare", "author": "alice", "base": "main", "head": "f/b",
            "created_at": _ts(10), "updated_at": _ts(10)}  # fmt: skip
    repo = {"full_name": "acme/checkout", "created_at": _ts(0), "branches": {"main": c2["sha"]},
            "commits": [c1, c2, c3], "pull_requests": [pull, bare]}  # fmt: skip
    scenario = {"format": 1, "now": _ts(100), "repositories": [repo]}
    return GraphQLService(load_scenario(scenario), RateLimits())


def run(service: GraphQLService, query: str, **variables: Any) -> dict[str, Any]:
    result = service.execute({"query": query, "variables": variables})
    assert result.status == 200
    assert "errors" not in result.payload, result.payload
    return result.payload["data"]


NODE_KEYS = """__typename
  ... on PullRequestCommit { commit { oid } }
  ... on PullRequestReview { databaseId }
  ... on IssueComment { databaseId }
  ... on LabeledEvent { label { name } }"""

TIMELINE = """query($number: Int!, $types: [PullRequestTimelineItemsItemType!], $since: DateTime,
                    $first: Int, $after: String, $last: Int, $before: String, $skip: Int) {
  repository(owner: "acme", name: "checkout") { pullRequest(number: $number) {
    timelineItems(itemTypes: $types, since: $since, first: $first, after: $after,
                  last: $last, before: $before, skip: $skip) {
      totalCount filteredCount pageCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { NODE_KEYS }
    }
  } }
}""".replace("NODE_KEYS", NODE_KEYS)


def _key(node: dict[str, Any]) -> str:
    kind = node["__typename"]
    if kind == "PullRequestCommit":
        return "commit " + next(n for n in ("c1", "c2", "c3") if _sha(n) == node["commit"]["oid"])
    if kind == "LabeledEvent":
        return "label " + node["label"]["name"]
    return f"{kind} {node['databaseId']}"


def timeline(service: GraphQLService, number: int = 7, **args: Any) -> dict[str, Any]:
    args.setdefault("first", 100)
    data = run(service, TIMELINE, number=number, **args)
    return data["repository"]["pullRequest"]["timelineItems"]


def keys(connection: dict[str, Any]) -> list[str]:
    return [_key(n) for n in connection["nodes"]]


# c1 (1h); the 2h tie in kind order commit, review, comment, label; then 3h, 4h, 5h, 6h
EVERY_ITEM = [
    "commit c1", "commit c2", "PullRequestReview 901", "IssueComment 800", "label bug",
    "label feature", "PullRequestReview 902", "IssueComment 801", "commit c3",
    "PullRequestReview 903",
]  # fmt: skip


def test_items_of_every_kind_in_time_order_with_their_fields(service: GraphQLService) -> None:
    query = """{ repository(owner: "acme", name: "checkout") { pullRequest(number: 7) {
      createdAt
      commits(first: 10) { nodes { id url commit { oid committedDate message } } }
      timelineItems(first: 20) {
        totalCount updatedAt
        nodes {
          __typename
          ... on PullRequestCommit {
            id url resourcePath pullRequest { number } commit { oid committedDate message }
          }
          ... on PullRequestReview {
            id databaseId state body submittedAt createdAt author { login }
            pullRequest { number }
          }
          ... on IssueComment { id databaseId body createdAt author { login } }
          ... on LabeledEvent {
            id createdAt actor { login } label { name color }
            labelable { __typename ... on PullRequest { number } }
          }
        }
      }
    } } }"""
    pull = run(service, query)["repository"]["pullRequest"]
    items = pull["timelineItems"]
    nodes = items["nodes"]
    assert [_key(n) for n in nodes] == EVERY_ITEM
    assert items["totalCount"] == 10
    # the pending review (6h) is the latest item, after the PR's updatedAt (3h)
    assert items["updatedAt"] == _ts(6)

    # a PullRequestCommit is the one the `commits` connection serves, in time order
    commits = [n for n in nodes if n["__typename"] == "PullRequestCommit"]
    by_oid = {n["commit"]["oid"]: n for n in pull["commits"]["nodes"]}
    for item in commits:
        assert {k: item[k] for k in ("id", "url", "commit")} == by_oid[item["commit"]["oid"]]
        assert item["pullRequest"] == {"number": 7}
        assert item["resourcePath"] == item["url"].removeprefix("https://github.com")
    assert [c["commit"]["committedDate"] for c in commits] == [_ts(1), _ts(2), _ts(5)]
    assert commits[2]["commit"]["message"] == "c3\n\nbody of c3"

    reviews = {n["databaseId"]: n for n in nodes if n["__typename"] == "PullRequestReview"}
    assert {k: reviews[902][k] for k in ("state", "body", "submittedAt", "createdAt")} == {
        "state": "CHANGES_REQUESTED", "body": "please fix", "submittedAt": _ts(3),
        "createdAt": _ts(3)}  # fmt: skip
    assert reviews[902]["author"] == {"login": "dave"}
    # a pending review is not submitted; it takes its place by creation time
    assert (reviews[903]["submittedAt"], reviews[903]["createdAt"]) == (None, _ts(6))

    comments = [n for n in nodes if n["__typename"] == "IssueComment"]
    assert [(c["databaseId"], c["body"], c["createdAt"], c["author"]["login"]) for c in comments] \
        == [(800, "first", _ts(2), "dave"), (801, "later", _ts(4), "carol")]  # fmt: skip

    labels = [n for n in nodes if n["__typename"] == "LabeledEvent"]
    assert [(e["label"]["name"], e["createdAt"], e["actor"]["login"]) for e in labels] == [
        ("bug", pull["createdAt"], "alice"), ("feature", pull["createdAt"], "alice")]  # fmt: skip
    assert all(e["labelable"] == {"__typename": "PullRequest", "number": 7} for e in labels)
    assert all(len(e["label"]["color"]) == 6 for e in labels)
    every_id = [n["id"] for n in nodes]
    assert len(set(every_id)) == len(every_id)


def test_a_pull_request_without_items_has_an_empty_timeline(service: GraphQLService) -> None:
    items = timeline(service, number=8)
    assert (items["totalCount"], items["nodes"]) == (0, [])
    assert items["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": False,
                                 "startCursor": None, "endCursor": None}  # fmt: skip


def test_item_types_choose_the_kinds_in_time_order(service: GraphQLService) -> None:
    picked = timeline(service, types=["LABELED_EVENT", "PULL_REQUEST_REVIEW"])
    assert keys(picked) == ["PullRequestReview 901", "label bug", "label feature",
                            "PullRequestReview 902", "PullRequestReview 903"]  # fmt: skip
    assert (picked["totalCount"], picked["filteredCount"], picked["pageCount"]) == (5, 5, 5)
    commits = timeline(service, types=["PULL_REQUEST_COMMIT"])
    assert keys(commits) == ["commit c1", "commit c2", "commit c3"]
    assert timeline(service, types=["ISSUE_COMMENT"])["totalCount"] == 2
    # no itemTypes, or an empty list: every kind
    assert keys(timeline(service)) == EVERY_ITEM
    assert keys(timeline(service, types=[])) == EVERY_ITEM


def test_kinds_the_scenario_never_produces_yield_nothing(service: GraphQLService) -> None:
    for kinds in (["UNLABELED_EVENT"], ["MERGED_EVENT", "CLOSED_EVENT", "REVIEW_REQUESTED_EVENT"]):
        items = timeline(service, types=kinds)
        assert (items["totalCount"], items["pageCount"], items["nodes"]) == (0, 0, [])
    # the extractor's list: UNLABELED_EVENT adds nothing to the other four
    items = timeline(service, types=[*ALL_KINDS.strip("[]").split(", "), "UNLABELED_EVENT"])
    assert keys(items) == EVERY_ITEM
    # UnlabeledEvent is a member of the union a query may select
    query = """{ repository(owner: "acme", name: "checkout") { pullRequest(number: 7) {
      timelineItems(first: 5, itemTypes: [UNLABELED_EVENT]) {
        totalCount nodes { ... on UnlabeledEvent { createdAt label { name } } } } } } }"""
    assert run(service, query)["repository"]["pullRequest"]["timelineItems"] == {
        "totalCount": 0, "nodes": []}  # fmt: skip


def test_since_keeps_items_at_or_after_it(service: GraphQLService) -> None:
    at_two = timeline(service, since=_ts(2))
    assert keys(at_two) == EVERY_ITEM[1:]  # only c1 (1h) is before 2h
    assert at_two["totalCount"] == 9
    # the same instant in another offset; a second later drops the whole 2h tie
    assert keys(timeline(service, since="2026-01-01T03:00:00+01:00")) == EVERY_ITEM[1:]
    assert keys(timeline(service, since=_ts(2).replace(":00Z", ":01Z"))) == EVERY_ITEM[6:]
    combined = timeline(service, since=_ts(3), types=["PULL_REQUEST_COMMIT", "ISSUE_COMMENT"])
    assert keys(combined) == ["IssueComment 801", "commit c3"]
    assert timeline(service, since=_ts(7))["nodes"] == []


def test_invalid_since_is_refused_like_github(service: GraphQLService) -> None:
    result = service.execute({"query": TIMELINE, "variables": {"number": 7, "first": 5,
                                                               "since": "yesterday"}})  # fmt: skip
    [error] = result.payload["errors"]
    assert "since" in error["message"] and "timelineItems" in error["message"]


def test_pages_with_first_and_after_return_every_item_once(service: GraphQLService) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = timeline(service, first=3, after=after)
        pages += 1
        assert page["totalCount"] == 10
        assert page["filteredCount"] == 10 - len(seen)  # the items after the cursor
        assert page["pageCount"] == len(page["nodes"]) == min(3, 10 - len(seen))
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen.extend(keys(page))
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert pages == 4
    assert seen == EVERY_ITEM
    # filtered kinds page the same way
    first = timeline(service, types=["PULL_REQUEST_REVIEW", "ISSUE_COMMENT"], first=4)
    rest = timeline(service, types=["PULL_REQUEST_REVIEW", "ISSUE_COMMENT"], first=4,
                    after=first["pageInfo"]["endCursor"])  # fmt: skip
    assert keys(first) + keys(rest) == [
        k for k in EVERY_ITEM if not k.startswith(("commit", "label"))
    ]
    assert rest["pageInfo"]["hasNextPage"] is False


def test_last_before_and_skip_slice_like_the_other_connections(service: GraphQLService) -> None:
    tail = timeline(service, first=None, last=3)
    assert keys(tail) == EVERY_ITEM[-3:]
    assert tail["pageInfo"]["hasPreviousPage"] is True
    before = timeline(service, first=None, last=2, before=tail["pageInfo"]["startCursor"])
    assert keys(before) == EVERY_ITEM[-5:-3]
    assert before["filteredCount"] == 7  # the items before the cursor
    skipped = timeline(service, first=3, skip=2)
    assert keys(skipped) == EVERY_ITEM[2:5]
    assert (skipped["totalCount"], skipped["filteredCount"], skipped["pageCount"]) == (10, 10, 3)
    # skip applies after the cursor; cursors stay positions in the whole list
    after = timeline(service, first=2, skip=1, after=skipped["pageInfo"]["endCursor"])
    assert keys(after) == EVERY_ITEM[6:8]
    assert timeline(service, first=3, skip=20)["nodes"] == []


def test_a_page_of_pull_requests_with_their_timelines_costs_one_point(
    service: GraphQLService,
) -> None:
    # pullRequests(first: 100) → timelineItems(first: 100): 1 + 100 = 101 requests → 1 point;
    # nodes 100 + 100 x 100 = 10,100
    query = """{ rateLimit { cost nodeCount used }
      repository(owner: "acme", name: "checkout") { pullRequests(first: 100) { nodes {
        number
        timelineItems(first: 100, itemTypes: ALL_KINDS) { nodes { NODE_KEYS } } } } } }"""
    query = query.replace("ALL_KINDS", ALL_KINDS).replace("NODE_KEYS", NODE_KEYS)
    before = service.rate_limits.peek("graphql").used
    result = service.execute({"query": query})
    assert "errors" not in result.payload, result.payload
    data = result.payload["data"]
    assert data["rateLimit"]["cost"] == result.cost == 1
    assert data["rateLimit"]["nodeCount"] == 10_100
    assert service.rate_limits.peek("graphql").used == before + 1
    pulls = data["repository"]["pullRequests"]["nodes"]
    assert [(p["number"], len(p["timelineItems"]["nodes"])) for p in pulls] == [(7, 10), (8, 0)]

    document = parse(query)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}  # fmt: skip
    cost = analyze(service.schema, operation, fragments, {})
    assert (cost.requests, cost.cost, cost.node_count) == (101, 1, 10_100)


def test_timeline_items_need_first_or_last_within_100(service: GraphQLService) -> None:
    unbounded = """{ repository(owner: "acme", name: "checkout") { pullRequest(number: 7) {
      timelineItems(itemTypes: [ISSUE_COMMENT]) { nodes { __typename } } } } }"""
    [error] = service.execute({"query": unbounded}).payload["errors"]
    assert error["type"] == "MISSING_PAGINATION_BOUNDARIES"
    count_only = unbounded.replace("nodes { __typename }", "totalCount")
    assert run(service, count_only)["repository"]["pullRequest"]["timelineItems"] == {
        "totalCount": 2}  # fmt: skip
