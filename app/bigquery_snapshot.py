"""The published marts of a BigQuery warehouse as a local DuckDB file, one per transform run.

app/data.py speaks one dialect, DuckDB's, over one published file. When `fourkeys dashboard`
runs on `[warehouse] type = "bigquery"` it sets FOURKEYS_BQ_PUBLISHED_PROJECT, _DATASET and
_LOCATION (FOURKEYS_BQ_API_ENDPOINT, tests only, passes through); data.py then asks this module
which file to read:

- The latest successful `transform` run in `<dataset>._runs` names the published marts:
  `fourkeys transform` records it after its publish has committed. One tiny query, remembered for
  CHECK_SECONDS and asked only when a page renders (an idle dashboard queries nothing).
- A run not copied yet: `select *` of every table the DuckDB published file holds (the marts,
  `_runs`, `_watermarks`, the `_raw_tables` view), typed as that file types them, written to a
  temporary file and `os.replace`d to `<cache>/fourkeys/bigquery/<project>.<dataset>/<run>.duckdb`
  (cache: $XDG_CACHE_HOME, else ~/.cache). The newest KEEP snapshots stay (a session may still
  be reading the previous one); data.py keys its connection on the file's identity, so the next
  query opens the new file. A dashboard restarted on an unchanged run reuses the file.
- A publish that lands while the tables are being copied can leave a snapshot that mixes two
  publishes under the older run id; the newer run id, recorded right after that publish,
  replaces it at the next check.

Types: the query results come as Arrow, which DuckDB stores as BIGINT, DOUBLE, BOOLEAN, DATE,
VARCHAR, VARCHAR[] and TIMESTAMPTZ. The DuckDB published file holds the marts' timestamps as
naive UTC TIMESTAMP (as dbt-duckdb builds them) but the bookkeeping tables' as TIMESTAMPTZ, and
`_runs.counts` as JSON (JSON text in a STRING on BigQuery): the copy does the same, so data.py's
SQL (the UTC day of a timestamp, `timezone('UTC', …)`) means the same on both backends.

Only `select *` of fixed table names and the run lookup are sent to BigQuery; every mart query
stays in data.py. Reads go through query results (jobs.getQueryResults), so the account needs
BigQuery Data Viewer on the dataset and Job User on the project, nothing more.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import duckdb
import streamlit as st

from fourkeys.errors import FourKeysError
from fourkeys.publish import MARTS, RAW_TABLES_SUMMARY, remove_dead_temporaries
from fourkeys.warehouse.bigquery import ENV_API_ENDPOINT, error_message, make_client
from fourkeys.warehouse.bigquery_sql import quoted

if TYPE_CHECKING:
    import pyarrow as pa
    from google.cloud import bigquery

log = logging.getLogger(__name__)

ENV_PROJECT = "FOURKEYS_BQ_PUBLISHED_PROJECT"
ENV_DATASET = "FOURKEYS_BQ_PUBLISHED_DATASET"
ENV_LOCATION = "FOURKEYS_BQ_PUBLISHED_LOCATION"
CHECK_SECONDS = 60
KEEP = 2
# what fourkeys/publish.py writes into the DuckDB published file, and how it types timestamps
BOOKKEEPING = ("_runs", "_watermarks", RAW_TABLES_SUMMARY)
TABLES = (*MARTS, *BOOKKEEPING)
JSON_COLUMNS = {"_runs": ("counts",)}
LATEST_RUN_SQL = ("select run_id from `_runs` where command = 'transform' and status = 'success' "
                  "order by ended_at desc limit 1")
_LEFTOVER = re.compile(r"\..+\.(\d+)\.tmp(\.wal)?")
_copying = threading.Lock()


class Source(NamedTuple):
    project: str  # empty: the project of the Google credentials
    dataset: str
    location: str
    endpoint: str  # FOURKEYS_BQ_API_ENDPOINT (tests, the emulator); empty for BigQuery


class SnapshotError(Exception):
    """BigQuery could not be asked, or the copy not written; one line that says what to fix."""


def configured() -> bool:
    return bool(os.environ.get(ENV_DATASET, "").strip())


def source() -> Source:
    return Source(os.environ.get(ENV_PROJECT, "").strip(), os.environ.get(ENV_DATASET, "").strip(),
                  os.environ.get(ENV_LOCATION, "").strip() or "US",
                  os.environ.get(ENV_API_ENDPOINT, "").strip())


def label(where: Source | None = None) -> str:
    where = where or source()
    return f"BigQuery {where.project or '(default project)'}.{where.dataset}"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "fourkeys" / "bigquery"


def current_file() -> Path | None:
    """The snapshot of the latest published run (copied first when new); None while nothing
    has been published. Raises SnapshotError."""
    where = source()
    run_id = latest_run_id(where)
    if run_id is None:
        return None
    client = _client(where)
    folder = cache_root() / f"{client.project}.{where.dataset}"
    target = folder / f"{re.sub(r'[^A-Za-z0-9_-]', '_', run_id)}.duckdb"
    if target.exists():
        return target
    with _copying:  # one copy at a time per process (every session of the dashboard)
        if not target.exists():
            _copy(where, client, folder, target)
            _prune(folder)
    return target


@st.cache_resource(show_spinner=False)
def _client(where: Source) -> bigquery.Client:
    try:
        return make_client(where.project or None, where.location)
    except FourKeysError as exc:  # no credentials or no project: the message says what to set
        raise SnapshotError(exc.message) from None


@st.cache_data(ttl=CHECK_SECONDS, show_spinner=False)
def latest_run_id(where: Source) -> str | None:
    """The run id of the latest successful `transform` (None before the first one)."""
    with _calling(where, "find the latest published run"):
        rows = list(_run(where, LATEST_RUN_SQL))
    return str(rows[0]["run_id"]) if rows else None


@contextmanager
def _calling(where: Source, action: str) -> Iterator[None]:
    """A Google API or transport error as a SnapshotError: BigQuery's words and the fix."""
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError
    from requests.exceptions import RequestException

    try:
        yield
    except (GoogleAPIError, GoogleAuthError, RequestException, OSError) as exc:
        subject = f"{_client(where).project}.{where.dataset}"
        raise SnapshotError(error_message(exc, subject, action)) from None


def _run(where: Source, sql: str) -> Any:
    """A finished query's rows (RowIterator), with the dataset as the default dataset."""
    from google.cloud import bigquery

    client = _client(where)
    config = bigquery.QueryJobConfig(default_dataset=f"{client.project}.{where.dataset}")
    return client.query(sql, job_config=config, location=where.location).result()


def _fetch(where: Source, table: str) -> pa.Table | None:
    """Every row of a published table as Arrow; None when the dataset has no such table (data.py
    then reports the missing tables as it does for a DuckDB file). The run lookup has already
    found the dataset, so a NotFound here is the table's."""
    from google.api_core.exceptions import NotFound

    with _calling(where, f"copy {table}"):
        try:
            rows = _run(where, f"select * from {quoted(table)}")
        except NotFound:
            return None
        return rows.to_arrow(create_bqstorage_client=False)


def _as_published(table: str, rows: pa.Table) -> pa.Table:
    """The marts' timestamps as naive UTC (Arrow keeps UTC instants: dropping the zone leaves
    the UTC wall time), as in the DuckDB published file; bookkeeping keeps TIMESTAMPTZ."""
    import pyarrow as pa

    if table in BOOKKEEPING:
        return rows
    fields = [pa.field(f.name, pa.timestamp(f.type.unit), f.nullable)
              if pa.types.is_timestamp(f.type) and f.type.tz is not None else f
              for f in rows.schema]
    return rows.cast(pa.schema(fields))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy(where: Source, client: bigquery.Client, folder: Path, target: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(folder)
    except OSError as exc:
        raise SnapshotError(f"{folder}: cannot create the snapshot folder ({exc}); set "
                            "XDG_CACHE_HOME to a writable folder") from None
    temporary = folder / f".{target.name}.{os.getpid()}.tmp"
    subject = f"{client.project}.{where.dataset}"
    log.info("copying the published marts of %s into %s", subject, target)
    try:
        con = duckdb.connect(str(temporary))
        try:
            for table in TABLES:
                rows = _fetch(where, table)
                if rows is None:
                    log.warning("%s has no table %s; the snapshot leaves it out", subject, table)
                    continue
                con.register("bigquery_rows", _as_published(table, rows))
                con.execute(f"create table {_ident(table)} as select *{_as_json(table)} "
                            "from bigquery_rows")
                con.unregister("bigquery_rows")
            con.execute("checkpoint")
        finally:
            con.close()
        os.replace(temporary, target)
    except (duckdb.Error, OSError) as exc:
        raise SnapshotError(f"{folder}: cannot write the snapshot ({str(exc).splitlines()[0]}); "
                            "check the folder is writable and has space") from None
    finally:
        _remove(temporary)  # after a failure; once replaced there is nothing left


def _as_json(table: str) -> str:
    """`replace (…)` turning the table's JSON-text columns into DuckDB JSON, as published."""
    columns = JSON_COLUMNS.get(table, ())
    if not columns:
        return ""
    return " replace (" + ", ".join(f"cast({_ident(c)} as json) as {_ident(c)}"
                                    for c in columns) + ")"


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def _prune(folder: Path) -> None:
    """Keep the newest KEEP snapshots; an older one still open in a session stays readable there
    (the file is unlinked, not truncated) until its connection is dropped."""
    try:  # another dashboard on the same dataset may be pruning too
        snapshots = sorted(folder.glob("*.duckdb"), key=lambda p: p.stat().st_mtime_ns,
                           reverse=True)
        for old in snapshots[KEEP:]:
            _remove(old)
            log.info("removed the old snapshot %s", old)
    except OSError as exc:
        log.warning("could not remove old snapshots in %s (%s)", folder, exc)


def _remove_leftovers(folder: Path) -> None:
    """Temporary files of copies killed halfway (their process is gone)."""
    remove_dead_temporaries(folder, _LEFTOVER)
