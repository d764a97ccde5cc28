"""[[organizations]] discovery end to end: a hand-built organisation (tests/org_scenario.py)
served by the real fake GitHub over HTTP, `fourkeys extract` and `fourkeys transform` run as the
real CLI, and the discovered repositories, their services and teams checked against the table
worked out by hand in tests/org_scenario.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from extractors.github.client import GitHubClient
from extractors.github.organizations import list_repositories
from extractors.http import RequestStats
from extractors.retry import DEFAULT_POLICY
from extractors.services import with_discovered_services
from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from fourkeys.config import OrganizationConfig, load_config
from fourkeys.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import TOKEN, run_cli
from tests.conftest import query_rows as q
from tests.org_scenario import EXPECTED_SERVICES, build_scenario, write_config


@dataclass(frozen=True)
class Run:
    config: Path
    warehouse: Path
    extract: Any  # CompletedProcess
    stats: dict[str, Any]  # the fake's request counts after the extract


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    directory = tmp_path_factory.mktemp("org")
    with serve_in_thread(create_app(load_scenario(build_scenario()))) as server:
        config = write_config(directory, server.base_url)
        result = run_cli("extract", "--config", str(config))
        stats = httpx.get(f"{server.base_url}/_fake/stats").json()
        yield Run(config, directory / "fourkeys.duckdb", result, stats)


@pytest.fixture(scope="module")
def transformed(extracted: Run) -> Run:
    assert extracted.extract.returncode == 0, extracted.extract.stderr
    done = run_cli("transform", "--config", str(extracted.config))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return extracted


def test_extract_lists_the_organisation_and_reads_exactly_the_selected_repositories(
        extracted: Run) -> None:
    assert extracted.extract.returncode == 0, extracted.extract.stderr
    wh = extracted.warehouse
    # the whole organisation is listed (not globex/other), with GitHub's flags and the first
    # CODEOWNERS file in GitHub's lookup order
    assert q(wh, "select repository, is_archived, is_fork, codeowners_path "
                 "from raw_github_org_repositories order by 1") == [
        ("acme/api", False, False, None),
        ("acme/billing", False, False, ".github/CODEOWNERS"),
        ("acme/checkout", False, False, ".github/CODEOWNERS"),
        ("acme/checkout-fork", False, True, None),
        ("acme/infra", False, False, ".github/CODEOWNERS"),
        ("acme/ledger", False, False, None),
        ("acme/legacy-api", True, False, None),
        ("acme/orders", False, False, "CODEOWNERS"),
        ("acme/sandbox-tools", False, False, None),
        ("acme/search", False, False, "CODEOWNERS"),
        ("acme/tools", False, False, ".github/CODEOWNERS"),
        ("acme/web", False, False, "docs/CODEOWNERS"),
        ("acme/website", False, False, None),
    ]
    # extracted: the two explicit services' repositories and the eight discovered ones only
    want = sorted(repo for _, repo in EXPECTED_SERVICES.values())
    assert [r[0] for r in q(wh, "select repository from raw_github_repositories order by 1")] \
        == want
    assert [r[0] for r in q(wh, "select distinct repository from raw_github_deployments "
                                "order by 1")] == want


def test_discovery_costs_one_graphql_request(extracted: Run) -> None:
    """13 repositories: one discovery page, then one snapshot page per extracted repository;
    REST only for branch histories (one list page each at most, when sent there)."""
    assert extracted.stats["requests"]["graphql"] == 1 + len(EXPECTED_SERVICES)
    histories = extracted.stats["routes"].get("GET /repos/{owner}/{repo}/commits", 0)
    assert extracted.stats["requests"]["rest"] == histories <= len(EXPECTED_SERVICES)


def test_warnings_name_the_fallbacks_and_the_renamed_service(extracted: Run) -> None:
    err = extracted.extract.stderr
    assert "1 repository has no owning team and go to team 'platform': acme/tools" in err
    assert "the service name 'web' is taken; named it 'acme/web'" in err
    assert "8 of 13 repositories are services" in err


def test_dim_services_has_each_service_with_its_team(transformed: Run) -> None:
    published = transformed.warehouse.with_name("fourkeys.published.duckdb")
    got = {name: (team, repo, count) for name, team, repo, count in q(
        published, "select service, team, repository, deployment_count from dim_services")}
    assert got == {name: (team, repo, 1) for name, (team, repo) in EXPECTED_SERVICES.items()}
    assert dict(q(published, "select team, service_count from dim_teams")) == {
        "core": 1, "web": 1, "finance": 2, "payments": 1, "sre": 1, "fulfilment": 1,
        "discovery": 1, "platform": 1, "frontend": 1}
    # the deployments carry the discovered service and team through to the facts
    assert dict(q(published, "select service, team from fct_deployments")) == {
        name: team for name, (team, _) in EXPECTED_SERVICES.items()}


def test_a_new_listing_replaces_the_last_one(extracted: Run, tmp_path: Path) -> None:
    """A repository deleted on GitHub leaves the table and the services; one unarchived joins;
    a CODEOWNERS change moves a repository to another team."""
    assert extracted.extract.returncode == 0, extracted.extract.stderr
    shutil.copy(extracted.warehouse, tmp_path / "fourkeys.duckdb")
    with serve_in_thread(create_app(load_scenario(_new_listing()))) as server:
        config = write_config(tmp_path, server.base_url)
        done = run_cli("extract", "--config", str(config))
        assert done.returncode == 0, done.stderr
    wh = tmp_path / "fourkeys.duckdb"
    listed = [r[0] for r in q(wh, "select repository from raw_github_org_repositories")]
    assert "acme/tools" not in listed and len(listed) == 12
    warehouse = DuckDBWarehouse(wh)
    try:
        services = with_discovered_services(load_config(str(config)), warehouse).services
    finally:
        warehouse.close()
    teams = {s.name: s.team for s in services}
    assert "tools" not in teams and teams["legacy-api"] == "platform"
    assert teams["search"] == "search-team"
    assert len(teams) == len(EXPECTED_SERVICES)


def _new_listing() -> dict[str, Any]:
    """The organisation listed again: acme/tools deleted, acme/legacy-api unarchived, and
    acme/search moved to another team by its CODEOWNERS."""
    scenario = build_scenario()
    scenario["repositories"] = [r for r in scenario["repositories"]
                                if r["full_name"] != "acme/tools"]
    for repo in scenario["repositories"]:
        if repo["full_name"] == "acme/legacy-api":
            repo["archived"] = False
        if repo["full_name"] == "acme/search":
            repo["files"] = {"CODEOWNERS": "* @acme/search-team\n"}
    return scenario


def test_a_run_builds_the_services_its_own_extract_discovered(transformed: Run,
                                                              tmp_path: Path) -> None:
    """`run` parses dbt before its extract with the services the last extract discovered; when
    this extract discovers others, the build parses again and the marts have the new ones."""
    shutil.copy(transformed.warehouse, tmp_path / "fourkeys.duckdb")
    with serve_in_thread(create_app(load_scenario(_new_listing()))) as server:
        config = write_config(tmp_path, server.base_url)
        done = run_cli("-v", "run", "--config", str(config))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "dbt: the build parses the project itself" in done.stderr
    published = tmp_path / "fourkeys.published.duckdb"
    teams = dict(q(published, "select service, team from dim_services"))
    assert "tools" not in teams and teams["legacy-api"] == "platform"
    assert teams["search"] == "search-team"
    assert len(teams) == len(EXPECTED_SERVICES)


def test_discovery_costs_one_request_per_hundred_repositories() -> None:
    """250 repositories → 3 pages of 100, 1 point each, every repository listed once."""
    scenario = {"format": 1, "now": "2026-02-02T00:00:00Z", "repositories": [
        {"full_name": f"big/repo-{n:03d}", "created_at": "2025-01-01T00:00:00Z",
         "archived": n % 10 == 0} for n in range(250)]}
    with serve_in_thread(create_app(load_scenario(scenario))) as server:
        stats = RequestStats()
        client = GitHubClient(api_url=server.base_url, graphql_url=f"{server.base_url}/graphql",
                              token=TOKEN, policy=DEFAULT_POLICY, stats=stats,
                              max_rate_limit_wait=0)
        try:
            rows = list_repositories(client, OrganizationConfig(
                name="big", deployment_source="merged_pull_requests"))
        finally:
            client.close()
        fake = httpx.get(f"{server.base_url}/_fake/stats").json()
    assert [r["repository"] for r in rows] == [f"big/repo-{n:03d}" for n in range(250)]
    assert sum(r["is_archived"] for r in rows) == 25
    assert fake["requests"]["graphql"] == stats.requests["graphql"] == 3
    assert fake["graphql_points"] == stats.graphql_points == 3
