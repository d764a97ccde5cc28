"""AppTest on a generated warehouse: every page renders, the numbers shown are the marts' numbers,
the filters change them, a URL reproduces a view, and the empty states say what to do next.

Expected values are read from the published file here with plain SQL of their own (not through
`app.data`) and formatted with `app.fmt`, the formatter the pages use.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from app import fmt
from tests.app.conftest import GITHUB_WEB, Warehouses, query

OpenApp = Callable[..., AppTest]
PAGES = {
    "views/organisation.py": "Organisation",
    "views/team.py": "Team: growth",
    "views/service.py": "Service: cart-worker",
    "views/drill_down.py": "Drill-down",
    "views/data_health.py": "Data health",
}
TILES = ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore",
         "rework_rate")
Z = 1.959964


# --- expected values, computed independently ----------------------------------------------
def wilson(failed: int, total: int) -> tuple[float, float]:
    p = failed / total
    centre = p + Z * Z / (2 * total)
    spread = Z * math.sqrt(p * (1 - p) / total + Z * Z / (4 * total * total))
    return (centre - spread) / (1 + Z * Z / total), (centre + spread) / (1 + Z * Z / total)


def expected(path: Path, start: date, end: date, team: str | None = None,
             service: str | None = None) -> dict[str, Any]:
    """The window's numbers from the fact tables: [start, end) in UTC days."""
    scope = "team = coalesce(?, team) and service = coalesce(?, service)"
    window = [start, end, team, service]
    deployments, failed, remediations = query(path, (
        "select count(*), count(*) filter (where is_failure), "
        "count(*) filter (where is_remediation) from fct_deployments "
        f"where deployed_at >= ? and deployed_at < ? and {scope}"), window)[0]
    days = [row[0] for row in query(path, (
        "select distinct cast(deployed_at as date) from fct_deployments "
        f"where deployed_at >= ? and deployed_at < ? and {scope}"), window)]
    blocks = [0] * -(-(end - start).days // 7)
    for day in days:
        blocks[(day - start).days // 7] += 1
    lead_sample, lead_median, lead_p90 = query(path, (
        "select count(*), quantile_cont(lead_time_seconds, 0.5), "
        "quantile_cont(lead_time_seconds, 0.9) from fct_changes where deployed_at >= ? "
        f"and deployed_at < ? and lead_time_seconds is not null and {scope}"), window)[0]
    incidents, restore_sample, restore_median = query(path, (
        "select count(*), count(restore_seconds), quantile_cont(restore_seconds, 0.5) "
        f"from fct_incidents where started_at >= ? and started_at < ? and {scope}"), window)[0]
    weeks = (end - start).days / 7
    return {
        "deployments": deployments, "failed": failed, "remediations": remediations,
        "per_week": deployments / weeks, "median_deploy_days": statistics.median(blocks),
        "lead_sample": lead_sample, "lead_median": lead_median, "lead_p90": lead_p90,
        "cfr": failed / deployments if deployments else None,
        "cfr_interval": wilson(failed, deployments) if deployments else (None, None),
        "incidents": incidents, "restore_sample": restore_sample,
        "restore_median": restore_median,
        "rework": remediations / deployments if deployments else None,
    }


def shown_values(e: dict[str, Any]) -> dict[str, str]:
    return {
        "deployment_frequency": fmt.per_week(e["per_week"]),
        "lead_time": fmt.duration(e["lead_median"]),
        "change_failure_rate": fmt.percent(e["cfr"]),
        "time_to_restore": fmt.duration(e["restore_median"]),
        "rework_rate": fmt.percent(e["rework"]),
    }


# --- reading the page -----------------------------------------------------------------------
def tile(at: AppTest, key: str) -> tuple[str, str | None, list[str]]:
    block = at.get_by_key(f"tile_{key}")
    metric = block.metric[0]
    return metric.value, (metric.delta or None), [c.value for c in block.caption]


def tile_values(at: AppTest) -> dict[str, str]:
    return {key: tile(at, key)[0] for key in TILES}


def table(at: AppTest, key: str) -> Any:
    return at.get_by_key(key).dataframe[0].value


def summary(path: Path, grain: str, year: int, team: str | None = None,
            service: str | None = None) -> dict[str, Any]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = con.execute(
            "select * from dora_summary where grain = ? and dora_year = ? "
            "and team is not distinct from ? and service is not distinct from ?",
            [grain, year, team, service]).df()
    finally:
        con.close()
    assert len(frame) == 1
    return frame.iloc[0].to_dict()


def band_caption(row: dict[str, Any], metric: str, year: int) -> str:
    band = row[f"{metric}_band"]
    if isinstance(band, str):
        return f"Band: {band} (DORA {year})"
    if metric != "time_to_restore":
        return f"n = {row['deployments']}, too few for a band"
    sample = row["time_to_restore_sample"]
    return f"n = {sample} incident{'' if sample == 1 else 's'}, too few for a band"


def assert_tiles_match_summary(at: AppTest, row: dict[str, Any], year: int) -> None:
    assert tile_values(at) == {
        "deployment_frequency": fmt.per_week(row["deployments_per_week"]),
        "lead_time": fmt.duration(row["median_lead_time_seconds"]),
        "change_failure_rate": fmt.percent(row["change_failure_rate"]),
        "time_to_restore": fmt.duration(row["median_restore_seconds"]),
        "rework_rate": fmt.percent(row["rework_rate"]),
    }
    for metric in TILES[:4]:
        assert tile(at, metric)[2][0] == band_caption(row, metric, year), metric
    _, _, captions = tile(at, "change_failure_rate")
    assert captions[1] == (f"{row['failed_deployments']} of {row['deployments']} failed · 95% "
                           f"interval {fmt.percent(row['cfr_ci_low'])}–"
                           f"{fmt.percent(row['cfr_ci_high'])}")
    assert tile(at, "lead_time")[2][1].startswith(f"median of {row['lead_time_sample']} changes")


# --- every page -----------------------------------------------------------------------------
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_without_exception(warehouses: Warehouses, open_app: OpenApp,
                                              page: str) -> None:
    at = open_app(warehouses.published, page)
    assert not at.exception
    assert at.title[0].value == PAGES[page]
    assert not at.error
    if page in ("views/organisation.py", "views/team.py", "views/service.py"):
        assert [m.label for m in at.metric] == [
            "Deployment frequency", "Lead time for changes", "Change failure rate",
            "Time to restore", "Rework rate"]
    if page in ("views/team.py", "views/service.py"):
        assert at.get("vega_lite_chart"), "the trend charts are drawn"
    # the sidebar filters, with their stable keys, on every page
    assert at.date_input(key="date_range").value == (date(2025, 12, 7), date(2026, 2, 28))
    assert at.selectbox(key="team").value == "All teams"
    assert at.selectbox(key="service").value == "All services"
    assert at.radio(key="dora_year").value == 2024


# --- the default view is dora_summary's --------------------------------------------------------
def test_organisation_shows_dora_summary_in_its_window(warehouses: Warehouses,
                                                       open_app: OpenApp) -> None:
    at = open_app(warehouses.published)
    window = query(warehouses.published, "select distinct window_start, window_end, dora_year "
                                         "from dora_summary where is_configured_year")
    assert window == [(date(2025, 12, 7), date(2026, 3, 1), 2024)]
    assert at.query_params == {"start": "2025-12-07", "end": "2026-02-28", "dora_year": "2024"}
    organisation = summary(warehouses.published, "organisation", 2024)
    assert_tiles_match_summary(at, organisation, 2024)
    assert tile(at, "deployment_frequency")[0] == "9.9 / week"  # 119 deployments / 12 weeks

    teams = table(at, "teams_table").set_index("team")
    assert sorted(teams.index) == ["growth", "infra"]
    for team in teams.index:
        row = summary(warehouses.published, "team", 2024, team=team)
        shown = teams.loc[team]
        assert shown["deployments"] == row["deployments"]
        assert shown["deployments_per_week"] == pytest.approx(row["deployments_per_week"])
        assert shown["lead_time_hours"] == pytest.approx(row["median_lead_time_seconds"] / 3600)
        assert shown["change_failure_rate"] == pytest.approx(row["change_failure_rate"])
        for metric in ("deployment_frequency", "lead_time", "change_failure_rate",
                       "time_to_restore"):
            caption = band_caption(row, metric, 2024)
            assert shown[f"{metric}_band"] == caption.removeprefix("Band: ").removesuffix(
                " (DORA 2024)"), (team, metric)
    # infra: 1 incident with a restore time, too few for a band
    assert teams.loc["infra", "time_to_restore_band"] == "n = 1 incident, too few for a band"


def test_dora_year_changes_the_bands(warehouses: Warehouses, open_app: OpenApp) -> None:
    at = open_app(warehouses.published)
    before = tile(at, "change_failure_rate")[2][0]
    at.radio(key="dora_year").set_value(2021).run()
    assert not at.exception
    assert at.query_params["dora_year"] == "2021"
    organisation = summary(warehouses.published, "organisation", 2021)
    assert_tiles_match_summary(at, organisation, 2021)
    # CFR 8.4%: high in 2024, elite in 2021 (whose top three clusters share 0-15%)
    assert (before, tile(at, "change_failure_rate")[2][0]) == (
        "Band: high (DORA 2024)", "Band: elite (DORA 2021)")
    teams = table(at, "teams_table").set_index("team")
    assert teams.loc["growth", "change_failure_rate_band"] == summary(
        warehouses.published, "team", 2021, team="growth")["change_failure_rate_band"]


def test_without_a_summary_window_the_default_is_the_last_12_weeks_of_data(
        warehouses: Warehouses, open_app: OpenApp) -> None:
    """`fourkeys run` scores today's trailing window, empty here: the dashboard does not default
    to it but to the 12 weeks ending with the latest week with data (Monday 2026-02-23)."""
    assert query(warehouses.run_published, "select distinct window_end from dora_summary") == [
        (date.today(),)]
    at = open_app(warehouses.run_published)
    assert at.query_params["start"] == "2025-12-08"
    assert at.query_params["end"] == "2026-03-01"
    e = expected(warehouses.run_published, date(2025, 12, 8), date(2026, 3, 2))
    assert tile_values(at) == shown_values(e)
    assert e["deployments"] == 119


# --- the filters change the numbers ----------------------------------------------------------
def test_team_filter_shows_that_teams_numbers(warehouses: Warehouses,
                                              open_app: OpenApp) -> None:
    at = open_app(warehouses.published, "views/team.py")
    shown: dict[str, dict[str, str]] = {}
    for team in ("infra", "growth"):
        at.selectbox(key="team").set_value(team).run()
        assert not at.exception
        assert at.title[0].value == f"Team: {team}"
        assert at.query_params["team"] == team
        row = summary(warehouses.published, "team", 2024, team=team)
        assert_tiles_match_summary(at, row, 2024)
        shown[team] = tile_values(at)
        services = table(at, "services_table").set_index("service")
        configured = query(warehouses.published,
                           "select service from dim_services where team = ? order by 1", [team])
        assert sorted(services.index) == [r[0] for r in configured]
        for service in services.index:
            assert services.loc[service, "deployments"] == summary(
                warehouses.published, "service", 2024, team=team,
                service=service)["deployments"]
    assert shown["infra"] != shown["growth"]
    assert shown["infra"]["deployment_frequency"] == fmt.per_week(51 / 12)
    # a service of another team is no longer offered once a team is chosen
    assert at.selectbox(key="service").options == [
        "All services", "index-service", "payouts-service", "wallet-svc"]


def test_date_range_changes_the_numbers_and_the_trend(warehouses: Warehouses,
                                                      open_app: OpenApp) -> None:
    at = open_app(warehouses.published, "views/team.py", {"team": "growth"})
    default = tile_values(at)
    start, last = date(2026, 2, 2), date(2026, 2, 28)
    at.date_input(key="date_range").set_value((start, last)).run()
    assert not at.exception
    assert (at.query_params["start"], at.query_params["end"]) == ("2026-02-02", "2026-02-28")
    end = last + timedelta(days=1)
    now = expected(warehouses.published, start, end, team="growth")
    before = expected(warehouses.published, start - (end - start), start, team="growth")
    assert now["deployments"] and before["deployments"]
    assert tile_values(at) == shown_values(now)
    assert tile_values(at) != default
    _, delta, captions = tile(at, "deployment_frequency")
    assert delta == f"{now['per_week'] - before['per_week']:+.1f} / week"
    assert captions[1] == (f"{now['deployments']} deployments · median "
                           f"{now['median_deploy_days']:g} deploy days a week")
    _, delta, captions = tile(at, "change_failure_rate")
    assert delta == fmt.points(now["cfr"] - before["cfr"])
    low, high = now["cfr_interval"]
    assert captions[1].endswith(f"95% interval {fmt.percent(low)}–{fmt.percent(high)}")
    assert tile(at, "lead_time")[1] == fmt.signed_duration(
        now["lead_median"] - before["lead_median"])
    # 27 days: fewer than 10 deployments gets no band, only its sample
    if now["deployments"] < 10:
        assert tile(at, "lead_time")[2][0] == f"n = {now['deployments']}, too few for a band"


def test_service_page_shows_the_service_timeline_breakdown_and_slowest_changes(
        warehouses: Warehouses, open_app: OpenApp) -> None:
    at = open_app(warehouses.published, "views/service.py")
    at.selectbox(key="service").set_value("payouts-service").run()
    assert not at.exception
    assert at.title[0].value == "Service: payouts-service"
    e = expected(warehouses.published, date(2025, 12, 7), date(2026, 3, 1),
                 service="payouts-service")
    assert tile_values(at) == shown_values(e)
    specs = [chart.proto.spec for chart in at.get("vega_lite_chart")]
    assert len(specs) == 2
    assert "Deployments (failed ones by cause)" in specs[0]
    assert "Lead time breakdown" in specs[1]

    slowest = table(at, "slowest_changes")
    rows = query(warehouses.published, (
        "select repository, pull_request_number, commit_sha, lead_time_seconds from fct_changes "
        "where service = 'payouts-service' and deployed_at >= date '2025-12-07' "
        "and deployed_at < date '2026-03-01' and lead_time_seconds is not null "
        "order by lead_time_seconds desc, change_id limit 20"))
    assert list(slowest["lead_time_seconds"]) == [r[3] for r in rows]
    assert list(slowest["url"]) == [
        f"{GITHUB_WEB}/{repo}/pull/{number}" if number is not None
        else f"{GITHUB_WEB}/{repo}/commit/{sha}" for repo, number, sha, _ in rows]
    assert list(slowest["lead_time"]) == [fmt.duration(r[3]) for r in rows]


# --- drill-down --------------------------------------------------------------------------------
def test_a_number_opens_the_rows_behind_it(warehouses: Warehouses, open_app: OpenApp) -> None:
    at = open_app(warehouses.published, "views/team.py", {"team": "growth"})
    at.get_by_key("tile_change_failure_rate").button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Drill-down"
    assert at.radio(key="rows").value == "failed"
    assert at.query_params["rows"] == "failed"
    failed = query(warehouses.published, (
        "select deployment_id, repository, commit_sha from fct_deployments where team = 'growth' "
        "and is_failure and deployed_at >= date '2025-12-07' and deployed_at < date '2026-03-01' "
        "order by deployed_at desc, deployment_id"))
    rows = table(at, "drill_rows")
    assert list(rows["deployment_id"]) == [r[0] for r in failed]
    assert list(rows["commit_url"]) == [f"{GITHUB_WEB}/{r[1]}/commit/{r[2]}" for r in failed]
    assert at.markdown[0].value == f"**Failed deployments: {len(failed)}**"

    at.switch_page("views/drill_down.py")  # AppTest would rerun the page it last switched to

    at.radio(key="rows").set_value("incidents").run()
    incidents = query(warehouses.published, (
        "select incident_id, url from fct_incidents where team = 'growth' "
        "and started_at >= date '2025-12-07' and started_at < date '2026-03-01' "
        "order by started_at desc, incident_id"))
    rows = table(at, "drill_rows")
    assert list(zip(rows["incident_id"], rows["url"], strict=True)) == incidents
    assert all(url.startswith("https://") for _, url in incidents)


def test_drill_down_shows_a_bounded_number_of_rows_with_the_count(
        warehouses: Warehouses, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import data

    monkeypatch.setenv("FOURKEYS_PUBLISHED", str(warehouses.published))
    window = data.Window(date(2025, 12, 7), date(2026, 3, 1))
    frame, total = data.drill_rows("changes", window, None, None, limit=25)
    count = query(warehouses.published, "select count(*) from fct_changes where deployed_at "
                                        ">= date '2025-12-07' and deployed_at < date '2026-03-01'")
    assert (len(frame), total) == (25, count[0][0])
    assert total > 25


# --- the URL reproduces the view -----------------------------------------------------------------
def test_a_link_reproduces_the_view(warehouses: Warehouses, open_app: OpenApp) -> None:
    at = open_app(warehouses.published, "views/service.py")
    at.selectbox(key="team").set_value("infra").run()
    at.selectbox(key="service").set_value("cart-worker").run()
    at.date_input(key="date_range").set_value((date(2026, 1, 12), date(2026, 2, 22))).run()
    at.radio(key="dora_year").set_value(2023).run()
    link = dict(at.query_params)
    assert link == {"start": "2026-01-12", "end": "2026-02-22", "team": "infra",
                    "service": "cart-worker", "dora_year": "2023"}
    shown = {key: tile(at, key) for key in TILES}

    again = open_app(warehouses.published, None, link)
    again.switch_page("views/service.py").run()
    assert again.title[0].value == "Service: cart-worker"
    assert {key: tile(again, key) for key in TILES} == shown
    assert again.radio(key="dora_year").value == 2023
    assert dict(again.query_params) == link


# --- data health -----------------------------------------------------------------------------
def test_data_health_shows_runs_row_counts_and_watermarks(warehouses: Warehouses,
                                                          open_app: OpenApp) -> None:
    at = open_app(warehouses.published, "views/data_health.py")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    for command in ("extract", "transform"):
        (ended,) = query(warehouses.published, (
            "select max(timezone('UTC', ended_at)) from _runs "
            "where command = ? and status = 'success'"), [command])[0]
        assert metrics[f"Last successful {command} (UTC)"] == f"{ended:%Y-%m-%d %H:%M}"
    raw = table(at, "raw_tables")
    assert dict(zip(raw["table_name"], raw["row_count"], strict=True)) == dict(query(
        warehouses.published, "select table_name, row_count from _raw_tables"))
    marts = table(at, "mart_rows").set_index("table_name")["row_count"]
    assert marts["fct_deployments"] == 119
    assert marts["fct_changes"] == query(warehouses.published,
                                         "select count(*) from fct_changes")[0][0]
    watermarks = table(at, "watermarks")
    assert len(watermarks) == query(warehouses.published, "select count(*) from _watermarks")[0][0]
    assert {"source", "partition", "stream", "value", "newest_record_at"} <= set(watermarks)


def test_data_health_warns_about_silent_services_and_clock_skew(
        warehouses: Warehouses, open_app: OpenApp) -> None:
    def edit(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("delete from fct_deployments where service = 'webhooks-service'")
        con.execute("update fct_changes set first_commit_at = deployed_at + interval 2 hour "
                    "where change_id = (select min(change_id) from fct_changes "
                    "where service = 'wallet-svc' and deployed_at is not null)")

    at = open_app(warehouses.copy("warnings.duckdb", edit), "views/data_health.py")
    assert not at.exception
    warnings = [w.value for w in at.get_by_key("warnings").warning]
    assert "service with no deployments: webhooks-service — check its deployment_source in " \
           "fourkeys.toml" in warnings
    assert any(w.startswith("clock skew: wallet-svc (1) — ") for w in warnings), warnings


# --- the file is replaced while the app runs -------------------------------------------------
def test_a_replaced_file_is_read_on_the_next_run(warehouses: Warehouses,
                                                 open_app: OpenApp) -> None:
    path = warehouses.copy("replaced.duckdb")
    at = open_app(path)
    assert tile(at, "deployment_frequency")[2][1].startswith("119 deployments")

    def fewer(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("delete from fct_deployments where team = 'infra'")

    newer = warehouses.copy("replaced.next.duckdb", fewer)
    os.replace(newer, path)  # as `fourkeys run` publishes
    at.run()
    assert not at.exception
    assert tile(at, "deployment_frequency")[2][1].startswith("68 deployments")


# --- empty states ----------------------------------------------------------------------------
@pytest.mark.parametrize("page", list(PAGES))
def test_a_missing_file_says_to_run_fourkeys(warehouses: Warehouses, open_app: OpenApp,
                                             page: str) -> None:
    missing = warehouses.directory / "nowhere" / "fourkeys.published.duckdb"
    at = open_app(missing, page)
    assert not at.exception
    assert at.warning[0].value == f"No published marts yet at `{missing}`."
    assert "Run `fourkeys run --config fourkeys.toml`" in at.markdown[0].value
    assert not at.metric


def test_an_unset_path_says_to_start_with_fourkeys_dashboard(open_app: OpenApp) -> None:
    at = open_app(None)
    assert not at.exception
    assert "fourkeys dashboard --config" in at.markdown[0].value


def _delete_all_but(keep: int) -> Callable[[duckdb.DuckDBPyConnection], None]:
    def edit(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("delete from fct_deployments where deployment_id not in (select "
                    "deployment_id from fct_deployments order by deployed_at, deployment_id "
                    "limit ?)", [keep])
        con.execute("delete from fct_changes where deployment_id is null or deployment_id not "
                    "in (select deployment_id from fct_deployments)")
        for name in ("fct_incidents", "metrics_weekly", "metrics_daily", "dora_summary"):
            con.execute(f"delete from {name}")
    return edit


@pytest.mark.parametrize("page", ["views/organisation.py", "views/team.py", "views/service.py"])
def test_an_empty_warehouse_says_what_to_do(warehouses: Warehouses, open_app: OpenApp,
                                            page: str) -> None:
    at = open_app(warehouses.copy("empty.duckdb", _delete_all_but(0)), page)
    assert not at.exception
    assert at.info[0].value == "The warehouse has no deployments yet, so there is nothing to " \
                               "measure."
    assert "`deployment_source`" in at.markdown[0].value
    assert "run `fourkeys run --config fourkeys.toml`" in at.markdown[0].value
    assert not at.metric


def test_an_empty_warehouse_still_has_data_health_and_drill_down(
        warehouses: Warehouses, open_app: OpenApp) -> None:
    at = open_app(warehouses.copy("empty.duckdb", _delete_all_but(0)), "views/data_health.py")
    assert not at.exception
    warnings = [w.value for w in at.get_by_key("warnings").warning]
    assert len(warnings) == 6 and all("service with no deployments" in w for w in warnings)
    at.switch_page("views/drill_down.py").run()
    assert not at.exception
    assert at.markdown[0].value == "**Deployments: 0**"


def test_one_deployment_says_what_to_do(warehouses: Warehouses, open_app: OpenApp) -> None:
    path = warehouses.copy("one.duckdb", _delete_all_but(1))
    (service, deployed_at) = query(path, "select service, deployed_at from fct_deployments")[0]
    for page in ("views/organisation.py", "views/team.py", "views/service.py"):
        at = open_app(path, page)
        assert not at.exception
        assert at.info[0].value == (f"Only one deployment so far: {service} at "
                                    f"{deployed_at:%Y-%m-%d %H:%M} UTC.")
        assert "Run `fourkeys run --config fourkeys.toml` again" in at.markdown[0].value
        assert not at.metric
    at.switch_page("views/drill_down.py").run()
    assert not at.exception
    assert at.markdown[0].value == "**Deployments: 1**"


@pytest.mark.parametrize("content", ["garbage", "no marts"])
def test_an_unreadable_file_says_to_publish_again(warehouses: Warehouses, open_app: OpenApp,
                                                  content: str) -> None:
    if content == "garbage":
        path = warehouses.directory / "variants" / "garbage.duckdb"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"not a duckdb file\n" * 100)
    else:
        path = warehouses.copy("no-marts.duckdb",
                               lambda con: con.execute("drop table dora_summary"))
    at = open_app(path, "views/team.py")
    assert not at.exception
    assert at.error[0].value.startswith(f"`{path}` is not a readable fourkeys published file (")
    assert "Run `fourkeys run --config fourkeys.toml` to publish the marts again." in [
        m.value for m in at.markdown]
    if content == "no marts":
        assert "missing tables: dora_summary" in at.error[0].value
