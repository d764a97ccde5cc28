"""BigQuery warehouse: the same interface as DuckDB, merge-by-key and watermarks in one transaction.

`[warehouse] type = "bigquery"` with `project` (default: the project of the Google credentials),
`dataset` and `location`. Credentials come from the standard Google environment
(`google.auth.default()`: GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default
login`, or the metadata server on Google Cloud). The raw tables, `_watermarks` and `_runs` live in
the dataset; dbt builds into `<dataset>_build` / `<dataset>_marts` and the green marts are
copied into the dataset (fourkeys/publish_bigquery.py).

A batch is one load job into a staging table and one multi-statement transaction (see
fourkeys/warehouse/bigquery_sql.py): a killed run leaves either the whole batch (rows and
watermarks) or nothing, and re-loading merges on the keys, so it changes nothing. Loads run one
at a time per process: BigQuery aborts a transaction that mutates a table another transaction
is mutating.

FOURKEYS_BQ_API_ENDPOINT (tests and the local emulator ONLY) sends every call to that URL with
anonymous credentials.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fourkeys.errors import FourKeysError
from fourkeys.warehouse.base import LoadBatch, Table, Watermark
from fourkeys.warehouse.bigquery_sql import (
    RUN_COLUMNS,
    RUNS_TABLE,
    STAGING_COLUMNS,
    WATERMARK_COLUMNS,
    WATERMARKS_TABLE,
    load_script,
    quoted,
    staging_lines,
    table_columns,
)

if TYPE_CHECKING:
    from google.cloud import bigquery

log = logging.getLogger(__name__)

ENV_API_ENDPOINT = "FOURKEYS_BQ_API_ENDPOINT"  # tests / emulator only
EMULATOR_PROJECT = "fourkeys-emulator"
SCOPES = ("https://www.googleapis.com/auth/bigquery",)
STAGING_LIFETIME = timedelta(hours=6)  # a killed run's staging table expires by itself
_IAM_FIX = ("grant the account BigQuery Data Editor and BigQuery Job User on the project "
            "(docs/bigquery.md)")


def api_endpoint() -> str | None:
    return os.environ.get(ENV_API_ENDPOINT, "").strip() or None


def google_credentials(project: str | None) -> tuple[Any, str]:
    """The standard Google environment's credentials and the project to use (the configured
    one, else the credentials'); a FourKeysError saying what to set when either is missing."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, default_project = google.auth.default(scopes=list(SCOPES))
    except DefaultCredentialsError:
        raise FourKeysError(
            "BigQuery: no Google credentials found; run `gcloud auth application-default "
            "login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file"
        ) from None
    project = project or default_project
    if not project:
        raise FourKeysError('BigQuery: no project; set [warehouse] project = "..." (the '
                            "Google credentials name none)")
    return credentials, project


def make_client(project: str | None, location: str) -> bigquery.Client:
    """A client for `project` with the standard Google credentials (or the emulator's)."""
    from google.api_core.client_options import ClientOptions
    from google.cloud import bigquery

    endpoint = api_endpoint()
    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(project=project or EMULATOR_PROJECT,
                               credentials=AnonymousCredentials(), location=location,
                               client_options=ClientOptions(api_endpoint=endpoint))
    credentials, project = google_credentials(project)
    return bigquery.Client(project=project, credentials=credentials, location=location)


def error_message(exc: BaseException, subject: str, action: str) -> str:
    """One line for a failed BigQuery call: what, where, BigQuery's own words, the fix."""
    from google.api_core import exceptions as api

    detail = " ".join(str(getattr(exc, "message", None) or exc).split())[:300]
    if isinstance(exc, api.Forbidden | api.Unauthorized):
        fix = _IAM_FIX
    elif isinstance(exc, api.NotFound):
        fix = "check [warehouse] project, dataset and location"
    elif isinstance(exc, api.GoogleAPICallError):
        fix = "fix what BigQuery says and re-run (a failed load or publish applies nothing)"
    else:
        fix = "check the network and the Google credentials, then re-run"
    return f"BigQuery {subject}: {action} failed ({detail}); {fix}"


class BigQueryWarehouse:
    def __init__(self, project: str | None, dataset: str, location: str = "US", *,
                 read_only: bool = False) -> None:
        self.client = make_client(project, location)
        self.project = self.client.project
        self.dataset = dataset
        self.location = location
        self.subject = f"{self.project}.{dataset}"
        self._lock = threading.Lock()
        self._tables: dict[str, Table] = {}
        if not read_only:
            with self.calling("create the dataset and bookkeeping tables"):
                self._ensure_dataset()
                self._ensure_table(WATERMARKS_TABLE, WATERMARK_COLUMNS,
                                   required=("source", "partition", "stream", "updated_at"))
                self._ensure_table(RUNS_TABLE, RUN_COLUMNS, required=("run_id",))

    # --- plumbing ----------------------------------------------------------------------------
    def ref(self, table: str) -> str:
        """`project`.`dataset`.`table`, for SQL text."""
        return f"`{self.project}`.`{self.dataset}`.{quoted(table)}"

    @contextmanager
    def calling(self, action: str) -> Iterator[None]:
        """A Google API or transport error as the one-line FourKeysError the CLI prints."""
        from google.api_core.exceptions import GoogleAPIError
        from google.auth.exceptions import GoogleAuthError
        from requests.exceptions import RequestException

        try:
            yield
        except (GoogleAPIError, GoogleAuthError, RequestException, OSError) as exc:
            raise FourKeysError(error_message(exc, self.subject, action)) from None

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(query_parameters=list(params))
        job = self.client.query(sql, job_config=config, location=self.location)
        return [dict(row.items()) for row in job.result()]

    def _ensure_dataset(self) -> None:
        from google.cloud import bigquery

        dataset = bigquery.Dataset(f"{self.project}.{self.dataset}")
        dataset.location = self.location
        self.client.create_dataset(dataset, exists_ok=True)

    def _ensure_table(self, name: str, columns: dict[str, str],
                      required: Iterable[str] = ()) -> None:
        """Create the table, or add the columns it lacks (additive schema evolution only)."""
        from google.api_core.exceptions import NotFound
        from google.cloud import bigquery

        required = set(required)
        fields = [bigquery.SchemaField(c, k, mode="REQUIRED" if c in required else "NULLABLE")
                  for c, k in columns.items()]
        table_id = f"{self.project}.{self.dataset}.{name}"
        try:
            table = self.client.get_table(table_id)
        except NotFound:
            self.client.create_table(bigquery.Table(table_id, schema=fields), exists_ok=True)
            log.info("created %s", table_id)
            return
        existing = {f.name for f in table.schema}
        added = [bigquery.SchemaField(f.name, f.field_type) for f in fields
                 if f.name not in existing]
        if added:
            table.schema = [*table.schema, *added]
            self.client.update_table(table, ["schema"])
            log.info("%s: added columns %s", table_id, ", ".join(f.name for f in added))

    # --- schema ------------------------------------------------------------------------------
    def ensure_tables(self, tables: Iterable[Table]) -> None:
        with self._lock, self.calling("create the raw tables"):
            for table in tables:
                self._tables[table.name] = table
                self._ensure_table(table.name, table_columns(table), required=table.primary_key)

    # --- loads -------------------------------------------------------------------------------
    def load(self, batch: LoadBatch) -> None:
        if not (batch.row_count() or batch.watermarks
                or any(batch.replaced_parents.values())):
            return
        extracted_at = datetime.now(UTC)
        data = "".join(staging_lines(batch, self._tables)).encode("utf-8")
        staging = f"_load_{uuid.uuid4().hex[:16]}"
        with self._lock, self.calling("load a batch"):
            try:
                self._load_staging(staging, data)
                script = load_script(f"`{self.project}`.`{self.dataset}`", self.ref(staging),
                                     batch, self._tables, extracted_at)
                self.query(script)
            finally:
                self._drop(staging)

    def _drop(self, name: str) -> None:
        """Best effort: a staging table left behind expires by itself (STAGING_LIFETIME)."""
        try:
            self.client.delete_table(f"{self.project}.{self.dataset}.{name}",
                                     not_found_ok=True)
        except Exception as exc:  # the batch's outcome is already decided
            log.warning("could not drop the staging table %s (%s)", name, exc)

    def _load_staging(self, name: str, data: bytes) -> None:
        from google.cloud import bigquery

        fields = [bigquery.SchemaField(c, "STRING") for c in STAGING_COLUMNS]
        table = bigquery.Table(f"{self.project}.{self.dataset}.{name}", schema=fields)
        table.expires = datetime.now(UTC) + STAGING_LIFETIME
        self.client.create_table(table)
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON, schema=fields,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND)
        job = self.client.load_table_from_file(io.BytesIO(data), table, job_config=config,
                                               location=self.location)
        job.result()

    # --- state -------------------------------------------------------------------------------
    def watermarks(self, source: str) -> dict[tuple[str, str], Watermark]:
        from google.cloud.bigquery import ScalarQueryParameter

        with self._lock, self.calling("read the watermarks"):
            rows = self.query(
                f"select `partition`, stream, value, etag from {self.ref(WATERMARKS_TABLE)} "
                "where source = @source", [ScalarQueryParameter("source", "STRING", source)])
        return {(r["partition"], r["stream"]): Watermark(source, r["partition"], r["stream"],
                                                         r["value"], r["etag"]) for r in rows}

    def _exists(self, table: str) -> bool:
        from google.api_core.exceptions import NotFound

        try:
            self.client.get_table(f"{self.project}.{self.dataset}.{table}")
        except NotFound:
            return False
        return True

    def read_rows(self, table: Table) -> list[dict[str, Any]]:
        """Every row of a small raw table the extractors keep state in, ordered by its key;
        none when the table was never created."""
        cols = ", ".join(quoted(c) for c in table.columns)
        key = ", ".join(quoted(c) for c in table.primary_key)
        with self._lock, self.calling(f"read {table.name}"):
            if not self._exists(table.name):
                return []
            rows = self.query(f"select {cols} from {self.ref(table.name)} order by {key}")
        return [{c: row.get(c) for c in table.columns} for row in rows]

    def stream_counts(self, source: str, streams: dict[str, tuple[str, str, int]],
                      since: datetime) -> dict[tuple[str, str], tuple[int, int]]:
        """Per (repository, stream): rows whose time is at or after `since`, and rows at or
        after the stream's watermark minus its lookback, in one query (see the DuckDB
        warehouse's). Tables never created count nothing."""
        from google.cloud.bigquery import ScalarQueryParameter

        with self._lock, self.calling("count the stored rows"):
            wanted = [(i, stream, *spec) for i, (stream, spec) in enumerate(streams.items())
                      if self._exists(spec[0])]
            if not wanted:
                return {}
            column_of = {i: quoted(column) for i, _, _, column, _ in wanted}
            sql = " union all ".join(
                f"select @stream_{i} as stream, t.repository, "
                f"countif(t.{column_of[i]} >= @since) as recent, "
                f"countif(t.{column_of[i]} >= timestamp_sub(safe_cast(w.value as timestamp), "
                f"interval @lookback_{i} second)) as rereads "
                f"from {self.ref(table)} t left join {self.ref(WATERMARKS_TABLE)} w "
                f"on w.source = @source and w.`partition` = t.repository "
                f"and w.stream = @stream_{i} group by t.repository"
                for i, _, table, _, _ in wanted)
            params = [ScalarQueryParameter("since", "TIMESTAMP", since),
                      ScalarQueryParameter("source", "STRING", source)]
            for i, stream, _, _, lookback in wanted:
                params += [ScalarQueryParameter(f"stream_{i}", "STRING", stream),
                           ScalarQueryParameter(f"lookback_{i}", "INT64", lookback)]
            rows = self.query(sql, params)
        return {(r["repository"], r["stream"]): (int(r["recent"]), int(r["rereads"]))
                for r in rows}

    def stored_keys(self, source: str,
                    streams: dict[str, tuple[str, str, str, str, int, str | None]],
                    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Per (repository, stream): key → value of the stored rows at or after the stream's
        watermark minus its lookback, in one query (see the DuckDB warehouse's: with a value
        table, the child rows' values space-joined); keys and values as text (a time as
        BigQuery casts one: `2026-02-05 09:00:00+00`)."""
        from google.cloud.bigquery import ScalarQueryParameter

        with self._lock, self.calling("list the stored keys"):
            wanted = [(i, stream, *spec) for i, (stream, spec) in enumerate(streams.items())
                      if self._exists(spec[0])]
            if not wanted:
                return {}
            sql = " union all ".join(
                f"select @stream_{i} as stream, t.repository, "
                f"cast(t.{quoted(key)} as string) as key, "
                f"{self._stored_value(key, value, child)} as value "
                f"from {self.ref(table)} t inner join {self.ref(WATERMARKS_TABLE)} w "
                f"on w.source = @source and w.`partition` = t.repository "
                f"and w.stream = @stream_{i} "
                f"where t.{quoted(time)} >= timestamp_sub(safe_cast(w.value as timestamp), "
                f"interval @lookback_{i} second)"
                for i, _, table, key, time, value, _, child in wanted)
            params = [ScalarQueryParameter("source", "STRING", source)]
            for i, stream, _, _, _, _, lookback, _ in wanted:
                params += [ScalarQueryParameter(f"stream_{i}", "STRING", stream),
                           ScalarQueryParameter(f"lookback_{i}", "INT64", lookback)]
            rows = self.query(sql, params)
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows:
            out.setdefault((r["repository"], r["stream"]), {})[r["key"]] = r["value"]
        return out

    def _stored_value(self, key: str, value: str, child: str | None) -> str:
        """stored_keys' value of a row `t`: its own column, or its child rows' values in `child`
        (same repository and key), space-joined; NULL when the child table does not exist."""
        if child is None:
            return f"cast(t.{quoted(value)} as string)"
        if not self._exists(child):
            return "cast(null as string)"
        return (f"(select string_agg(cast(c.{quoted(value)} as string), ' ' "
                f"order by c.{quoted(value)}) from {self.ref(child)} c "
                f"where c.repository = t.repository and c.{quoted(key)} = t.{quoted(key)})")

    def reset_watermarks(self, source: str, partitions: Iterable[str]) -> None:
        from google.cloud.bigquery import ArrayQueryParameter, ScalarQueryParameter

        partitions = list(partitions)
        if not partitions:
            return
        with self._lock, self.calling("reset the watermarks"):
            self.query(
                f"delete from {self.ref(WATERMARKS_TABLE)} where source = @source "
                "and `partition` in unnest(@partitions)",
                [ScalarQueryParameter("source", "STRING", source),
                 ArrayQueryParameter("partitions", "STRING", partitions)])

    def record_run(self, run: dict[str, Any]) -> None:
        from google.cloud.bigquery import ScalarQueryParameter

        values = {"run_id": run["run_id"], "command": run["command"],
                  "started_at": run["started_at"], "ended_at": run.get("ended_at"),
                  "status": run["status"], "rows_loaded": run.get("rows_loaded", 0),
                  "requests": run.get("requests", 0),
                  "graphql_points": run.get("graphql_points", 0),
                  "counts": json.dumps(run.get("counts", {})), "message": run.get("message")}
        params = [ScalarQueryParameter(c, RUN_COLUMNS[c], v) for c, v in values.items()]
        names = ", ".join(quoted(c) for c in RUN_COLUMNS)
        sources = ", ".join(f"@{c} as {quoted(c)}" for c in RUN_COLUMNS)
        updates = ", ".join(f"{quoted(c)} = s.{quoted(c)}" for c in RUN_COLUMNS if c != "run_id")
        inserted = ", ".join(f"s.{quoted(c)}" for c in RUN_COLUMNS)
        with self._lock, self.calling("record the run"):
            self.query(
                f"merge {self.ref(RUNS_TABLE)} as t using (select {sources}) as s "
                f"on t.run_id = s.run_id when matched then update set {updates} "
                f"when not matched then insert ({names}) values ({inserted})", params)

    def last_transform_fingerprint(self) -> str | None:
        """The config fingerprint of the last successful transform (fourkeys.transform)."""
        with self._lock, self.calling("read the last transform"):
            rows = self.query(
                "select json_value(counts, '$.config_fingerprint') as fingerprint "
                f"from {self.ref(RUNS_TABLE)} where command = 'transform' "
                "and status = 'success' order by ended_at desc limit 1")
        return rows[0]["fingerprint"] if rows else None

    def close(self) -> None:
        with self._lock:
            self.client.close()
