"""Charts: pure functions of a DataFrame (as app.data returns it) to an Altair chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

OUTCOMES = ["ok", "incident", "revert", "rollback", "request_errors", "several"]
OUTCOME_COLOURS = ["#9e9e9e", "#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#000000"]
STAGES = ["coding", "pickup", "review", "deploy"]
# the week as an ordinal day: bars get a band per week, and every chart labels the Mondays
# (a temporal axis would place its ticks on Sundays)
WEEK_BAND = alt.X("yearmonthdate(week_start):O", title="week (Monday, UTC)",
                  axis=alt.Axis(format="%b %d", labelAngle=0))
WEEK = WEEK_BAND


def deployments_per_week(weekly: pd.DataFrame) -> alt.Chart:
    """Stacked bars: deployments that did not fail, and failed ones, per week."""
    frame = pd.DataFrame({
        "week_start": weekly["week_start"],
        "ok": weekly["deployments"] - weekly["failed_deployments"],
        "failed": weekly["failed_deployments"],
    }).melt("week_start", var_name="outcome", value_name="deployments")
    return alt.Chart(frame, title="Deployments per week").mark_bar().encode(
        WEEK_BAND,
        alt.Y("deployments:Q", title="deployments", stack="zero"),
        alt.Color("outcome:N", scale=alt.Scale(domain=["ok", "failed"],
                                               range=["#4c78a8", "#d62728"])),
        tooltip=["week_start:T", "outcome:N", "deployments:Q"],
    )


def lead_time_trend(weekly: pd.DataFrame) -> alt.Chart:
    """Median and p90 lead time per week, in hours."""
    frame = pd.DataFrame({
        "week_start": weekly["week_start"],
        "median": weekly["median_lead_time_seconds"] / 3600,
        "p90": weekly["p90_lead_time_seconds"] / 3600,
    }).melt("week_start", var_name="statistic", value_name="hours")
    return alt.Chart(frame, title="Lead time for changes (hours)").mark_line(point=True).encode(
        WEEK,
        alt.Y("hours:Q", title="hours"),
        alt.Color("statistic:N", scale=alt.Scale(domain=["median", "p90"])),
        tooltip=["week_start:T", "statistic:N", alt.Tooltip("hours:Q", format=".1f")],
    )


def cfr_trend(weekly: pd.DataFrame) -> alt.LayerChart:
    """Change failure rate per week with its Wilson 95% interval as a band."""
    frame = weekly[["week_start", "change_failure_rate", "cfr_ci_low", "cfr_ci_high",
                    "deployments", "failed_deployments"]]
    base = alt.Chart(frame, title="Change failure rate (95% interval)")
    band = base.mark_area(opacity=0.25).encode(
        WEEK, alt.Y("cfr_ci_low:Q", title="change failure rate", axis=alt.Axis(format="%")),
        alt.Y2("cfr_ci_high:Q"))
    line = base.mark_line(point=True).encode(
        WEEK, alt.Y("change_failure_rate:Q"),
        tooltip=["week_start:T", alt.Tooltip("change_failure_rate:Q", format=".1%"),
                 alt.Tooltip("cfr_ci_low:Q", format=".1%"),
                 alt.Tooltip("cfr_ci_high:Q", format=".1%"),
                 "failed_deployments:Q", "deployments:Q"])
    return alt.LayerChart(layer=[band, line])


def restore_trend(weekly: pd.DataFrame) -> alt.Chart:
    """Median time to restore per week (hours), for weeks with incidents."""
    frame = pd.DataFrame({
        "week_start": weekly["week_start"],
        "hours": weekly["median_restore_seconds"] / 3600,
        "incidents": weekly["incidents"],
    })
    return alt.Chart(frame, title="Time to restore (median hours)").mark_line(
        point=True).encode(
        WEEK, alt.Y("hours:Q", title="hours"),
        tooltip=["week_start:T", alt.Tooltip("hours:Q", format=".1f"), "incidents:Q"],
    )


def deployment_timeline(deployments: pd.DataFrame) -> alt.Chart:
    """One mark per deployment; failed ones coloured by cause, remediations drawn as diamonds."""
    frame = deployments.assign(
        kind=deployments["is_remediation"].map({True: "remediation", False: "deployment"}))
    return alt.Chart(frame, title="Deployments (failed ones by cause)").mark_point(
        filled=True, size=70).encode(
        alt.X("deployed_at:T", title="deployed (UTC)"),
        alt.Y("service:N", title=None),
        alt.Color("outcome:N", title="outcome",
                  scale=alt.Scale(domain=OUTCOMES, range=OUTCOME_COLOURS)),
        alt.Shape("kind:N", title=None,
                  scale=alt.Scale(domain=["deployment", "remediation"],
                                  range=["circle", "diamond"])),
        tooltip=["deployment_id:N", "deployed_at:T", "change_count:Q", "failure_causes:N",
                 "is_remediation:N", "is_rollback:N"],
    )


def lead_time_breakdown(stages: pd.DataFrame) -> alt.Chart:
    """Stacked mean hours per stage (coding, pickup, review, deploy) per week."""
    frame = stages.assign(order=stages["stage"].map({s: i for i, s in enumerate(STAGES)}))
    return alt.Chart(frame, title="Lead time breakdown (mean hours per stage)").mark_bar(
        ).encode(
        WEEK_BAND,
        alt.Y("hours:Q", title="hours", stack="zero"),
        alt.Color("stage:N", scale=alt.Scale(domain=STAGES), sort=STAGES),
        alt.Order("order:Q"),
        tooltip=["week_start:T", "stage:N", alt.Tooltip("hours:Q", format=".1f"),
                 "changes:Q"],
    )
