"""A generated warehouse built once per test session by the real pipeline, and its variants.

`fourkeys run` (a fresh process, as cron would) publishes marts whose dora_summary window ends
today; a copy of that file is kept, then `fourkeys transform --as-of 2026-03-01` (the generated
organisation's "now") publishes marts whose dora_summary window covers the data. The empty and
one-deployment warehouses are copies of the real published file with rows deleted.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from fakes.generator import generate
from fourkeys.publish import published_path
from tests.conftest import HEROKU_TOKEN, ROOT, SMALL_SPEC, TOKEN, run_cli, serve_org

APP = ROOT / "app" / "streamlit_app.py"
AS_OF = "2026-03-01"
GITHUB_WEB = "https://ghe.example.test"  # links must follow FOURKEYS_GITHUB_WEB_URL


_copies = itertools.count()


@dataclass(frozen=True)
class Warehouses:
    published: Path          # dora_summary window ends at AS_OF
    run_published: Path      # straight from `fourkeys run`: dora_summary window ends today
    directory: Path

    def copy(self, name: str, edit: Callable[[duckdb.DuckDBPyConnection], object] | None = None,
             source: Path | None = None) -> Path:
        """A copy of the published file, edited with a read-write connection."""
        # a new file every time: overwriting one the app still has open would change it under
        # the app's feet (and DuckDB refuses to open a file read-write that is attached)
        target = self.directory / "variants" / f"{next(_copies)}-{name}"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(source or self.published, target)
        if edit is not None:
            con = duckdb.connect(str(target))
            try:
                edit(con)
            finally:
                con.close()
        return target


@pytest.fixture(scope="session")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouses]:
    directory = tmp_path_factory.mktemp("app_warehouse")
    env = {"GITHUB_TOKEN": TOKEN, "HEROKU_API_KEY": HEROKU_TOKEN, "DO_NOT_TRACK": "1"}
    for served in serve_org(generate(SMALL_SPEC), directory):
        result = run_cli("run", "--config", str(served.config_path), env=env)
        assert result.returncode == 0, result.stderr
        published = published_path(served.warehouse_path)
        run_published = directory / "run.published.duckdb"
        shutil.copyfile(published, run_published)
        result = run_cli("transform", "--config", str(served.config_path), "--as-of", AS_OF,
                         env=env)
        assert result.returncode == 0, result.stderr
        yield Warehouses(published, run_published, directory)


def query(path: Path, sql: str, params: Sequence[object] | None = None) -> list[tuple]:
    """Independent read of a published file (not through the app)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, list(params or [])).fetchall()
    finally:
        con.close()


@pytest.fixture
def open_app(monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """AppTest of the dashboard on `path` (None: FOURKEYS_PUBLISHED unset), first run done."""

    def opened(path: Path | None, page: str | None = None,
               query_params: dict[str, str] | None = None) -> AppTest:
        if path is None:
            monkeypatch.delenv("FOURKEYS_PUBLISHED", raising=False)
        else:
            monkeypatch.setenv("FOURKEYS_PUBLISHED", str(path))
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params.update(query_params or {})
        at.run()
        if page:
            at.switch_page(page).run()
        return at

    monkeypatch.setenv("FOURKEYS_GITHUB_WEB_URL", GITHUB_WEB)
    return opened
