"""A branch history read by REST or by GraphQL lands as the same rows and the same watermarks.

The extractor sends each repository's backfilled history to the budget the run has spent less of
(extractors/github/history.py); an incremental run keeps it in the snapshot query. Whatever the
route, the warehouse must be identical — row for row, watermarks included — and both routes
must hold the scenario's branch history with its parents.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from extractors.github.history import HistoryRoute
from extractors.http import RequestStats
from extractors.run import extract
from fakes.generator import GeneratedOrg
from fourkeys.cli import main
from fourkeys.config import load_config
from fourkeys.warehouse.connect import open_warehouse
from tests.conftest import Served, serve_org, table_snapshot

HISTORY_LIST = "GET /repos/{owner}/{repo}/commits"


@pytest.fixture
def served_twice(small_org: GeneratedOrg, tmp_path: Path) -> Iterator[tuple[Served, Path]]:
    """One fake, two warehouses (two config files differing only in the warehouse path)."""
    for served in serve_org(small_org, tmp_path / "a"):
        other = tmp_path / "b"
        other.mkdir()
        text = served.config_path.read_text(encoding="utf-8")
        config_b = other / "fourkeys.toml"
        config_b.write_text(text.replace(str(served.warehouse_path),
                                         str(other / "fourkeys.duckdb")), encoding="utf-8")
        yield served, config_b


def _extract(config_path: Path, history_api: str | None) -> dict[str, int]:
    config = load_config(str(config_path))
    warehouse = open_warehouse(config)
    try:
        summary = extract(config, warehouse, history_api=history_api)
    finally:
        warehouse.close()
    return dict(summary.stats.requests)


def _routes(served: Served) -> dict[str, int]:
    stats = served.stats()
    httpx.post(f"{served.server.base_url}/_fake/stats/reset")
    return stats["routes"]


def test_rest_and_graphql_histories_are_the_same_rows(served_twice: tuple[Served, Path]) -> None:
    served, config_b = served_twice
    _routes(served)
    by_rest = _extract(served.config_path, "rest")
    rest_routes = _routes(served)
    by_graphql = _extract(config_b, "graphql")
    graphql_routes = _routes(served)

    repositories = len(served.scenario.repositories)
    # REST read every history (at least one list request per repository); GraphQL read none
    assert rest_routes.get(HISTORY_LIST, 0) >= repositories
    assert graphql_routes.get(HISTORY_LIST, 0) == 0
    assert by_rest["rest"] > by_graphql.get("rest", 0)

    a = table_snapshot(served.warehouse_path)
    b = table_snapshot(config_b.parent / "fourkeys.duckdb")
    # (an app's bot is `name[bot]` in REST and `name` in GraphQL: rows keep GraphQL's spelling)
    assert any(row[5] == "dependabot" for row in a["raw_github_commits"])
    assert a == b
    # and what both hold is the scenario's branch history, parents included
    for repo in served.scenario.repositories:
        history = repo.branch_history(repo.default_branch)
        want = {c.sha: sorted(c.parents) for c in history}
        got = {row[1]: sorted(eval(row[3])) for row in a["raw_github_commits"]
               if row[0] == repo.full_name}
        assert got == want


def test_an_incremental_run_keeps_history_in_the_snapshot_query(served: Served) -> None:
    _routes(served)
    _extract(served.config_path, "rest")
    first = table_snapshot(served.warehouse_path)
    assert _routes(served).get(HISTORY_LIST, 0) > 0
    # the watermark exists now: even pinned to REST, the refresh asks no REST history
    _extract(served.config_path, "rest")
    assert _routes(served).get(HISTORY_LIST, 0) == 0
    assert table_snapshot(served.warehouse_path) == first


def test_the_default_route_reads_every_history(served: Served) -> None:
    """Unpinned, each repository's history goes where less was spent: whichever that was, the
    warehouse holds every branch commit once."""
    assert main(["extract", "--config", str(served.config_path)]) == 0
    commits = table_snapshot(served.warehouse_path)["raw_github_commits"]
    assert len(commits) == len({(row[0], row[1]) for row in commits})
    assert len(commits) == sum(len(r.branch_history(r.default_branch))
                               for r in served.scenario.repositories)


def test_history_goes_to_the_budget_spent_less() -> None:
    stats = RequestStats()
    route = HistoryRoute(stats)
    assert route.choose() == "rest"  # nothing spent: REST first (parents come free there)
    stats.add_points(3)
    assert route.choose() == "rest"
    for _ in range(4):
        stats.count("rest", 200)
    assert route.choose() == "graphql"  # 4 REST requests against 3 points
    stats.add_points(1)
    assert route.choose() == "rest"  # a tie goes to REST
    assert HistoryRoute(stats, forced="graphql").choose() == "graphql"
