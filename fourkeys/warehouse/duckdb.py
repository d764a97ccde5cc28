"""DuckDB warehouse: merge-by-key and watermark advance in one transaction.

Why not dlt here: dlt's DuckDB loader commits each table's job and the pipeline state in separate
transactions and relies on the pending package in its local working folder to finish a killed
load; a fresh machine that lost that folder can see data without its state or the reverse. One
DuckDB transaction per batch gives the guarantee directly, with no extra columns in the tables.
Rows travel as newline-delimited JSON read by DuckDB's `read_json` (fast, typed by the table).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from fourkeys.errors import FourKeysError
from fourkeys.warehouse.base import LoadBatch, Table, Watermark

log = logging.getLogger(__name__)

_WATERMARKS = """
create table if not exists _watermarks (
  source varchar not null, partition varchar not null, stream varchar not null,
  value varchar, etag varchar, updated_at timestamptz not null,
  primary key (source, partition, stream))
"""
_RUNS = """
create table if not exists _runs (
  run_id varchar primary key, command varchar, started_at timestamptz, ended_at timestamptz,
  status varchar, rows_loaded bigint, requests bigint, graphql_points bigint, counts json,
  message varchar)
"""


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot serialise {type(value).__name__}")


class DuckDBWarehouse:
    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            first = str(exc).splitlines()[0]
            if "lock" in first.lower():
                raise FourKeysError(
                    f"{path}: the warehouse is locked by another process (another run?); "
                    "wait for it to finish"
                ) from None
            if not _unusable(first):
                raise FourKeysError(f"{path}: cannot open the warehouse ({first})") from None
            raise FourKeysError(_unusable_message(path, first)) from None
        except duckdb.Error as exc:
            raise FourKeysError(_unusable_message(path, str(exc).splitlines()[0])) from None
        self._lock = threading.Lock()
        self._tables: dict[str, Table] = {}
        if not read_only:
            self.con.execute(_WATERMARKS)
            self.con.execute(_RUNS)

    @contextmanager
    def _using(self) -> Iterator[None]:
        """The connection, one thread at a time. A damaged block met on the way (a file that
        opened but fails its checksums further in) is the one-line "not a usable DuckDB file"
        error the CLI prints, not an internal error."""
        with self._lock:
            try:
                yield
            except duckdb.Error as exc:
                first = str(exc).splitlines()[0]
                if _unusable(first):
                    raise FourKeysError(_unusable_message(self.path, first)) from None
                raise

    # --- schema ------------------------------------------------------------------------------
    def ensure_tables(self, tables: Iterable[Table]) -> None:
        with self._using():
            for table in tables:
                self._tables[table.name] = table
                cols = table.all_columns()
                existing = {
                    r[0]
                    for r in self.con.execute(
                        "select column_name from information_schema.columns where table_name = ?",
                        [table.name],
                    ).fetchall()
                }
                if not existing:
                    ddl = ", ".join(f'"{c}" {t}' for c, t in cols.items())
                    pk = ", ".join(f'"{c}"' for c in table.primary_key)
                    self.con.execute(
                        f'create table "{table.name}" ({ddl}, primary key ({pk}))'
                    )
                    continue
                for column, kind in cols.items():
                    if column not in existing:  # additive schema evolution only
                        self.con.execute(f'alter table "{table.name}" add column "{column}" {kind}')

    # --- loads -------------------------------------------------------------------------------
    def load(self, batch: LoadBatch) -> None:
        extracted_at = datetime.now(UTC)
        with self._using(), tempfile.TemporaryDirectory(prefix="fourkeys-load-") as tmp:
            files: dict[str, str] = {}
            for name, rows in batch.rows.items():
                if not rows:
                    continue
                table = self._tables[name]
                path = os.path.join(tmp, f"{name}.ndjson")
                with open(path, "w", encoding="utf-8") as fh:
                    for row in _dedupe(rows, table.primary_key):
                        row = {c: row.get(c) for c in table.columns}
                        fh.write(json.dumps(row, default=_json_default))
                        fh.write("\n")
                files[name] = path
            self.con.execute("begin transaction")
            try:
                for name, parents in batch.replaced_parents.items():
                    self._delete_children(self._tables[name], parents, tmp)
                for name, path in files.items():
                    self._merge(self._tables[name], path, extracted_at)
                self._write_watermarks(batch.watermarks, extracted_at, tmp)
                self.con.execute("commit")
            except BaseException:
                self.con.execute("rollback")
                raise

    def _delete_children(self, table: Table, parents: list[tuple[Any, ...]],
                         folder: str) -> None:
        if not parents:
            return
        # one DELETE … USING the parents' keys as NDJSON (read_json, like the rows): a DELETE
        # per parent scans the table each time (bench/scale.py measured 0.21 s for 50 parents
        # vs 0.06 s in one statement), and bound VALUES of 500 parents spent 0.1 s of a
        # refresh's load binding 2,000 pull requests' parameters
        path = os.path.join(folder, f"{table.name}.parents.ndjson")
        with open(path, "w", encoding="utf-8") as fh:
            for parent in dict.fromkeys(tuple(p) for p in parents):
                fh.write(json.dumps(dict(zip(table.replace_by, parent, strict=True)),
                                    default=_json_default))
                fh.write("\n")
        spec = ", ".join(f"'{c}': '{table.columns[c]}'" for c in table.replace_by)
        cond = " and ".join(f'"{table.name}"."{c}" = parents."{c}"' for c in table.replace_by)
        self.con.execute(
            f'delete from "{table.name}" using read_json(?, format=\'newline_delimited\', '
            f"columns={{{spec}}}) as parents where {cond}", [path])

    def _write_watermarks(self, marks: list[Watermark], extracted_at: datetime,
                          folder: str) -> None:
        # as NDJSON read by read_json, like the rows: a refresh writes thousands of marks, and
        # statements of 500 bound VALUES rows each spent 0.6 s of a 1,000-repository refresh
        # binding parameters (bench/scale.py; one INSERT per mark had been 40% of its extract)
        latest = list({(m.source, m.partition, m.stream): m for m in marks}.values())
        if not latest:
            return
        path = os.path.join(folder, "_watermarks.ndjson")
        with open(path, "w", encoding="utf-8") as fh:
            for m in latest:
                fh.write(json.dumps({"source": m.source, "partition": m.partition,
                                     "stream": m.stream, "value": m.value, "etag": m.etag}))
                fh.write("\n")
        marks_sql = ("read_json(?, format='newline_delimited', columns={'source': 'varchar', "
                     "'partition': 'varchar', 'stream': 'varchar', 'value': 'varchar', "
                     "'etag': 'varchar'})")
        # delete, then insert, as in _merge
        self.con.execute(
            f"delete from _watermarks using {marks_sql} as marks where "
            "_watermarks.source = marks.source and _watermarks.partition = marks.partition "
            "and _watermarks.stream = marks.stream", [path])
        self.con.execute(
            "insert into _watermarks select source, partition, stream, value, etag, "
            f"?::timestamptz from {marks_sql}", [extracted_at, path])

    def _merge(self, table: Table, path: str, extracted_at: datetime) -> None:
        # DELETE the batch's keys, then INSERT: `insert or replace` checks each row against
        # the primary-key index and took ~4x as long (bench/scale.py's refresh: 110 ms vs
        # 30 ms for 200 re-read commits against 450,000 stored); the transaction around the
        # batch makes the pair one change
        spec = ", ".join(f"'{c}': '{t}'" for c, t in table.columns.items())
        cols = ", ".join(f'"{c}"' for c in table.columns)
        rows = f"read_json(?, format='newline_delimited', columns={{{spec}}})"
        cond = " and ".join(f'"{table.name}"."{c}" = batch."{c}"' for c in table.primary_key)
        self.con.execute(f'delete from "{table.name}" using {rows} as batch where {cond}', [path])
        self.con.execute(
            f'insert into "{table.name}" ({cols}, "_extracted_at") '
            f"select {cols}, ?::timestamptz from {rows}",
            [extracted_at, path],
        )

    # --- state -------------------------------------------------------------------------------
    def watermarks(self, source: str) -> dict[tuple[str, str], Watermark]:
        with self._using():
            rows = self.con.execute(
                "select partition, stream, value, etag from _watermarks where source = ?",
                [source],
            ).fetchall()
        return {(p, s): Watermark(source, p, s, v, e) for p, s, v, e in rows}

    def read_rows(self, table: Table) -> list[dict[str, Any]]:
        """Every row of a raw table the extractors keep state in (small tables only: e.g. the
        discovered repositories of [[organizations]]), ordered by its key; none when the table
        was never created."""
        cols = ", ".join(f'"{c}"' for c in table.columns)
        key = ", ".join(f'"{c}"' for c in table.primary_key)
        with self._using():
            exists = self.con.execute(
                "select count(*) from information_schema.tables where table_name = ?",
                [table.name]).fetchone()
            if not exists or not exists[0]:
                return []
            cursor = self.con.execute(f'select {cols} from "{table.name}" order by {key}')
            return [dict(zip(table.columns, row, strict=True)) for row in cursor.fetchall()]

    def _present_tables(self) -> set[str]:
        """The tables that exist (lock held)."""
        return {r[0] for r in self.con.execute(
            "select table_name from information_schema.tables").fetchall()}

    def _present_streams(self, streams: dict[str, tuple[Any, ...]],
                         present: set[str] | None = None) -> list[tuple[Any, ...]]:
        """(stream, *spec) of the streams whose raw table (spec[0]) exists (lock held)."""
        present = self._present_tables() if present is None else present
        return [(stream, *spec) for stream, spec in streams.items() if spec[0] in present]

    def stream_counts(self, source: str, streams: dict[str, tuple[str, str, int]],
                      since: datetime) -> dict[tuple[str, str], tuple[int, int]]:
        """Per (repository, stream): rows whose time is at or after `since`, and rows at or
        after the stream's watermark minus its lookback. `streams`: stream → (raw table, time
        column, lookback in seconds); the watermarks are `source`'s, by repository. Tables
        never created count nothing."""
        with self._using():
            wanted = self._present_streams(streams)
            if not wanted:
                return {}
            sql = " union all ".join(
                f'select ? as stream, t.repository, count(*) filter (where t."{column}" >= ?), '
                f'count(*) filter (where t."{column}" >= try_cast(w.value as timestamptz) '
                f'- to_seconds(?)) from "{table}" t left join _watermarks w '
                f"on w.source = ? and w.partition = t.repository and w.stream = ? "
                f"group by t.repository"
                for _, table, column, _ in wanted)
            params = [v for stream, _, _, lookback in wanted
                      for v in (stream, since, lookback, source, stream)]
            rows = self.con.execute(sql, params).fetchall()
        return {(repository, stream): (int(recent), int(rereads))
                for stream, repository, recent, rereads in rows}

    def stored_keys(self, source: str,
                    streams: dict[str, tuple[str, str, str, str, int, str | None]],
                    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Per (repository, stream): key → value of the stored rows at or after the stream's
        watermark minus its lookback (what a refresh's walk lists again). `streams`: stream →
        (raw table, key column, time column, value column, lookback in seconds, value table):
        without a value table the value is the row's own; with one it is the values of the
        child rows there with the same repository and key, space-joined (NULL: none). Only
        repositories with a `source` watermark for the stream. Keys and values are text (a
        time as DuckDB writes one: ISO with an offset)."""
        with self._using():
            present = self._present_tables()
            wanted = self._present_streams(streams, present)
            if not wanted:
                return {}
            sql = " union all ".join(
                f"select ? as stream, t.repository, cast(t.\"{key}\" as varchar), "
                f"{_stored_value(key, value, child, present)} "
                f'from "{table}" t inner join _watermarks w on w.source = ? '
                f"and w.partition = t.repository and w.stream = ? "
                f'where t."{time}" >= try_cast(w.value as timestamptz) - to_seconds(?)'
                for _, table, key, time, value, _, child in wanted)
            params = [v for stream, _, _, _, _, lookback, _ in wanted
                      for v in (stream, source, stream, lookback)]
            rows = self.con.execute(sql, params).fetchall()
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for stream, repository, key, value in rows:
            out.setdefault((repository, stream), {})[key] = value
        return out

    def reset_watermarks(self, source: str, partitions: Iterable[str]) -> None:
        with self._using():
            self.con.executemany(
                "delete from _watermarks where source = ? and partition = ?",
                [[source, p] for p in partitions],
            )

    def record_run(self, run: dict[str, Any]) -> None:
        with self._using():
            self.con.execute(
                "insert or replace into _runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run["run_id"], run["command"], run["started_at"], run.get("ended_at"),
                 run["status"], run.get("rows_loaded", 0), run.get("requests", 0),
                 run.get("graphql_points", 0), json.dumps(run.get("counts", {})),
                 run.get("message")],
            )

    def close(self) -> None:
        with self._lock:
            self.con.close()


def _unusable(message: str) -> bool:
    """An error that is the file's fault, not the disk's: DuckDB reports a file that is not a
    database (garbage, a half copy) or fails its block checksums this way."""
    lowered = message.lower()
    return "not a valid duckdb database" in lowered or "corrupt" in lowered


def _unusable_message(path: Path, first: str) -> str:
    return f"{path}: not a usable DuckDB file ({first}); move it aside and re-run"


def _dedupe(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """Keep the last row per key: a batch may see the same object twice across pages."""
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        by_key[tuple(row.get(k) for k in key)] = row
    return list(by_key.values())


def _stored_value(key: str, value: str, child: str | None, present: set[str]) -> str:
    """stored_keys' value of a row `t`: its own column, or its child rows' values in `child`
    (same repository and key), space-joined; NULL when the child table was never created."""
    if child is None:
        return f'cast(t."{value}" as varchar)'
    if child not in present:
        return "cast(null as varchar)"
    return (f"(select string_agg(cast(c.\"{value}\" as varchar), ' ' order by c.\"{value}\") "
            f'from "{child}" c where c.repository = t.repository and c."{key}" = t."{key}")')
