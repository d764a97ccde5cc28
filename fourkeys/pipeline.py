"""The jobs the CLI runs: open the warehouse, do the work, record the run in `_runs`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from extractors.run import ExtractSummary, extract
from extractors.services import with_discovered_services
from extractors.tables import ALL_TABLES
from fourkeys.config import Config
from fourkeys.errors import FourKeysError
from fourkeys.transform import PreparedParse, TransformSummary, build_marts, start_parse
from fourkeys.warehouse.base import Warehouse
from fourkeys.warehouse.connect import check_warehouse as _check_warehouse
from fourkeys.warehouse.connect import open_warehouse as _open_warehouse
from incidents.tables import INCIDENT_TABLES

log = logging.getLogger(__name__)


def check_warehouse(config: Config) -> None:
    _check_warehouse(config)


def preflight(config: Config, *, extracts: bool) -> None:
    """What a bad setup would fail on, checked before anything (the run lock included) is
    written: the warehouse type, and the tokens when the command extracts."""
    check_warehouse(config)
    if extracts:
        config.require_tokens()


def open_warehouse(config: Config) -> Warehouse:
    """DuckDB or BigQuery by `[warehouse] type` (fourkeys/warehouse/connect.py)."""
    return _open_warehouse(config)


def run_extract(
    config: Config,
    *,
    since: datetime | None = None,
    full_refresh: bool = False,
    on_unit_done: Callable[[str], None] | None = None,
) -> ExtractSummary:
    # the token is checked before the warehouse is touched: a bad setup writes nothing
    config.require_tokens()
    warehouse = open_warehouse(config)
    run = {"run_id": uuid.uuid4().hex, "command": "extract",
           "started_at": datetime.now(UTC), "status": "running"}
    try:
        summary = extract(config, warehouse, since=since, full_refresh=full_refresh,
                          on_unit_done=on_unit_done)
        # the imported incident sources (bot, PagerDuty, CSV) after GitHub/Heroku, same run
        from incidents.run import import_incidents

        incidents = import_incidents(summary.config or config, warehouse, since=since,
                                     full_refresh=full_refresh)
        if incidents.total_rows:
            summary.rows["raw_incidents"] += incidents.total_rows
        summary.stats.requests.update(incidents.requests)
    except FourKeysError as exc:
        run.update(status="partial" if exc.exit_code == 2 else "failed",
                   ended_at=datetime.now(UTC), message=exc.message)
        warehouse.record_run(run)
        warehouse.close()
        raise
    except BaseException:
        warehouse.close()
        raise
    run.update(status="success", ended_at=datetime.now(UTC),
               rows_loaded=sum(summary.rows.values()), requests=summary.stats.total,
               graphql_points=summary.stats.graphql_points, counts=dict(summary.rows))
    warehouse.record_run(run)
    warehouse.close()
    return summary


def prepare_transform(config: Config, as_of: date | None = None) -> PreparedParse | None:
    """`fourkeys run`: begin dbt's parse while the extract runs. With [[organizations]] the
    vars hold the services the last extract discovered; should this extract discover others,
    the build finds the parse does not fit and parses again."""
    if config.warehouse.type == "bigquery":
        return None
    if config.organizations:
        if not config.warehouse_path().exists():
            return None  # nothing discovered yet: the build parses
        warehouse = open_warehouse(config)
        try:
            warehouse.ensure_tables(ALL_TABLES)
            config = with_discovered_services(config, warehouse)
        finally:
            warehouse.close()
    return start_parse(config, as_of)


def run_transform(config: Config, *, full_refresh: bool = False, as_of: date | None = None,
                  prepared: PreparedParse | None = None) -> TransformSummary:
    """Build the marts (dbt) and publish them; every raw table exists first (typed, maybe
    empty), so the dbt sources resolve even before the first extract. `prepared`: a parse
    begun earlier (prepare_transform)."""
    warehouse = open_warehouse(config)
    try:
        warehouse.ensure_tables((*ALL_TABLES, *INCIDENT_TABLES))
        # [[organizations]]: the services the last extract discovered, as extract saw them
        config = with_discovered_services(config, warehouse)
    finally:
        warehouse.close()
    return build_marts(config, full_refresh=full_refresh, as_of=as_of, prepared=prepared)


def run_import_incidents(config: Config):  # type: ignore[no-untyped-def]
    """The imported incident sources (Slack bot database, PagerDuty, CSV/JSONL files)."""
    from incidents.run import import_incidents

    warehouse = open_warehouse(config)
    try:
        return import_incidents(with_discovered_services(config, warehouse), warehouse)
    finally:
        warehouse.close()


def run_import_requests(config: Config, files: list[Path], *, service: str | None,
                        file_format: str):  # type: ignore[no-untyped-def]
    """Request logs → raw_request_counts; nothing is written unless every file parses."""
    from incidents.requests import import_request_logs

    warehouse = open_warehouse(config)
    try:
        return import_request_logs(with_discovered_services(config, warehouse), warehouse,
                                   files, service=service,
                                   file_format=file_format)
    finally:
        warehouse.close()
