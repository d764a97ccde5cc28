"""Publishing on BigQuery: after a green `dbt build`, the marts dbt built in `<dataset>_marts` are
copied into `<dataset>`, the dataset readers query (fourkeys/publish.py does this for DuckDB).

BigQuery runs no DDL inside a multi-statement transaction, but it does run DML: the copy is one
transaction that empties and refills every published mart (`delete` + `insert … select`), so a
reader's query sees all the old marts or all the new ones, never half a build. A mart that is
not published yet, or whose columns changed, is first replaced whole with `CREATE OR REPLACE
TABLE … AS SELECT` (atomic for that table: old or new); only a first publish or a schema change
can thus show one mart ahead of the others, for the seconds until the transaction commits.
`_runs` and `_watermarks` already live in the dataset; `_raw_tables` (the raw tables' row
counts, for the dashboard's Data health page) is a view there.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fourkeys.errors import FourKeysError
from fourkeys.publish import MARTS, RAW_TABLES_SUMMARY
from fourkeys.warehouse.bigquery import BigQueryWarehouse
from fourkeys.warehouse.bigquery_sql import quoted

if TYPE_CHECKING:
    from google.cloud.bigquery import SchemaField

log = logging.getLogger(__name__)


def marts_dataset(dataset: str) -> str:
    """Where dbt builds the marts: dbt's `<target dataset>_<schema>` for `+schema: marts`."""
    return f"{dataset}_marts"


def _shape(fields: list[SchemaField]) -> list[tuple[Any, ...]]:
    return [(f.name, f.field_type, f.mode, tuple(_shape(list(f.fields)))) for f in fields]


def publish_marts(warehouse: BigQueryWarehouse, marts: tuple[str, ...] = MARTS) -> None:
    """Copy the built marts into the warehouse's dataset (see the module's docstring)."""
    from google.api_core.exceptions import NotFound

    client, project, dataset = warehouse.client, warehouse.project, warehouse.dataset
    built = marts_dataset(dataset)
    replaced: list[str] = []
    with warehouse.calling("publish the marts"):
        for name in marts:
            try:
                source = client.get_table(f"{project}.{built}.{name}")
            except NotFound:
                raise FourKeysError(
                    f"BigQuery {project}.{built}: mart {name} was not built; run "
                    "`fourkeys transform` again (the published marts are unchanged)") from None
            try:
                target = client.get_table(f"{project}.{dataset}.{name}")
            except NotFound:
                target = None
            if target is None or _shape(target.schema) != _shape(source.schema):
                warehouse.query(f"create or replace table {warehouse.ref(name)} as "
                                f"select * from {_ref(project, built, name)}")
                replaced.append(name)
        copied = [name for name in marts if name not in replaced]
        if copied:
            statements = ["begin transaction"]
            for name in copied:
                statements.append(f"delete from {warehouse.ref(name)} where true")
                statements.append(f"insert into {warehouse.ref(name)} "
                                  f"select * from {_ref(project, built, name)}")
            statements.append("commit transaction")
            warehouse.query(";\n".join(statements) + ";")
        _raw_tables_view(warehouse)
    if replaced:
        log.info("published as new tables (first publish or changed columns): %s",
                 ", ".join(replaced))
    log.info("published %d marts into %s.%s", len(marts), project, dataset)


def _ref(project: str, dataset: str, table: str) -> str:
    return f"`{project}`.`{dataset}`.{quoted(table)}"


def _raw_tables_view(warehouse: BigQueryWarehouse) -> None:
    names = sorted(t.table_id for t in warehouse.client.list_tables(
        f"{warehouse.project}.{warehouse.dataset}") if t.table_id.startswith("raw_"))
    if names:
        body = "\nunion all\n".join(
            f"select '{name}' as table_name, count(*) as row_count, "
            f"max(_extracted_at) as last_extracted_at from {warehouse.ref(name)}"
            for name in names)
    else:
        body = ("select cast(null as string) as table_name, cast(0 as int64) as row_count, "
                "cast(null as timestamp) as last_extracted_at limit 0")
    warehouse.query(f"create or replace view {warehouse.ref(RAW_TABLES_SUMMARY)} as\n{body}")
