"""The real dashboard as a subprocess (`python -m streamlit run`) and headless Chromium.

Helpers for the browser tests (not a test module): a published file built by the real
pipeline from a generated organisation, the app on a free port with its log in a file, and
Debian's chromium driven by Playwright.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import httpx
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from tests.conftest import ROOT

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# markers of a failure Streamlit shows in the page or writes to its log
PAGE_ERROR_SELECTOR = '[data-testid="stException"], [data-testid="stAlertContentError"]'
LOG_ERRORS = ("Traceback (most recent call last)", "Uncaught app exception")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningApp:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_errors(self) -> list[str]:
        text = self.log_text()
        return [marker for marker in LOG_ERRORS if marker in text]


@contextmanager
def running_app(published: Path, log_path: Path, *, timeout: float = 90.0,
                env: dict[str, str] | None = None) -> Iterator[RunningApp]:
    """`python -m streamlit run app/streamlit_app.py` on a free port, reading `published`;
    waits for /_stcore/health, and always stops the server (its log stays at `log_path`)."""
    port = free_port()
    full_env = {**os.environ, "FOURKEYS_PUBLISHED": str(published), "DO_NOT_TRACK": "1",
                **(env or {})}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app/streamlit_app.py",
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=str(ROOT), env=full_env, stdout=log_file, stderr=subprocess.STDOUT)
    app = RunningApp(process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_healthy(app, timeout)
        yield app
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _wait_healthy(app: RunningApp, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise AssertionError(f"the app exited with {app.process.returncode}:\n"
                                 f"{app.log_text()[-3000:]}")
        try:
            if httpx.get(f"{app.url}/_stcore/health", timeout=2).text.strip() == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the app did not answer /_stcore/health in {timeout:.0f}s:\n"
                         f"{app.log_text()[-3000:]}")


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_until_rendered(page: Page, timeout_ms: float = 60_000) -> None:
    """Streamlit has finished the script run: the app view is there and nothing is running."""
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelectorAll('[data-testid=\"stMetric\"], "
        "[data-testid=\"stAlert\"], [data-testid=\"stException\"]').length > 0",
        timeout=timeout_ms)


def page_errors(page: Page) -> list[str]:
    return [element.inner_text() for element in page.query_selector_all(PAGE_ERROR_SELECTOR)]


def pick_option(page: Page, label: str, option: str) -> None:
    """Open the sidebar selectbox labelled `label` and click `option`."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
        has=page.get_by_text(label, exact=True))
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def tile(page: Page, key: str) -> Locator:
    """A metric tile of the pages (its container's key is `tile_<metric>`)."""
    return page.locator(f".st-key-tile_{key}")


@dataclass(frozen=True)
class UrlWindow:
    """The date range the app shows, from its URL: [start, end) in UTC days."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def url_window(url: str) -> UrlWindow:
    """The app keeps the filters in the URL: start and end (the last day, inclusive)."""
    params = parse_qs(urlsplit(url).query)
    return UrlWindow(date.fromisoformat(params["start"][0]),
                     date.fromisoformat(params["end"][0]) + timedelta(days=1))


def query(path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Read the published file as the app does: attached read-only to a private database."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("attach ? as published (read_only)", [str(path)])
        con.execute("use published")
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def team_window_counts(path: Path, window: UrlWindow) -> dict[str, int]:
    """Deployments per team in the window (every configured team, zero included)."""
    return dict(query(path, """
        select s.team, count(d.deployment_id)
        from (select distinct team from dim_services) as s
        left join fct_deployments as d
            on d.team = s.team and d.deployed_at >= ? and d.deployed_at < ?
        group by s.team""", [window.start, window.end]))
