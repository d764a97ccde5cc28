"""A refresh lists pull requests and the history by key first (extractors/github/walks.py:
LISTED_STREAMS) and reads full rows only down to the last key the warehouse does not hold as
listed. The pages here are GitHub's response shapes for one repository, fed to the extractor's
page handling; tests/integration/test_extract_refresh.py runs the same against the fake API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from extractors import tables
from extractors.github.repository import RepoPlan, RepositoryExtractor
from fourkeys.warehouse.base import LoadBatch

MARK = "2026-11-29T05:00:00Z"  # every stream's watermark; pull requests re-read from 04:00
STARTED = datetime(2026, 11, 29, 7, tzinfo=UTC)
DONE = {"hasNextPage": False, "endCursor": None}


def _pull(number: int, updated_at: str) -> dict[str, Any]:
    return {"id": f"PR_{number}", "number": number, "updatedAt": updated_at,
            "createdAt": "2026-11-01T00:00:00Z", "state": "OPEN", "baseRefName": "main",
            "timelineItems": {"pageInfo": DONE, "nodes": []}}


def _repo(**fields: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"nameWithOwner": "acme/a", "databaseId": 1,
                            "defaultBranchRef": {"name": "main", "target": {}},
                            "releases": {"pageInfo": DONE, "nodes": []},
                            "refs": {"pageInfo": DONE, "nodes": []}}
    history_keys = fields.pop("historyKeys", None)
    if history_keys is not None:
        node["defaultBranchRef"]["target"]["historyKeys"] = history_keys
    node.update(fields)
    return node


def _extractor(stored_keys: dict[str, dict[str, Any]]) -> RepositoryExtractor:
    marks = {s: MARK for s in ("commits", "pull_requests", "releases", "tags")}
    return RepositoryExtractor(
        None, RepoPlan("acme/a"), watermarks=marks,  # type: ignore[arg-type]  # never asked
        lower_bound_override=None, lookback=timedelta(days=3),
        run_started_at=STARTED, load=lambda _batch: None, stored_keys=stored_keys)


def _numbers(batch: LoadBatch) -> list[int]:
    return [r["number"] for r in batch.rows.get(tables.PULL_REQUESTS.name, [])]


def _marks(batch: LoadBatch) -> dict[str, str | None]:
    return {w.stream: w.value for w in batch.watermarks}


def test_full_rows_only_of_what_changed_and_a_concurrent_update_drops_nothing() -> None:
    extractor = _extractor({
        "pull_requests": {"3": "2026-11-29 04:30:00+00", "2": "2026-11-29 04:10:00+00"},
        "commits": {"c1": "main"},
    })
    variables = extractor.variables()
    assert variables["withPullKeys"] and not variables["withPulls"]
    assert variables["withHistoryKeys"] and not variables["withHistory"]

    # the listing: #5 is new, #2 changed, #3 is stored as listed, #1 is below the bound;
    # the history lists c1 (stored) only
    first = extractor.page(_repo(
        pullKeys={"pageInfo": {"hasNextPage": True, "endCursor": "k1"}, "nodes": [
            {"number": 5, "updatedAt": "2026-11-29T06:00:00Z"},
            {"number": 2, "updatedAt": "2026-11-29T04:50:00Z"},
            {"number": 3, "updatedAt": "2026-11-29T04:30:00Z"},
            {"number": 1, "updatedAt": "2026-11-29T03:00:00Z"}]},
        historyKeys={"pageInfo": DONE, "nodes": [
            {"oid": "c1", "committedDate": "2026-11-28T10:00:00Z"}]}))
    assert _numbers(first) == [] and tables.COMMITS.name not in first.rows
    # nothing of the history is missing: its walk closes at the newest commit listed
    assert _marks(first)["commits"] == "2026-11-29T05:00:00Z"
    assert "pull_requests" not in _marks(first)
    variables = extractor.variables()
    assert not variables["withPullKeys"] and variables["withPulls"]
    assert variables["pullsFirst"] == 2 and variables["pullsAfter"] is None  # down to #2
    assert not variables["withHistoryKeys"] and not variables["withHistory"]

    # #6 was updated between the two queries: it comes first and pushes #2 off the page
    second = extractor.page(_repo(pullRequests={
        "pageInfo": {"hasNextPage": True, "endCursor": "p1"},
        "nodes": [_pull(6, "2026-11-29T06:05:00Z"), _pull(5, "2026-11-29T06:00:00Z")]}))
    assert _numbers(second) == [6, 5] and "pull_requests" not in _marks(second)
    assert extractor.has_pages and extractor.variables()["pullsAfter"] == "p1"

    third = extractor.page(_repo(pullRequests={
        "pageInfo": {"hasNextPage": True, "endCursor": "p2"},
        "nodes": [_pull(2, "2026-11-29T04:50:00Z"), _pull(3, "2026-11-29T04:30:00Z")]}))
    assert _numbers(third) == [2, 3]
    # every pending key read: the walk closes at the newest time it saw, listed or read
    assert _marks(third)["pull_requests"] == "2026-11-29T06:05:00Z"
    assert not extractor.has_pages


def test_an_unchanged_listing_reads_no_full_row() -> None:
    extractor = _extractor({"pull_requests": {"3": "2026-11-29 04:30:00+00"}, "commits": {}})
    batch = extractor.page(_repo(
        pullKeys={"pageInfo": DONE, "nodes": [{"number": 3, "updatedAt": "2026-11-29T04:30:00Z"}]},
        historyKeys={"pageInfo": DONE, "nodes": []}))
    assert _numbers(batch) == [] and not extractor.has_pages
    assert _marks(batch)["pull_requests"] == MARK  # nothing newer than the watermark


def test_a_commit_stored_for_another_branch_is_read_again() -> None:
    extractor = _extractor({"pull_requests": {}, "commits": {"c1": "release"}})
    extractor.page(_repo(
        pullKeys={"pageInfo": DONE, "nodes": []},
        historyKeys={"pageInfo": DONE, "nodes": [
            {"oid": "c1", "committedDate": "2026-11-29T05:30:00Z"}]}))
    variables = extractor.variables()
    assert variables["withHistory"] and variables["historyFirst"] == 1


def _deployment(database_id: int, created_at: str, *statuses: str,
                environment: str = "production") -> dict[str, Any]:
    """A full deployment node; `statuses` newest first, as GitHub lists them."""
    return {"id": f"D_{database_id}", "databaseId": database_id, "environment": environment,
            "createdAt": created_at, "commitOid": "c1",
            "statuses": {"totalCount": len(statuses), "pageInfo": DONE, "nodes": [
                {"id": s, "state": "SUCCESS", "createdAt": created_at} for s in statuses]}}


def _deployment_key(database_id: int, created_at: str, latest: str | None,
                    environment: str = "production") -> dict[str, Any]:
    return {"databaseId": database_id, "createdAt": created_at, "environment": environment,
            "latestStatus": {"id": latest} if latest else None}


def test_deployments_are_read_again_only_when_a_status_was_added() -> None:
    """Deployments within the lookback are listed with their latest status: one whose latest
    status is stored is not read again; a new one, one with a status added since, and one
    stored without statuses that has some now are; an unwanted environment never is."""
    plan = RepoPlan("acme/a", environments=["production", "re:prod-.*"])
    extractor = RepositoryExtractor(
        None, plan, watermarks={s: MARK for s in (  # type: ignore[arg-type]  # never asked
            "commits", "pull_requests", "releases", "tags", "deployments")},
        lower_bound_override=None, lookback=timedelta(days=3),
        run_started_at=STARTED, load=lambda _batch: None, stored_keys={
            "pull_requests": {}, "commits": {},
            "deployments": {"30": "DS_30a", "20": "DS_20a", "10": "DS_10a DS_10b", "5": None}})
    variables = extractor.variables()
    assert variables["withDeploymentKeys"] and not variables["withDeployments"]
    # a "re:" pattern is matched here: GitHub is asked for every environment
    assert variables["environments"] is None

    empty = {"pageInfo": DONE, "nodes": []}
    extractor.page(_repo(pullKeys=empty, historyKeys=empty, deploymentKeys={
        "pageInfo": DONE, "nodes": [
            _deployment_key(50, "2026-11-29T06:30:00Z", "DS_50a", environment="staging"),
            _deployment_key(40, "2026-11-29T06:00:00Z", "DS_40a", environment="prod-eu"),
            _deployment_key(30, "2026-11-29T05:00:00Z", "DS_30a"),
            _deployment_key(20, "2026-11-28T05:00:00Z", "DS_20b"),  # a status added
            _deployment_key(10, "2026-11-27T05:00:00Z", "DS_10b"),  # stored, not latest-only
            _deployment_key(5, "2026-11-26T06:00:00Z", "DS_5a"),  # stored without statuses
            _deployment_key(3, "2026-11-25T05:00:00Z", "DS_3a")]}))  # below the lower bound
    variables = extractor.variables()
    assert not variables["withDeploymentKeys"] and variables["withDeployments"]
    # down to #5, the sixth listed (the staging one counts in the positions, not as pending)
    (walk,) = [w for w in extractor.walks if w.name == "deployments"]
    assert walk.pending == {"40": 2, "20": 4, "5": 6}
    assert variables["deploymentsFirst"] == 6

    batch = extractor.page(_repo(deployments={"pageInfo": {"hasNextPage": True,
                                                            "endCursor": "d1"}, "nodes": [
        _deployment(50, "2026-11-29T06:30:00Z", "DS_50a", environment="staging"),
        _deployment(40, "2026-11-29T06:00:00Z", "DS_40a", environment="prod-eu"),
        _deployment(30, "2026-11-29T05:00:00Z", "DS_30a"),
        _deployment(20, "2026-11-28T05:00:00Z", "DS_20b", "DS_20a"),
        _deployment(10, "2026-11-27T05:00:00Z", "DS_10b", "DS_10a"),
        _deployment(5, "2026-11-26T06:00:00Z", "DS_5a")]}))
    # every pending deployment read (the page's others ride along): the walk closes
    assert [r["deployment_id"] for r in batch.rows[tables.DEPLOYMENTS.name]] == [40, 30, 20,
                                                                                10, 5]
    assert _marks(batch)["deployments"] == "2026-11-29T06:30:00Z"
    assert not extractor.has_pages
