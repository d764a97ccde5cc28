"""What the BigQuery warehouse sends: column types, the staging rows of a batch, the load script.

Pure functions (no client), so the SQL is unit-tested without BigQuery.

A batch travels in ONE staging table of three STRING columns — `kind` ('row' | 'parent' |
'watermark'), `target` (the raw table) and `payload` (the row as JSON text) — filled by one load
job, whatever the number of tables in the batch: a load job costs a second or two of latency on
BigQuery, one per raw table would cost that many. The script then casts each payload into the
table's types (`json_value` + `cast`) inside one multi-statement transaction. Every value reaches
BigQuery through the load job, never through the SQL text: the script holds only our own table
and column names (checked to be plain identifiers) and the batch's `_extracted_at`, which we
format ourselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from fourkeys.warehouse.base import LoadBatch, Table, Watermark

# DuckDB type names (Table.columns) → BigQuery. JSON is kept as STRING holding JSON text: the
# staging models read it only with json_value / json_value_array, which take a STRING exactly as
# they take a JSON value, and a STRING can be compared, grouped and loaded without a JSON parse
# step (DuckDB's JSON is itself a VARCHAR with a JSON tag).
BIGQUERY_TYPES = {
    "VARCHAR": "STRING",
    "TEXT": "STRING",
    "JSON": "STRING",
    "TIMESTAMPTZ": "TIMESTAMP",
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "BOOLEAN": "BOOL",
    "DOUBLE": "FLOAT64",
    "DATE": "DATE",
}
STAGING_COLUMNS = ("kind", "target", "payload")

WATERMARKS_TABLE = "_watermarks"
WATERMARK_COLUMNS = {"source": "STRING", "partition": "STRING", "stream": "STRING",
                     "value": "STRING", "etag": "STRING", "updated_at": "TIMESTAMP"}
WATERMARK_KEY = ("source", "partition", "stream")
RUNS_TABLE = "_runs"
RUN_COLUMNS = {"run_id": "STRING", "command": "STRING", "started_at": "TIMESTAMP",
               "ended_at": "TIMESTAMP", "status": "STRING", "rows_loaded": "INT64",
               "requests": "INT64", "graphql_points": "INT64", "counts": "STRING",
               "message": "STRING"}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def bigquery_type(duckdb_type: str) -> str:
    try:
        return BIGQUERY_TYPES[duckdb_type.upper()]
    except KeyError:
        raise ValueError(f"no BigQuery type for DuckDB type {duckdb_type!r}") from None


def table_columns(table: Table) -> dict[str, str]:
    """Every column of a raw table (with `_extracted_at`) with its BigQuery type."""
    return {name: bigquery_type(kind) for name, kind in table.all_columns().items()}


def quoted(name: str) -> str:
    """A column or table name, backquoted (`partition` is a reserved word in BigQuery)."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f"`{name}`"


def timestamp_literal(value: datetime) -> str:
    return f"timestamp '{value.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}+00:00'"


# --- the staging rows ----------------------------------------------------------------------------
def _timestamp(value: Any) -> Any:
    """ISO-8601 in UTC, the form BigQuery's cast reads; an unparseable string goes through as
    it is, so BigQuery's error names it."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    return value


def _encoded(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "JSON":
        return json.dumps(value, default=str)
    if kind == "TIMESTAMP":
        return _timestamp(value)
    return value


def _payload(values: dict[str, Any], columns: dict[str, str]) -> str:
    """Only the declared columns, JSON columns as JSON text, timestamps as ISO UTC."""
    return json.dumps({c: _encoded(values.get(c), kind) for c, kind in columns.items()},
                      default=_timestamp)


def _dedupe(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """Keep the last row per key (a batch may see one object twice across pages): MERGE refuses
    two source rows for one target row."""
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        by_key[tuple(row.get(k) for k in key)] = row
    return list(by_key.values())


def _source_columns(table: Table) -> dict[str, str]:
    # JSON columns keep the DuckDB name here so the payload serialises them as JSON text
    return {c: "JSON" if k.upper() == "JSON" else bigquery_type(k)
            for c, k in table.columns.items()}


def staging_lines(batch: LoadBatch, tables: dict[str, Table]) -> Iterator[str]:
    """The batch as newline-delimited JSON rows of the staging table."""
    for name, rows in batch.rows.items():
        if not rows:
            continue
        table = tables[name]
        columns = _source_columns(table)
        for row in _dedupe(rows, table.primary_key):
            yield json.dumps({"kind": "row", "target": name,
                              "payload": _payload(row, columns)}) + "\n"
    for name, parents in batch.replaced_parents.items():
        table = tables[name]
        columns = {c: _source_columns(table)[c] for c in table.replace_by}
        for parent in dict.fromkeys(tuple(p) for p in parents):
            values = dict(zip(table.replace_by, parent, strict=True))
            yield json.dumps({"kind": "parent", "target": name,
                              "payload": _payload(values, columns)}) + "\n"
    marks: dict[tuple[str, str, str], Watermark] = {}
    for mark in batch.watermarks:
        marks[(mark.source, mark.partition, mark.stream)] = mark
    for mark in marks.values():
        values = {"source": mark.source, "partition": mark.partition, "stream": mark.stream,
                  "value": mark.value, "etag": mark.etag}
        yield json.dumps({"kind": "watermark", "target": WATERMARKS_TABLE,
                          "payload": json.dumps(values)}) + "\n"


# --- the load script -----------------------------------------------------------------------------
def _typed(column: str, kind: str, payload: str = "payload") -> str:
    value = f"json_value({payload}, '$.{column}')"
    return value if kind == "STRING" else f"cast({value} as {kind})"


def _merge(target: str, staging: str, kind: str, name: str, columns: dict[str, str],
           key: Iterable[str], stamp: tuple[str, str]) -> str:
    """MERGE the staging rows of one kind/target into `target` by `key`; `stamp` is a column set
    to a literal on every written row (`_extracted_at` / `updated_at`)."""
    selected = ",\n    ".join(f"{_typed(c, k)} as {quoted(c)}" for c, k in columns.items())
    on = " and ".join(f"t.{quoted(c)} = s.{quoted(c)}" for c in key)
    stamp_column, stamp_value = quoted(stamp[0]), stamp[1]
    updates = ", ".join([*(f"{quoted(c)} = s.{quoted(c)}" for c in columns), ""])
    names = ", ".join(quoted(c) for c in columns)
    values = ", ".join(f"s.{quoted(c)}" for c in columns)
    return (
        f"merge {target} as t\nusing (\n  select\n    {selected}\n  from {staging}\n"
        f"  where kind = '{kind}' and target = '{name}'\n) as s\non {on}\n"
        f"when matched then update set {updates}{stamp_column} = {stamp_value}\n"
        f"when not matched then insert ({names}, {stamp_column}) "
        f"values ({values}, {stamp_value})"
    )


def _delete_children(target: str, staging: str, table: Table) -> str:
    match = " and ".join(
        f"t.{quoted(c)} = {_typed(c, bigquery_type(table.columns[c]), 's.payload')}"
        for c in table.replace_by)
    return (f"delete from {target} as t\nwhere exists (select 1 from {staging} as s "
            f"where s.kind = 'parent' and s.target = '{table.name}' and {match})")


def load_script(dataset: str, staging: str, batch: LoadBatch, tables: dict[str, Table],
                extracted_at: datetime) -> str:
    """One transaction: delete the children of replaced parents, MERGE every table of the batch
    by its primary key, MERGE the watermarks, commit. `dataset` and `staging` are backquoted
    `project.dataset` / `project.dataset.table` references."""
    stamp = timestamp_literal(extracted_at)
    statements = ["begin transaction"]
    for name, parents in batch.replaced_parents.items():
        if parents:
            table = tables[name]
            statements.append(_delete_children(f"{dataset}.{quoted(name)}", staging, table))
    for name, rows in batch.rows.items():
        if rows:
            table = tables[name]
            columns = {c: bigquery_type(k) for c, k in table.columns.items()}
            statements.append(_merge(f"{dataset}.{quoted(name)}", staging, "row", name, columns,
                                     table.primary_key, ("_extracted_at", stamp)))
    if batch.watermarks:
        columns = {c: k for c, k in WATERMARK_COLUMNS.items() if c != "updated_at"}
        statements.append(_merge(f"{dataset}.{quoted(WATERMARKS_TABLE)}", staging, "watermark",
                                 WATERMARKS_TABLE, columns, WATERMARK_KEY,
                                 ("updated_at", stamp)))
    statements.append("commit transaction")
    return ";\n".join(statements) + ";\n"
