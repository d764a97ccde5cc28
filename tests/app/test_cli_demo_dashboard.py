"""`fourkeys demo --no-dashboard` then `fourkeys dashboard` through the real console entry point:
the demo builds and publishes a realistic organisation, and the dashboard command serves it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from fourkeys.commands import github_web_url
from tests.app.live_app import (
    PAGE_ERROR_SELECTOR,
    chromium,
    free_port,
    page_errors,
    wait_until_rendered,
)
from tests.conftest import ROOT, run_cli


def test_github_web_url() -> None:
    assert github_web_url("https://api.github.com") == "https://github.com"
    assert github_web_url("https://ghe.acme.io/api/v3") == "https://ghe.acme.io"


def test_demo_publishes_then_dashboard_serves_it(tmp_path: Path) -> None:
    demo = run_cli("demo", "--dir", str(tmp_path), "--no-dashboard", timeout=600)
    assert demo.returncode == 0, demo.stderr
    published = tmp_path / "fourkeys.published.duckdb"
    con = duckdb.connect(str(published), read_only=True)
    try:
        teams, services, sources = con.execute(
            "select count(distinct team), count(*), count(distinct deployment_source) "
            "from dim_services").fetchone()
        deployments, failed = con.execute(
            "select count(*), count(*) filter (where is_failure) from fct_deployments"
        ).fetchone()
        window_deployments = con.execute(
            "select deployments from dora_summary where grain = 'organisation' "
            "and is_configured_year").fetchone()[0]
    finally:
        con.close()
    assert (teams, services, sources) == (4, 12, 5)
    assert deployments > 100 and failed > 0
    assert window_deployments > 0  # the demo's trailing window ends at its own "now"

    port = free_port()
    log_path = tmp_path / "dashboard.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "fourkeys.cli", "dashboard", "--config",
             str(tmp_path / "fourkeys.toml"), "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=str(ROOT),
            env={**os.environ, "DO_NOT_TRACK": "1"})
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_stcore/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
        with chromium() as browser:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            wait_until_rendered(page)
            page.get_by_text("Deployment frequency").first.wait_for(timeout=60_000)
            assert page_errors(page) == []
            assert page.locator(PAGE_ERROR_SELECTOR).count() == 0
            # the organisation's deployments of the window, from the published file
            assert f"{window_deployments} deployments" in page.inner_text("body")
    finally:
        process.terminate()
        process.wait(timeout=30)
    # stopping `fourkeys dashboard` stops the server: no orphaned Streamlit keeps the port
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=5)
    assert "Traceback" not in log_path.read_text()
