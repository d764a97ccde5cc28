"""`fourkeys sql`: one query on the published marts (read-only), printed as a table, CSV or JSON.

DuckDB: the published file, opened read-only, DuckDB SQL. BigQuery: GoogleSQL in BigQuery with
the published dataset as the default dataset (`select … from fct_deployments`); a dry run first
refuses anything but a SELECT, since BigQuery has no read-only session.

JSON is one array of objects; timestamps are ISO-8601 UTC strings (`2026-01-05T10:00:00Z`),
dates `YYYY-MM-DD`, lists arrays, decimals numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from fourkeys.errors import FourKeysError

FORMATS = ("table", "csv", "json")


def run_query(published: Path, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    if not published.exists():
        raise FourKeysError(
            f"{published}: no published marts yet; run `fourkeys run` (or `fourkeys transform`) "
            "with this config first"
        )
    con = duckdb.connect(str(published), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        cursor = con.execute(query)
        if cursor.description is None:
            return [], []
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()
    except duckdb.Error as exc:
        first = " ".join(str(exc).split())[:300]
        raise FourKeysError(f"the query failed: {first}") from None
    finally:
        con.close()


def run_bigquery_query(project: str | None, dataset: str, location: str,
                       query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    from google.api_core import exceptions as api
    from google.auth.exceptions import GoogleAuthError
    from google.cloud import bigquery
    from requests.exceptions import RequestException

    from fourkeys.warehouse.bigquery import error_message, make_client

    client = make_client(project, location)
    subject = f"{client.project}.{dataset}"
    try:
        config = bigquery.QueryJobConfig(default_dataset=subject)
        planned = client.query(query, job_config=bigquery.QueryJobConfig(
            default_dataset=subject, dry_run=True, use_query_cache=False), location=location)
        if planned.statement_type not in (None, "SELECT"):
            raise FourKeysError(
                f"the query failed: fourkeys sql runs one SELECT on BigQuery, not a "
                f"{planned.statement_type} statement")
        result = client.query(query, job_config=config, location=location).result()
        columns = [field.name for field in result.schema]
        return columns, [tuple(row.values()) for row in result]
    except (api.BadRequest, api.NotFound) as exc:  # the query's own fault: BigQuery's words
        first = " ".join(str(getattr(exc, "message", None) or exc).split())[:300]
        raise FourKeysError(f"the query failed: {first}") from None
    except (api.GoogleAPIError, GoogleAuthError, RequestException, OSError) as exc:
        raise FourKeysError(error_message(exc, subject, "run the query")) from None
    finally:
        client.close()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat() + "Z"  # naive mart timestamps are UTC
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    converted = _json_value(value)
    if isinstance(converted, list | dict):
        return json.dumps(converted)
    return str(converted)


def render(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{c: _json_value(v) for c, v in zip(columns, row, strict=True)}
                           for row in rows], ensure_ascii=False)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_text(v) for v in row] for row in rows)
        return out.getvalue().rstrip("\n")
    cells = [[_text(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
            for r in cells]
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line.rstrip(), rule, *body, f"({len(rows)} rows)"])
