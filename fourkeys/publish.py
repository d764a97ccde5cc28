"""The published marts: a separate read-only DuckDB file the dashboard and `fourkeys sql` read.

A run writes the warehouse (one writer at a time, DuckDB's file lock); readers never open it.
After a green build the marts, the run log, the watermarks and a summary of the raw tables are
written to a temporary file beside the published one, which then replaces it atomically
(`os.replace`): a reader sees the old file or the new one, never a half-written one, and a reader
that holds the old file open keeps reading it until it reopens (the dashboard reopens when the
file's identity changes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb

from fourkeys.errors import FourKeysError

log = logging.getLogger(__name__)

MARTS_SCHEMA = "main_marts"
MARTS = (
    "dim_teams", "dim_services", "fct_deployments", "fct_changes", "fct_incidents",
    "metrics_daily", "metrics_weekly", "dora_summary",
)
# bookkeeping the Data health page shows: runs, watermarks per stream, raw row counts
RAW_TABLES_SUMMARY = "_raw_tables"


def published_path(warehouse: Path) -> Path:
    """data/fourkeys.duckdb → data/fourkeys.published.duckdb"""
    return warehouse.with_name(f"{warehouse.stem}.published{warehouse.suffix or '.duckdb'}")


def _raw_tables_summary(con: duckdb.DuckDBPyConnection) -> str:
    names = [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'main' "
        "and table_catalog = current_database() and table_name like 'raw\\_%' escape '\\' "
        "order by 1").fetchall()]
    if not names:
        return ("select cast(null as varchar) as table_name, cast(0 as bigint) as row_count, "
                "cast(null as timestamptz) as last_extracted_at where false")
    return " union all ".join(
        f"select '{name}' as table_name, count(*) as row_count, "
        f'max(_extracted_at) as last_extracted_at from main."{name}"'
        for name in names
    )


def _remove(temporary: Path) -> None:
    """A temporary published file and the WAL DuckDB may have left beside it."""
    temporary.unlink(missing_ok=True)
    temporary.with_name(temporary.name + ".wal").unlink(missing_ok=True)


def _remove_leftovers(target: Path) -> None:
    """The temporary files of publishes that never finished: a run killed while writing leaves
    `.<target>.<pid>.tmp` and its `.wal` behind, each up to the size of the published file, and
    no later run (another pid) would ever remove them."""
    remove_dead_temporaries(
        target.parent, re.compile(rf"\.{re.escape(target.name)}\.(\d+)\.tmp(\.wal)?"))


def remove_dead_temporaries(folder: Path, pattern: re.Pattern[str]) -> None:
    """Remove the files in `folder` whose names fully match `pattern` (group 1: the writer's
    pid) and whose writer is this process or gone; a live process's files are left alone."""
    if not folder.is_dir():
        return  # nothing to remove; writing there fails with its own message
    for path in folder.iterdir():
        match = pattern.fullmatch(path.name)
        if match and (int(match[1]) == os.getpid() or not _alive(int(match[1]))):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def stage_marts(warehouse: Path, target: Path | None = None) -> Path:
    """The built marts (schema main_marts) copied into a temporary file beside `target`, which
    finish_publish completes and moves into place atomically (transform stages while another
    thread copies the same marts into the warehouse's `main`)."""
    target = target or published_path(warehouse)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _remove_leftovers(target)
    with _attached(warehouse, temporary, target) as con:
        for name in MARTS:
            con.execute(f'create table published.main."{name}" as '
                        f'select * from {MARTS_SCHEMA}."{name}"')
    return temporary


def finish_publish(warehouse: Path, staged: Path, target: Path | None = None) -> Path:
    """The second half: the run log, the watermarks and the raw tables' summary (as they are
    now, after this build's `_runs` row) into the staged file, which then replaces `target`."""
    target = target or published_path(warehouse)
    with _attached(warehouse, staged, target) as con:
        for name in ("_runs", "_watermarks"):
            con.execute(f'create table published.main."{name}" as select * from main."{name}"')
        con.execute(f"create table published.main.{RAW_TABLES_SUMMARY} as "
                    f"{_raw_tables_summary(con)}")
    os.replace(staged, target)
    log.info("published the marts to %s", target)
    return target


def discard_staged(staged: Path) -> None:
    """A staged file that will not be published (the copy into `main` failed)."""
    _remove(staged)


@contextlib.contextmanager
def _attached(warehouse: Path, temporary: Path,
              target: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse with `temporary` attached as `published`; on a DuckDB error
    the temporary file goes and the error is one line."""
    # read-write like dbt's own connection in this process (DuckDB refuses a second
    # configuration of one file in a process); nothing in the warehouse is written
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"attach '{temporary}' as published")
        yield con
        con.execute("detach published")
    except duckdb.Error as exc:
        _remove(temporary)
        raise FourKeysError(
            f"{target}: cannot write the published marts ({str(exc).splitlines()[0]}); "
            "check the folder is writable and has space"
        ) from None
    finally:
        con.close()
