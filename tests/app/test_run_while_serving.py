"""`fourkeys run` publishes new marts while the dashboard serves and readers read.

The first run reads only the last three weeks of a generated organisation (`--since`); the app
starts on that published file; then a second `fourkeys run --full-refresh` reads the whole
history and replaces the file while
- a browser session keeps using the open dashboard (switching the DORA year reruns the page),
- a thread reads the published file in a loop as the app does (a private in-memory DuckDB with
  the file attached read-only), one connection per read, plus one connection held open across
  the replace,
- a thread requests the app's health endpoint and page over HTTP.
Nothing may fail, and afterwards the same browser session and a fresh one show the new numbers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import httpx
from playwright.sync_api import Page, expect

from fakes.generator import GeneratedOrg
from fourkeys.publish import published_path
from tests.app.live_app import (
    UrlWindow,
    chromium,
    page_errors,
    running_app,
    tile,
    url_window,
    wait_until_rendered,
)
from tests.conftest import HEROKU_TOKEN, ROOT, TOKEN, run_cli, serve_org

ORG_COUNT = "select count(*) from fct_deployments where deployed_at >= ? and deployed_at < ?"


@dataclass
class Readers:
    """Reads the published file and the app over HTTP until stopped; records every failure."""

    published: Path
    app_url: str
    window: UrlWindow
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)
    counts_seen: set[int] = field(default_factory=set)
    file_reads: int = 0
    http_requests: int = 0
    held_reads: int = 0

    def read_file(self) -> None:
        held = duckdb.connect(":memory:")  # one reader that never reopens: keeps the old file
        held.execute("attach ? as published (read_only)", [str(self.published)])
        try:
            while not self.stop.is_set():
                try:
                    self.counts_seen.add(self._count_once())
                    self.file_reads += 1
                    held.execute("select count(*), sum(deployments) from "
                                 "published.metrics_weekly").fetchall()
                    self.held_reads += 1
                except Exception as exc:
                    self.errors.append(f"file read: {type(exc).__name__}: {exc}")
                time.sleep(0.01)
        finally:
            held.close()

    def _count_once(self) -> int:
        con = duckdb.connect(":memory:")
        try:
            con.execute("attach ? as published (read_only)", [str(self.published)])
            con.execute("use published")
            row = con.execute(ORG_COUNT, [self.window.start, self.window.end]).fetchone()
            con.execute("select team, count(*), median(lead_time_seconds) from fct_changes "
                        "group by team").fetchall()
            assert row is not None
            return int(row[0])
        finally:
            con.close()

    def request_app(self) -> None:
        with httpx.Client(base_url=self.app_url, timeout=10) as client:
            while not self.stop.is_set():
                try:
                    for path in ("/_stcore/health", "/"):
                        response = client.get(path)
                        if response.status_code != 200:
                            self.errors.append(f"GET {path}: {response.status_code}")
                    self.http_requests += 1
                except httpx.HTTPError as exc:
                    self.errors.append(f"HTTP: {type(exc).__name__}: {exc}")
                time.sleep(0.05)


def org_count(published: Path, window: UrlWindow) -> int:
    con = duckdb.connect(":memory:")
    try:
        con.execute("attach ? as published (read_only)", [str(published)])
        con.execute("use published")
        row = con.execute(ORG_COUNT, [window.start, window.end]).fetchone()
        assert row is not None
        return int(row[0])
    finally:
        con.close()


def pick_year(page: Page, year: str) -> None:
    page.locator('[data-testid="stSidebar"] [data-testid="stRadio"]').get_by_text(
        year, exact=True).click()
    expect(page).to_have_url(re.compile(f"[?&]dora_year={year}(&|$)"), timeout=30_000)
    wait_until_rendered(page)


def test_run_while_the_app_serves(small_org: GeneratedOrg, tmp_path: Path) -> None:
    now = datetime.fromisoformat(small_org.scenario["now"].replace("Z", "+00:00"))
    for served in serve_org(small_org, tmp_path):
        config = str(served.config_path)
        first = run_cli("run", "--config", config,
                        "--since", (now - timedelta(days=21)).date().isoformat())
        assert first.returncode == 0, first.stderr
        published = published_path(served.warehouse_path)

        with running_app(published, tmp_path / "streamlit.log") as app, \
                chromium() as browser:
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.goto(app.url)  # the default page (Organisation) lives at /
            wait_until_rendered(page)
            window = url_window(page.url)
            before = org_count(published, window)
            frequency = tile(page, "deployment_frequency")
            expect(frequency).to_contain_text(f"{before:,} deployments", timeout=30_000)

            readers = Readers(published, app.url, window)
            threads = [threading.Thread(target=readers.read_file, daemon=True),
                       threading.Thread(target=readers.request_app, daemon=True)]
            for thread in threads:
                thread.start()
            env = {**os.environ, "GITHUB_TOKEN": TOKEN, "HEROKU_API_KEY": HEROKU_TOKEN}
            second = subprocess.Popen(
                [sys.executable, "-m", "fourkeys.cli", "run", "--config", config,
                 "--full-refresh"], cwd=str(ROOT), env=env, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
            try:
                # the open dashboard keeps being used while the run writes and publishes
                years = ("2021", "2023", "2024")
                reruns = 0
                while second.poll() is None:
                    pick_year(page, years[reruns % len(years)])
                    assert not page_errors(page), page_errors(page)
                    reruns += 1
                _, stderr = second.communicate(timeout=300)
            finally:
                if second.poll() is None:
                    second.kill()
                    second.communicate()
                readers.stop.set()
                for thread in threads:
                    thread.join(timeout=30)
            assert second.returncode == 0, stderr
            assert reruns >= 1

            after = org_count(published, window)
            assert after > before, "the second run must publish more deployments"
            assert readers.errors == [], readers.errors[:5]
            assert readers.file_reads > 0 and readers.held_reads > 0
            assert readers.http_requests > 0
            assert after in readers.counts_seen  # readers saw the new file ...
            assert readers.counts_seen <= {before, after}  # ... and nothing in between

            # the same session: the next rerun shows the new numbers
            pick_year(page, "2024")
            expect(frequency).to_contain_text(f"{after:,} deployments", timeout=30_000)
            assert not page_errors(page)
            # a new session too
            fresh = browser.new_page(viewport={"width": 1600, "height": 1100})
            fresh.goto(page.url)
            wait_until_rendered(fresh)
            expect(tile(fresh, "deployment_frequency")).to_contain_text(
                f"{after:,} deployments", timeout=30_000)
            assert not page_errors(fresh)
        assert not app.log_errors(), app.log_text()[-3000:]
