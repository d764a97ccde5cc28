"""`dbt compile --target bigquery` on the real dbt_project, with no Google credentials and no
network, and no DuckDB-only syntax in what it compiles.

What makes compiling work offline (dbt-bigquery 1.11), found by experiment:
- dbt opens a BigQuery client for its connections even for `compile`, and the client needs
  *some* credentials: with none, `google.auth.default()` fails ("default credentials were not
  found"). The profile keeps `method: oauth` (Application Default Credentials, what real users
  have); the test points `GOOGLE_APPLICATION_CREDENTIALS` at a dummy `authorized_user` file whose
  access token is already present and unexpired, so google-auth never calls the token endpoint.
- Incremental models call `is_incremental()`, i.e. `adapter.get_relation(this)`, while
  compiling: that is a BigQuery API call (`tables.get`) which no flag turns off (with
  `--no-introspect` the model fails with "connection never acquired"; with introspection and no
  endpoint, google-api-core retries for minutes). google-cloud-bigquery's
  `BIGQUERY_EMULATOR_HOST` sends those calls to a small fake served here on 127.0.0.1 (table
  metadata only). It is run twice: no table exists (a first build) and every table exists (an
  incremental run), so both branches of every `is_incremental()` compile for BigQuery.
- `--no-populate-cache`: dbt would otherwise list each dataset's tables up front; the fake
  answers relations one by one instead (`tables.get`).
- `--no-partial-parse` and target/log paths under tmp_path: a full parse each time, and nothing
  written into the repository.
- `NO_GCE_CHECK`, an unroutable `GCE_METADATA_HOST` and an unreachable HTTP(S) proxy (except for
  127.0.0.1): should any code path still look for the GCE metadata server or call Google, it
  fails fast (and the subprocess timeout bounds retries) rather than hanging or, on a machine
  with network, reaching Google.
Unit tests (`unit_tests:`) are not compiled by `dbt compile` (they run only in `dbt build`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fakes.server import serve_in_thread
from fourkeys.transform import MARTS
from tests.conftest import ROOT

PROJECT = ROOT / "dbt_project"
COMPILE_TIMEOUT_SECONDS = 300
BQ_PROJECT = "fourkeys-compile-check"
BQ_DATASET = "fourkeys_ci"
UNREACHABLE = "127.0.0.1:9"  # the discard port: nothing listens, connections are refused

# the same shape `fourkeys transform` passes (fourkeys.transform.dbt_vars), one service per
# deployment source; a team name with an apostrophe checks BigQuery's string escaping
SERVICES: list[dict[str, Any]] = [
    {"name": "checkout-api", "team": "payments", "repository": "acme/checkout",
     "branch": "main", "deployment_source": "github_deployments", "environment": "production",
     "workflow": None, "heroku_app": None},
    {"name": "ledger", "team": "payments", "repository": "acme/ledger", "branch": "main",
     "deployment_source": "workflow_runs", "environment": None, "workflow": "deploy.yml",
     "heroku_app": None},
    {"name": "web", "team": "storefront's", "repository": "acme/web", "branch": "main",
     "deployment_source": "heroku_releases", "environment": None, "workflow": None,
     "heroku_app": "web-prod"},
    {"name": "mobile-bff", "team": "storefront's", "repository": "acme/mobile-bff",
     "branch": "trunk", "deployment_source": "releases", "environment": None, "workflow": None,
     "heroku_app": None},
    {"name": "search", "team": "discovery", "repository": "acme/search", "branch": "main",
     "deployment_source": "merged_pull_requests", "environment": "re:^prod", "workflow": None,
     "heroku_app": None},
]
INCIDENT_SOURCES: list[dict[str, Any]] = [
    {"type": "github_issues", "repository": "acme/checkout", "label": "incident",
     "service": "checkout-api"},
    {"type": "pagerduty", "repository": None, "label": None, "service": None},
]
VARS: dict[str, Any] = {
    "services": SERVICES,
    "incident_sources": INCIDENT_SOURCES,
    "attribution_window_days": 7,
    "dora_year": 2024,
    "failure_signals": ["incidents", "reverts", "rollbacks", "request_errors"],
    "as_of": "2026-03-01",
}

# --- DuckDB-only syntax, detected cheaply in code with comments and literals blanked out ---
# (BigQuery accepts INT/INTEGER/BIGINT/BOOLEAN/DECIMAL as type aliases, so those are not listed)
DUCKDB_ONLY: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE))
    for label, pattern in (
        ("`::` cast", r"::"),
        ("double-quoted identifier (a string literal in BigQuery)", r'"'),
        ("list functions", r"\blist(_\w+)?\s*\("),
        ("epoch", r"\bepoch(_ms|_us|_ns)?\s*\(|\bextract\s*\(\s*epoch\b"),
        ("regexp_matches / regexp_full_match", r"\bregexp_(matches|full_match)\s*\("),
        ("quantile / median", r"\b(quantile(_cont|_disc)?|median)\s*\("),
        ("ordered-set aggregate (WITHIN GROUP)", r"\bwithin\s+group\b"),
        ("aggregate FILTER clause", r"\bfilter\s*\(\s*where\b"),
        ("DuckDB JSON functions", r"\b(from_json|json_extract_string|json_transform)\s*\("),
        ("generate_series / range", r"\b(generate_series|range)\s*\("),
        ("strftime / strptime", r"\b(strftime|strptime)\s*\("),
        ("arg_max / arg_min / count_if / bool_or", r"\b(arg_max|arg_min|count_if|bool_or|"
         r"bool_and)\s*\("),
        ("struct_pack / string_split / split_part", r"\b(struct_pack|string_split|str_split|"
         r"split_part)\s*\("),
        ("timezone()", r"\btimezone\s*\("),
        ("to_timestamp / make_timestamp", r"\b(to_timestamp|make_timestamp|make_date)\s*\("),
        ("try_cast", r"\btry_cast\s*\("),
        ("len() / contains()", r"\b(len|contains)\s*\("),
        ("now() / today()", r"\b(now|today)\s*\(\s*\)"),
        ("ILIKE", r"\bilike\b"),
        ("SELECT * EXCLUDE", r"\*\s*exclude\b"),
        ("date part as a leading string argument",
         r"\b(date_trunc|datetrunc|date_diff|datediff|date_part|datepart)\s*\(\s*''"),
        ("plural INTERVAL unit", r"\binterval\s+\S+\s+(second|minute|hour|day|week|month|"
         r"year)s\b"),
        ("DuckDB type name", r"\bas\s+(varchar|timestamptz|double|hugeint|blob|real|"
         r"timestamp\s+with\s+time\s+zone)\b"),
        ("table alias with a column list (`as t(col)`)",
         r"\)\s+as\s+\w+\s*\(\s*\w+(\s*,\s*\w+)*\s*\)"),
    )
)
# comments, string literals (BigQuery escapes with backslashes; r'' / b'' prefixes stay behind
# as a letter) and backtick-quoted names; a literal becomes '' so "string first argument"
# patterns still see it
_NOT_CODE = re.compile(r"--[^\n]*|#[^\n]*|/\*.*?\*/|'(?:\\.|[^'\\])*'|`[^`]*`", re.DOTALL)


def code_only(sql: str) -> str:
    return _NOT_CODE.sub(lambda m: "''" if m.group(0).startswith("'") else " ", sql)


def duckdb_only_syntax(sql: str) -> list[str]:
    code = code_only(sql)
    return [label for label, pattern in DUCKDB_ONLY if pattern.search(code)]


# --- a fake BigQuery that answers table metadata only ---------------------------------------


@dataclass
class FakeBigQuery:
    """`tables.get` for any table: 404 when `tables_exist` is false, else an empty TABLE.
    Anything else is a 400, so a model that queries BigQuery while compiling fails at once."""

    tables_exist: bool
    seen: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/bigquery/v2/projects/{project}/datasets/{dataset}/tables/{table}",
                  self.get_table, methods=["GET"]),
            Route("/{path:path}", self.unsupported,
                  methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ])

    async def get_table(self, request: Request) -> JSONResponse:
        project, dataset, table = (request.path_params[k] for k in ("project", "dataset", "table"))
        self.seen.append(f"{project}.{dataset}.{table}")
        if not self.tables_exist:
            return _error(404, "notFound", f"Not found: Table {project}:{dataset}.{table}")
        return JSONResponse({
            "kind": "bigquery#table",
            "id": f"{project}:{dataset}.{table}",
            "tableReference": {"projectId": project, "datasetId": dataset, "tableId": table},
            "type": "TABLE",
            "schema": {"fields": []},
        })

    async def unsupported(self, request: Request) -> JSONResponse:
        self.seen.append(f"{request.method} {request.url.path}")
        return _error(400, "invalid", "the compile check's fake BigQuery serves tables.get only: "
                      f"{request.method} {request.url.path}")


def _error(code: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message,
                                   "errors": [{"reason": reason, "message": message}]}},
                        status_code=code)


# --- running dbt ---------------------------------------------------------------------------


def offline_env(work: Path, bigquery_url: str) -> dict[str, str]:
    """The caller's environment without Google/dbt settings, plus dummy ADC and the fake."""
    adc = work / "application_default_credentials.json"
    adc.write_text(json.dumps({
        "type": "authorized_user",
        "client_id": "compile-only.apps.googleusercontent.com",
        "client_secret": "compile-only",
        "refresh_token": "compile-only",
        "token": "compile-only",  # a present, unexpired token: never refreshed
        "expiry": "2999-01-01T00:00:00Z",
    }), encoding="utf-8")
    dropped = ("GOOGLE_", "CLOUDSDK_", "GCE_", "DBT_", "FOURKEYS_BQ_", "BIGQUERY_")
    proxies = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(dropped) and k.upper() not in proxies}
    env.update({
        "GOOGLE_APPLICATION_CREDENTIALS": str(adc),
        "GOOGLE_CLOUD_PROJECT": BQ_PROJECT,  # else google.auth warns it found no project
        "CLOUDSDK_CONFIG": str(work / "gcloud"),  # never read the developer's gcloud config
        "BIGQUERY_EMULATOR_HOST": bigquery_url,
        "NO_GCE_CHECK": "True",
        "GCE_METADATA_HOST": UNREACHABLE,
        "GCE_METADATA_IP": UNREACHABLE,
        "HTTP_PROXY": f"http://{UNREACHABLE}",
        "HTTPS_PROXY": f"http://{UNREACHABLE}",
        "NO_PROXY": "127.0.0.1,localhost",
        "FOURKEYS_BQ_PROJECT": BQ_PROJECT,
        "FOURKEYS_BQ_DATASET": BQ_DATASET,
        "FOURKEYS_BQ_LOCATION": "EU",
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    })
    return env


def compile_bigquery(project: Path, work: Path, variables: dict[str, Any],
                     bigquery: FakeBigQuery) -> Path:
    """Run `dbt compile --target bigquery` on `project` in a fresh process against the fake;
    returns the target directory. Fails with dbt's output if dbt fails or runs too long."""
    target = work / "target"
    cmd = [
        sys.executable, "-c", "import sys; from dbt.cli.main import cli; sys.exit(cli())",
        "--no-use-colors", "compile",
        "--project-dir", str(project), "--profiles-dir", str(project),
        "--target", "bigquery", "--vars", json.dumps(variables),
        "--no-populate-cache", "--no-partial-parse",
        "--target-path", str(target), "--log-path", str(work / "logs"),
    ]
    with serve_in_thread(bigquery.app()) as server:
        env = offline_env(work, server.base_url)
        try:
            done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True,
                                  timeout=COMPILE_TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(
                f"dbt compile --target bigquery ran past {COMPILE_TIMEOUT_SECONDS}s: it is "
                f"probably retrying a network call\n{exc.stdout!r}\n{exc.stderr!r}") from exc
    output = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, f"dbt compile --target bigquery failed:\n{output}"
    assert (target / "manifest.json").is_file(), output
    return target


# --- tests ---------------------------------------------------------------------------------


def test_the_detector_sees_the_duckdb_spellings_and_passes_the_bigquery_ones() -> None:
    """Our macros' DuckDB and BigQuery renderings (macros/portable.sql), so the check below
    cannot pass vacuously."""
    duckdb_sql = {
        "timezone('UTC', created_at)": "timezone()",
        "list_sort(list_distinct(list(cause)))": "list functions",
        "regexp_matches(title, '^Revert \"')": "regexp_matches / regexp_full_match",
        "quantile_cont(lead_time_seconds, 0.5)": "quantile / median",
        "cross join unnest(from_json(labels, '[\"VARCHAR\"]')) as _label(label)":
            "DuckDB JSON functions",
        "cast(date_trunc('week', deployed_at) as date)": "date part as a leading string argument",
        "select created_at::date from t": "`::` cast",
        'select "service" from t': "double-quoted identifier (a string literal in BigQuery)",
        "date_diff('second', a, b)": "date part as a leading string argument",
        "epoch(deployed_at)": "epoch",
    }
    for sql, label in duckdb_sql.items():
        assert label in duckdb_only_syntax(sql), sql
    bigquery_sql = (
        "date_trunc(date(deployed_at), week(monday))",
        "regexp_contains(title, r'^Revert \"') -- casts like x::int are fine in a comment",
        "cross join unnest(json_value_array(labels)) as label",
        "array_agg(distinct cause ignore nulls order by cause)",
        "timestamp_diff(b, a, second)",
        "select cast('o\\'neil::x' as string) as team from `p`.`d`.`t`",
        "(select percentile_cont(_v, 0.5) over () from unnest(array_agg(x ignore nulls)) as _v "
        "limit 1)",
        "generate_date_array(a, b, interval 7 day)",
    )
    for sql in bigquery_sql:
        assert duckdb_only_syntax(sql) == [], sql


@pytest.mark.parametrize("tables_exist", [False, True], ids=["first_build", "incremental_run"])
def test_every_model_compiles_for_bigquery_without_credentials(
    tmp_path: Path, tables_exist: bool
) -> None:
    created_before = {name: (PROJECT / name).exists() for name in ("target", "logs")}
    bigquery = FakeBigQuery(tables_exist=tables_exist)
    target = compile_bigquery(PROJECT, tmp_path, VARS, bigquery)

    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["metadata"]["adapter_type"] == "bigquery"
    ours = {k: n for k, n in manifest["nodes"].items() if n["package_name"] == "fourkeys"}
    models = {n["name"]: n for n in ours.values() if n["resource_type"] == "model"}
    assert set(MARTS) <= set(models), f"marts missing: {sorted(set(MARTS) - set(models))}"

    compiled: dict[str, str] = {}
    for unique_id, node in sorted(ours.items()):
        if node["resource_type"] not in ("model", "test", "snapshot", "analysis"):
            continue
        path = Path(node.get("compiled_path") or "")
        if not path.is_absolute():
            path = target / "compiled" / node["package_name"] / node["original_file_path"]
        assert path.is_file(), f"{unique_id}: no compiled SQL at {path}"
        compiled[unique_id] = path.read_text(encoding="utf-8")
        assert compiled[unique_id].strip(), f"{unique_id}: compiled SQL is empty"
    assert {f"model.fourkeys.{name}" for name in models} <= set(compiled)

    offenders = {uid: found for uid, sql in compiled.items() if (found := duckdb_only_syntax(sql))}
    assert offenders == {}, "DuckDB-only syntax in BigQuery SQL:\n" + "\n".join(
        f"  {uid}: {', '.join(found)}" for uid, found in sorted(offenders.items()))

    everything = "\n".join(compiled.values())
    # the raw tables are read from the configured project and dataset
    assert f"`{BQ_PROJECT}`.`{BQ_DATASET}`.`raw_github_" in everything
    # the vars reached the SQL, the apostrophe escaped BigQuery's way (not doubled)
    for service in SERVICES:
        assert f"'{service['name']}'" in everything, service["name"]
    assert "'storefront\\'s'" in everything
    assert "'storefront''s'" not in everything

    # every incremental model asked whether its table exists (is_incremental()), and the fake
    # was asked for nothing but table metadata
    incremental = {f"{n['database']}.{n['schema']}.{n['alias']}" for n in models.values()
                   if n["config"]["materialized"] == "incremental"}
    assert incremental <= set(bigquery.seen), sorted(incremental - set(bigquery.seen))
    assert [s for s in bigquery.seen if " " in s] == []

    for name, existed in created_before.items():
        assert existed or not (PROJECT / name).exists(), f"dbt wrote dbt_project/{name}"
