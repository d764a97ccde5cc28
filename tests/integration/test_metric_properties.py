"""Invariants of the marts on organisations hypothesis draws (sizes, failure and merge mixes),
each served by the fake API and run through the real `fourkeys run`:

- a change is counted once, and every shipped change's deployment ships it (change_count);
- lead time = coding + pickup + review + deploy wherever all four parts are present;
- CFR lies in [0, 1] and inside its Wilson interval, at every grain and period;
- the weekly and daily rows sum to the fact tables, team rows to their services, the
  organisation to its teams.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes.generator import OrgSpec, generate
from fourkeys.publish import published_path
from tests.conftest import run_cli, serve_org

SPECS = st.builds(
    OrgSpec,
    teams=st.integers(1, 2),
    services_per_team=st.integers(1, 3),
    months=st.integers(1, 2),
    prs_per_service_per_week=st.floats(1.0, 8.0),
    seed=st.integers(0, 10_000),
    incident_rate=st.floats(0.0, 0.4),
    revert_rate=st.floats(0.0, 0.2),
    hotfix_rate=st.floats(0.0, 0.2),
    rollback_rate=st.floats(0.0, 0.3),
    direct_commit_rate=st.floats(0.0, 0.4),
)


def violations(path: Path) -> list[str]:
    checks = {
        "a change in two rows": "select change_id from fct_changes group by 1 having count(*) > 1",
        "change_count differs from the changes that name the deployment": """
            select d.deployment_id from fct_deployments d
            left join (select deployment_id, count(*) as n from fct_changes
                       where deployment_id is not null group by 1) c using (deployment_id)
            where d.change_count <> coalesce(c.n, 0)""",
        "lead time is not the sum of its parts": """
            select change_id from fct_changes
            where coding_seconds is not null and pickup_seconds is not null
              and review_seconds is not null and deploy_seconds is not null
              and lead_time_seconds <> coding_seconds + pickup_seconds + review_seconds
                                       + deploy_seconds""",
        "a negative span": """
            select change_id from fct_changes
            where least(lead_time_seconds, coding_seconds, pickup_seconds, review_seconds,
                        deploy_seconds) < 0""",
        "CFR outside [0, 1] or outside its interval": """
            select metric_key from metrics_weekly where deployments > 0 and not (
                change_failure_rate between 0 and 1
                and cfr_ci_low <= change_failure_rate + 1e-6
                and change_failure_rate <= cfr_ci_high + 1e-6
                and cfr_ci_low >= 0 and cfr_ci_high <= 1)
            union all
            select summary_key from dora_summary where deployments > 0 and not (
                change_failure_rate between 0 and 1
                and cfr_ci_low <= change_failure_rate + 1e-6
                and change_failure_rate <= cfr_ci_high + 1e-6)""",
        "failures without a cause, or causes without a failure": """
            select deployment_id from fct_deployments
            where is_failure <> (len(failure_causes) > 0)""",
    }
    for grain_table in ("metrics_weekly", "metrics_daily"):
        checks[f"{grain_table}: service rows do not sum to the facts"] = f"""
            select 1 from (select sum(deployments) as d, sum(failed_deployments) as f,
                                  sum(changes) as c
                           from {grain_table} where grain = 'service') w
            where w.d <> (select count(*) from fct_deployments)
               or w.f <> (select count(*) from fct_deployments where is_failure)
               or w.c <> (select count(*) from fct_changes where deployment_id is not null)"""
        period = "week_start" if grain_table == "metrics_weekly" else "day"
        for upper, lower, key in (("team", "service", "team"),
                                  ("organisation", "team", None)):
            group = f"{key}, {period}" if key else period
            join = f"u.{key} = l.{key} and " if key else ""
            checks[f"{grain_table}: {upper} rows differ from the sum of {lower} rows"] = f"""
                select u.metric_key from {grain_table} u
                join (select {group}, sum(deployments) as d, sum(failed_deployments) as f,
                             sum(changes) as c, sum(incidents) as i
                      from {grain_table} where grain = '{lower}' group by {group}) l
                  on {join}u.{period} = l.{period}
                where u.grain = '{upper}'
                  and (u.deployments, u.failed_deployments, u.changes)
                      <> (l.d, l.f, l.c)"""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [f"{name}: {rows[:3]}" for name, sql in checks.items()
                if (rows := con.execute(sql).fetchall())]
    finally:
        con.close()


@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=SPECS)
def test_mart_invariants_hold_on_drawn_organisations(spec: OrgSpec, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    org = generate(spec)
    directory = tmp_path_factory.mktemp("props")
    for served in serve_org(org, directory):
        result = run_cli("run", "--config", str(served.config_path))
        assert result.returncode == 0, result.stderr
        found = violations(published_path(served.warehouse_path))
    assert not found, f"{spec}:\n" + "\n".join(found)
