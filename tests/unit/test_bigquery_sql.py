"""The BigQuery warehouse's SQL and staging rows, without BigQuery
(fourkeys/warehouse/bigquery_sql.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from extractors.tables import ALL_TABLES, COMMITS, PULL_REQUEST_COMMITS, PULL_REQUESTS
from fourkeys.warehouse.base import LoadBatch, Table, Watermark
from fourkeys.warehouse.bigquery_sql import (
    bigquery_type,
    load_script,
    quoted,
    staging_lines,
    table_columns,
)
from incidents.tables import INCIDENT_TABLES

TABLES = {t.name: t for t in (*ALL_TABLES, *INCIDENT_TABLES)}
AT = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)


def staged(batch: LoadBatch) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in staging_lines(batch, TABLES)]
    for row in rows:
        row["payload"] = json.loads(row["payload"])  # type: ignore[arg-type]
    return rows


def test_every_raw_column_has_a_bigquery_type() -> None:
    for table in TABLES.values():
        columns = table_columns(table)
        assert columns["_extracted_at"] == "TIMESTAMP"
        assert set(columns.values()) <= {"STRING", "INT64", "BOOL", "TIMESTAMP"}, table.name
    assert table_columns(COMMITS)["parents"] == "STRING"  # JSON text, read with json_value
    assert table_columns(PULL_REQUESTS)["number"] == "INT64"
    assert table_columns(PULL_REQUESTS)["is_draft"] == "BOOL"
    with pytest.raises(ValueError, match="HUGEINT"):
        bigquery_type("HUGEINT")


def test_staging_rows_carry_json_as_text_timestamps_in_utc_and_the_last_row_per_key() -> None:
    batch = LoadBatch()
    paris = timezone(timedelta(hours=1))
    batch.add(PULL_REQUESTS.name, [
        {"repository": "acme/a", "number": 1, "title": "first", "labels": ["bug"],
         "created_at": "2026-03-01T13:00:00+01:00", "is_draft": False, "ignored": "x"},
        {"repository": "acme/a", "number": 1, "title": "second", "labels": ["bug", "hotfix"],
         "created_at": datetime(2026, 3, 1, 13, 0, tzinfo=paris), "is_draft": True},
    ])
    rows = staged(batch)
    assert len(rows) == 1
    payload = rows[0]["payload"]
    assert rows[0]["kind"] == "row" and rows[0]["target"] == PULL_REQUESTS.name
    assert payload["title"] == "second"  # type: ignore[index]
    assert payload["labels"] == '["bug", "hotfix"]'  # type: ignore[index]
    assert payload["created_at"] == "2026-03-01T12:00:00+00:00"  # type: ignore[index]
    assert "ignored" not in payload  # type: ignore[operator]
    assert set(payload) == set(PULL_REQUESTS.columns)  # type: ignore[arg-type]


def test_parents_and_watermarks_travel_in_the_same_staging_table() -> None:
    batch = LoadBatch(replaced_parents={PULL_REQUEST_COMMITS.name: [("acme/a", 7), ("acme/a", 7)]},
                      watermarks=[Watermark("github", "acme/a", "pull_requests", "2026-03-01"),
                                  Watermark("github", "acme/a", "pull_requests", "2026-03-02",
                                            etag='W/"x"')])
    rows = staged(batch)
    assert rows == [
        {"kind": "parent", "target": PULL_REQUEST_COMMITS.name,
         "payload": {"repository": "acme/a", "pull_request_number": 7}},
        {"kind": "watermark", "target": "_watermarks",
         "payload": {"source": "github", "partition": "acme/a", "stream": "pull_requests",
                     "value": "2026-03-02", "etag": 'W/"x"'}},
    ]


def test_the_load_script_is_one_transaction_deletes_then_merges_then_watermarks() -> None:
    batch = LoadBatch(replaced_parents={PULL_REQUEST_COMMITS.name: [("acme/a", 7)]},
                      watermarks=[Watermark("github", "acme/a", "pull_requests", "v")])
    batch.add(PULL_REQUESTS.name, [{"repository": "acme/a", "number": 7,
                                    "title": "'; drop table x; --"}])
    batch.add(PULL_REQUEST_COMMITS.name, [{"repository": "acme/a", "pull_request_number": 7,
                                           "sha": "abc"}])
    script = load_script("`p`.`d`", "`p`.`d`.`_load_1`", batch, TABLES, AT)
    statements = [s.strip() for s in script.split(";\n") if s.strip()]
    assert statements[0] == "begin transaction"
    assert statements[-1] == "commit transaction"
    assert statements[1].startswith("delete from `p`.`d`.`raw_github_pull_request_commits`")
    assert statements[2].startswith("merge `p`.`d`.`raw_github_pull_requests`")
    assert statements[3].startswith("merge `p`.`d`.`raw_github_pull_request_commits`")
    assert statements[4].startswith("merge `p`.`d`.`_watermarks`")
    # merged on the primary key; typed from the payload; stamped with the batch's time
    assert "on t.`repository` = s.`repository` and t.`number` = s.`number`" in statements[2]
    assert "cast(json_value(payload, '$.number') as INT64) as `number`" in statements[2]
    assert "`_extracted_at` = timestamp '2026-03-01 12:30:05.123456+00:00'" in statements[2]
    assert "t.`partition` = s.`partition`" in statements[4]
    # values reach BigQuery through the load job only, never through the SQL text
    assert "drop table" not in script


def test_an_empty_table_in_a_batch_writes_no_statement() -> None:
    batch = LoadBatch(rows={PULL_REQUESTS.name: []})
    assert load_script("`p`.`d`", "`p`.`d`.`s`", batch, TABLES, AT) == (
        "begin transaction;\ncommit transaction;\n")


def test_names_must_be_plain_identifiers() -> None:
    assert quoted("partition") == "`partition`"
    for bad in ("a`b", "a b", "1a", "a-b", ""):
        with pytest.raises(ValueError):
            quoted(bad)
    odd = Table("raw_odd", ("k",), {"k": "VARCHAR", "bad name": "VARCHAR"})
    batch = LoadBatch(rows={"raw_odd": [{"k": "1"}]})
    with pytest.raises(ValueError):
        load_script("`p`.`d`", "`p`.`d`.`s`", batch, {"raw_odd": odd}, AT)
