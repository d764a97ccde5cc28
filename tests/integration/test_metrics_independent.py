"""metrics_weekly against an independent recomputation from the raw tables.

A generated organisation (every deployment source twice, failure rates raised so that incidents,
reverts and rollbacks all occur) is served by the real fake API, extracted and transformed by the
real CLI. `tests/independent_metrics.py` then recomputes, per service and ISO week (Monday, UTC),
deployments, changes, the median lead time and the change failure rate from the raw tables in
plain Python (git ancestry walked in Python; failure causes: incidents from GitHub issues by named
commit or time window, reverts, rollbacks) and every service-week of the mart must agree.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from fakes.generator import OrgSpec, generate
from tests.conftest import run_cli, serve_org
from tests.independent_metrics import Recomputation, recompute

SPEC = OrgSpec(teams=2, services_per_team=5, months=3, prs_per_service_per_week=5.0, seed=23,
               incident_rate=0.25, revert_rate=0.08, rollback_rate=0.15, hotfix_rate=0.1)
ENV = {"DO_NOT_TRACK": "1"}
SHOWN = 8  # mismatches listed in a failure message


@dataclass
class Built:
    config_path: Path
    warehouse_path: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    directory = tmp_path_factory.mktemp("independent")
    for served in serve_org(generate(SPEC), directory):  # the fake API lives for the extract
        done = run_cli("extract", "--config", str(served.config_path), env=ENV)
        assert done.returncode == 0, f"extract failed:\n{done.stderr[-3000:]}"
        result = Built(served.config_path, served.warehouse_path)
    done = run_cli("transform", "--config", str(result.config_path), env=ENV, timeout=600)
    assert done.returncode == 0, f"transform failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    yield result


def _query(path: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cursor = con.execute(sql, params or [])
        names = [c[0] for c in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _week(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date()
    return value


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _close(mine: Any, mart: Any, tolerance: float) -> bool:
    a, b = _number(mine), _number(mart)
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tolerance


def _mart_weekly(path: Path, grain: str) -> list[dict[str, Any]]:
    rows = _query(path, "select * from main.metrics_weekly where grain = ?", [grain])
    for row in rows:
        row["week_start"] = _week(row["week_start"])
    return rows


def _recomputed(built: Built) -> Recomputation:
    return recompute(built.config_path, built.warehouse_path)


def _deployment_hints(built: Built, mine: Recomputation) -> list[str]:
    """Deployments whose change count or failure causes differ: where a weekly mismatch
    comes from."""
    fct = {r["deployment_id"]: r for r in _query(
        built.warehouse_path,
        "select deployment_id, change_count, failure_causes from main.fct_deployments")}
    out = []
    for d in mine.deployments():
        row = fct.get(d.deployment_id)
        if row is None:
            out.append(f"{d.deployment_id}: not in fct_deployments")
        elif (len(d.change_ids), sorted(d.causes)) != (row["change_count"],
                                                       sorted(row["failure_causes"] or [])):
            out.append(f"{d.deployment_id} ({d.deployed_at:%Y-%m-%d %H:%M}): recomputed "
                       f"{len(d.change_ids)} changes, causes {sorted(d.causes)}; fct "
                       f"{row['change_count']} changes, causes {row['failure_causes']}")
    return out


def test_service_weeks_match_an_independent_recomputation(built: Built) -> None:
    mine = _recomputed(built)
    causes = {c for d in mine.deployments() for c in d.causes}
    assert causes == {"incident", "revert", "rollback"}, f"the scenario lacks a cause: {causes}"
    links = mine.incident_links
    assert links["cause_commit"] and links["time_window"], f"incident links too few: {links}"
    expected = {(r["service"], r["week_start"]): r for r in mine.weekly.to_dict("records")}
    mart = {(r["service"], r["week_start"]): r for r in _mart_weekly(built.warehouse_path,
                                                                     "service")
            if (r["deployments"] or 0) > 0}

    missing = sorted(set(expected) - set(mart))
    extra = sorted(set(mart) - set(expected))
    assert not missing and not extra, (
        f"service-weeks with deployments: {len(missing)} recomputed but not in the mart "
        f"{missing[:SHOWN]}; {len(extra)} in the mart only "
        f"{[(k, mart[k]['deployments']) for k in extra[:SHOWN]]}")

    checks = (("team", None), ("deployments", 0.0), ("changes", 0.0),
              ("failed_deployments", 0.0), ("median_lead_time_seconds", 1e-6),
              ("change_failure_rate", 1e-9))
    mismatches = []
    for key in sorted(expected):
        for column, tolerance in checks:
            a, b = expected[key][column], mart[key][column]
            same = a == b if tolerance is None else _close(a, b, tolerance)
            if not same:
                mismatches.append(f"{key[0]} week {key[1]}: {column} recomputed {a!r}, "
                                  f"mart {b!r}")
    if mismatches:
        hints = _deployment_hints(built, mine)
        pytest.fail(f"{len(mismatches)} mismatches over {len(expected)} service-weeks:\n"
                    + "\n".join(mismatches[:SHOWN])
                    + f"\n{len(hints)} deployments differ from fct_deployments:\n"
                    + "\n".join(hints[:SHOWN]))

    (fct,) = _query(built.warehouse_path, "select count(*) as n from main.fct_deployments")
    total = int(mine.weekly["deployments"].sum())
    assert total == fct["n"], f"recomputed {total} deployments, fct_deployments holds {fct['n']}"


ADDITIVE = ("deployments", "changes", "failed_deployments", "remediation_deployments",
            "incidents")


def _sums(rows: list[dict[str, Any]], key: str | None) -> dict[tuple[Any, date], dict[str, int]]:
    out: dict[tuple[Any, date], dict[str, int]] = defaultdict(lambda: dict.fromkeys(ADDITIVE, 0))
    for row in rows:
        sums = out[(row[key] if key else None, row["week_start"])]
        for column in ADDITIVE:
            sums[column] += int(row[column] or 0)
    return out


def _differences(name: str, totals: dict[tuple[Any, date], dict[str, int]],
                 rows: list[dict[str, Any]], key: str | None) -> list[str]:
    stored = _sums(rows, key)
    out = []
    for k in sorted(set(totals) | set(stored), key=str):
        for column in ADDITIVE:
            want, got = totals.get(k, {}).get(column, 0), stored.get(k, {}).get(column, 0)
            if want != got:
                out.append(f"{name} {k}: {column} = {got}, its parts sum to {want}")
    return out


def test_weekly_sums_equal_the_fact_tables(built: Built) -> None:
    wh = built.warehouse_path
    services = _mart_weekly(wh, "service")
    teams = _mart_weekly(wh, "team")
    orgs = _mart_weekly(wh, "organisation")
    (fct,) = _query(wh, "select count(*) as n, count(*) filter (where is_failure) as failed "
                        "from main.fct_deployments")
    (changes,) = _query(wh, "select count(*) as n from main.fct_changes "
                            "where deployment_id is not null")
    assert sum(int(r["deployments"] or 0) for r in services) == fct["n"]
    assert sum(int(r["failed_deployments"] or 0) for r in services) == fct["failed"]
    assert sum(int(r["changes"] or 0) for r in services) == changes["n"]
    assert all(r["service"] is None for r in teams) and all(
        r["team"] is None and r["service"] is None for r in orgs)

    problems = _differences("team", _sums(services, "team"), teams, "team")
    problems += _differences("organisation", _sums(teams, None), orgs, None)
    assert not problems, f"{len(problems)} roll-up mismatches:\n" + "\n".join(problems[:SHOWN])
