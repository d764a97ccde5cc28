"""A refresh reads what changed, with the first pages of many repositories in one query, and
lands exactly where a fresh backfill of the same organisation lands.

A generated organisation (fakes.scale, 24 repositories) is extracted; `fakes.scale.advance`
then appends 5% new pull requests, commits and deployments after its `now`. The refresh of the
first warehouse must equal, table for table (watermarks included), a backfill of the advanced
organisation into an empty one; its GraphQL queries are the shared first pages plus only the
pages a busy repository needs beyond them, never one query per repository.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import httpx

from extractors.github import queries
from fakes.scale import advance, generate_at_scale
from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from tests.conftest import query_rows, run_cli, table_snapshot

REPOS = 24
PINNED = {"FOURKEYS_HISTORY_API": "graphql"}  # request counts compared: see test_extract_faults


def _serve_and_extract(scenario: dict, config_text: str, directory: Path,
                       port: int | None = None) -> tuple[dict, int]:
    """Serve `scenario`, run `fourkeys extract` on the config in `directory`; the fake's stats."""
    app = create_app(load_scenario(scenario))
    with serve_in_thread(app, port=port or 0) as server:
        config = directory / "fourkeys.toml"
        config.write_text(config_text.replace("BASE_URL", server.base_url), encoding="utf-8")
        done = run_cli("extract", "--config", str(config), env=PINNED)
        assert done.returncode == 0, done.stderr[-3000:]
        return httpx.get(f"{server.base_url}/_fake/stats").json(), server.port


def test_a_refresh_equals_a_backfill_and_shares_first_pages(tmp_path: Path) -> None:
    org = generate_at_scale(repos=REPOS, prs=1_200, commits=6_000, deployments=240, seed=5)
    before = copy.deepcopy(org.scenario)
    added = advance(org, 0.05)
    assert added["prs"] > 0 and added["deployments"] > 0

    def config_text(directory: Path) -> str:
        return org.config_toml(github_api_url="BASE_URL", heroku_api_url="BASE_URL/heroku",
                               warehouse_path=str(directory / "fourkeys.duckdb"))

    refreshed, fresh = tmp_path / "refreshed", tmp_path / "fresh"
    refreshed.mkdir()
    fresh.mkdir()
    backfill_stats, port = _serve_and_extract(before, config_text(refreshed), refreshed)
    stored_before = {t: len(rows)
                     for t, rows in table_snapshot(refreshed / "fourkeys.duckdb").items()}
    # the refresh: same warehouse, the advanced organisation on the same address
    refresh_stats, _ = _serve_and_extract(org.scenario, config_text(refreshed), refreshed,
                                          port=port)
    _serve_and_extract(org.scenario, config_text(fresh), fresh, port=port)

    got, want = table_snapshot(refreshed / "fourkeys.duckdb"), table_snapshot(
        fresh / "fourkeys.duckdb")
    # Heroku's `current` flag moved to a new release; releases are read once by version, so the
    # refreshed warehouse keeps the old flag (documented on the column; no model reads it)
    flag = 8  # raw_heroku_releases columns: app, release_id, version, …, is_current (9th)
    got_releases, want_releases = got.pop("raw_heroku_releases"), want.pop("raw_heroku_releases")
    assert [r[:flag] + r[flag + 1:] for r in got_releases] == [
        r[:flag] + r[flag + 1:] for r in want_releases]
    stale = sum(a[flag] != b[flag] for a, b in zip(got_releases, want_releases, strict=True))
    assert stale <= len(org.scenario["heroku_apps"])
    assert got == want

    # pull requests, history and deployments are listed by key first: the refresh read full
    # rows of the new ones only (advance only appends), not the rows of its lookbacks again
    (counts,) = query_rows(refreshed / "fourkeys.duckdb",
                           "select counts from _runs where command = 'extract' "
                           "order by started_at desc limit 1")[0]
    loaded = json.loads(counts)
    for table in ("raw_github_pull_requests", "raw_github_commits", "raw_github_deployments",
                  "raw_github_deployment_statuses"):
        assert loaded[table] == len(got[table]) - stored_before[table] > 0, (table, loaded)
    assert loaded["raw_github_pull_requests"] == added["prs"]

    batches = math.ceil(REPOS / queries.SNAPSHOT_BATCH)
    # every repository's first page rode in a shared query; beyond those, only follow-up pages
    # of the busiest repositories: far fewer queries than repositories, and a fraction of the
    # backfill's points (5% new activity; the lookbacks re-read a few days more)
    assert batches <= refresh_stats["requests"]["graphql"] < REPOS / 2, refresh_stats
    assert refresh_stats["graphql_points"] < backfill_stats["graphql_points"] / 4


def test_an_unchanged_organisation_costs_one_query_per_batch(tmp_path: Path) -> None:
    org = generate_at_scale(repos=REPOS, prs=600, commits=3_000, deployments=120, seed=9)
    directory = tmp_path / "wh"
    directory.mkdir()
    text = org.config_toml(github_api_url="BASE_URL", heroku_api_url="BASE_URL/heroku",
                           warehouse_path=str(directory / "fourkeys.duckdb"))
    _, port = _serve_and_extract(org.scenario, text, directory)
    first = table_snapshot(directory / "fourkeys.duckdb")
    again, _ = _serve_and_extract(org.scenario, text, directory, port=port)
    assert table_snapshot(directory / "fourkeys.duckdb") == first
    # nothing new: each batch's first pages end every stream (each is sized to hold the rows
    # its lookback reads again, counted in the warehouse), so one query per batch
    assert again["requests"]["graphql"] == math.ceil(REPOS / queries.SNAPSHOT_BATCH)
