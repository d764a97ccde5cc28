"""`[warehouse] type` → the adapter (fourkeys/warehouse/connect.py), checked before any write."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.generator import OrgSpec, generate
from fourkeys.config import Config, load_config
from fourkeys.errors import FourKeysError
from fourkeys.warehouse import connect
from fourkeys.warehouse.duckdb import DuckDBWarehouse


def config(tmp_path: Path, warehouse: str) -> Config:
    text = generate(OrgSpec(teams=1, services_per_team=1, months=1)).config_toml(
        github_api_url="http://127.0.0.1:9", heroku_api_url="http://127.0.0.1:9/heroku",
        warehouse_path=str(tmp_path / "fourkeys.duckdb"))
    path = tmp_path / "fourkeys.toml"
    path.write_text(text.replace("[warehouse]\n", f"[warehouse]\n{warehouse}\n", 1),
                    encoding="utf-8")
    return load_config(str(path))


def test_duckdb_is_the_default(tmp_path: Path) -> None:
    warehouse = connect.open_warehouse(config(tmp_path, ""))
    assert isinstance(warehouse, DuckDBWarehouse)
    warehouse.close()


def test_bigquery_without_its_libraries_names_the_extra(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = config(tmp_path, 'type = "bigquery"\nproject = "p"')
    monkeypatch.setattr(connect, "_installed", lambda module: module != "dbt.adapters.bigquery")
    with pytest.raises(FourKeysError) as raised:
        connect.check_warehouse(settings)
    assert raised.value.message == (
        f'{settings.source_path}: [warehouse] type = "bigquery" needs dbt.adapters.bigquery; '
        "install them with: pip install 'fourkeys[bigquery]'")
    assert list(tmp_path.iterdir()) == [tmp_path / "fourkeys.toml"]  # nothing written


def test_bigquery_with_the_emulator_needs_no_credentials(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOURKEYS_BQ_API_ENDPOINT", "http://127.0.0.1:9")
    connect.check_warehouse(config(tmp_path, 'type = "bigquery"'))
