"""app.data's window metrics and app.bands against dora_summary, for every entity and year.

In dora_summary's own window the app must reproduce the mart exactly: the same samples,
medians, Wilson interval and bands (bands from the seed rules) — that is what lets the pages
show any other window with the same meaning.
"""

from __future__ import annotations

import math
from datetime import date

import duckdb
import pytest

from app import bands, data
from tests.app.conftest import Warehouses

VALUES = ("deployments", "deployments_per_week", "median_deploy_days_per_week",
          "lead_time_sample", "median_lead_time_seconds", "failed_deployments",
          "change_failure_rate", "cfr_ci_low", "cfr_ci_high", "time_to_restore_sample",
          "median_restore_seconds", "remediation_deployments", "rework_rate")


def same(left: object, right: object) -> bool:
    if left is None or (isinstance(left, float) and math.isnan(left)):
        return right is None or (isinstance(right, float) and math.isnan(right))
    return left == pytest.approx(right, abs=1e-9)


@pytest.mark.parametrize("grain", ["organisation", "team", "service"])
def test_every_entity_and_year_matches_dora_summary(warehouses: Warehouses, grain: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOURKEYS_PUBLISHED", str(warehouses.published))
    window = data.Window(date(2025, 12, 7), date(2026, 3, 1))
    computed = data.window_metrics(window, grain)  # type: ignore[arg-type]
    current = computed[computed["period"] == "current"]
    con = duckdb.connect(str(warehouses.published), read_only=True)
    try:
        expected = con.execute("select * from dora_summary where grain = ?", [grain]).df()
    finally:
        con.close()
    assert set(expected["window_start"].dt.date) == {window.start}
    compared = 0
    for year in (2021, 2023, 2024):
        banded = bands.annotate(current, year).set_index(["team", "service"], drop=False)
        for row in expected[expected["dora_year"] == year].to_dict("records"):
            key = (row["team"] if grain != "organisation" else None,
                   row["service"] if grain == "service" else None)
            mine = banded[(banded["team"].isna() if key[0] is None
                           else banded["team"] == key[0])
                          & (banded["service"].isna() if key[1] is None
                             else banded["service"] == key[1])]
            assert len(mine) == 1, key
            mine_row = mine.iloc[0].to_dict()
            for column in VALUES:
                assert same(mine_row[column], row[column]), (year, key, column)
            for metric in bands.METRICS:
                for suffix in ("_band", "_band_reason"):
                    assert same(mine_row[metric + suffix], row[metric + suffix]) or (
                        mine_row[metric + suffix] == row[metric + suffix]), (year, key, metric)
            compared += 1
    assert compared == {"organisation": 3, "team": 6, "service": 18}[grain]


def test_scope_filters_restrict_the_entities(warehouses: Warehouses,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOURKEYS_PUBLISHED", str(warehouses.published))
    window = data.Window(date(2025, 12, 7), date(2026, 3, 1))
    services = data.window_metrics(window, "service", team="infra")
    assert sorted(services.loc[services["period"] == "current", "service"]) == [
        "cart-worker", "orders-worker", "webhooks-service"]
    one = data.window_metrics(window, "organisation", service="cart-worker")
    assert one.loc[one["period"] == "current", "deployments"].tolist() == [43]
