"""The configured warehouse: `[warehouse] type` → the adapter behind the `Warehouse` interface."""

from __future__ import annotations

import importlib.util

from fourkeys.config import Config
from fourkeys.errors import FourKeysError
from fourkeys.warehouse.base import Warehouse

# what type = "bigquery" needs besides the core (the `bigquery` extra of pyproject.toml)
BIGQUERY_MODULES = ("google.cloud.bigquery", "dbt.adapters.bigquery")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def check_warehouse(config: Config) -> None:
    """What can be checked without writing anything: the type, its libraries and (BigQuery)
    the Google credentials and project."""
    kind = config.warehouse.type
    if kind == "bigquery":
        missing = [m for m in BIGQUERY_MODULES if not _installed(m)]
        if missing:
            raise FourKeysError(
                f'{config.source_path}: [warehouse] type = "bigquery" needs '
                f"{', '.join(missing)}; install them with: pip install 'fourkeys[bigquery]'")
        from fourkeys.warehouse.bigquery import api_endpoint, google_credentials

        if not api_endpoint():  # the credentials, before anything is written
            try:
                google_credentials(config.warehouse.project)
            except FourKeysError as exc:
                raise FourKeysError(f"{config.source_path}: {exc.message}") from None
    elif kind != "duckdb":
        raise FourKeysError(
            f"{config.source_path}: [warehouse] type = {kind!r} is not supported; "
            'use type = "duckdb" or "bigquery"')


def open_warehouse(config: Config) -> Warehouse:
    check_warehouse(config)
    if config.warehouse.type == "bigquery":
        from fourkeys.warehouse.bigquery import BigQueryWarehouse

        return BigQueryWarehouse(config.warehouse.project, config.warehouse.dataset,
                                 config.warehouse.location)
    from fourkeys.warehouse.duckdb import DuckDBWarehouse

    return DuckDBWarehouse(config.warehouse_path())
