"""The BigQuery path end to end with the real google-cloud-bigquery client and dbt-bigquery,
against the local emulator (tests/bigquery_emulator.py; bqemulator on 127.0.0.1).

What the emulator shows and what it cannot is in docs/bigquery.md; the tests below pin it:
raw loads (types, idempotence, watermarks in BigQuery, replaced children, a failed batch
applying nothing), a real `fourkeys extract` matching the DuckDB path row for row, publishing
marts all-or-nothing, and a real `fourkeys transform` (dbt build) whose outcome is compared
with the DuckDB marts; then, on those published marts, `fourkeys sql` and the dashboard's data
functions (through the local snapshot, app/bigquery_snapshot.py) against the DuckDB path's.
"""

from __future__ import annotations

import json
import math
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import bigquery_snapshot, data
from extractors.tables import (
    ALL_TABLES,
    COMMITS,
    DEPLOYMENT_STATUSES,
    DEPLOYMENTS,
    PULL_REQUEST_COMMITS,
    PULL_REQUESTS,
)
from fakes.generator import OrgSpec, generate
from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from fourkeys import transform
from fourkeys.cli import main
from fourkeys.commands import DASHBOARD_SOURCE_ENV, dashboard_env
from fourkeys.config import load_config
from fourkeys.errors import FourKeysError
from fourkeys.publish import MARTS, published_path
from fourkeys.publish_bigquery import marts_dataset, publish_marts
from fourkeys.warehouse.base import LoadBatch, Table, Watermark
from fourkeys.warehouse.bigquery import ENV_API_ENDPOINT, BigQueryWarehouse
from incidents.tables import INCIDENT_TABLES
from tests.bigquery_emulator import Emulator, running_emulator
from tests.conftest import ROOT, write_config

RAW_TABLES = (*ALL_TABLES, *INCIDENT_TABLES)
# every deployment source and incidents, one month: the emulator is slower than DuckDB per batch
SPEC = OrgSpec(teams=2, services_per_team=3, months=1, prs_per_service_per_week=4.0, seed=11)
EXPECTED_TYPES = {"VARCHAR": "STRING", "JSON": "STRING", "TIMESTAMPTZ": "TIMESTAMP",
                  "BIGINT": "INT64", "BOOLEAN": "BOOL"}
# tables.get may answer with the legacy names (BigQuery does; the emulator echoes what it got)
LEGACY_TYPES = {"INTEGER": "INT64", "BOOLEAN": "BOOL", "FLOAT": "FLOAT64"}

# Where dbt-bigquery meets the emulator's limits, this project's SQL is valid BigQuery that the
# emulator mistranslates. The test build replaces exactly these macro bodies with equivalents it
# handles (the originals must still be there, so a changed macro is looked at again):
# the emulator runs the BigQuery shape of macros/mainline.sql on DuckDB 1.5, whose filter
# pushdown optimises the input of a window with partitions twice, so 2^levels times down the
# nested levels (24 levels: no plan in 10 minutes); a window without partitions in the same
# operator makes it once. Real BigQuery never sees this column.
MAINLINE_SHIM = (
    "            over (partition by lookups.lookup_number) as shortest_distance\n"
    "    from {{ name }}_{{ level }}_lookups as lookups",
    "            over (partition by lookups.lookup_number) as shortest_distance,\n"
    "        count(*) over () as emulator_optimises_once\n"
    "    from {{ name }}_{{ level }}_lookups as lookups",
)
EMULATOR_SHIMS = {
    # bqemulator's sqlglot cannot parse IGNORE NULLS inside array_agg(distinct … order by …)
    # ("Required keyword: 'this' missing for Not"); without it BigQuery would refuse a NULL
    # element, so the shim is exact as long as no NULL cause exists — the mart comparison with
    # DuckDB below checks the result
    "{% macro bigquery__sorted_set(column) %}array_agg(distinct {{ column }} ignore nulls "
    "order by {{ column }}){% endmacro %}":
        "{% macro bigquery__sorted_set(column) %}array_agg(distinct {{ column }} "
        "order by {{ column }}){% endmacro %}",
    # bqemulator truncates date(x) to WEEK(MONDAY) on the Sunday before
    # (bqemulator/sql/rules/iso_date_parts.py DateTruncWeekRule ignores the MONDAY argument)
    # and cannot run timestamp_trunc(x, WEEK(MONDAY)) at all; date_trunc on the UTC timestamp
    # itself is the same Monday on BigQuery
    "{% macro bigquery__week_start(column) %}date_trunc(date({{ column }}), week(monday))"
    "{% endmacro %}":
        "{% macro bigquery__week_start(column) %}date(date_trunc({{ column }}, "
        "week(monday))){% endmacro %}",
}
@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(tmp_path_factory.mktemp("bqemulator")) as running:
        yield running


@pytest.fixture
def bigquery(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[BigQueryWarehouse]:
    """A warehouse on a fresh dataset of the emulator."""
    monkeypatch.setenv(ENV_API_ENDPOINT, emulator.endpoint)
    warehouse = BigQueryWarehouse(emulator.project, f"t_{uuid.uuid4().hex[:10]}", "US")
    try:
        yield warehouse
    finally:
        warehouse.close()


def rows_of(warehouse: BigQueryWarehouse, table: str, *, skip: tuple[str, ...] = ()) -> list[tuple]:
    """Every row, sorted, without the bookkeeping times that differ per run by design."""
    rows = warehouse.query(f"select * from {warehouse.ref(table)}")
    drop = {"_extracted_at", *skip}
    return sorted((tuple((k, v) for k, v in r.items() if k not in drop) for r in rows), key=repr)


def pr_row(number: int, title: str, **extra: Any) -> dict[str, Any]:
    return {"repository": "acme/checkout", "number": number, "title": title,
            "labels": ["bug", "p1"], "created_at": "2026-02-01T10:00:00Z", "is_draft": False,
            "commit_count": 2, **extra}


# --- the warehouse interface ------------------------------------------------------------------


def test_ensure_tables_creates_every_raw_table_with_bigquery_types(
        bigquery: BigQueryWarehouse) -> None:
    bigquery.ensure_tables(RAW_TABLES)
    dataset = f"{bigquery.project}.{bigquery.dataset}"
    assert {t.table_id for t in bigquery.client.list_tables(dataset)} == {
        *(t.name for t in RAW_TABLES), "_watermarks", "_runs"}
    for table in RAW_TABLES:
        schema = {f.name: (LEGACY_TYPES.get(f.field_type, f.field_type), f.mode) for f in
                  bigquery.client.get_table(f"{dataset}.{table.name}").schema}
        assert schema == {
            name: (EXPECTED_TYPES[kind], "REQUIRED" if name in table.primary_key else "NULLABLE")
            for name, kind in table.all_columns().items()}, table.name

    # additive schema evolution: a new column is added, nothing else changes
    wider = Table(PULL_REQUESTS.name, PULL_REQUESTS.primary_key,
                  {**PULL_REQUESTS.columns, "is_locked": "BOOLEAN"})
    bigquery.ensure_tables([wider])
    fields = bigquery.client.get_table(f"{dataset}.{PULL_REQUESTS.name}").schema
    assert [f.name for f in fields][-1] == "is_locked"
    assert len(fields) == len(PULL_REQUESTS.all_columns()) + 1


def test_a_batch_loaded_twice_gives_the_same_rows_and_its_watermark_is_in_bigquery(
        bigquery: BigQueryWarehouse) -> None:
    bigquery.ensure_tables(RAW_TABLES)
    batch = LoadBatch(watermarks=[Watermark("github", "acme/checkout", "pull_requests",
                                            "2026-02-01T10:00:00Z", etag='W/"1"')])
    batch.add(PULL_REQUESTS.name, [pr_row(1, "first"), pr_row(2, "it's \"quoted\"\n")])
    batch.add(COMMITS.name, [{"repository": "acme/checkout", "sha": "a" * 40,
                              "parents": ["b" * 40], "pull_request_numbers": [1]}])
    bigquery.load(batch)
    first = {t: rows_of(bigquery, t) for t in (PULL_REQUESTS.name, COMMITS.name)}
    bigquery.load(batch)
    assert {t: rows_of(bigquery, t) for t in first} == first

    rows = {r["number"]: r for r in bigquery.query(
        f"select * from {bigquery.ref(PULL_REQUESTS.name)}")}
    assert rows[2]["title"] == "it's \"quoted\"\n"
    assert rows[1]["labels"] == '["bug", "p1"]' and rows[1]["is_draft"] is False
    assert rows[1]["created_at"] == datetime.fromisoformat("2026-02-01T10:00:00+00:00")
    # the staging models' JSON helpers read the JSON text
    parent = bigquery.query(f"select json_value(parents, '$[0]') as p, "
                            f"json_value_array(pull_request_numbers) as n "
                            f"from {bigquery.ref(COMMITS.name)}")
    assert parent == [{"p": "b" * 40, "n": ["1"]}]

    marks = bigquery.query(f"select * from {bigquery.ref('_watermarks')}")
    assert [(m["source"], m["partition"], m["stream"], m["value"], m["etag"]) for m in marks] == [
        ("github", "acme/checkout", "pull_requests", "2026-02-01T10:00:00Z", 'W/"1"')]
    assert bigquery.watermarks("github")[("acme/checkout", "pull_requests")].etag == 'W/"1"'
    # the staging table is gone
    tables = {t.table_id for t in bigquery.client.list_tables(
        f"{bigquery.project}.{bigquery.dataset}")}
    assert not [t for t in tables if t.startswith("_load_")]

    bigquery.reset_watermarks("github", ["acme/checkout"])
    assert bigquery.watermarks("github") == {}


def test_stream_counts_count_the_rate_window_and_the_rows_past_each_lower_bound(
        bigquery: BigQueryWarehouse) -> None:
    """What a refresh sizes its first pages from (tests/unit/test_first_pages.py: DuckDB)."""
    bigquery.ensure_tables([PULL_REQUESTS])  # no commits table: it counts nothing
    since = datetime(2026, 2, 1, tzinfo=UTC)
    batch = LoadBatch(watermarks=[
        Watermark("github", "acme/checkout", "pull_requests", "2026-02-05T10:00:00Z")])
    batch.add(PULL_REQUESTS.name, [
        pr_row(1, "in", updated_at="2026-02-03T00:00:00Z"),
        pr_row(2, "at the lower bound", updated_at="2026-02-05T09:00:00Z"),
        pr_row(3, "before", updated_at="2026-01-31T23:59:59Z"),
        {**pr_row(1, "other"), "repository": "acme/web", "updated_at": "2026-02-06T00:00:00Z"},
    ])
    bigquery.load(batch)
    streams = {"pull_requests": (PULL_REQUESTS.name, "updated_at", 3600),
               "commits": (COMMITS.name, "committed_at", 86400)}
    assert bigquery.stream_counts("github", streams, since) == {
        ("acme/checkout", "pull_requests"): (2, 1), ("acme/web", "pull_requests"): (1, 0)}


def test_a_replaced_parent_loses_the_children_the_new_batch_does_not_have(
        bigquery: BigQueryWarehouse) -> None:
    bigquery.ensure_tables(RAW_TABLES)

    def commit(pr: int, sha: str) -> dict[str, Any]:
        return {"repository": "acme/checkout", "pull_request_number": pr, "sha": sha,
                "position": 1, "authored_at": datetime.fromisoformat("2026-02-01T09:00:00+00:00")}

    before = LoadBatch()
    before.add(PULL_REQUEST_COMMITS.name, [commit(1, "a1"), commit(1, "a2"), commit(2, "b1")])
    bigquery.load(before)
    force_pushed = LoadBatch(replaced_parents={PULL_REQUEST_COMMITS.name: [("acme/checkout", 1)]})
    force_pushed.add(PULL_REQUEST_COMMITS.name, [commit(1, "a3")])
    bigquery.load(force_pushed)
    bigquery.load(force_pushed)
    shas = sorted((r["pull_request_number"], r["sha"]) for r in bigquery.query(
        f"select pull_request_number, sha from {bigquery.ref(PULL_REQUEST_COMMITS.name)}"))
    assert shas == [(1, "a3"), (2, "b1")]


def test_a_failing_batch_applies_nothing_and_says_so_in_one_line(
        bigquery: BigQueryWarehouse) -> None:
    bigquery.ensure_tables(RAW_TABLES)
    good = LoadBatch(watermarks=[Watermark("github", "acme/checkout", "pull_requests", "v1")])
    good.add(PULL_REQUESTS.name, [pr_row(1, "kept")])
    bigquery.load(good)
    before = rows_of(bigquery, PULL_REQUESTS.name)

    bad = LoadBatch(watermarks=[Watermark("github", "acme/checkout", "pull_requests", "v2")])
    bad.add(PULL_REQUESTS.name, [pr_row(1, "changed"), pr_row(3, "new")])
    # the second MERGE of the transaction fails on a timestamp BigQuery cannot read
    bad.add(COMMITS.name, [{"repository": "acme/checkout", "sha": "c" * 40,
                            "authored_at": "yesterday afternoon"}])
    with pytest.raises(FourKeysError) as raised:
        bigquery.load(bad)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"BigQuery {bigquery.project}.{bigquery.dataset}: load a batch "
                              "failed (")
    assert rows_of(bigquery, PULL_REQUESTS.name) == before
    assert rows_of(bigquery, COMMITS.name) == []
    assert bigquery.watermarks("github")[("acme/checkout", "pull_requests")].value == "v1"


def test_an_unknown_dataset_is_a_one_line_error(emulator: Emulator,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_API_ENDPOINT, emulator.endpoint)
    warehouse = BigQueryWarehouse(emulator.project, "never_created", "US", read_only=True)
    with pytest.raises(FourKeysError, match=r"^BigQuery fourkeys-emulator\.never_created: read "
                       r"the watermarks failed \(.*\); check \[warehouse\] project, dataset"):
        warehouse.watermarks("github")
    warehouse.close()


def test_publishing_replaces_every_mart_or_none(bigquery: BigQueryWarehouse) -> None:
    built = marts_dataset(bigquery.dataset)
    marts = ("dim_teams", "fct_deployments")
    bigquery.query(f"create schema `{bigquery.project}`.`{built}`")

    def build(rows: int, *, extra_column: bool = False) -> None:
        extra = ", 'x' as note" if extra_column else ""
        for name in marts:
            bigquery.query(
                f"create or replace table `{bigquery.project}`.`{built}`.`{name}` as "
                f"select n as id, ['a', 'b'] as causes{extra} "
                f"from unnest(generate_array(1, {rows})) as n")

    def published() -> dict[str, int]:
        return {name: bigquery.query(f"select count(*) as n from {bigquery.ref(name)}")[0]["n"]
                for name in marts}

    build(3)
    publish_marts(bigquery, marts)  # first publish: new tables
    assert published() == {"dim_teams": 3, "fct_deployments": 3}
    build(5)
    publish_marts(bigquery, marts)  # the transaction: delete + insert
    assert published() == {"dim_teams": 5, "fct_deployments": 5}
    assert bigquery.query(f"select causes from {bigquery.ref('dim_teams')} limit 1") == [
        {"causes": ["a", "b"]}]
    build(2, extra_column=True)  # a changed schema: replaced whole
    publish_marts(bigquery, marts)
    assert published() == {"dim_teams": 2, "fct_deployments": 2}
    assert "note" in bigquery.query(f"select * from {bigquery.ref('fct_deployments')} limit 1")[0]

    # a mart missing from the build: nothing is published
    build(7, extra_column=True)
    bigquery.query(f"drop table `{bigquery.project}`.`{built}`.`fct_deployments`")
    with pytest.raises(FourKeysError, match="mart fct_deployments was not built"):
        publish_marts(bigquery, marts)
    assert published() == {"dim_teams": 2, "fct_deployments": 2}


def test_doctor_checks_the_bigquery_setup_without_calling_bigquery(
        emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fourkeys.config import load_config
    from fourkeys.doctor import OK, _bigquery

    monkeypatch.setenv(ENV_API_ENDPOINT, emulator.endpoint)
    config_path = bigquery_config(write_config(generate(SPEC), tmp_path, "http://127.0.0.1:9"),
                                  emulator.project, "doctor")
    check = _bigquery(load_config(str(config_path)))
    assert (check.mark, check.subject) == (OK, "warehouse")
    assert "BigQuery fourkeys-emulator, dataset doctor in US" in check.text


# --- the commands: extract and transform on DuckDB and on the emulator ---------------------------
# One test, not a module fixture shared by several: pytest-xdist may spread a module's tests
# over both workers, and this pipeline is the expensive part of the file.


def bigquery_config(path: Path, project: str, dataset: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert "[warehouse]\n" in text
    path.write_text(text.replace(
        "[warehouse]\n", f'[warehouse]\ntype = "bigquery"\nproject = "{project}"\n'
        f'dataset = "{dataset}"\nlocation = "US"\n', 1), encoding="utf-8")
    return path


def emulator_project(directory: Path) -> Path:
    """A copy of dbt_project/ with EMULATOR_SHIMS applied (and nothing else changed)."""
    copy = directory / "dbt_project"
    shutil.copytree(ROOT / "dbt_project", copy,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    macros = copy / "macros" / "portable.sql"
    text = macros.read_text(encoding="utf-8")
    for original, shim in EMULATOR_SHIMS.items():
        assert original in text, f"macro changed, review its emulator shim: {original}"
        text = text.replace(original, shim)
    macros.write_text(text, encoding="utf-8")
    mainline = copy / "macros" / "mainline.sql"
    text = mainline.read_text(encoding="utf-8")
    assert MAINLINE_SHIM[0] in text, "macros/mainline.sql changed, review its emulator shim"
    mainline.write_text(text.replace(*MAINLINE_SHIM), encoding="utf-8")
    return copy


def duckdb_rows(path: Path, sql: str) -> list[dict[str, Any]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _comparable(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return None if math.isnan(number) else round(number, 6) + 0.0
    if isinstance(value, datetime):  # DuckDB's marts hold UTC as naive timestamps
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return tuple(_comparable(v) for v in value)
    return value


def _mart(rows: list[dict[str, Any]]) -> list[tuple]:
    return sorted((tuple(sorted((k, _comparable(v)) for k, v in r.items())) for r in rows),
                  key=repr)


@pytest.mark.slow
def test_extract_and_transform_on_bigquery_give_what_the_duckdb_path_gives(
        emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The real commands on the emulator: `fourkeys extract` twice (the same rows as on DuckDB;
    the second adds nothing; watermarks in BigQuery), then `fourkeys transform` (dbt-bigquery
    build, publish into the dataset, the run in `_runs`): the published marts equal the DuckDB
    path's, row for row, and a second build (the incremental models' MERGE) changes none of
    them. On them, `fourkeys sql` and the dashboard's data functions give what
    they give on the DuckDB path, and a new publish refreshes the dashboard's snapshot."""
    org = generate(SPEC)
    dataset = f"p_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv(ENV_API_ENDPOINT, emulator.endpoint)
    # what `transform` hands dbt (set here so that they are restored afterwards)
    for name, value in (("FOURKEYS_BQ_PROJECT", emulator.project),
                        ("FOURKEYS_BQ_DATASET", dataset), ("FOURKEYS_BQ_LOCATION", "US")):
        monkeypatch.setenv(name, value)
    with serve_in_thread(create_app(load_scenario(org.scenario))) as server:
        on_duckdb = write_config(org, tmp_path / "duckdb", server.base_url)
        on_bigquery = bigquery_config(write_config(org, tmp_path / "bigquery", server.base_url),
                                      emulator.project, dataset)
        assert main(["extract", "--config", str(on_duckdb)]) == 0
        warehouse = BigQueryWarehouse(emulator.project, dataset, "US", read_only=True)
        snapshots = []
        for _ in range(2):
            assert main(["extract", "--config", str(on_bigquery)]) == 0
            snapshot = {t.name: rows_of(warehouse, t.name) for t in ALL_TABLES}
            snapshot["_watermarks"] = rows_of(warehouse, "_watermarks", skip=("updated_at",))
            snapshots.append(snapshot)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(transform, "PROJECT_DIR", emulator_project(tmp_path))
            transformed = main(["transform", "--config", str(on_bigquery)])
        try:
            _check_extract(on_duckdb.parent / "fourkeys.duckdb", warehouse, snapshots)
            _check_transform(on_duckdb, warehouse, transformed, snapshots[0])
            _check_incremental_build(on_bigquery, warehouse, tmp_path)
            _check_sql(on_duckdb, on_bigquery, capsys)
            _check_dashboard(on_duckdb, on_bigquery, warehouse, tmp_path, monkeypatch)
        finally:
            warehouse.close()


def _check_extract(duck: Path, warehouse: BigQueryWarehouse,
                   snapshots: list[dict[str, list[tuple]]]) -> None:
    counts = {t.name: len(snapshots[0][t.name]) for t in ALL_TABLES}
    assert counts == {t.name: duckdb_rows(duck, f'select count(*) as n from "{t.name}"')[0]["n"]
                      for t in ALL_TABLES}
    assert sum(counts.values()) > 500
    assert snapshots[1] == snapshots[0], "the second extract changed the warehouse"
    in_duckdb = {(r["source"], r["partition"], r["stream"], r["value"]) for r in duckdb_rows(
        duck, "select source, partition, stream, value from _watermarks")}
    in_bigquery = {(r["source"], r["partition"], r["stream"], r["value"]) for r in warehouse.query(
        f"select source, `partition`, stream, value from {warehouse.ref('_watermarks')}")}
    assert in_bigquery == in_duckdb
    assert len(in_bigquery) > 10
    runs = warehouse.query(f"select command, status from {warehouse.ref('_runs')} "
                           "where command = 'extract'")
    assert [(r["command"], r["status"]) for r in runs] == [("extract", "success")] * 2


def _check_transform(on_duckdb: Path, warehouse: BigQueryWarehouse, code: int,
                     first_extract: dict[str, list[tuple]]) -> None:
    runs = warehouse.query(f"select status, message from {warehouse.ref('_runs')} "
                           "where command = 'transform'")
    assert len(runs) == 1
    published = {t.table_id for t in warehouse.client.list_tables(
        f"{warehouse.project}.{warehouse.dataset}")} & set(MARTS)
    assert code == 0, runs[0]["message"]
    assert runs[0]["status"] == "success"
    assert published == set(MARTS)
    assert main(["transform", "--config", str(on_duckdb)]) == 0
    duckdb_marts = published_path(on_duckdb.parent / "fourkeys.duckdb")
    for name in MARTS:
        on_bigquery = warehouse.query(f"select * from {warehouse.ref(name)}")
        assert _mart(on_bigquery) == _mart(duckdb_rows(duckdb_marts, f'select * from "{name}"')), \
            name
    raw = {r["table_name"]: r["row_count"] for r in warehouse.query(
        f"select table_name, row_count from {warehouse.ref('_raw_tables')}")}
    assert raw[PULL_REQUESTS.name] == len(first_extract[PULL_REQUESTS.name])


def _check_incremental_build(on_bigquery: Path, warehouse: BigQueryWarehouse,
                             tmp_path: Path) -> None:
    """A second build over the same raw data takes the incremental models' MERGE path
    (int_deployment_failures, fct_deployments, fct_changes) and changes no mart."""
    before = {name: _mart(warehouse.query(f"select * from {warehouse.ref(name)}"))
              for name in MARTS}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transform, "PROJECT_DIR", emulator_project(tmp_path / "second"))
        assert main(["transform", "--config", str(on_bigquery)]) == 0
    for name in MARTS:
        assert _mart(warehouse.query(f"select * from {warehouse.ref(name)}")) == before[name], \
            name


# --- reading the published marts: `fourkeys sql` and the dashboard ------------------------------
# Queries both dialects read alike; the ones with timestamps and lists check the output formats.
SQL_QUERIES = (
    "select count(*) as deployments, sum(change_count) as changes, "
    "sum(case when is_failure then 1 else 0 end) as failed from fct_deployments",
    "select count(*) as changes, sum(lead_time_seconds) as lead_time_seconds, "
    "count(deployment_id) as deployed from fct_changes",
    "select team, count(*) as deployments from fct_deployments group by team order by team",
    "select deployment_id, deployed_at, failure_causes, recovered_at from fct_deployments "
    "order by deployed_at, deployment_id limit 25",
)


def _sql(config: Path, capsys: pytest.CaptureFixture[str], query: str,
         fmt: str = "json") -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["sql", "--config", str(config), "--format", fmt, query])
    out, err = capsys.readouterr()
    return code, out, err


def _check_sql(on_duckdb: Path, on_bigquery: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for query in SQL_QUERIES:
        code, on_bq, err = _sql(on_bigquery, capsys, query)
        assert code == 0, err
        expected = _sql(on_duckdb, capsys, query)[1]
        assert json.loads(on_bq) == json.loads(expected), query
    assert json.loads(_sql(on_bigquery, capsys, SQL_QUERIES[0])[1])[0]["deployments"] > 20
    # the table and CSV formats print the same text
    for fmt in ("table", "csv"):
        assert _sql(on_bigquery, capsys, SQL_QUERIES[2], fmt)[1] == _sql(
            on_duckdb, capsys, SQL_QUERIES[2], fmt)[1]
    # errors: one line, exit 1; a statement that would write is refused before it runs
    for query, said in (("selec 1", "Syntax error"),
                        ("select * from no_such_mart", "no_such_mart"),
                        ("delete from fct_deployments where true", "not a DELETE statement")):
        code, out, err = _sql(on_bigquery, capsys, query)
        assert code == 1 and out == ""
        assert err.count("\n") == 1 and err.startswith("fourkeys: error: the query failed: "), err
        assert said in err, err
    # the refused DELETE changed nothing
    assert json.loads(_sql(on_bigquery, capsys, SQL_QUERIES[0])[1]) == json.loads(
        _sql(on_duckdb, capsys, SQL_QUERIES[0])[1])


def _point_app_at(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DASHBOARD_SOURCE_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def _app_results() -> dict[str, Any]:
    """What the pages show, from app.data (the same calls on either source)."""
    options = data.filter_options()
    assert options.first_day and options.last_week_start
    window = data.Window(options.first_day, options.last_week_start + timedelta(days=7))
    health = data.health()
    results: dict[str, Any] = {
        "options": (options.teams, options.first_day, options.last_week_start,
                    options.summary_window, options.configured_year),
        "services": options.services,
        "weekly": data.weekly_metrics(window, "organisation"),
        "timeline": data.deployment_timeline(window, None, None),
        "slowest": data.slowest_changes(window, None, None),
        "mart_rows": health.mart_rows,
        "warnings": health.warnings,
        "raw_tables": health.raw_tables[["table_name", "row_count"]],
        "watermarks": health.watermarks.drop(columns="updated_at"),
        "runs_dtypes": health.runs.dtypes.to_dict(),
    }
    for grain in ("organisation", "team", "service"):
        results[f"window_{grain}"] = data.window_metrics(window, grain)  # type: ignore[arg-type]
    for kind in ("deployments", "failed", "changes", "incidents"):
        results[f"drill_{kind}"] = data.drill_rows(kind, window, None, None)  # type: ignore[arg-type]
    return results


def _same_results(on_bigquery: dict[str, Any], on_duckdb: dict[str, Any]) -> None:
    assert on_bigquery.keys() == on_duckdb.keys()
    for name, value in on_duckdb.items():
        mine = on_bigquery[name]
        if name.startswith("drill_"):
            assert mine[1] == value[1], name
            mine, value = mine[0], value[0]
        if isinstance(value, pd.DataFrame):
            # mart doubles (metrics_weekly) were computed by two engines: equal to 1e-9
            pd.testing.assert_frame_equal(mine.reset_index(drop=True),
                                          value.reset_index(drop=True), rtol=1e-9, obj=name)
        else:
            assert mine == value, name


# the published DuckDB file's integer widths come from DuckDB's own typing (INTEGER literals,
# HUGEINT sums); BigQuery has one INT64
_INTEGERS = {"INTEGER": "BIGINT", "HUGEINT": "BIGINT"}


def _schema(path: Path) -> dict[str, list[tuple[str, str]]]:
    tables: dict[str, list[tuple[str, str]]] = {}
    for row in duckdb_rows(path, "select table_name, column_name, data_type "
                                 "from information_schema.columns "
                                 "order by table_name, ordinal_position"):
        tables.setdefault(row["table_name"], []).append(
            (row["column_name"], _INTEGERS.get(row["data_type"], row["data_type"])))
    return tables


def _check_dashboard(on_duckdb: Path, on_bigquery: Path, warehouse: BigQueryWarehouse,
                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's data functions on BigQuery (through the snapshot) equal those on the DuckDB
    published file; the snapshot follows new transform runs and only them."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bigquery_snapshot.latest_run_id.clear()
    bq_env = dashboard_env(load_config(str(on_bigquery)))
    duck_env = dashboard_env(load_config(str(on_duckdb)))
    assert {k: v for k, v in bq_env.items() if k.startswith("FOURKEYS_BQ_")} == {
        "FOURKEYS_BQ_PUBLISHED_PROJECT": warehouse.project,
        "FOURKEYS_BQ_PUBLISHED_DATASET": warehouse.dataset,
        "FOURKEYS_BQ_PUBLISHED_LOCATION": "US"}
    assert "FOURKEYS_PUBLISHED" not in bq_env

    _point_app_at(bq_env, monkeypatch)
    state = data.warehouse_state()
    assert (state.kind, state.path) == ("ready", f"BigQuery {warehouse.subject}"), state
    run_id = warehouse.query(f"select run_id from {warehouse.ref('_runs')} "
                             "where command = 'transform' order by ended_at desc "
                             "limit 1")[0]["run_id"]  # the newest build's
    snapshot = data.published_path()
    assert snapshot == tmp_path / "cache" / "fourkeys" / "bigquery" / warehouse.subject / \
        f"{run_id}.duckdb"
    on_bigquery_results = _app_results()
    assert on_bigquery_results["drill_deployments"][1] > 20
    _point_app_at(duck_env, monkeypatch)
    assert data.warehouse_state().kind == "ready"
    _same_results(on_bigquery_results, _app_results())
    # the snapshot holds the tables of the DuckDB published file, with the same column types
    published = Path(duck_env["FOURKEYS_PUBLISHED"])
    assert _schema(snapshot) == _schema(published)

    _point_app_at(bq_env, monkeypatch)
    _check_snapshot_refresh(warehouse, snapshot)
    _check_app_pages(warehouse, bq_env, monkeypatch)


def _check_snapshot_refresh(warehouse: BigQueryWarehouse, first: Path) -> None:
    identity = data.file_identity()
    assert identity is not None and Path(identity.path) == first.resolve()
    # an unchanged run: once the minute is up BigQuery is asked again, and the file is reused
    bigquery_snapshot.latest_run_id.clear()
    assert data.file_identity() == identity
    assert [p.name for p in first.parent.iterdir()] == [first.name]

    # another publish (one deployment fewer in the built marts) and its transform run
    deployments = int(data.health().mart_rows.set_index("table_name").at[
        "fct_deployments", "row_count"])
    built = f"`{warehouse.project}`.`{marts_dataset(warehouse.dataset)}`.fct_deployments"
    warehouse.query(f"delete from {built} where deployment_id = "
                    f"(select min(deployment_id) from {built})")
    publish_marts(warehouse)
    second_run = _record_transform(warehouse)
    # within the minute the old snapshot is still served, without asking BigQuery
    assert data.file_identity() == identity
    bigquery_snapshot.latest_run_id.clear()
    second = data.published_path()
    assert second is not None and second.name == f"{second_run}.duckdb"
    assert data.file_identity() != identity
    assert int(data.health().mart_rows.set_index("table_name").at[
        "fct_deployments", "row_count"]) == deployments - 1
    assert first.exists()  # the previous snapshot stays for the sessions still reading it

    third_run = _record_transform(warehouse)
    bigquery_snapshot.latest_run_id.clear()
    assert data.published_path() == second.with_name(f"{third_run}.duckdb")
    assert sorted(p.name for p in first.parent.iterdir()) == sorted(
        [f"{second_run}.duckdb", f"{third_run}.duckdb"])


def _record_transform(warehouse: BigQueryWarehouse) -> str:
    run_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    warehouse.record_run({"run_id": run_id, "command": "transform", "started_at": now,
                          "ended_at": now + timedelta(seconds=1), "status": "success"})
    return run_id


def _check_app_pages(warehouse: BigQueryWarehouse, bq_env: dict[str, str],
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole app on the snapshot; an unknown dataset is one line with the fix."""
    at = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any(f"BigQuery {warehouse.subject}" in c.value for c in at.sidebar.caption)
    assert len(at.metric) >= 5

    _point_app_at({**bq_env, "FOURKEYS_BQ_PUBLISHED_DATASET": "never_published"}, monkeypatch)
    state = data.warehouse_state()
    said = (f"BigQuery {warehouse.project}.never_published: find the latest published run "
            "failed (", "); check [warehouse] project, dataset and location")
    assert state.kind == "unreachable"
    assert "\n" not in state.detail
    assert state.detail.startswith(said[0]) and state.detail.endswith(said[1]), state.detail
    at = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception
    assert len(at.error) == 1  # BigQuery's words differ per job (its id): compare the frame
    assert at.error[0].value.startswith(f"The published marts cannot be read: {said[0]}")
    assert at.error[0].value.endswith(said[1])


def test_stored_keys_list_the_rows_past_each_lower_bound(bigquery: BigQueryWarehouse) -> None:
    """What a refresh's key listing is checked against (tests/unit/test_first_pages.py: DuckDB)."""
    bigquery.ensure_tables([PULL_REQUESTS])  # no commits table: it lists nothing
    batch = LoadBatch(watermarks=[
        Watermark("github", "acme/checkout", "pull_requests", "2026-02-05T10:00:00Z")])
    batch.add(PULL_REQUESTS.name, [
        pr_row(2, "at the lower bound", updated_at="2026-02-05T09:00:00Z"),
        pr_row(3, "before", updated_at="2026-02-05T08:59:59Z"),
        # no watermark for acme/web: nothing is listed again there
        {**pr_row(1, "other"), "repository": "acme/web", "updated_at": "2026-02-06T00:00:00Z"},
    ])
    bigquery.load(batch)
    streams = {"pull_requests": (PULL_REQUESTS.name, "number", "updated_at", "updated_at", 3600,
                                 None),
               "commits": (COMMITS.name, "sha", "committed_at", "branch", 86400, None)}
    assert bigquery.stored_keys("github", streams) == {
        ("acme/checkout", "pull_requests"): {"2": "2026-02-05 09:00:00+00"}}

    # a deployment's value: its stored statuses' ids, space-joined in order (none: NULL)
    bigquery.ensure_tables([DEPLOYMENTS, DEPLOYMENT_STATUSES])
    batch = LoadBatch(watermarks=[
        Watermark("github", "acme/checkout", "deployments", "2026-02-05T10:00:00Z")])
    batch.add(DEPLOYMENTS.name, [
        {"repository": "acme/checkout", "deployment_id": d, "created_at": at}
        for d, at in ((7, "2026-02-05T09:30:00Z"), (8, "2026-02-05T09:00:00Z"),
                      (6, "2026-02-05T08:00:00Z"))])
    batch.add(DEPLOYMENT_STATUSES.name, [
        {"repository": r, "deployment_id": d, "status_id": s}
        for r, d, s in (("acme/checkout", 7, "DS_b"), ("acme/checkout", 7, "DS_a"),
                        ("acme/checkout", 6, "DS_z"), ("acme/web", 8, "DS_other"))])
    bigquery.load(batch)
    streams["deployments"] = (DEPLOYMENTS.name, "deployment_id", "created_at", "status_id",
                              3600, DEPLOYMENT_STATUSES.name)
    assert bigquery.stored_keys("github", streams)[("acme/checkout", "deployments")] == {
        "7": "DS_a DS_b", "8": None}
