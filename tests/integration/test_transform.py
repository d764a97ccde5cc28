"""`fourkeys transform` / `fourkeys run` through the real CLI, real dbt and real DuckDB files."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from fakes.generator import GeneratedOrg
from fourkeys.config import load_config
from fourkeys.errors import FourKeysError
from fourkeys.publish import finish_publish, published_path, stage_marts
from fourkeys.transform import MARTS, start_parse
from tests.conftest import Served, run_cli, serve_org

AS_OF = "2026-03-01"  # the generated organisation's "now"


@pytest.fixture
def built(small_org: GeneratedOrg, tmp_path: Path) -> Iterator[Served]:
    """The small organisation extracted and transformed by `fourkeys run`."""
    for served in serve_org(small_org, tmp_path):
        result = run_cli("run", "--config", str(served.config_path))
        assert result.returncode == 0, result.stderr
        yield served


# built incrementally below the marts: each must equal its full rebuild too
INCREMENTAL_BUILD_MODELS = ("stg_github__commit_parents",)


def marts_snapshot(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [("main", name) for name in MARTS]
        tables += [("main_build", name) for name in INCREMENTAL_BUILD_MODELS]
        return {name: sorted(con.execute(f'select * from {schema}."{name}"').fetchall(), key=repr)
                for schema, name in tables}
    finally:
        con.close()


def marts_of(published: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(published), read_only=True)
    try:
        return {name: sorted(con.execute(f'select * from main."{name}"').fetchall(), key=repr)
                for name in MARTS}
    finally:
        con.close()


def exploded_parents(path: Path) -> list[tuple[str, str, str]]:
    """raw_github_commits' parents exploded in Python: the independent side of the check."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("select repository, sha, parents from raw_github_commits").fetchall()
    finally:
        con.close()
    return sorted({(repository.lower(), sha.lower(), parent.lower())
                   for repository, sha, parents in rows for parent in json.loads(parents or "[]")})


def built_parents(path: Path) -> list[tuple[str, str, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return sorted(con.execute(
            "select repository, commit_sha, parent_sha from main_build.stg_github__commit_parents"
        ).fetchall())
    finally:
        con.close()


def test_run_extracts_transforms_and_publishes(built: Served) -> None:
    con = duckdb.connect(str(built.warehouse_path), read_only=True)
    try:
        counts = {name: con.execute(f'select count(*) from main."{name}"').fetchone()[0]
                  for name in MARTS}
        runs = con.execute("select command, status from _runs order by started_at").fetchall()
        raw_deployments = con.execute("select count(*) from raw_github_deployments").fetchone()[0]
    finally:
        con.close()
    assert runs == [("extract", "success"), ("transform", "success")]
    assert raw_deployments > 0
    assert counts["fct_deployments"] > 0 and counts["fct_changes"] > counts["fct_deployments"]
    assert counts["dim_services"] == len(built.org.services)
    assert counts["dim_teams"] == len({s.team for s in built.org.services})
    # 3 dora years × (services + teams + the organisation)
    teams = len({s.team for s in built.org.services})
    assert counts["dora_summary"] == 3 * (len(built.org.services) + teams + 1)
    # dbt's JSON artifacts are not written by a daily build (FOURKEYS_DBT_ARTIFACTS=1 asks),
    # and its partial-parse file still is
    target = built.warehouse_path.parent / "dbt" / "target"
    assert (target / "partial_parse.msgpack").is_file()
    assert not (target / "run_results.json").exists()
    assert not (target / "manifest.json").exists()
    # `run` parsed the project on a thread of its own while the extract ran
    log = (built.warehouse_path.parent / "dbt" / "logs" / "dbt.log").read_text()
    assert "[dbt-parse ]: Running with dbt" in log
    assert "[MainThread]: Finished running" in log


def test_a_second_run_builds_on_the_parse_begun_before_its_extract(built: Served) -> None:
    again = run_cli("-v", "run", "--config", str(built.config_path))
    assert again.returncode == 0, again.stderr
    assert "dbt: the build uses the parse begun before the extract" in again.stderr
    assert "parses the project itself" not in again.stderr


def test_a_prepared_parse_serves_only_the_build_it_fits(built: Served) -> None:
    """PreparedParse hands its manifest to a build with the vars and day it parsed, and to no
    other (a renamed service, another --as-of): those builds parse for themselves."""
    saved = dict(os.environ)
    try:
        config = load_config(str(built.config_path))
        prepared = start_parse(config)
        assert prepared is not None
        manifest = prepared.manifest_for(config, None)
        assert manifest is not None and "model.fourkeys.fct_changes" in manifest.nodes
        assert prepared.manifest_for(config, date(2026, 3, 1)) is None
        first = config.services[0]
        renamed = config.model_copy(update={"services": [
            first.model_copy(update={"name": f"{first.name}-2"}), *config.services[1:]]})
        assert prepared.manifest_for(renamed, None) is None
        assert prepared.manifest_for(config, None) is manifest
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_failing_model_keeps_the_published_marts(built: Served) -> None:
    before = marts_snapshot(built.warehouse_path)
    published = published_path(built.warehouse_path)
    published_before = hashlib.sha256(published.read_bytes()).hexdigest()
    con = duckdb.connect(str(built.warehouse_path))
    try:
        # valid JSON, but not the PR numbers staging casts them to: that model fails
        con.execute("""update raw_github_commits set pull_request_numbers = '["not-a-number"]'
                       where sha = (select min(sha) from raw_github_commits)""")
    finally:
        con.close()
    result = run_cli("transform", "--config", str(built.config_path), "--as-of", AS_OF)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    # staging models are views: the error surfaces in the first nodes that read this one, the
    # view's own data tests (which keep every model built on it from running)
    failing = [line for line in lines if "ERROR fourkeys.transform: " in line]
    assert failing and all("ERROR fourkeys.transform: test " in line
                           and "stg_github__commit_pull_requests" in line
                           and "Conversion Error" in line for line in failing), lines
    assert lines[-1].startswith(f"fourkeys: error: transform failed ({len(failing)} failing")
    assert "Traceback" not in result.stderr
    assert marts_snapshot(built.warehouse_path) == before
    assert hashlib.sha256(published.read_bytes()).hexdigest() == published_before
    con = duckdb.connect(str(built.warehouse_path), read_only=True)
    try:
        last = con.execute("select command, status, message from _runs "
                           "order by started_at desc limit 1").fetchone()
    finally:
        con.close()
    assert last[:2] == ("transform", "failed")
    assert last[2].startswith("test ")


def _truncate_raw_at(path: Path, cutoff: str) -> None:
    """Make the raw tables look as they did at `cutoff`: later objects gone, later merges and
    closes not happened yet."""
    statements = [
        "delete from raw_github_commits where committed_at > $1",
        "delete from raw_github_deployment_statuses where created_at > $1",
        "delete from raw_github_deployments where created_at > $1",
        "delete from raw_github_workflow_runs where updated_at > $1",
        "delete from raw_github_releases where created_at > $1",
        "delete from raw_heroku_releases where created_at > $1",
        "delete from raw_github_pull_request_commits where authored_at > $1",
        "delete from raw_github_pull_requests where created_at > $1",
        "update raw_github_pull_requests set merged_at = null, merge_commit_sha = null, "
        "state = 'OPEN', closed_at = null where merged_at > $1",
        "update raw_github_pull_requests set first_review_at = null where first_review_at > $1",
        "update raw_github_pull_requests set first_comment_at = null where first_comment_at > $1",
        "delete from raw_github_issues where created_at > $1",
        "update raw_github_issues set closed_at = null, state = 'OPEN' where closed_at > $1",
    ]
    con = duckdb.connect(str(path))
    try:
        for statement in statements:
            con.execute(statement, [cutoff])
    finally:
        con.close()


def test_incremental_build_equals_a_full_rebuild(small_org: GeneratedOrg,
                                                 tmp_path: Path) -> None:
    """Raw data as of two weeks ago → build; all data → incremental build; must equal a
    --full-refresh build of the same data, row for row, in every mart."""
    for served in serve_org(small_org, tmp_path):
        config = str(served.config_path)
        assert run_cli("extract", "--config", config).returncode == 0
        _truncate_raw_at(served.warehouse_path, "2026-02-15T00:00:00Z")
        first = run_cli("transform", "--config", config, "--as-of", AS_OF)
        assert first.returncode == 0, first.stderr
        partial = marts_snapshot(served.warehouse_path)
        assert run_cli("extract", "--config", config, "--full-refresh").returncode == 0
        incremental = run_cli("transform", "--config", config, "--as-of", AS_OF)
        assert incremental.returncode == 0, incremental.stderr
        assert "rebuilding the marts whole" not in incremental.stderr
        after_incremental = marts_snapshot(served.warehouse_path)
        full = run_cli("transform", "--config", config, "--as-of", AS_OF, "--full-refresh")
        assert full.returncode == 0, full.stderr
        after_full = marts_snapshot(served.warehouse_path)
    assert after_incremental["fct_deployments"] != partial["fct_deployments"]  # data did grow
    assert len(after_incremental["stg_github__commit_parents"]) > len(
        partial["stg_github__commit_parents"])
    for name in (*MARTS, *INCREMENTAL_BUILD_MODELS):
        assert after_incremental[name] == after_full[name], name


def test_commit_parents_follow_the_raw_commits(built: Served) -> None:
    """The incremental explosion of parents (only commits it has not seen) holds exactly the
    raw commits' parents: new commits come in, commits gone from the raw table go."""
    path = built.warehouse_path
    assert built_parents(path) == exploded_parents(path) != []
    con = duckdb.connect(str(path))
    try:
        gone = con.execute("select repository, sha from raw_github_commits "
                           "where json_array_length(parents) = 2 order by sha limit 3").fetchall()
        assert len(gone) == 3  # merge commits: two rows each leave
        for repository, sha in gone:
            con.execute("delete from raw_github_commits where repository = ? and sha = ?",
                        [repository, sha])
        # a commit seen before with its parents changed cannot happen (they are in its sha);
        # a brand-new one with new parents must come in
        con.execute("insert into raw_github_commits (repository, sha, branch, parents, message, "
                    "authored_at, committed_at) select repository, 'f' || substr(sha, 2), branch, "
                    "'[\"' || sha || '\"]', 'a new commit', committed_at + interval 1 minute, "
                    "committed_at + interval 1 minute "
                    "from raw_github_commits order by committed_at desc limit 1")
    finally:
        con.close()
    result = run_cli("transform", "--config", str(built.config_path), "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    after = built_parents(path)
    assert after == exploded_parents(path)
    assert not {(r.lower(), s.lower()) for r, s in gone} & {(r, s) for r, s, _ in after}


def test_transform_on_an_empty_warehouse_publishes_empty_marts(small_org: GeneratedOrg,
                                                               tmp_path: Path) -> None:
    for served in serve_org(small_org, tmp_path):
        result = run_cli("transform", "--config", str(served.config_path), "--as-of", AS_OF)
        assert result.returncode == 0, result.stderr
        snapshot = marts_snapshot(served.warehouse_path)
        con = duckdb.connect(str(served.warehouse_path), read_only=True)
        try:
            bands = con.execute(
                "select deployment_frequency_band, deployment_frequency_band_reason, "
                "time_to_restore_band, time_to_restore_band_reason from main.dora_summary"
            ).fetchall()
        finally:
            con.close()
    assert snapshot["fct_deployments"] == [] and snapshot["fct_changes"] == []
    assert len(snapshot["dim_services"]) == len(small_org.services)
    # every band is NULL, each with its reason
    assert bands and set(bands) == {
        (None, "fewer than 10 deployments in the window (0)",
         None, "fewer than 5 incidents with a restore time in the window (0)")}


def test_a_changed_configuration_rebuilds_the_incremental_marts(built: Served) -> None:
    text = built.config_path.read_text(encoding="utf-8")
    dropped = built.org.services[0].name
    # drop the first service: its rows must leave the incremental marts
    start = text.index("[[services]]")
    end = text.index("[[services]]", start + 1)
    text = text[:start] + text[end:]
    text = "\n".join(
        block for block in text.split("\n\n")
        if not (block.startswith("[[incident_sources]]") and f'"{dropped}"' in block)
    )
    built.config_path.write_text(text, encoding="utf-8")
    result = run_cli("transform", "--config", str(built.config_path), "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr
    assert "rebuilding the marts whole" in result.stderr
    con = duckdb.connect(str(built.warehouse_path), read_only=True)
    try:
        left = con.execute("select count(*) from fct_deployments where service = ?",
                           [dropped]).fetchone()[0]
        changes_left = con.execute("select count(*) from fct_changes where service = ?",
                                   [dropped]).fetchone()[0]
    finally:
        con.close()
    assert left == 0 and changes_left == 0


def test_dbt_unit_tests_pass(built: Served) -> None:
    """The hand-worked `unit_tests` of the formulas (skipped by the daily build: they check
    the SQL, not the data) pass against the real warehouse's column types."""
    from fourkeys.config import load_config
    from fourkeys.transform import dbt_args, run_dbt

    config = load_config(str(built.config_path))
    args = dbt_args("test", config)
    result = run_dbt([*args, "--select", "test_type:unit"], built.warehouse_path.resolve())
    outcomes = {r.node.name: str(r.status).rsplit(".", 1)[-1].lower()
                for r in result.result.results}
    assert result.success, outcomes
    assert outcomes == {name: "pass" for name in (
        "lead_time_breakdown", "weekly_cfr_wilson_interval_and_medians",
        "dora_bands_and_small_samples", "first_deployment_ships_history_and_rollbacks",
        "revert_detection", "request_signal_windows_and_z_test", "path_matches_per_service",
        "mainline_first_parent_chain")}


def test_publishing_stages_the_marts_then_finishes_the_file(built: Served,
                                                           tmp_path: Path) -> None:
    """stage_marts writes only a temporary file; finish_publish adds the bookkeeping and moves
    it into place; a folder DuckDB cannot write to is one FourKeysError and leaves nothing."""
    folder = tmp_path / "copy"
    folder.mkdir()
    target = folder / "copy.published.duckdb"
    staged = stage_marts(built.warehouse_path, target)
    assert staged.exists() and not target.exists() and staged.parent == folder
    assert finish_publish(built.warehouse_path, staged, target) == target
    assert not staged.exists()
    assert marts_of(target) == marts_of(published_path(built.warehouse_path))
    con = duckdb.connect(str(target), read_only=True)
    try:
        runs = con.execute("select count(*) from _runs").fetchone()[0]
    finally:
        con.close()
    assert runs == 2  # the extract and the transform of `built`
    missing = folder / "no-such-folder" / "x.published.duckdb"
    with pytest.raises(FourKeysError, match="cannot write the published marts") as error:
        stage_marts(built.warehouse_path, missing)
    assert "\n" not in str(error.value)
    assert sorted(p.name for p in folder.iterdir()) == ["copy.published.duckdb"]
