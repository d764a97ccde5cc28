"""One outage recorded in several incident sources counts once (a top complaint about other
Four Keys tools: "incidents counted twice"). Hand-worked through the real `fourkeys run`.

acme/shop deploys 5001 (c1, 01-05 10:00), 5002 (c3, ships c2 + c3, 01-06 10:00) and 5003 (c4,
01-08 10:00). On 01-07:
    11:58  PagerDuty Q1 triggers (no cause), resolved 12:48
    12:00  the bot's incident 1 is declared, mitigated 12:20, resolved 15:00 (no cause)
    12:30  CSV row A (resolved 13:00) names c2 by an 8-character prefix
    12:40  CSV row B (resolved 13:00), no cause
and on 01-08 11:00 PagerDuty Q2 triggers (no cause).

Within 60 minutes on one service, Q1 and A merge into the bot's incident 1 (the best-ranked
source); B does not (incident 1 already holds a CSV record: two CSV rows are two outages). The
merged incident starts at 11:58 (PagerDuty saw it first), is mitigated at 12:20 → restore 1320 s,
and names c2 (A's text) → cause_commit 5002. B: time_window → 5002. Q2: time_window → 5003.
With incident_merge_minutes = 0 all five records are incidents.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from incidents.bot.schema import incidents as bot_incidents
from tests.conftest import query_rows as q
from tests.conftest import run_cli
from tests.integration.test_import_incidents import (
    bot_database,
    bot_incident,
    linked_org,
    pd_incident,
    pd_scenario,
    write_config,
)

DEPLOYMENT = "shop/github_deployments/"
SOURCES = """
[[incident_sources]]
type = "csv"
path = "incidents.csv"
service = "shop"

[[incident_sources]]
type = "slack_bot"

[[incident_sources]]
type = "pagerduty"
pagerduty_service = "PSHOP01"
service = "shop"
"""


@pytest.fixture(autouse=True)
def _pd_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_TOKEN", "pd-test-key-0123456789")


def _build(tmp_path: Path, merge_minutes: int | None) -> Path:
    scenario, sha = linked_org()
    scenario["pagerduty"] = pd_scenario([
        pd_incident(1, "PSHOP01", datetime(2026, 1, 7, 11, 58, tzinfo=UTC)),
        pd_incident(2, "PSHOP01", datetime(2026, 1, 8, 11, 0, tzinfo=UTC)),
    ])["pagerduty"]
    (tmp_path / "incidents.csv").write_text(
        "id,started_at,resolved_at,cause\n"
        f"A,2026-01-07T12:30:00Z,2026-01-07T13:00:00Z,Rolled out {sha['c2'][:8]} then errors\n"
        "B,2026-01-07T12:40:00Z,2026-01-07T13:00:00Z,\n", encoding="utf-8")
    engine = bot_database(tmp_path / "bot.sqlite")
    at = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)
    with engine.begin() as con:
        con.execute(insert(bot_incidents), [bot_incident(
            1, at=at, status="resolved", mitigated_at=at + timedelta(minutes=20),
            resolved_at=at + timedelta(hours=3), updated_at=at + timedelta(hours=3))])
    engine.dispose()
    metrics = "" if merge_minutes is None else \
        f"\n[metrics]\nincident_merge_minutes = {merge_minutes}\n"
    with serve_in_thread(create_app(load_scenario(scenario))) as server:
        config = write_config(tmp_path, SOURCES + metrics, base_url=server.base_url)
        done = run_cli("run", "--config", str(config))
        assert done.returncode == 0, done.stderr
    return tmp_path / "fourkeys.duckdb"


def test_one_outage_in_three_sources_is_one_incident(tmp_path: Path) -> None:
    warehouse = _build(tmp_path, None)
    got = {r[0]: r[1:] for r in q(warehouse, """
        select incident_id, started_at, restore_seconds, cause_deployment_id, link_method,
               also_recorded_as
        from fct_incidents""")}
    assert got == {
        "slack_bot/1": (datetime(2026, 1, 7, 11, 58), 1320, DEPLOYMENT + "5002",
                        "cause_commit", "csv/incidents.csv:A, pagerduty/Q0000001"),
        "csv/incidents.csv:B": (datetime(2026, 1, 7, 12, 40), 1200, DEPLOYMENT + "5002",
                                "time_window", None),
        "pagerduty/Q0000002": (datetime(2026, 1, 8, 11, 0), 3000, DEPLOYMENT + "5003",
                               "time_window", None),
    }
    weekly = q(warehouse, "select sum(incidents) from metrics_weekly where grain = 'service'")
    assert weekly == [(3,)]


def test_merging_off_counts_every_record(tmp_path: Path) -> None:
    warehouse = _build(tmp_path, 0)
    got = sorted(r[0] for r in q(warehouse, "select incident_id from fct_incidents"))
    assert got == ["csv/incidents.csv:A", "csv/incidents.csv:B", "pagerduty/Q0000001",
                   "pagerduty/Q0000002", "slack_bot/1"]
    assert q(warehouse, "select count(*) from fct_incidents where also_recorded_as is not null"
             ) == [(0,)]
