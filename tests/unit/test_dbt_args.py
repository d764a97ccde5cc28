"""The arguments `fourkeys transform` gives dbt (fourkeys/transform.py: dbt_args)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fourkeys.config import Config, parse_config
from fourkeys.transform import ENV_DBT_ARTIFACTS, dbt_args


def _config(tmp_path: Path) -> Config:
    raw = {"warehouse": {"path": str(tmp_path / "fourkeys.duckdb")},
           "github": {"token_env": "GITHUB_TOKEN"},
           "services": [{"name": "web", "team": "core", "repository": "acme/web",
                         "deployment_source": "merged_pull_requests"}]}
    return parse_config(raw, tmp_path / "fourkeys.toml")


def test_a_build_writes_no_json_artifacts_unless_asked(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    monkeypatch.delenv(ENV_DBT_ARTIFACTS, raising=False)
    assert "--no-write-json" in dbt_args("build", config)
    # `dbt parse` and `docs generate` exist to write them
    assert "--no-write-json" not in dbt_args("parse", config)
    assert "--no-write-json" not in dbt_args("generate", config)
    monkeypatch.setenv(ENV_DBT_ARTIFACTS, "1")
    assert "--no-write-json" not in dbt_args("build", config)
