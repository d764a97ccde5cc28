"""One function per CLI command; the CLI only parses arguments and calls these."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fourkeys.config import Config, load_config
from fourkeys.errors import FourKeysError
from fourkeys.lock import run_lock
from fourkeys.pipeline import preflight, prepare_transform, run_extract

if TYPE_CHECKING:
    from fourkeys.transform import PreparedParse

log = logging.getLogger("fourkeys")


def _progress(total: int | None) -> tuple[object | None, callable]:  # type: ignore[valid-type]
    """A rich progress bar on a terminal (no total while organisations are still to be listed);
    plain log lines otherwise (cron)."""
    if not sys.stderr.isatty():
        return None, lambda unit: log.info("done: %s", unit)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    progress = Progress("[progress.description]{task.description}", BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), transient=True)
    task = progress.add_task("extracting", total=total)
    return progress, lambda unit: progress.update(task, advance=1, description=unit)


def extract_command(config_path: str | None, *, since: datetime | None,
                    full_refresh: bool, wait: bool = False) -> int:
    config = load_config(config_path)
    preflight(config, extracts=True)
    with run_lock(config.warehouse_path(), wait=wait), _noticed(config, "extract") as last:
        last.append(_extract(config, since=since, full_refresh=full_refresh))
    return 0


def _extract(config: Config, *, since: datetime | None, full_refresh: bool) -> str:
    units: int | None = len(config.repositories) + len({s.heroku_app for s in config.services
                                                        if s.heroku_app})
    if config.organizations:  # their repositories are known only once listed
        units = None
    progress, on_done = _progress(units)
    if progress is not None:
        with progress:  # type: ignore[attr-defined]
            summary = run_extract(config, since=since, full_refresh=full_refresh,
                                  on_unit_done=on_done)
    else:
        summary = run_extract(config, since=since, full_refresh=full_refresh,
                              on_unit_done=on_done)
    line = summary.line()
    log.info(line)
    return line


def transform_command(config_path: str | None, *, full_refresh: bool = False,
                      as_of: date | None = None, wait: bool = False) -> int:
    config = load_config(config_path)
    preflight(config, extracts=False)
    with run_lock(config.warehouse_path(), wait=wait), _noticed(config, "transform") as last:
        last.append(_transform(config, full_refresh=full_refresh, as_of=as_of))
    return 0


def _transform(config: Config, *, full_refresh: bool, as_of: date | None,
               prepared: PreparedParse | None = None) -> str:
    from fourkeys.pipeline import run_transform

    line = run_transform(config, full_refresh=full_refresh, as_of=as_of,
                         prepared=prepared).line()
    log.info(line)
    return line


def run_command(config_path: str | None, *, since: datetime | None,
                full_refresh: bool, wait: bool = False, as_of: date | None = None) -> int:
    """extract → transform (which publishes the marts only after a green build), under one
    lock so a second run never interleaves with this one; one notice for the whole run."""
    config = load_config(config_path)
    preflight(config, extracts=True)
    with run_lock(config.warehouse_path(), wait=wait), _noticed(config, "run") as last:
        # dbt's import and parse (~5 s at 1,000 services) overlap the extract's API waits
        prepared = prepare_transform(config, as_of)
        extracted = _extract(config, since=since, full_refresh=full_refresh)
        transformed = _transform(config, full_refresh=full_refresh, as_of=as_of,
                                 prepared=prepared)
        last.append(f"{extracted}; {transformed}")
    return 0


@contextlib.contextmanager
def _noticed(config: Config, command: str) -> Iterator[list[str]]:
    """Send the run's Slack notice ([notices]) once, whatever way the block ends; a skipped run
    (another holds the lock) never gets here, an interrupted one sends nothing."""
    from fourkeys.notices import RunOutcome, notify

    last: list[str] = []
    try:
        yield last
    except FourKeysError as exc:
        status = "partial" if exc.exit_code == 2 else "failed"
        notify(config, RunOutcome(command, status, exc.message))
        raise
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        notify(config, RunOutcome(command, "failed", f"internal error {type(exc).__name__}: "
                                  f"{exc}"))
        raise
    notify(config, RunOutcome(command, "success", last[-1] if last else "done"))


def fake_api_command(scenario: str, host: str, port: int, faults: str | None) -> int:
    from fakes.faults import FaultPlan
    from fakes.scenario import ScenarioError
    from fakes.server import serve

    try:
        if faults:
            FaultPlan.parse(faults)
        serve(scenario, host, port, faults)
    except (ScenarioError, ValueError, OSError) as exc:
        raise FourKeysError(str(exc).splitlines()[0]) from None
    return 0


def sql_command(config_path: str | None, query: str, fmt: str) -> int:
    """DuckDB: the query on the published file. BigQuery: the query in BigQuery (GoogleSQL) with
    the published dataset as the default dataset. The same output formats."""
    from fourkeys.publish import published_path
    from fourkeys.sql import render, run_bigquery_query, run_query

    config = load_config(config_path)
    if config.warehouse.type == "bigquery":
        from fourkeys.warehouse.connect import check_warehouse

        check_warehouse(config)
        columns, rows = run_bigquery_query(config.warehouse.project, config.warehouse.dataset,
                                           config.warehouse.location, query)
    else:
        columns, rows = run_query(published_path(config.warehouse_path()), query)
    print(render(columns, rows, fmt))
    return 0


def github_web_url(api_url: str) -> str:
    """https://api.github.com → https://github.com; GHES https://HOST/api/v3 → https://HOST"""
    if api_url.rstrip("/") == "https://api.github.com":
        return "https://github.com"
    return api_url.rstrip("/").removesuffix("/api/v3")


# where the app finds the published marts (app/data.py, app/bigquery_snapshot.py)
DASHBOARD_SOURCE_ENV = ("FOURKEYS_PUBLISHED", "FOURKEYS_BQ_PUBLISHED_PROJECT",
                        "FOURKEYS_BQ_PUBLISHED_DATASET", "FOURKEYS_BQ_PUBLISHED_LOCATION")


def dashboard_env(config: Config) -> dict[str, str]:
    """The variables that tell the app where the published marts are: the published DuckDB file,
    or the BigQuery project, dataset and location (credentials stay Google's own environment;
    FOURKEYS_BQ_API_ENDPOINT, tests only, passes through with the rest of the environment)."""
    env = {"FOURKEYS_GITHUB_WEB_URL": github_web_url(config.github.api_url)}
    if config.warehouse.type == "bigquery":
        from fourkeys.warehouse.bigquery import BigQueryWarehouse
        from fourkeys.warehouse.connect import check_warehouse

        check_warehouse(config)
        settings = config.warehouse
        # the project the credentials default to when the config names none
        warehouse = BigQueryWarehouse(settings.project, settings.dataset, settings.location,
                                      read_only=True)
        warehouse.close()
        return {**env, "FOURKEYS_BQ_PUBLISHED_PROJECT": warehouse.project,
                "FOURKEYS_BQ_PUBLISHED_DATASET": settings.dataset,
                "FOURKEYS_BQ_PUBLISHED_LOCATION": settings.location}
    from fourkeys.publish import published_path

    published = published_path(config.warehouse_path()).resolve()
    if not published.exists():
        log.warning("no published marts at %s yet: the dashboard will say so until "
                    "`fourkeys run` has published them", published)
    return {**env, "FOURKEYS_PUBLISHED": str(published)}


def dashboard_command(config_path: str | None, port: int) -> int:
    """Run the Streamlit app on the published marts (blocks until stopped). This process
    becomes Streamlit's (exec): a supervisor's SIGTERM or Ctrl-C reaches the server itself, and
    no orphaned server is left behind when `fourkeys dashboard` is stopped."""
    config = load_config(config_path)
    app = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
    env = {**{k: v for k, v in os.environ.items() if k not in DASHBOARD_SOURCE_ENV},
           **dashboard_env(config)}
    log.info("dashboard on http://127.0.0.1:%d (Ctrl-C to stop)", port)
    for handler in logging.getLogger().handlers:
        handler.flush()
    os.execve(sys.executable,
              [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"], env)


def docs_command(config_path: str | None, port: int) -> int:
    """dbt docs generate on the warehouse, then serve them (blocks until stopped)."""
    from fourkeys.transform import dbt_args, run_dbt

    config = load_config(config_path)
    path = config.warehouse_path().resolve()
    if not path.exists():
        raise FourKeysError(f"{path}: no warehouse yet; run `fourkeys run` first")
    args = dbt_args("docs", config)
    result = run_dbt([args[0], "generate", *args[1:]], path)
    if not result.success:
        raise FourKeysError("dbt docs generate failed; see <warehouse dir>/dbt/logs/dbt.log")
    log.info("dbt docs on http://127.0.0.1:%d (Ctrl-C to stop)", port)
    with contextlib.suppress(KeyboardInterrupt):
        run_dbt([args[0], "serve", *args[1:], "--port", str(port), "--no-browser"], path)
    return 0


def incident_bot_command(config_path: str | None, host: str, port: int) -> int:
    """Serve the Slack incident bot (blocks until stopped)."""
    from incidents.bot.app import serve

    config = load_config(config_path)
    serve(config, host, port)
    return 0


def import_incidents_command(config_path: str | None, *, wait: bool = False) -> int:
    """Import the configured incident sources (Slack bot, PagerDuty, CSV) — also part of
    `extract`/`run`."""
    from fourkeys.pipeline import run_import_incidents

    config = load_config(config_path)
    preflight(config, extracts=False)
    if any(s.type == "pagerduty" for s in config.incident_sources):
        config.pagerduty_token()  # a missing token fails before the warehouse is created
    with run_lock(config.warehouse_path(), wait=wait):
        summary = run_import_incidents(config)
    log.info(summary.line())
    return 0


def import_requests_command(config_path: str | None, files: list[str], *,
                            service: str | None, file_format: str, wait: bool = False) -> int:
    """Request logs → per-service per-minute request/5xx counts in the warehouse."""
    from fourkeys.pipeline import run_import_requests

    config = load_config(config_path)
    preflight(config, extracts=False)
    with run_lock(config.warehouse_path(), wait=wait):
        summary = run_import_requests(config, [Path(f) for f in files], service=service,
                                      file_format=file_format)
    log.info(summary.line())
    return 0


def demo_command(directory: str, port: int, seed: int, *,
                 dashboard_port: int | None = None) -> int:
    """Generate an organisation, serve it on 127.0.0.1, and extract it into DuckDB (no token)."""
    from fakes.generator import OrgSpec, generate
    from fakes.scenario import load_scenario
    from fakes.server import create_app, serve_in_thread

    org = generate(OrgSpec(seed=seed))
    target = Path(directory)
    scenario = load_scenario(org.scenario)
    with serve_in_thread(create_app(scenario), port=port) as server:
        _, config_file = org.write(
            target, github_api_url=server.base_url,
            heroku_api_url=f"{server.base_url}/heroku",
            pagerduty_api_url=f"{server.base_url}/pagerduty",
            warehouse_path=str((target / "fourkeys.duckdb").resolve()),
        )
        # the fake accepts any token; a real one is never needed (or read) for the demo
        os.environ.setdefault("GITHUB_TOKEN", "demo-token-not-secret")
        os.environ.setdefault("HEROKU_API_KEY", "demo-token-not-secret")
        os.environ.setdefault("PAGERDUTY_TOKEN", "demo-token-not-secret")
        log.info("demo: %d services of %d teams served at %s", len(org.services),
                 len({s.team for s in org.services}), server.base_url)
        extract_command(str(config_file), since=None, full_refresh=False)
    # the demo's organisation ends at its own "now": the trailing window ends there too
    now = datetime.fromisoformat(org.scenario["now"].replace("Z", "+00:00"))
    transform_command(str(config_file), as_of=now.date())
    log.info("demo: warehouse at %s; config at %s", target / "fourkeys.duckdb", config_file)
    if dashboard_port is None:
        return 0
    return dashboard_command(str(config_file), dashboard_port)
