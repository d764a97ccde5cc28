"""Idempotence: a repeated run, a killed-and-resumed run and a `--since` re-run all leave exactly
the tables (watermarks included) of one uninterrupted run.

Only bookkeeping times differ between such warehouses: `_extracted_at` on every raw table and
`_watermarks.updated_at`; `table_snapshot` leaves out those two and nothing else (checked below).
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from fourkeys.cli import main
from tests.conftest import (
    HEROKU_TOKEN,
    ROOT,
    TOKEN,
    Served,
    serve_org,
    table_snapshot,
    write_config,
)

# the tables that hold each stream's rows; a watermark claims all of them for its partition
_STREAM_TABLES = {
    ("github", "commits"): ("raw_github_commits",),
    ("github", "pull_requests"): ("raw_github_pull_requests", "raw_github_pull_request_commits",
                                  "raw_github_pull_request_reviews",
                                  "raw_github_pull_request_comments"),
    ("github", "releases"): ("raw_github_releases",),
    ("github", "tags"): ("raw_github_tags",),
    ("github", "deployments"): ("raw_github_deployments", "raw_github_deployment_statuses"),
    ("github", "issues"): ("raw_github_issues",),
    ("github", "workflow_runs"): ("raw_github_workflow_runs",),
    ("heroku", "releases"): ("raw_heroku_releases",),
    # a monorepo's files backfill is marked done after both walks finished
    ("github", "files"): ("raw_github_pull_request_files", "raw_github_commit_files"),
}
# read only for repositories with a path-filtered service (docs/monorepos.md): the generated
# organisation has none, so these stay empty (tests/integration/test_monorepo.py fills them)
_MONOREPO_ONLY = ("raw_github_pull_request_files", "raw_github_commit_files")
# GraphQL pages answer slowly so that the loads spread over most of the run and kills land
# mid-load; the first matching fault wins, so REST and Heroku get the shorter delay
SLOW = "slow=0.3@graphql:1+,slow=0.05@any:1+"
TRIALS = 7
SEED = 20260301


def snapshot_columns(path: Path) -> dict[str, list[str]]:
    """Each table's columns in `table_snapshot`'s order (same exclusions)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("select table_name, column_name from information_schema.columns "
                           "order by table_name, ordinal_position").fetchall()
    finally:
        con.close()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        if column == "_extracted_at" or (table == "_watermarks" and column == "updated_at"):
            continue
        out.setdefault(table, []).append(column)
    return out


def check_partial_state(path: Path, reference: dict[str, list[tuple]]) -> dict[str, int]:
    """A warehouse left by a stopped run is a consistent prefix of a complete one.

    Every row (watermark rows included, value and ETag) is one an uninterrupted run also has, and
    every watermark is backed by all of its stream's rows for its repository or app: a watermark
    is never ahead of its data. Returns row counts per table.
    """
    snap = table_snapshot(path)
    columns = snapshot_columns(path)
    for table, rows in snap.items():
        unknown = set(rows) - set(reference.get(table, []))
        assert not unknown, f"{table}: rows a whole run does not have: {sorted(unknown)[:3]}"
    for source, partition, stream, *_ in snap.get("_watermarks", []):
        for table in _STREAM_TABLES[(source, stream.split(":", 1)[0])]:
            key = columns[table].index("app" if source == "heroku" else "repository")
            want = {r for r in reference[table] if r[key] == partition}
            have = {r for r in snap.get(table, []) if r[key] == partition}
            assert want <= have, (
                f"watermark {source}/{partition}/{stream} written but {table} misses "
                f"{len(want - have)} of its rows")
    return {table: len(rows) for table, rows in snap.items()}


def test_snapshot_leaves_out_only_bookkeeping_times(served: Served, tmp_path: Path) -> None:
    assert main(["extract", "--config", str(served.config_path)]) == 0
    wh = served.warehouse_path
    columns = snapshot_columns(wh)
    con = duckdb.connect(str(wh), read_only=True)
    try:
        every = {t: [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_name = ? "
            "order by ordinal_position", [t]).fetchall()] for t in columns}
    finally:
        con.close()
    snap = table_snapshot(wh)
    assert "_runs" not in snap  # run log: one row per run by design
    for table, rows in snap.items():
        dropped = set(every[table]) - set(columns[table])
        assert dropped == ({"_extracted_at"} if table != "_watermarks" else {"updated_at"})
        assert (rows or table in _MONOREPO_ONLY) and all(
            len(r) == len(columns[table]) for r in rows), table
    assert "updated_at" in columns["raw_github_pull_requests"]  # a data column, compared
    assert "etag" in columns["_watermarks"]

    # changing a bookkeeping time leaves the snapshot alone; changing any data does not
    copy = tmp_path / "copy.duckdb"
    shutil.copy(wh, copy)
    con = duckdb.connect(str(copy))
    con.execute("update raw_github_pull_requests set _extracted_at = now() - interval 9 day")
    con.execute("update _watermarks set updated_at = now() - interval 9 day")
    con.close()
    assert table_snapshot(copy) == snap
    for sql in ("update raw_github_pull_requests set title = title || '!' where number = "
                "(select min(number) from raw_github_pull_requests)",
                "update _watermarks set etag = 'x' where stream like 'workflow_runs:%'",
                "update raw_github_pull_requests set updated_at = updated_at + interval 1 second "
                "where number = (select min(number) from raw_github_pull_requests)"):
        shutil.copy(wh, copy)
        con = duckdb.connect(str(copy))
        con.execute(sql)
        con.close()
        assert table_snapshot(copy) != snap, sql


def test_two_identical_runs_give_identical_tables(served: Served) -> None:
    config = str(served.config_path)
    assert main(["extract", "--config", config]) == 0
    first = table_snapshot(served.warehouse_path)
    assert main(["extract", "--config", config]) == 0
    second = table_snapshot(served.warehouse_path)
    assert second == first
    expected_prs = sum(len(r.pull_requests) for r in served.scenario.repositories)
    assert len(first["raw_github_pull_requests"]) == expected_prs
    assert len(first["_watermarks"]) > len(served.scenario.repositories)


def test_since_an_earlier_date_over_a_complete_warehouse_changes_nothing(served: Served) -> None:
    config = str(served.config_path)
    assert main(["extract", "--config", config]) == 0
    complete = table_snapshot(served.warehouse_path)
    for since in ("2026-02-01", "2020-01-01"):  # inside the data, and before all of it
        before = served.stats()["requests"]["graphql"]
        assert main(["extract", "--config", config, "--since", since]) == 0
        assert served.stats()["requests"]["graphql"] > before  # it did read again
        assert table_snapshot(served.warehouse_path) == complete, since


def _cli_env() -> dict[str, str]:
    # every batch its own transaction (extractors/loads.py): a run this small would otherwise
    # be one transaction, and no kill could land between two
    return {**os.environ, "GITHUB_TOKEN": TOKEN, "HEROKU_API_KEY": HEROKU_TOKEN,
            "FOURKEYS_LOAD_MAX_ROWS": "1"}


def _state_at_kill(warehouse: Path, scratch: Path, reference: dict[str, list[tuple]]
                   ) -> dict[str, int]:
    """Row counts in a copy of the killed run's files (its WAL replayed), checked consistent."""
    if not warehouse.exists():
        return {}
    scratch.mkdir()
    copy = scratch / warehouse.name
    shutil.copy(warehouse, copy)
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists():
        shutil.copy(wal, scratch / wal.name)
    duckdb.connect(str(copy)).close()  # replays and checkpoints the WAL, as the next run does
    return check_partial_state(copy, reference)


def test_sigkill_at_random_points_then_resume_equals_an_uninterrupted_run(
    small_org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(SEED)
    for served in serve_org(small_org, tmp_path / "reference", faults=SLOW):
        # a killed client leaves the fake mid-request; uvicorn would print each as a traceback
        # (after the server started: uvicorn configures its loggers when it starts)
        monkeypatch.setattr(logging.getLogger("uvicorn.error"), "disabled", True)
        # build the fake's GraphQL schema now, so the measured run is a typical one
        httpx.post(f"{served.server.base_url}/graphql", json={"query": "{ rateLimit { cost } }"},
                   headers={"Authorization": "Bearer warm-up"}, timeout=30)
        cmd = [sys.executable, "-m", "fourkeys.cli", "extract", "--config"]
        started = time.monotonic()
        done = subprocess.run([*cmd, str(served.config_path)], capture_output=True, text=True,
                              env=_cli_env(), cwd=str(ROOT), timeout=120)
        full_run = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        reference = table_snapshot(served.warehouse_path)
        total_rows = sum(len(rows) for rows in reference.values())
        landed: list[str] = []
        mid_load = 0
        for trial in range(TRIALS):
            delay = rng.uniform(0.2, full_run)
            directory = tmp_path / f"trial-{trial}"
            config = write_config(small_org, directory, served.server.base_url)
            warehouse = directory / "fourkeys.duckdb"
            proc = subprocess.Popen([*cmd, str(config)], env=_cli_env(), cwd=str(ROOT),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                proc.wait(timeout=delay)
                killed = False
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                # a run that ends between the timeout and the signal finished: not killed
                killed = proc.returncode != 0
            assert proc.returncode == (-signal.SIGKILL if killed else 0)
            counts = _state_at_kill(warehouse, tmp_path / f"at-kill-{trial}", reference)
            rows = sum(counts.values())
            if not killed:
                where = "the run had finished"
            elif rows == 0:
                where = "before the first batch"
            elif rows < total_rows:
                where = "mid-load"
                mid_load += 1
            else:
                where = "after the last batch"
            landed.append(
                f"trial {trial}: SIGKILL after {delay:.2f}s (full run {full_run:.2f}s): "
                f"{rows}/{total_rows} rows, {counts.get('_watermarks', 0)}/"
                f"{len(reference['_watermarks'])} watermarks at kill time ({where})")
            assert main(["extract", "--config", str(config)]) == 0
            assert table_snapshot(warehouse) == reference, landed[-1]
        print(f"\n{TRIALS} SIGKILL trials (seed {SEED}), each resumed to the uninterrupted "
              "run's tables:")
        print("\n".join(landed))
        assert mid_load >= 1, "no kill landed while batches were loading:\n" + "\n".join(landed)
