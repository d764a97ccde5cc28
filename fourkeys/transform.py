"""`fourkeys transform`: dbt build on the configured warehouse, then publish the marts.

dbt runs in-process (dbtRunner) on `dbt_project/`: staging and intermediate models land in the
`main_build` schema, marts in `main_marts`. Only when every model and test passed are the marts
copied into `main` in one DuckDB transaction and into the published file the dashboard reads
(fourkeys/publish.py), so a failing model or test leaves the previously published marts exactly
as they were (and readers never see half a build).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fourkeys.config import Config, ServiceConfig
from fourkeys.errors import FourKeysError
from fourkeys.publish import MARTS, MARTS_SCHEMA, discard_staged, finish_publish, stage_marts
from fourkeys.warehouse.duckdb import DuckDBWarehouse

log = logging.getLogger(__name__)
# =1: `transform` also writes dbt's JSON artifacts (target/manifest.json, run_results.json)
ENV_DBT_ARTIFACTS = "FOURKEYS_DBT_ARTIFACTS"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


__all__ = ["MARTS", "PreparedParse", "TransformSummary", "build_marts", "dbt_args", "run_dbt",
           "start_parse"]
# dbt's console output off: `transform` prints one line per failure itself; the full log stays
# in <warehouse dir>/dbt/logs/dbt.log
_DBT_QUIET = ["--log-level", "none", "--log-level-file", "info", "--no-use-colors"]


@dataclass
class TransformSummary:
    seconds: float = 0.0
    models: int = 0
    tests: int = 0
    failures: list[str] = field(default_factory=list)
    published: bool = False

    def line(self) -> str:
        state = "published" if self.published else "NOT published (previous marts kept)"
        return (f"transformed: {self.models} models, {self.tests} tests, "
                f"{len(self.failures)} failures in {self.seconds:.1f}s; marts {state}")


def dbt_vars(config: Config) -> dict[str, Any]:
    """fourkeys.toml → the dbt vars the models read (dbt_project.yml documents them). The
    `--as-of` day is not one of them: it goes in FOURKEYS_AS_OF (run_dbt), because dbt parses
    the whole project again whenever a var changes, and only the files that read an
    environment variable when it changes."""
    return {
        "services": [
            {"name": s.name, "team": s.team, "repository": s.repository.lower(),
             "branch": s.branch, "deployment_source": s.deployment_source,
             "environment": s.environment_or_default
             if s.deployment_source == "github_deployments" else s.environment,
             "workflow": s.workflow, "heroku_app": s.heroku_app, **_monorepo_vars(s)}
            for s in config.services
        ],
        "incident_sources": [
            {"type": i.type, "repository": (i.repository or "").lower() or None,
             "label": i.label, "service": i.service}
            for i in config.incident_sources
        ],
        "attribution_window_days": config.metrics.attribution_window_days,
        "incident_merge_minutes": config.metrics.incident_merge_minutes,
        "dora_year": config.metrics.dora_year,
        "failure_signals": list(config.metrics.failure_signals),
        "request_window_minutes": config.requests.window_minutes,
        # the SQL compares z with a constant: the one-sided critical value of [requests] p_value
        "request_z_critical": statistics.NormalDist().inv_cdf(1 - config.requests.p_value),
        "request_min_margin": config.requests.min_margin,
        "request_min_requests": config.requests.min_requests,
    }


def _monorepo_vars(service: ServiceConfig) -> dict[str, Any]:
    """`paths` (as regexes, fourkeys/paths.py) and `tag_prefix`, only when set: a config
    without them keeps its fingerprint, so upgrading rebuilds no incremental mart."""
    out: dict[str, Any] = {}
    if service.paths:
        out["path_patterns"] = service.path_patterns
    if service.tag_prefix is not None:
        out["tag_prefix"] = service.tag_prefix
    return out


def dbt_args(command: str, config: Config, *, target: str = "duckdb",
             full_refresh: bool = False, unit_tests: bool = False) -> list[str]:
    work = config.warehouse_path().resolve().parent / "dbt"
    args = [
        command, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
        "--target", target, "--vars", json.dumps(dbt_vars(config)),
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
    ]
    if full_refresh and command in ("build", "run"):
        args.append("--full-refresh")
    if command == "build" and not unit_tests:
        # unit tests check the SQL, not the data: they run in CI (tests/integration), not in
        # every daily build, as dbt recommends
        args += ["--exclude-resource-type", "unit_test"]
    if command == "build" and os.environ.get(ENV_DBT_ARTIFACTS, "") != "1":
        # manifest.json and run_results.json (~3 MB for a 1,000-service organisation) were
        # ~0.8 s of every build (bench/scale.py); the build's failures come from the result
        # object, its log from dbt.log, and partial parsing keeps its own file
        args.append("--no-write-json")
    return args


def dbt_target(config: Config) -> str:
    """The profiles.yml output: duckdb, bigquery, or (tests only) the BigQuery emulator's."""
    if config.warehouse.type != "bigquery":
        return "duckdb"
    from fourkeys.warehouse.bigquery import api_endpoint

    return "bigquery_emulator" if api_endpoint() else "bigquery"


def _dbt_environment(warehouse: Path, env: dict[str, str] | None, as_of: date | None) -> None:
    """The variables profiles.yml and the models read. `env`: the BigQuery project, dataset,
    location; `as_of`: the end of dora_summary's window (FOURKEYS_AS_OF; unset = today, UTC)."""
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ["FOURKEYS_AS_OF"] = as_of.isoformat() if as_of else ""
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    os.environ["FOURKEYS_DUCKDB_PATH"] = str(warehouse)
    os.environ.update(env or {})


def run_dbt(args: list[str], warehouse: Path, env: dict[str, str] | None = None,
            as_of: date | None = None, manifest: Any = None) -> Any:
    """One dbt invocation in-process; returns dbt's result object. `manifest`: a parse of the
    same project with the same vars and day (PreparedParse), so dbt does not parse again."""
    _dbt_environment(warehouse, env, as_of)
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    try:
        return dbtRunner(manifest=manifest).invoke([*args, *_DBT_QUIET])
    finally:
        # dbt-duckdb keeps its connection, and with it DuckDB's lock on the warehouse file,
        # until the process exits; release it now, or a `run --wait` that gets the run lock as
        # this command returns finds the file still locked and fails
        DuckDBConnectionManager.close_all_connections()


class PreparedParse:
    """dbt's import and parse on a thread of their own, begun by `fourkeys run` before the
    extract, which mostly waits on the APIs: ~5 s of a 1,000-service refresh (bench/scale.py)
    that the build then skips. The build takes the manifest only if its vars and day are the
    ones parsed (`manifest_for`); else (services discovered anew, a failed parse) it parses as a
    lone `transform` does, and reports what is wrong the same way."""

    def __init__(self, config: Config, as_of: date | None) -> None:
        self.key = _parse_key(config, as_of)
        self.manifest: Any = None
        args = dbt_args("parse", config)
        if os.environ.get(ENV_DBT_ARTIFACTS, "") != "1":
            # a parse for a build: the build's manifest.json would be skipped too (dbt_args)
            args.append("--no-write-json")
        _dbt_environment(config.warehouse_path().resolve(), None, as_of)
        # not a daemon: a run whose extract fails waits for the parse to finish writing
        # dbt's partial-parse file rather than leave it half-written at exit
        self._thread = threading.Thread(target=self._parse, args=(args,), name="dbt-parse")
        self._thread.start()

    def _parse(self, args: list[str]) -> None:
        try:
            from dbt.cli.main import dbtRunner

            result = dbtRunner().invoke([*args, *_DBT_QUIET])
        except Exception:  # the build parses again and reports it
            log.debug("dbt parse ahead of the build failed", exc_info=True)
            return
        if result.success and result.result is not None:
            self.manifest = result.result

    def manifest_for(self, config: Config, as_of: date | None) -> Any:
        """The parsed manifest if it fits this build, else None (the build parses)."""
        self._thread.join()
        if self.manifest is None or _parse_key(config, as_of) != self.key:
            log.debug("dbt: the build parses the project itself (the parse begun before the "
                      "extract failed or does not fit)")
            return None
        log.debug("dbt: the build uses the parse begun before the extract")
        return self.manifest


def _parse_key(config: Config, as_of: date | None) -> str:
    """What a parse depends on besides the project's files: the vars and FOURKEYS_AS_OF."""
    return json.dumps([dbt_vars(config), as_of.isoformat() if as_of else ""], sort_keys=True)


def start_parse(config: Config, as_of: date | None = None) -> PreparedParse:
    """A PreparedParse for a DuckDB warehouse (fourkeys.pipeline.prepare_transform starts none
    on BigQuery, whose build parses itself with the project and dataset it opens)."""
    return PreparedParse(config, as_of)


def _failures(result: Any) -> tuple[int, int, list[str]]:
    models = tests = 0
    failures: list[str] = []
    for item in getattr(result.result, "results", None) or []:
        node = item.node
        kind = getattr(node, "resource_type", "")
        if kind in ("model", "seed"):
            models += 1
        elif kind in ("test", "unit_test"):
            tests += 1
        status = str(item.status).lower().rsplit(".", 1)[-1]
        if status in ("error", "fail", "runtime error"):
            message = " ".join(_ANSI.sub("", str(item.message or status)).split())[:300]
            failures.append(f"{kind} {node.name}: {message}")
    return models, tests, failures


def publish_marts(warehouse: Path) -> None:
    """Copy the freshly built marts into `main` in one transaction."""
    import duckdb

    con = duckdb.connect(str(warehouse))
    try:
        con.execute("begin transaction")
        for name in MARTS:
            con.execute(f'create or replace table main."{name}" as '
                        f'select * from {MARTS_SCHEMA}."{name}"')
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.close()


def config_fingerprint(config: Config) -> str:
    """What the incremental marts depend on besides the raw data: services, sources, metrics."""
    settings = dbt_vars(config)
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _last_fingerprint(path: Path) -> str | None:
    import duckdb

    # read-write like dbt's own connection: DuckDB refuses a second configuration of one file
    # in a process, and dbt-duckdb keeps its connection open after a build (a second transform
    # in the same process, as in a test or `demo`, failed on read_only=True)
    con = duckdb.connect(str(path))
    try:
        row = con.execute(
            "select counts->>'config_fingerprint' from _runs where command = 'transform' "
            "and status = 'success' order by ended_at desc limit 1").fetchone()
    finally:
        con.close()
    return row[0] if row else None


def build_marts(config: Config, *, full_refresh: bool = False, as_of: date | None = None,
                prepared: PreparedParse | None = None) -> TransformSummary:
    """dbt build, publish on success, record the run in `_runs`. The raw tables must exist
    (`fourkeys.pipeline.run_transform` makes sure of it). `prepared`: a parse begun earlier
    (`fourkeys run`)."""
    run = {"run_id": uuid.uuid4().hex, "command": "transform",
           "started_at": datetime.now(UTC), "status": "running"}
    fingerprint = config_fingerprint(config)
    if config.warehouse.type == "bigquery":
        return _build_on_bigquery(config, run, fingerprint, full_refresh=full_refresh,
                                  as_of=as_of)
    previous = _last_fingerprint(config.warehouse_path())
    if not full_refresh and previous is not None and previous != fingerprint:
        # a changed service list or rule would leave stale rows in the incremental marts
        log.info("the configuration changed since the last build; rebuilding the marts whole")
        full_refresh = True
    path = config.warehouse_path().resolve()
    started = time.monotonic()
    manifest = prepared.manifest_for(config, as_of) if prepared is not None else None
    result = run_dbt(dbt_args("build", config, full_refresh=full_refresh), path, as_of=as_of,
                     manifest=manifest)
    summary = TransformSummary(seconds=time.monotonic() - started)
    summary.models, summary.tests, summary.failures = _failures(result)
    if result.exception is not None:
        first = str(result.exception).strip().splitlines()[0]
        summary.failures.append(f"dbt: {first}")
    staged: Path | None = None
    stage_error: FourKeysError | None = None
    if result.success and not summary.failures:
        staged, stage_error = _publish_marts_and_stage(path)
        summary.published = True
    warehouse = DuckDBWarehouse(path)
    try:
        _finish(run, summary, full_refresh=full_refresh, fingerprint=fingerprint)
        warehouse.record_run(run)
    finally:
        warehouse.close()
    if stage_error is not None:
        raise stage_error
    if staged is not None:
        finish_publish(path, staged)
    else:
        _raise_failed(summary)
    return summary


def _publish_marts_and_stage(path: Path) -> tuple[Path | None, FourKeysError | None]:
    """The marts into the warehouse's `main` (publish_marts, one transaction) and into the
    staged published file at the same time: DuckDB copies on two threads (2.7 s → 1.7 s at
    1,000 services). A failed copy into `main` raises and the staged file goes; a failed staging
    is returned, to raise once the build's `_runs` row is written."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish") as pool:
        into_main = pool.submit(publish_marts, path)
        staged: Path | None = None
        stage_error: FourKeysError | None = None
        try:
            staged = stage_marts(path)
        except FourKeysError as exc:
            stage_error = exc
        try:
            into_main.result()
        except BaseException:
            if staged is not None:
                discard_staged(staged)
            raise
    return staged, stage_error


def _finish(run: dict[str, Any], summary: TransformSummary, *, full_refresh: bool,
            fingerprint: str) -> None:
    """The `_runs` row of a build, on either warehouse."""
    run.update(ended_at=datetime.now(UTC),
               status="success" if summary.published else "failed",
               counts={"models": summary.models, "tests": summary.tests,
                       "failures": len(summary.failures), "full_refresh": full_refresh,
                       "config_fingerprint": fingerprint},
               message=None if summary.published else "; ".join(summary.failures)[:1000])


def _raise_failed(summary: TransformSummary) -> None:
    for failure in summary.failures:
        log.error("%s", failure)
    raise FourKeysError(
        f"transform failed ({len(summary.failures)} failing models/tests, listed above); "
        "the previously published marts are unchanged"
    )


def _build_on_bigquery(config: Config, run: dict[str, Any], fingerprint: str, *,
                       full_refresh: bool, as_of: date | None) -> TransformSummary:
    """The same steps on BigQuery: dbt builds `<dataset>_build` / `<dataset>_marts`, a green
    build is copied into `<dataset>` (fourkeys/publish_bigquery.py), the run goes to `_runs`."""
    from fourkeys.publish_bigquery import publish_marts as publish_on_bigquery
    from fourkeys.warehouse.bigquery import BigQueryWarehouse

    settings = config.warehouse
    warehouse = BigQueryWarehouse(settings.project, settings.dataset, settings.location)
    try:
        previous = warehouse.last_transform_fingerprint()
        if not full_refresh and previous is not None and previous != fingerprint:
            log.info("the configuration changed since the last build; rebuilding the marts whole")
            full_refresh = True
        env = {"FOURKEYS_BQ_PROJECT": warehouse.project, "FOURKEYS_BQ_DATASET": settings.dataset,
               "FOURKEYS_BQ_LOCATION": settings.location}
        started = time.monotonic()
        result = run_dbt(dbt_args("build", config, target=dbt_target(config),
                                  full_refresh=full_refresh),
                         config.warehouse_path().resolve(), env, as_of)
        summary = TransformSummary(seconds=time.monotonic() - started)
        summary.models, summary.tests, summary.failures = _failures(result)
        if result.exception is not None:
            summary.failures.append(f"dbt: {str(result.exception).strip().splitlines()[0]}")
        if result.success and not summary.failures:
            publish_on_bigquery(warehouse)
            summary.published = True
        _finish(run, summary, full_refresh=full_refresh, fingerprint=fingerprint)
        warehouse.record_run(run)
    finally:
        warehouse.close()
    if not summary.published:
        _raise_failed(summary)
    return summary
