"""Run by the BigQuery emulator's own venv (tests/bigquery_emulator.py): install DuckDB's spatial
extension from the duckdb_extension_spatial package into $HOME/.duckdb, where the emulator's
`INSTALL spatial` then finds it instead of downloading it (there is no network here)."""

import pathlib

import duckdb
import duckdb_extension_spatial

version = duckdb.__version__
path = (pathlib.Path(duckdb_extension_spatial.__file__).parent / "extensions" / f"v{version}"
        / "spatial.duckdb_extension")
con = duckdb.connect()
con.execute(f"INSTALL '{path}'")
con.execute("LOAD spatial")
