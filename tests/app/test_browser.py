"""The real dashboard in headless Chromium: a filter changes the numbers to the team's own.

A warehouse is built by the real pipeline (generated organisation, fake API, `fourkeys run`),
the app runs as `python -m streamlit run` on a free port, and Debian's chromium (Playwright)
picks a team in the sidebar; the tiles then show that team's numbers, which the test computes
from the published file itself. A screenshot is written under tests/artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app import fmt
from fakes.generator import GeneratedOrg
from fourkeys.publish import published_path
from tests.app.live_app import (
    ARTIFACTS,
    chromium,
    page_errors,
    pick_option,
    query,
    running_app,
    team_window_counts,
    tile,
    url_window,
    wait_until_rendered,
)
from tests.conftest import run_cli, serve_org


@pytest.fixture(scope="module")
def published(small_org: GeneratedOrg, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("browser")
    for served in serve_org(small_org, directory):
        result = run_cli("run", "--config", str(served.config_path))
        assert result.returncode == 0, result.stderr
    yield published_path(directory / "fourkeys.duckdb")


def test_picking_a_team_shows_its_numbers(published: Path, tmp_path: Path) -> None:
    teams = [row[0] for row in query(published, "select distinct team from dim_services "
                                                "order by team")]
    assert len(teams) >= 2
    team = teams[-1]
    with running_app(published, tmp_path / "streamlit.log") as app, chromium() as browser:
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        page.goto(f"{app.url}/team")
        wait_until_rendered(page)
        assert not page_errors(page)
        window = url_window(page.url)
        counts = team_window_counts(published, window)
        assert counts[teams[0]] != counts[team], "the picked team must change the numbers"
        frequency = tile(page, "deployment_frequency")
        # no team chosen yet: the page shows the first team
        expect(frequency).to_contain_text(f"{counts[teams[0]]:,} deployments", timeout=30_000)

        pick_option(page, "Team", team)
        expect(page).to_have_url(re.compile(f"[?&]team={team}(&|$)"), timeout=30_000)
        wait_until_rendered(page)
        assert url_window(page.url) == window
        expect(page.get_by_role("heading", name=f"Team: {team}")).to_be_visible()
        expect(frequency).to_contain_text(f"{counts[team]:,} deployments", timeout=30_000)
        expect(frequency).to_contain_text(f"{counts[team] / (window.days / 7):.1f} / week")
        scope = [team, window.start, window.end]
        failed, total = query(published, "select count(*) filter (where is_failure), count(*) "
                                         "from fct_deployments where team = ? "
                                         "and deployed_at >= ? and deployed_at < ?", scope)[0]
        cfr = tile(page, "change_failure_rate")
        expect(cfr).to_contain_text(f"{failed / total:.1%}")
        expect(cfr).to_contain_text(f"{failed:,} of {total:,} failed")
        median, changes = query(published, "select median(lead_time_seconds), count(*) "
                                           "from fct_changes where team = ? and deployed_at >= ? "
                                           "and deployed_at < ? and lead_time_seconds is not null",
                                scope)[0]
        lead_time = tile(page, "lead_time")
        expect(lead_time).to_contain_text(fmt.duration(median))
        expect(lead_time).to_contain_text(f"median of {changes:,} changes")

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-team.png"), full_page=True)
        assert not page_errors(page)
    assert not app.log_errors(), app.log_text()[-3000:]
