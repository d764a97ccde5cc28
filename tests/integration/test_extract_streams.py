"""Every stream over real HTTP into a real DuckDB file, checked against the scenario's facts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from extractors.github import queries
from fourkeys.cli import main
from tests.conftest import Served, serve_org


def _q(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def test_every_stream_matches_the_scenario(served: Served) -> None:
    assert main(["extract", "--config", str(served.config_path)]) == 0
    wh = served.warehouse_path
    services = served.org.services
    for repo in served.scenario.repositories:
        name = repo.full_name
        # pull requests: every one, with its commits and first non-author review
        got = dict(_q(wh, "select number, merge_commit_sha from raw_github_pull_requests "
                           "where repository = ?", [name]))
        assert got == {p.number: p.merge_commit_sha for p in repo.pull_requests}
        for pr in repo.pull_requests[:25]:
            shas = [r[0] for r in _q(wh, "select sha from raw_github_pull_request_commits where "
                                         "repository = ? and pull_request_number = ? "
                                         "order by position", [name, pr.number])]
            assert shas == pr.commits
            others = [r.submitted_at for r in pr.reviews if r.author != pr.author]
            (first_review,) = _q(wh, "select first_review_at from raw_github_pull_requests "
                                     "where repository = ? and number = ?", [name, pr.number])[0]
            assert _iso(first_review) == _iso(min(others) if others else None)
        # commits on the deploy branch: exactly the branch's history, with their parents; no
        # associated PRs outside monorepos (dbt links rebased copies itself: int_changes)
        history = repo.branch_history(repo.default_branch)
        got_commits = {sha: (eval(parents), eval(numbers)) for sha, parents, numbers in _q(
            wh, "select sha, parents::varchar, pull_request_numbers::varchar from "
                "raw_github_commits where repository = ?", [name])}
        assert set(got_commits) == {c.sha for c in history}
        for commit in history:
            assert got_commits[commit.sha] == (commit.parents, [])
        # releases and tags
        assert {r[0] for r in _q(wh, "select release_id from raw_github_releases where "
                                     "repository = ?", [name])} == {r.id for r in repo.releases}
        # deployments only in the configured environment, with every status
        envs = {s.environment for s in services if s.repository == name
                and s.deployment_source == "github_deployments"}
        want = {d.id for d in repo.deployments if d.environment in envs}
        assert {r[0] for r in _q(wh, "select deployment_id from raw_github_deployments where "
                                     "repository = ?", [name])} == want
        n_status = sum(len(d.statuses) for d in repo.deployments if d.id in want)
        assert _q(wh, "select count(*) from raw_github_deployment_statuses where repository = ?",
                  [name])[0][0] == n_status
        # incident issues (label filter)
        want_issues = {i.number for i in repo.issues if "incident" in i.labels}
        assert {r[0] for r in _q(wh, "select number from raw_github_issues where repository = ?",
                                 [name])} == want_issues
        # workflow runs of the configured workflow on the branch
        workflows = {s.workflow for s in services if s.repository == name
                     and s.deployment_source == "workflow_runs"}
        want_runs = {r.id for r in repo.workflow_runs
                     if r.workflow_path.rsplit("/", 1)[-1] in workflows
                     and r.head_branch == repo.default_branch}
        assert {r[0] for r in _q(wh, "select run_id from raw_github_workflow_runs where "
                                     "repository = ?", [name])} == want_runs
    # heroku releases, every version; the commit from `Deploy <sha8>` or, failing that, the slug
    for app in served.scenario.heroku_apps:
        got = {r[0]: r[1] for r in _q(wh, "select version, commit_sha from raw_heroku_releases "
                                          "where app = ?", [app.name])}
        assert set(got) == {r.version for r in app.releases}
        for release in app.releases:
            if release.commit and release.status == "succeeded":
                described = release.description.startswith("Deploy ")
                expected = release.description.split()[1] if described else release.commit
                assert got[release.version] == expected
                assert release.commit.startswith(expected)


def test_final_watermarks_are_the_newest_rows(served: Served) -> None:
    assert main(["extract", "--config", str(served.config_path)]) == 0
    marks = {(p, s): v for p, s, v in _q(served.warehouse_path,
             "select partition, stream, value from _watermarks")}
    for repo in served.scenario.repositories:
        name = repo.full_name
        assert marks[(name, "pull_requests")] == _iso(max(p.updated_at
                                                          for p in repo.pull_requests))
        history = repo.branch_history(repo.default_branch)
        assert marks[(name, "commits")] == _iso(max(c.committed_at for c in history))
        if repo.releases:
            assert marks[(name, "releases")] == _iso(max(r.created_at for r in repo.releases))
    for app in served.scenario.heroku_apps:
        final = [r.version for r in app.releases if r.status in ("succeeded", "failed")]
        assert marks[(app.name, "releases")] == str(max(final))


def test_incremental_run_with_nothing_new_is_cheap(served: Served) -> None:
    config = str(served.config_path)
    assert main(["extract", "--config", config]) == 0
    assert main(["extract", "--config", config]) == 0  # settles the workflow-run ETags
    before = served.stats()["requests"]
    assert main(["extract", "--config", config]) == 0
    after = served.stats()["requests"]
    repos = len(served.scenario.repositories)
    github_calls = (after["graphql"] - before["graphql"]) + (after["rest"] - before["rest"])
    assert github_calls <= 2 * repos
    assert served.stats()["not_modified"] >= 1


def test_ghes_paths(small_org, tmp_path: Path) -> None:
    for served in serve_org(small_org, tmp_path, ghes=True):
        assert main(["extract", "--config", str(served.config_path)]) == 0
        routes = served.stats()["routes"]
        assert any("graphql" in k for k in routes)
        n = _q(served.warehouse_path, "select count(*) from raw_github_pull_requests")[0][0]
        assert n == sum(len(r.pull_requests) for r in served.scenario.repositories)


def test_since_and_full_refresh(served: Served) -> None:
    config = str(served.config_path)
    assert main(["extract", "--config", config, "--since", "2026-02-15"]) == 0
    cutoff = datetime(2026, 2, 15, tzinfo=UTC)
    wh = served.warehouse_path
    for repo in served.scenario.repositories:
        got = {r[0] for r in _q(wh, "select number from raw_github_pull_requests where "
                                     "repository = ?", [repo.full_name])}
        recent = {p.number for p in repo.pull_requests if p.updated_at >= cutoff}
        assert recent <= got  # everything in the window, and at most a page's rest outside
        assert len(got - recent) < queries.PULLS_PAGE
    assert main(["extract", "--config", config, "--full-refresh"]) == 0
    total = _q(wh, "select count(*) from raw_github_pull_requests")[0][0]
    assert total == sum(len(r.pull_requests) for r in served.scenario.repositories)


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday"])
def test_since_rejects_bad_dates(served: Served, bad: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["extract", "--config", str(served.config_path), "--since", bad])
    assert exc.value.code == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
