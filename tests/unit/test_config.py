"""The config: the example parses, GHES GraphQL URL, repositories derived from services."""

from __future__ import annotations

from pathlib import Path

import pytest

from fourkeys.config import GitHubConfig, load_config
from fourkeys.errors import FourKeysError
from tests.conftest import ROOT


def test_example_config_is_valid() -> None:
    config = load_config(str(ROOT / "fourkeys.example.toml"))
    assert config.repositories == ["acme/checkout", "acme/storefront", "acme/billing"]
    assert config.services[1].workflow == "deploy.yml"
    assert config.warehouse_path() == ROOT / "data" / "fourkeys.duckdb"


@pytest.mark.parametrize(("api", "graphql"), [
    ("https://api.github.com", "https://api.github.com/graphql"),
    ("https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"),
    ("http://127.0.0.1:8765/api/v3/", "http://127.0.0.1:8765/api/graphql"),
])
def test_graphql_url(api: str, graphql: str) -> None:
    assert GitHubConfig(api_url=api).graphql_url == graphql


def test_token_comes_only_from_the_named_variable(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "fourkeys.example.toml").read_text().replace(
        'token_env = "GITHUB_TOKEN"', 'token_env = "MY_GH_TOKEN"')
    path = tmp_path / "fourkeys.toml"
    path.write_text(text)
    config = load_config(str(path))
    monkeypatch.delenv("MY_GH_TOKEN", raising=False)
    with pytest.raises(FourKeysError, match=r"\$MY_GH_TOKEN, which is not set"):
        config.github_token()
    monkeypatch.setenv("MY_GH_TOKEN", "t0ken-value")
    assert config.github_token() == "t0ken-value"
