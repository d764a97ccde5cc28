"""`fourkeys import-incidents`: PagerDuty over real HTTP (the fake at /pagerduty), the Slack bot's
SQLite database and CSV / JSON-lines files, into a real DuckDB file — incremental, idempotent,
final watermarks asserted; and, end to end through `fourkeys run`, imported incidents reaching
fct_incidents with the right link_method.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, insert, update

from fakes.faults import FaultPlan
from fakes.pagerduty import PagerDutyService
from fakes.scenario import PagerDutyIncident, load_scenario
from fakes.server import RunningServer, create_app, serve_in_thread
from fourkeys.cli import main
from fourkeys.config import load_config
from fourkeys.warehouse.duckdb import DuckDBWarehouse
from incidents.bot.schema import incidents as bot_incidents
from incidents.bot.schema import metadata as bot_metadata
from incidents.run import import_incidents
from tests.conftest import query_rows as q
from tests.conftest import run_cli, table_snapshot
from tests.scenario_builder import ScenarioBuilder

PD_TOKEN = "pd-test-key-0123456789"
SERVICES = """
[[services]]
name = "shop"
team = "commerce"
repository = "acme/shop"
deployment_source = "github_deployments"

[[services]]
name = "search"
team = "platform"
repository = "acme/search"
deployment_source = "releases"
"""


@pytest.fixture(autouse=True)
def _pd_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_TOKEN", PD_TOKEN)
    monkeypatch.setenv("FOURKEYS_RETRY_BASE_SECONDS", "0")


def z(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_config(directory: Path, body: str, *, base_url: str = "http://127.0.0.1:9") -> Path:
    """A fourkeys.toml: the warehouse beside it, GitHub/PagerDuty at `base_url`, `body` after."""
    path = directory / "fourkeys.toml"
    path.write_text(f"""
[warehouse]
path = "{directory / 'fourkeys.duckdb'}"

[github]
api_url = "{base_url}"

[pagerduty]
api_url = "{base_url}/pagerduty"
token_env = "PAGERDUTY_TOKEN"

[slack]
bot_database = "bot.sqlite"
{SERVICES}
{body}
""", encoding="utf-8")
    return path


def marks(path: Path, source: str) -> dict[tuple[str, str], str | None]:
    rows = q(path, f"select partition, stream, value from _watermarks where source = '{source}'")
    return {(p, s): v for p, s, v in rows}


def routes(server: RunningServer) -> dict[str, int]:
    stats = httpx.get(f"{server.base_url}/_fake/stats").json()
    httpx.post(f"{server.base_url}/_fake/stats/reset")
    return {k.removeprefix("GET /pagerduty"): v for k, v in stats["routes"].items()
            if "/pagerduty" in k}


# --- PagerDuty -------------------------------------------------------------------------------
def pd_incident(n: int, service: str, created: datetime, *, status: str = "resolved",
                title: str | None = None, urgency: str = "high") -> dict[str, Any]:
    return {"id": f"Q{n:07d}", "incident_number": n, "title": title or f"Errors #{n}",
            "service": service, "urgency": urgency, "status": status, "created_at": z(created),
            "acknowledged_at": z(created + timedelta(minutes=4)),
            "resolved_at": z(created + timedelta(minutes=50)) if status == "resolved" else None}


def pd_scenario(incidents: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": 1, "now": z(datetime.now(UTC)), "pagerduty": {
        "services": [{"id": "PSHOP01", "name": "checkout"}, {"id": "PSRCH01", "name": "search"},
                     {"id": "POTHR01", "name": "other-thing"}],
        "incidents": incidents}}


@dataclass
class PagerDutyOrg:
    now: datetime
    incidents: list[dict[str, Any]]
    boundary: datetime  # where the first 179-day listing window ends
    stale_open: str  # open, created long before the next run's lookback window
    recent_open: list[str]  # open, inside the next run's lookback window


def paged_org() -> PagerDutyOrg:
    """250 checkout incidents over 300 days (150 in the first 179-day window, 100 after it),
    20 search ones the filtered source must not read; three checkout incidents still open."""
    now = datetime.now(UTC).replace(microsecond=0)
    earliest = now - timedelta(days=300)
    boundary = earliest + timedelta(days=179)
    incidents = [pd_incident(n, "PSHOP01", earliest + timedelta(days=n * 178 / 150),
                             urgency="low" if n % 4 == 0 else "high") for n in range(150)]
    incidents += [pd_incident(150 + n, "PSHOP01", boundary + timedelta(days=1 + n))
                  for n in range(97)]
    incidents.append(pd_incident(247, "PSHOP01", now - timedelta(days=40), status="acknowledged"))
    incidents += [pd_incident(248 + n, "PSHOP01", now - timedelta(hours=2 + n), status=status)
                  for n, status in enumerate(("triggered", "acknowledged"))]
    incidents += [pd_incident(300 + n, "PSRCH01", earliest + timedelta(days=5 * n))
                  for n in range(20)]
    return PagerDutyOrg(now, incidents, boundary, "Q0000247", ["Q0000248", "Q0000249"])


def test_pagerduty_pages_resumes_and_rereads_open_incidents(tmp_path: Path) -> None:
    org = paged_org()
    app = create_app(load_scenario(pd_scenario(org.incidents)))
    fake: PagerDutyService = app.state.fake.pagerduty
    with serve_in_thread(app) as server:
        config = write_config(tmp_path, """
[[incident_sources]]
type = "pagerduty"
pagerduty_service = "checkout"
service = "shop"
urgencies = ["high", "low"]
""", base_url=server.base_url)
        warehouse = tmp_path / "fourkeys.duckdb"
        before = datetime.now(UTC).replace(microsecond=0)
        assert main(["import-incidents", "--config", str(config)]) == 0
        after = datetime.now(UTC)
        # the name is resolved once; a probe finds the earliest incident; then two windows,
        # 150 + 100 incidents, 100 a page
        first = routes(server)
        assert first == {"/services": 1, "/incidents": 1 + math.ceil(150 / 100) + 1}
        rows = q(warehouse, "select external_id, service, severity, title, url, status, "
                 "cause_text, started_at, detected_at, mitigated_at, resolved_at, origin "
                 "from raw_incidents order by external_id")
        checkout = [i for i in org.incidents if i["service"] == "PSHOP01"]
        assert [r[0] for r in rows] == sorted(i["id"] for i in checkout)
        by_id = {r[0]: r for r in rows}
        created = datetime.fromisoformat(checkout[4]["created_at"])
        assert by_id["Q0000004"] == (
            "Q0000004", "shop", "low", "Errors #4", "https://fake.pagerduty.com/incidents/Q0000004",
            "resolved", "Errors #4", created, created, None, created + timedelta(minutes=50),
            "PSHOP01")
        assert by_id[org.stale_open][5:7] == ("acknowledged", "Errors #247")
        assert by_id[org.stale_open][10] is None
        wm = marks(warehouse, "pagerduty")
        assert set(wm) == {("checkout", "incidents"), ("checkout", "open_incidents"),
                           ("checkout", "service_id")}
        assert before <= datetime.fromisoformat(wm[("checkout", "incidents")]) <= after
        assert wm[("checkout", "open_incidents")] == ",".join([org.stale_open, *org.recent_open])
        assert wm[("checkout", "service_id")] == "PSHOP01"
        snapshot = table_snapshot(warehouse, exclude=("_runs", "_watermarks"))

        # nothing changed: one list of the lookback day (which holds the recent open ones) and
        # one read of the older open incident; the same rows
        before = datetime.now(UTC).replace(microsecond=0)
        assert main(["import-incidents", "--config", str(config)]) == 0
        assert routes(server) == {"/incidents": 1, "/incidents/{incident_id}": 1}
        assert table_snapshot(warehouse, exclude=("_runs", "_watermarks")) == snapshot
        wm = marks(warehouse, "pagerduty")
        assert before <= datetime.fromisoformat(wm[("checkout", "incidents")])
        assert wm[("checkout", "open_incidents")] == ",".join([org.stale_open, *org.recent_open])

        # the old incident is resolved in PagerDuty and a new one is paged: both arrive
        stale = fake.incidents[org.stale_open]
        stale.status, stale.resolved_at = "resolved", org.now - timedelta(days=1)
        new = PagerDutyIncident.model_validate(pd_incident(
            250, "PSHOP01", datetime.now(UTC) - timedelta(minutes=30), status="triggered",
            title="Deploy of ab12cd3 broke checkout"))
        fake.incidents[new.id] = new
        assert main(["import-incidents", "--config", str(config)]) == 0
        assert routes(server) == {"/incidents": 1, "/incidents/{incident_id}": 1}
        assert q(warehouse, f"select status, resolved_at from raw_incidents where external_id = "
                 f"'{org.stale_open}'") == [("resolved", org.now - timedelta(days=1))]
        assert q(warehouse, "select cause_text from raw_incidents where external_id = "
                 "'Q0000250'") == [("Deploy of ab12cd3 broke checkout",)]
        assert q(warehouse, "select count(*) from raw_incidents") == [(len(checkout) + 1,)]
        assert marks(warehouse, "pagerduty")[("checkout", "open_incidents")] == ",".join(
            [*org.recent_open, "Q0000250"])


def test_pagerduty_low_urgency_alerts_are_not_incidents_by_default(tmp_path: Path) -> None:
    """Low-urgency alerts page nobody (a disk filling up, a flapping check): by default only
    high-urgency incidents are read, filtered by PagerDuty itself (`urgencies[]=high`)."""
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    incidents = [pd_incident(n, "PSHOP01", start + timedelta(days=n),
                             urgency="low" if n % 2 else "high") for n in range(1, 7)]
    with serve_in_thread(create_app(load_scenario(pd_scenario(incidents)))) as server:
        config = write_config(tmp_path, """
[[incident_sources]]
type = "pagerduty"
pagerduty_service = "PSHOP01"
service = "shop"
""", base_url=server.base_url)
        assert main(["import-incidents", "--config", str(config)]) == 0
    got = q(tmp_path / "fourkeys.duckdb", "select external_id, severity from raw_incidents "
            "order by 1")
    assert got == [("Q0000002", "high"), ("Q0000004", "high"), ("Q0000006", "high")]


def test_pagerduty_maps_services_by_name_and_reads_resolve_log_entries(tmp_path: Path) -> None:
    """No pagerduty_service: every incident; service by PagerDuty service name, else the
    source's. An API shape without resolved_at: the resolve log entry has the time."""
    now = datetime.now(UTC).replace(microsecond=0)
    incidents = [pd_incident(1, "PSRCH01", now - timedelta(days=3)),
                 pd_incident(2, "POTHR01", now - timedelta(days=2)),
                 pd_incident(3, "PSHOP01", now - timedelta(days=1), status="acknowledged")]
    app = create_app(load_scenario(pd_scenario(incidents)))
    app.state.fake.pagerduty.omit_fields = frozenset({"resolved_at", "last_status_change_at"})
    with serve_in_thread(app) as server:
        config = write_config(tmp_path, """
[[incident_sources]]
type = "pagerduty"
service = "shop"
""", base_url=server.base_url)
        assert main(["import-incidents", "--config", str(config)]) == 0
        # probe, one window, and the log of each of the two resolved incidents
        assert routes(server) == {"/incidents": 2, "/incidents/{incident_id}/log_entries": 2}
    got = q(tmp_path / "fourkeys.duckdb", "select external_id, service, resolved_at, origin "
            "from raw_incidents order by 1")
    assert got == [
        ("Q0000001", "search", now - timedelta(days=3, minutes=-50), "PSRCH01"),
        ("Q0000002", "shop", now - timedelta(days=2, minutes=-50), "POTHR01"),
        ("Q0000003", "shop", None, "PSHOP01"),
    ]
    assert set(marks(tmp_path / "fourkeys.duckdb", "pagerduty")) == {
        ("*", "incidents"), ("*", "open_incidents")}


def test_pagerduty_retries_rate_limits_server_errors_and_malformed_pages(
        tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    incidents = [pd_incident(n, "PSHOP01", now - timedelta(days=n)) for n in range(1, 4)]
    plan = FaultPlan.parse("429@pagerduty:1,502@pagerduty:2,malformed@pagerduty:4")
    with serve_in_thread(create_app(load_scenario(pd_scenario(incidents)), plan)) as server:
        config = write_config(tmp_path, '[[incident_sources]]\ntype = "pagerduty"\n',
                              base_url=server.base_url)
        assert main(["import-incidents", "--config", str(config)]) == 0
        # the probe after a 429 and a 502; the listing after a page cut in half
        assert routes(server) == {"/incidents": 5}
    assert q(tmp_path / "fourkeys.duckdb", "select count(*) from raw_incidents") == [(3,)]


# --- CSV / JSON lines --------------------------------------------------------------------------
CSV_V1 = (
    "id,service,severity,title,url,started_at,detected_at,mitigated_at,resolved_at,cause,"
    "deployment_id\n"
    "INC-1,shop,SEV2,Checkout 500s,https://status.example.com/1,2026-01-07T15:00:00Z,,"
    "2026-01-07T15:40:00Z,2026-01-07T17:30:00Z,caused by 1a2b3c4d,\n"
    'INC-2,,sev3,"Slow, then down",,2026-01-08T10:00:00+01:00,2026-01-08T09:30:00Z,,,,'
    "shop/github_deployments/5001\n"
    "INC-3,search,,Index stale,,,2026-01-09T08:00:00Z,,2026-01-09T09:00:00Z,,\n"
)
JSONL_V1 = (
    '{"id": 7, "title": "Search timeouts", "started_at": "2026-01-10T12:00:00Z", '
    '"resolved_at": "2026-01-10T12:30:00Z"}\n'
    "\n"
    '{"id": "8", "service": "shop", "detected_at": "2026-01-11T08:00:00Z", "cause": null}\n'
)
CSV_SOURCE = """
[[incident_sources]]
type = "csv"
path = "incidents.csv"
service = "shop"
"""
JSONL_SOURCE = """
[[incident_sources]]
type = "csv"
path = "more/incidents.jsonl"
service = "search"
"""


def digest(path: Path, service: str) -> str:
    return hashlib.sha256(path.read_bytes() + f"\0{service}".encode()).hexdigest()


def test_csv_files_replace_their_rows_and_an_unchanged_file_is_not_written(
        tmp_path: Path) -> None:
    csv_file, jsonl_file = tmp_path / "incidents.csv", tmp_path / "more" / "incidents.jsonl"
    jsonl_file.parent.mkdir()
    csv_file.write_text(CSV_V1, encoding="utf-8")
    jsonl_file.write_text(JSONL_V1, encoding="utf-8")
    config = write_config(tmp_path, CSV_SOURCE + JSONL_SOURCE)
    warehouse = tmp_path / "fourkeys.duckdb"
    assert main(["import-incidents", "--config", str(config)]) == 0
    columns = ("external_id, service, severity, title, url, status, cause_text, "
               "named_deployment_id, started_at, detected_at, mitigated_at, resolved_at, origin")
    got = q(warehouse, f"select {columns} from raw_incidents order by external_id")

    def t(text: str) -> datetime:
        return datetime.fromisoformat(text)

    assert got == [
        ("incidents.csv:INC-1", "shop", "SEV2", "Checkout 500s", "https://status.example.com/1",
         "resolved", "caused by 1a2b3c4d", None, t("2026-01-07T15:00:00Z"), None,
         t("2026-01-07T15:40:00Z"), t("2026-01-07T17:30:00Z"), "incidents.csv"),
        # no service: the source's; +01:00 is converted to UTC
        ("incidents.csv:INC-2", "shop", "sev3", "Slow, then down", None, "open", None,
         "shop/github_deployments/5001", t("2026-01-08T09:00:00Z"), t("2026-01-08T09:30:00Z"),
         None, None, "incidents.csv"),
        ("incidents.csv:INC-3", "search", None, "Index stale", None, "resolved", None, None,
         None, t("2026-01-09T08:00:00Z"), None, t("2026-01-09T09:00:00Z"), "incidents.csv"),
        ("more/incidents.jsonl:7", "search", None, "Search timeouts", None, "resolved", None,
         None, t("2026-01-10T12:00:00Z"), None, None, t("2026-01-10T12:30:00Z"),
         "more/incidents.jsonl"),
        ("more/incidents.jsonl:8", "shop", None, None, None, "open", None, None, None,
         t("2026-01-11T08:00:00Z"), None, None, "more/incidents.jsonl"),
    ]
    assert marks(warehouse, "csv") == {
        ("incidents.csv", "file"): digest(csv_file, "shop"),
        ("more/incidents.jsonl", "file"): digest(jsonl_file, "search")}

    # unchanged files: not written at all (the rows keep their load time)
    loaded = q(warehouse, "select external_id, _extracted_at from raw_incidents order by 1")
    assert main(["import-incidents", "--config", str(config)]) == 0
    assert q(warehouse, "select external_id, _extracted_at from raw_incidents order by 1"
             ) == loaded

    # INC-2 deleted from the file, INC-3 resolved later: the file's rows are replaced
    csv_file.write_text(CSV_V1.replace(CSV_V1.splitlines()[2] + "\n", "").replace(
        "2026-01-09T09:00:00Z", "2026-01-09T10:00:00Z"), encoding="utf-8")
    assert main(["import-incidents", "--config", str(config)]) == 0
    assert q(warehouse, "select external_id, resolved_at from raw_incidents where origin = "
             "'incidents.csv' order by 1") == [
        ("incidents.csv:INC-1", t("2026-01-07T17:30:00Z")),
        ("incidents.csv:INC-3", t("2026-01-09T10:00:00Z"))]
    assert marks(warehouse, "csv")[("incidents.csv", "file")] == digest(csv_file, "shop")

    # the JSON-lines source leaves the config: its rows leave the warehouse
    write_config(tmp_path, CSV_SOURCE)
    assert len(load_config(str(config)).incident_sources) == 1
    assert main(["import-incidents", "--config", str(config)]) == 0
    assert q(warehouse, "select distinct origin from raw_incidents") == [("incidents.csv",)]
    assert marks(warehouse, "csv") == {("incidents.csv", "file"): digest(csv_file, "shop"),
                                       ("more/incidents.jsonl", "file"): None}


# --- the Slack bot's database ------------------------------------------------------------------
def bot_database(path: Path) -> Any:
    engine = create_engine(f"sqlite:///{path}")
    bot_metadata.create_all(engine)
    return engine


def bot_incident(n: int, *, at: datetime, **values: Any) -> dict[str, Any]:
    return {"incident_id": n, "service": "shop", "severity": "sev2", "title": f"Bot #{n}",
            "status": "open", "channel_id": "C0INCIDENT", "thread_ts": f"1767{n:06d}.000100",
            "declared_by": "U1", "started_at": at, "created_at": at, "updated_at": at,
            "mitigated_at": None, "resolved_at": None, "cause_sha": None,
            "cause_deployment_id": None, **values}


def test_bot_database_is_read_incrementally(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    config_path = write_config(tmp_path, '[[incident_sources]]\ntype = "slack_bot"\n')
    config = load_config(str(config_path))
    # before the bot ever ran: one line, nothing written, no error
    assert main(["import-incidents", "--config", str(config_path)]) == 0
    assert "no bot database" in capsys.readouterr().err
    assert not (tmp_path / "bot.sqlite").exists()
    assert table_snapshot(tmp_path / "fourkeys.duckdb") == {"_watermarks": []}

    engine = bot_database(tmp_path / "bot.sqlite")
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with engine.begin() as con:
        con.execute(insert(bot_incidents), [
            bot_incident(1, at=t0, status="resolved", resolved_at=t0 + timedelta(hours=2),
                         mitigated_at=t0 + timedelta(hours=1), cause_sha="1a2b3c4d5e",
                         updated_at=t0 + timedelta(hours=2)),
            bot_incident(2, at=t0 + timedelta(days=1), severity="sev1",
                         cause_deployment_id="shop/github_deployments/5001"),
            bot_incident(3, at=t0 + timedelta(days=2), service="search")])
    warehouse = DuckDBWarehouse(tmp_path / "fourkeys.duckdb")
    try:
        assert import_incidents(config, warehouse).rows == {"slack_bot": 3}
        assert warehouse.watermarks("slack_bot")[(f"sqlite:///{tmp_path / 'bot.sqlite'}",
                                                  "bot_incidents")].value == z(
            t0 + timedelta(days=2))
        # incident 2 is mitigated two days later: it is read again, with incident 3 (whose
        # updated_at is the watermark: the overlap re-reads it), not incident 1
        with engine.begin() as con:
            con.execute(update(bot_incidents).where(bot_incidents.c.incident_id == 2).values(
                status="mitigated", mitigated_at=t0 + timedelta(days=1, hours=1),
                updated_at=t0 + timedelta(days=4)))
        assert import_incidents(config, warehouse).rows == {"slack_bot": 2}
        assert import_incidents(config, warehouse).rows == {"slack_bot": 1}
        got = warehouse.con.execute(
            "select external_id, service, severity, status, url, cause_text, "
            "named_deployment_id, started_at, detected_at, mitigated_at, resolved_at, origin "
            "from raw_incidents order by 1").fetchall()
        marks_now = warehouse.watermarks("slack_bot")
    finally:
        warehouse.close()
        engine.dispose()
    assert [m.value for m in marks_now.values()] == [z(t0 + timedelta(days=4))]
    assert got[0] == ("1", "shop", "sev2", "resolved",
                      "https://slack.com/archives/C0INCIDENT/p1767000001000100", "1a2b3c4d5e",
                      None, t0, t0, t0 + timedelta(hours=1), t0 + timedelta(hours=2),
                      "C0INCIDENT")
    assert got[1][3] == "mitigated" and got[1][6] == "shop/github_deployments/5001"
    assert got[1][9] == t0 + timedelta(days=1, hours=1)
    assert got[2][1] == "search"


# --- end to end: imported incidents in fct_incidents -----------------------------------------
def linked_org() -> tuple[dict[str, Any], dict[str, str]]:
    """acme/shop deploys three times; each source's incident links to one of them by a
    different method.

        c1 ── c2 ── c3 ── c4      (main)
        5001 c1 success 01-05 10:00 · 5002 c3 success 01-06 10:00 (ships c2, c3)
        5003 c4 success 01-08 10:00
    """
    org = ScenarioBuilder(now="2026-02-01 00:00")
    shop = org.repo("acme/shop")
    c1 = shop.commit("c1", authored="2026-01-05 08:00")
    c2 = shop.commit("c2", authored="2026-01-06 08:00")
    c3 = shop.commit("c3", authored="2026-01-06 09:00")
    c4 = shop.commit("c4", authored="2026-01-08 09:00")
    org.repo("acme/search").commit("s1", authored="2026-01-02 08:00")
    for deployment, sha, day in ((5001, c1, "05"), (5002, c3, "06"), (5003, c4, "08")):
        shop.deployment(deployment, sha, created=f"2026-01-{day} 09:50",
                        statuses=[("success", f"2026-01-{day} 10:00")])
    scenario = org.build()
    scenario["pagerduty"] = pd_scenario([
        # no cause: started 1 h after 5003 → time_window
        pd_incident(1, "PSHOP01", datetime(2026, 1, 8, 11, 0, tzinfo=UTC)),
    ])["pagerduty"]
    return scenario, {"c1": c1, "c2": c2, "c3": c3, "c4": c4}


def test_imported_incidents_reach_fct_incidents_with_their_link_method(tmp_path: Path) -> None:
    scenario, sha = linked_org()
    (tmp_path / "incidents.csv").write_text(
        "id,started_at,resolved_at,cause\n"
        # names c2 (shipped by 5002) by an 8-character prefix → cause_commit
        f"A,2026-01-07T09:00:00Z,2026-01-07T10:30:00Z,Rolled out {sha['c2'][:8]} then errors\n"
        # before any deployment, no cause: linked to none
        "B,2026-01-04T09:00:00Z,2026-01-04T09:10:00Z,\n", encoding="utf-8")
    engine = bot_database(tmp_path / "bot.sqlite")
    # names deployment 5001, though it starts after 5002 (which time_window would pick)
    at = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)
    with engine.begin() as con:
        con.execute(insert(bot_incidents), [bot_incident(
            1, at=at, status="resolved", mitigated_at=at + timedelta(minutes=20),
            resolved_at=at + timedelta(hours=3), updated_at=at + timedelta(hours=3),
            cause_deployment_id="shop/github_deployments/5001")])
    engine.dispose()
    with serve_in_thread(create_app(load_scenario(scenario))) as server:
        config = write_config(tmp_path, """
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
""", base_url=server.base_url)
        # a fresh process: in-process dbt keeps the warehouse open after the run
        done = run_cli("run", "--config", str(config))
        assert done.returncode == 0, done.stderr
    warehouse = tmp_path / "fourkeys.duckdb"
    got = {r[0]: r[1:] for r in q(warehouse, """
        select incident_id, service, team, started_at, restore_seconds, cause_deployment_id,
               link_method
        from fct_incidents""")}
    deployment = "shop/github_deployments/"
    assert got == {
        # 09:00 → 10:30
        "csv/incidents.csv:A": ("shop", "commerce", datetime(2026, 1, 7, 9, 0), 5400,
                                deployment + "5002", "cause_commit"),
        "csv/incidents.csv:B": ("shop", "commerce", datetime(2026, 1, 4, 9, 0), 600, None, None),
        # mitigated 20 minutes after it started
        "slack_bot/1": ("shop", "commerce", datetime(2026, 1, 7, 12, 0), 1200,
                        deployment + "5001", "deployment_id"),
        # PagerDuty: no mitigation; resolved 50 minutes after the trigger
        "pagerduty/Q0000001": ("shop", "commerce", datetime(2026, 1, 8, 11, 0), 3000,
                               deployment + "5003", "time_window"),
    }
    assert q(warehouse, "select fct.deployment_id from fct_deployments as fct "
             "where is_failure order by 1") == [(deployment + d,) for d in ("5001", "5002",
                                                                              "5003")]
    counts = q(warehouse, "select counts->>'raw_incidents' from _runs where command = 'extract'")
    assert counts == [("4",)]


@pytest.fixture
def pd_server() -> Iterator[RunningServer]:
    with serve_in_thread(create_app(load_scenario(pd_scenario([])))) as server:
        yield server


def test_fake_pagerduty_follows_the_api(pd_server: RunningServer) -> None:
    """What the importer relies on: auth, the 6-month range limit, the offset cap, 404 body."""
    base = f"{pd_server.base_url}/pagerduty"
    auth = {"Authorization": f"Token token={PD_TOKEN}"}
    assert httpx.get(f"{base}/incidents").status_code == 401
    assert httpx.get(f"{base}/incidents", headers={"Authorization": "Bearer x"}
                     ).status_code == 401
    ok = httpx.get(f"{base}/incidents", headers=auth, params={"total": "true"})
    assert ok.json() == {"incidents": [], "limit": 25, "offset": 0, "more": False, "total": 0}
    too_wide = httpx.get(f"{base}/incidents", headers=auth, params={
        "since": "2025-01-01T00:00:00Z", "until": "2025-12-01T00:00:00Z"})
    assert too_wide.status_code == 400 and too_wide.json()["error"]["code"] == 2001
    assert httpx.get(f"{base}/incidents", headers=auth, params={"offset": 9950, "limit": 100}
                     ).status_code == 400
    missing = httpx.get(f"{base}/incidents/QNOPE", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Not Found"
    assert httpx.get(f"{base}/services", headers=auth, params={"query": "CHECK"}).json()[
        "services"][0]["id"] == "PSHOP01"
