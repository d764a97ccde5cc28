"""The app's pure parts: band rules at their bounds, formatting, windows, chart specs."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from app import bands, charts, fmt
from app.data import FilterOptions, Window, wilson_interval
from app.filters import default_window

DAY = 86400.0


@pytest.mark.parametrize(("year", "metric", "measures", "band"), [
    # rates are ≤ (max_inclusive), durations <, frequencies ≥
    (2024, "change_failure_rate", {"change_failure_rate": 0.10}, "high"),
    (2024, "change_failure_rate", {"change_failure_rate": 0.1000001}, "medium"),
    (2024, "change_failure_rate", {"change_failure_rate": 0.20}, "medium"),
    (2024, "change_failure_rate", {"change_failure_rate": 0.40}, "low"),
    (2023, "change_failure_rate", {"change_failure_rate": 0.15}, "medium"),
    (2021, "change_failure_rate", {"change_failure_rate": 0.15}, "elite"),
    (2021, "change_failure_rate", {"change_failure_rate": 0.16}, "low"),
    (2024, "lead_time", {"median_lead_time_seconds": DAY - 1}, "elite"),
    (2024, "lead_time", {"median_lead_time_seconds": DAY}, "high"),
    (2021, "lead_time", {"median_lead_time_seconds": 7200.0}, "high"),
    (2024, "time_to_restore", {"median_restore_seconds": 3599.0}, "elite"),
    (2024, "time_to_restore", {"median_restore_seconds": 7 * DAY}, "low"),
    (2024, "deployment_frequency",
     {"median_deploy_days_per_week": 5.0, "deployments_per_week": 5.0}, "elite"),
    (2024, "deployment_frequency",
     {"median_deploy_days_per_week": 4.5, "deployments_per_week": 20.0}, "high"),
    (2024, "deployment_frequency",
     {"median_deploy_days_per_week": 0.0, "deployments_per_week": 0.25}, "medium"),
    (2024, "deployment_frequency",
     {"median_deploy_days_per_week": 0.0, "deployments_per_week": 0.2}, "low"),
])
def test_best_band_follows_the_seed(year: int, metric: str, measures: dict[str, float],
                                    band: str) -> None:
    assert bands.best_band(year, metric, measures) == band


def test_small_samples_get_no_band_but_a_reason() -> None:
    assert bands.band_with_reason(2024, "change_failure_rate",
                                  {"deployments": 7, "change_failure_rate": 0.0}) == (
        None, "fewer than 10 deployments in the window (7)")
    assert bands.band_with_reason(2024, "time_to_restore", {
        "time_to_restore_sample": 4, "median_restore_seconds": 60.0})[0] is None
    assert bands.short_reason("change_failure_rate", 7) == "n = 7, too few for a band"
    assert bands.short_reason("time_to_restore", 3) == "n = 3 incidents, too few for a band"
    assert bands.short_reason("time_to_restore", 1) == "n = 1 incident, too few for a band"
    assert bands.years() == [2021, 2023, 2024]


def test_wilson_interval_matches_the_worked_example() -> None:
    low, high = wilson_interval(pd.Series([3, 0, 1]), pd.Series([20, 20, 0]))
    assert (low[0], high[0]) == (0.052369, 0.360419)  # docs/metrics.md 1.8
    assert (low[1], high[1]) == (0.0, 0.161125)
    assert pd.isna(low[2]) and pd.isna(high[2])


def test_formatting() -> None:
    assert fmt.duration(59 * 60) == "59 min"
    assert fmt.duration(3 * 3600) == "3.0 h"
    assert fmt.duration(3 * DAY) == "3.0 d"
    assert fmt.duration(None) == fmt.duration(float("nan")) == fmt.duration(pd.NA) == "—"
    assert fmt.signed_duration(-5400) == "-1.5 h"
    assert fmt.percent(0.084034) == "8.4%"
    assert fmt.points(-0.021) == "-2.1 pp"
    assert fmt.per_week(9.916) == "9.9 / week"


def _options(last_week: date | None, summary: Window | None) -> FilterOptions:
    return FilterOptions([], pd.DataFrame(columns=["service", "team"]), None, last_week,
                         summary, 2024)


def test_default_window_ends_with_the_latest_week_of_data() -> None:
    monday = date(2026, 2, 23)
    assert default_window(_options(monday, None)) == Window(date(2025, 12, 8), date(2026, 3, 2))
    # dora_summary scored up to 2026-03-01 (inside that week): its window exactly
    summary = Window(date(2025, 12, 7), date(2026, 3, 1))
    assert default_window(_options(monday, summary)) == summary
    # scored today, months after the data: not it
    late = Window(date(2026, 9, 6), date(2026, 11, 29))
    assert default_window(_options(monday, late)) == Window(date(2025, 12, 8), date(2026, 3, 2))
    assert default_window(_options(None, None), today=date(2026, 5, 1)) == Window(
        date(2026, 2, 7), date(2026, 5, 2))


def test_window_blocks_and_previous() -> None:
    window = Window(date(2026, 2, 2), date(2026, 3, 1))
    assert (window.days, window.blocks) == (27, 4)
    assert window.previous == Window(date(2026, 1, 6), date(2026, 2, 2))


def test_charts_are_built_from_the_frames() -> None:
    weekly = pd.DataFrame({
        "week_start": pd.to_datetime(["2026-01-05", "2026-01-12"]),
        "deployments": [4, 5], "failed_deployments": [1, 0],
        "median_lead_time_seconds": [3600.0, 7200.0], "p90_lead_time_seconds": [7200.0, 9000.0],
        "change_failure_rate": [0.25, 0.0], "cfr_ci_low": [0.04, 0.0],
        "cfr_ci_high": [0.7, 0.43], "median_restore_seconds": [1800.0, None],
        "incidents": [1, 0],
    })
    bars = charts.deployments_per_week(weekly).to_dict()
    values = next(iter(bars["datasets"].values()))
    assert sorted((v["outcome"], v["deployments"]) for v in values) == [
        ("failed", 0), ("failed", 1), ("ok", 3), ("ok", 5)]
    cfr = charts.cfr_trend(weekly).to_dict()
    assert cfr["layer"][0]["encoding"]["y2"]["field"] == "cfr_ci_high"
    lead = charts.lead_time_trend(weekly).to_dict()
    assert {v["statistic"] for v in next(iter(lead["datasets"].values()))} == {"median", "p90"}
    charts.restore_trend(weekly).to_dict()

    timeline = pd.DataFrame({
        "deployed_at": pd.to_datetime(["2026-01-05 10:00", "2026-01-06 10:00"]),
        "service": ["a", "a"], "deployment_id": ["a/x/1", "a/x/2"], "change_count": [2, 0],
        "is_failure": [True, False], "is_remediation": [False, True],
        "is_rollback": [False, True], "outcome": ["revert", "ok"],
        "failure_causes": ["revert", ""],
    })
    spec = charts.deployment_timeline(timeline).to_dict()
    assert spec["encoding"]["color"]["scale"]["domain"] == charts.OUTCOMES
    assert spec["encoding"]["shape"]["field"] == "kind"

    stages = pd.DataFrame({"week_start": pd.to_datetime(["2026-01-05"] * 4),
                           "stage": charts.STAGES, "hours": [1.0, 2.0, 3.0, 4.0],
                           "changes": [3] * 4})
    spec = charts.lead_time_breakdown(stages).to_dict()
    assert spec["encoding"]["y"]["stack"] == "zero"
    assert spec["encoding"]["color"]["scale"]["domain"] == charts.STAGES
