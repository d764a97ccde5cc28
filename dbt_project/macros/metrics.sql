{# Wilson score interval bounds for `failures` out of `total` (95%: z = 1.959964), rounded to
   6 decimals (so 0 failures give exactly 0, not a float residue). #}
{% macro wilson_bound(failures, total, sign, z=1.959964) -%}
case when {{ total }} > 0 then round(
    (
        (cast({{ failures }} as {{ fourkeys.type_double() }}) / {{ total }} + {{ z * z }} / (2.0 * {{ total }}))
        {{ sign }} {{ z }} * sqrt(
            (cast({{ failures }} as {{ fourkeys.type_double() }}) / {{ total }})
            * (1 - cast({{ failures }} as {{ fourkeys.type_double() }}) / {{ total }}) / {{ total }}
            + {{ z * z }} / (4.0 * {{ total }} * {{ total }})
        )
    ) / (1 + {{ z * z }} / {{ total }}), 6)
end
{%- endmacro %}

{# metrics_weekly / metrics_daily: one row per (grain, team, service, period), zero-filled from
   the entity's first activity to the last period with any data. grain 'service' rows carry team
   and service; 'team' rows a NULL service; the 'organisation' row NULL team and service. Medians
   and percentiles are computed from the underlying rows at every grain, never averaged. #}
{% macro period_metrics(period) %}
{%- set step = 7 if period == 'week' else 1 -%}
{%- set period_of = fourkeys.week_start if period == 'week' else fourkeys.day_of -%}
with deployments as (
    select
        service, team,
        {{ period_of('deployed_at') }} as period_start,
        deployment_id,
        {{ fourkeys.day_of('deployed_at') }} as deployed_day,
        is_failure,
        is_remediation
    from {{ ref('fct_deployments') }}
),

changes as (
    select
        service, team,
        {{ period_of('deployed_at') }} as period_start,
        lead_time_seconds
    from {{ ref('fct_changes') }}
    where deployed_at is not null
),

incidents as (
    select
        service, team,
        {{ period_of('started_at') }} as period_start,
        restore_seconds
    from {{ ref('fct_incidents') }}
    where started_at is not null
),

grains as (
    select 'service' as grain union all select 'team' union all select 'organisation'
),

{# each fact once per grain it rolls up into #}
{%- set fact_columns = {
    'deployments': ['period_start', 'deployed_day', 'is_failure', 'is_remediation'],
    'changes': ['period_start', 'lead_time_seconds'],
    'incidents': ['period_start', 'restore_seconds'],
} %}
{% for fact, columns in fact_columns.items() %}
{{ fact }}_by_grain as (
    select
        grains.grain,
        case when grains.grain <> 'organisation' then {{ fact }}.team end as team,
        case when grains.grain = 'service' then {{ fact }}.service end as service,
        {% for column in columns %}{{ fact }}.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ fact }}
    cross join grains
    where grains.grain = 'organisation' or {{ fact }}.service is not null
),
{% endfor %}

deployment_counts as (
    select
        grain, team, service, period_start,
        count(*) as deployments,
        count(distinct deployed_day) as deploy_days,
        cast(sum(case when is_failure then 1 else 0 end) as {{ dbt.type_bigint() }}) as failed_deployments,
        cast(sum(case when is_remediation then 1 else 0 end) as {{ dbt.type_bigint() }}) as remediation_deployments
    from deployments_by_grain
    group by grain, team, service, period_start
),

change_stats as (
    select
        grain, team, service, period_start,
        count(*) as changes,
        {{ fourkeys.percentile('lead_time_seconds', 0.5) }} as median_lead_time_seconds,
        {{ fourkeys.percentile('lead_time_seconds', 0.9) }} as p90_lead_time_seconds
    from changes_by_grain
    group by grain, team, service, period_start
),

incident_stats as (
    select
        grain, team, service, period_start,
        count(*) as incidents,
        {{ fourkeys.percentile('restore_seconds', 0.5) }} as median_restore_seconds
    from incidents_by_grain
    group by grain, team, service, period_start
),

active as (
    select grain, team, service, period_start from deployment_counts
    union distinct
    select grain, team, service, period_start from change_stats
    union distinct
    select grain, team, service, period_start from incident_stats
),

entities as (
    select grain, team, service, min(period_start) as first_period
    from active
    group by grain, team, service
),

spine as (
    select entities.grain, entities.team, entities.service, period_start
    from entities
    {{ fourkeys.date_series('entities.first_period', '(select max(period_start) from active)', step, 'period_start') }}
),

final as (
    select
        spine.grain || '|' || coalesce(spine.team, '') || '|' || coalesce(spine.service, '')
            || '|' || cast(cast(spine.period_start as date) as {{ dbt.type_string() }})
            as metric_key,
        spine.grain,
        spine.team,
        spine.service,
        cast(spine.period_start as date) as {{ 'week_start' if period == 'week' else 'day' }},
        coalesce(deployment_counts.deployments, 0) as deployments,
        coalesce(deployment_counts.deploy_days, 0) as deploy_days,
        coalesce(change_stats.changes, 0) as changes,
        change_stats.median_lead_time_seconds,
        change_stats.p90_lead_time_seconds,
        coalesce(deployment_counts.failed_deployments, 0) as failed_deployments,
        case when deployment_counts.deployments > 0 then
            cast(deployment_counts.failed_deployments as {{ fourkeys.type_double() }})
            / deployment_counts.deployments
        end as change_failure_rate,
        {{ fourkeys.wilson_bound('deployment_counts.failed_deployments', 'deployment_counts.deployments', '-') }}
            as cfr_ci_low,
        {{ fourkeys.wilson_bound('deployment_counts.failed_deployments', 'deployment_counts.deployments', '+') }}
            as cfr_ci_high,
        coalesce(incident_stats.incidents, 0) as incidents,
        incident_stats.median_restore_seconds,
        coalesce(deployment_counts.remediation_deployments, 0) as remediation_deployments,
        case when deployment_counts.deployments > 0 then
            cast(deployment_counts.remediation_deployments as {{ fourkeys.type_double() }})
            / deployment_counts.deployments
        end as rework_rate
    from spine
    {% for stats in ['deployment_counts', 'change_stats', 'incident_stats'] %}
    left join {{ stats }}
        on {{ stats }}.grain = spine.grain
        and {{ stats }}.period_start = spine.period_start
        and coalesce({{ stats }}.team, '') = coalesce(spine.team, '')
        and coalesce({{ stats }}.service, '') = coalesce(spine.service, '')
    {% endfor %}
)

select * from final
{% endmacro %}
