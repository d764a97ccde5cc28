"""`fourkeys sql` on the published marts through the real CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from fakes.generator import GeneratedOrg
from fourkeys.publish import MARTS, published_path
from tests.conftest import Served, run_cli, serve_org


@pytest.fixture(scope="module")
def published(small_org: GeneratedOrg, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Served, Path]]:
    directory = tmp_path_factory.mktemp("sql")
    for served in serve_org(small_org, directory):
        result = run_cli("run", "--config", str(served.config_path))
        assert result.returncode == 0, result.stderr
        yield served, published_path(served.warehouse_path)


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_published_file_holds_the_marts_of_the_warehouse(
        published: tuple[Served, Path]) -> None:
    served, path = published
    for name in MARTS:
        assert sorted(query(path, f"select * from {name}"), key=repr) == sorted(
            query(served.warehouse_path, f"select * from main.{name}"), key=repr), name
    runs = query(path, "select command, status from _runs order by started_at")
    assert runs == [("extract", "success"), ("transform", "success")]
    raw = dict(query(path, "select table_name, row_count from _raw_tables"))
    assert raw["raw_github_commits"] == query(
        served.warehouse_path, "select count(*) from raw_github_commits")[0][0] > 0


def test_json_is_one_array_with_utc_timestamps(published: tuple[Served, Path]) -> None:
    served, path = published
    result = run_cli("sql", "--config", str(served.config_path), "--format", "json",
                     "select deployment_id, deployed_at, failure_causes, change_count "
                     "from fct_deployments order by deployed_at, deployment_id")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    expected = query(path, "select deployment_id, strftime(deployed_at, '%Y-%m-%dT%H:%M:%SZ'), "
                           "failure_causes, change_count from fct_deployments "
                           "order by deployed_at, deployment_id")
    assert [(r["deployment_id"], r["deployed_at"], r["failure_causes"], r["change_count"])
            for r in rows] == [tuple(e) for e in expected]
    assert any(r["failure_causes"] for r in rows)  # lists come out as arrays


def test_csv_and_table_formats(published: tuple[Served, Path]) -> None:
    served, path = published
    sql = ("select team, sum(deployments) as deployments from metrics_weekly "
           "where grain = 'team' group by team order by team")
    expected = query(path, sql)
    as_csv = run_cli("sql", "--config", str(served.config_path), "--format", "csv", sql)
    assert as_csv.returncode == 0, as_csv.stderr
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [
        ["team", "deployments"], *[[t, str(n)] for t, n in expected]]
    as_table = run_cli("sql", "--config", str(served.config_path), sql)
    assert as_table.returncode == 0, as_table.stderr
    lines = as_table.stdout.splitlines()
    assert lines[0].split() == ["team", "deployments"]
    assert [line.split() for line in lines[2:-1]] == [[t, str(n)] for t, n in expected]
    assert lines[-1] == f"({len(expected)} rows)"


@pytest.mark.parametrize("sql, fragment", [
    ("select nope from fct_deployments", "Binder Error"),
    ("delete from fct_deployments", "read-only"),
    ("select * from", "Parser Error"),
])
def test_a_bad_or_writing_query_is_one_line_and_changes_nothing(
        published: tuple[Served, Path], sql: str, fragment: str) -> None:
    served, path = published
    before = query(path, "select count(*) from fct_deployments")
    result = run_cli("sql", "--config", str(served.config_path), sql)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fourkeys: error: the query failed: ")
    assert fragment in lines[0]
    assert query(path, "select count(*) from fct_deployments") == before


def test_no_published_marts_yet_says_what_to_do(small_org: GeneratedOrg,
                                                tmp_path: Path) -> None:
    for served in serve_org(small_org, tmp_path):
        result = run_cli("sql", "--config", str(served.config_path), "select 1")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"fourkeys: error: {published_path(served.warehouse_path)}: no published marts yet; "
        "run `fourkeys run` (or `fourkeys transform`) with this config first"]
