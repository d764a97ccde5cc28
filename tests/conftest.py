"""Shared fixtures: a generated organisation served by the real fake API on 127.0.0.1.

Everything is built by code from a seeded spec; tests run the real CLI (in-process via
`fourkeys.cli.main`, or as a subprocess where a kill or a clean process matters).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from fakes.faults import FaultPlan
from fakes.generator import GeneratedOrg, OrgSpec, generate
from fakes.scenario import Scenario, load_scenario
from fakes.server import RunningServer, create_app, serve_in_thread

# the chaos suite's counts (tests/chaos/summary.py): the xdist controller loads this conftest,
# not the ones in subfolders
pytest_plugins = ("tests.chaos.summary",)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# shaped like a classic 40-hex personal access token (so config rejects it where a variable
# NAME belongs), but plainly not a real one
TOKEN = "5ca1ab1e" * 5
HEROKU_TOKEN = "heroku-test-key-0123456789abcdef"

SMALL_SPEC = OrgSpec(teams=2, services_per_team=3, months=2, prs_per_service_per_week=6.0, seed=11)


@dataclass
class Served:
    org: GeneratedOrg
    scenario: Scenario
    server: RunningServer
    config_path: Path
    warehouse_path: Path

    def stats(self) -> dict[str, Any]:
        import httpx

        return httpx.get(f"{self.server.base_url}/_fake/stats").json()


def write_config(org: GeneratedOrg, directory: Path, base_url: str, *, ghes: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    api = f"{base_url}/api/v3" if ghes else base_url
    text = org.config_toml(github_api_url=api, heroku_api_url=f"{base_url}/heroku",
                           warehouse_path=str(directory / "fourkeys.duckdb"))
    path = directory / "fourkeys.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_org() -> GeneratedOrg:
    return generate(SMALL_SPEC)


@pytest.fixture(autouse=True)
def _tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("HEROKU_API_KEY", HEROKU_TOKEN)
    monkeypatch.setenv("DO_NOT_TRACK", "1")


def serve_org(org: GeneratedOrg, tmp_path: Path, *, faults: str | None = None,
              ghes: bool = False, rate_limit: int = 5000) -> Iterator[Served]:
    scenario = load_scenario(org.scenario)
    plan = FaultPlan.parse(faults) if faults else None
    with serve_in_thread(create_app(scenario, plan, rate_limit=rate_limit)) as server:
        config = write_config(org, tmp_path, server.base_url, ghes=ghes)
        yield Served(org, scenario, server, config, tmp_path / "fourkeys.duckdb")


@pytest.fixture
def served(small_org: GeneratedOrg, tmp_path: Path) -> Iterator[Served]:
    yield from serve_org(small_org, tmp_path)


def run_cli(*args: str, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a fresh process."""
    full_env = {**os.environ, "GITHUB_TOKEN": TOKEN, "HEROKU_API_KEY": HEROKU_TOKEN,
                **(env or {})}
    return subprocess.run([sys.executable, "-m", "fourkeys.cli", *args], capture_output=True,
                          text=True, env=full_env, timeout=timeout, cwd=str(ROOT))


def query_rows(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """One read-only query on a DuckDB file (a warehouse or the published marts)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def table_snapshot(path: Path, exclude: tuple[str, ...] = ("_runs",)) -> dict[str, list[tuple]]:
    """Every table's rows (values as varchar), sorted; `exclude`d tables left out.

    Only the bookkeeping times are left out, as they differ in every run by design: each raw
    table's `_extracted_at` and `_watermarks.updated_at`. Every other column is compared (a data
    column named `updated_at` included).
    """

    def compared(table: str, column: str) -> bool:
        return column != "_extracted_at" and not (table == "_watermarks" and column == "updated_at")

    con = duckdb.connect(str(path), read_only=True)
    try:
        out: dict[str, list[tuple]] = {}
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables order by 1").fetchall()]
        for name in names:
            if name in exclude:
                continue
            cols = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_name = ? "
                "order by ordinal_position", [name]).fetchall() if compared(name, r[0])]
            select = ", ".join(f'"{c}"::varchar' for c in cols)
            out[name] = sorted(con.execute(f'select {select} from "{name}"').fetchall(),
                               key=lambda row: tuple((v is not None, v or "") for v in row))
        return out
    finally:
        con.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The bad-input corpus prints its size by kind (this root conftest is the one the xdist
    controller loads, so the count covers every worker)."""
    from collections import Counter

    by_file: Counter[str] = Counter()
    for report in terminalreporter.stats.get("passed", []):
        parts = report.nodeid.split("::")[0].split("/")
        if report.when == "call" and len(parts) == 3 and parts[1] == "bad_inputs":
            by_file[parts[2].removeprefix("test_bad_").removesuffix(".py")] += 1
    if by_file:
        kinds = ", ".join(f"{name} {count}" for name, count in sorted(by_file.items()))
        terminalreporter.write_line(
            f"bad inputs: {sum(by_file.values())} cases passed ({kinds})")
