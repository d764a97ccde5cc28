{# The four keys over the trailing 12 weeks (window_start inclusive .. window_end exclusive, the
   end is env FOURKEYS_AS_OF, else var as_of, else today, UTC), for every service, team and the
   organisation, banded by the DORA clusters of each report year (seed dora_bands). A band is
   NULL, with the reason, when the window holds fewer than 10 deployments (5 incidents with a
   restore time for restore). #}
{#- `fourkeys transform --as-of` sets FOURKEYS_AS_OF: a changed var would make dbt parse the
    whole project again, a changed environment variable only this file -#}
{%- set as_of = env_var('FOURKEYS_AS_OF', '') or var('as_of') -%}
{%- set window_end -%}
{%- if as_of -%}cast('{{ as_of }}' as date){%- else -%}current_date{%- endif -%}
{%- endset -%}
with window_bounds as (
    select
        cast({{ dbt.dateadd('day', -84, window_end) }} as date) as window_start,
        {{ window_end }} as window_end
),

services as (
    select service, team from {{ ref('dim_services') }}
),

entities as (
    select 'service' as grain, team, service from services
    union all
    select distinct 'team', team, cast(null as {{ dbt.type_string() }}) from services
    union all
    select 'organisation', cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }})
),

{# every fact in the window, once per grain it belongs to: three equi-joins, not one join on
   `service = ... or team = ... or organisation`, which no hash join can run (a nested loop of
   every entity by every fact: 0.8 s of a 1,000-service refresh) #}
{%- set facts = {
    'deployments': (ref('fct_deployments'), 'deployed_at',
                    'f.deployed_at, cast(f.deployed_at as date) as deployed_day, '
                    ~ 'f.is_failure, f.is_remediation', 'true'),
    'changes': (ref('fct_changes'), 'deployed_at', 'f.lead_time_seconds',
                'f.lead_time_seconds is not null'),
    'incidents': (ref('fct_incidents'), 'started_at', 'f.restore_seconds',
                  'f.restore_seconds is not null'),
} %}
{% for name, (relation, at, columns, condition) in facts.items() %}
{{ name }}_in_window as (
    select f.*
    from {{ relation }} as f
    cross join window_bounds
    where cast(f.{{ at }} as date) >= window_bounds.window_start
        and cast(f.{{ at }} as date) < window_bounds.window_end
        and {{ condition }}
),

{{ name }} as (
    {%- for grain, key in [('service', 'service'), ('team', 'team'), ('organisation', none)] %}
    select entities.grain, entities.team, entities.service, {{ columns }}
    from {{ name }}_in_window as f
    inner join entities
        on entities.grain = '{{ grain }}'
        {%- if key %}
        and entities.{{ key }} = f.{{ key }}
        {%- endif %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
{% endfor %}

{# deploy days in each of the 12 weeks of the window (zero-filled), for the median week #}
weeks as (
    select entities.grain, entities.team, entities.service, week_number
    from entities
    cross join (
        {% for n in range(12) %}select {{ n }} as week_number{% if not loop.last %} union all {% endif %}{% endfor %}
    ) as numbers
),

week_days as (
    select
        weeks.grain, weeks.team, weeks.service, weeks.week_number,
        count(distinct deployments.deployed_day) as deploy_days
    from weeks
    cross join window_bounds
    left join deployments
        on deployments.grain = weeks.grain
        and coalesce(deployments.team, '') = coalesce(weeks.team, '')
        and coalesce(deployments.service, '') = coalesce(weeks.service, '')
        and cast(floor({{ dbt.datediff('window_bounds.window_start', 'deployments.deployed_day', 'day') }} / 7) as {{ dbt.type_int() }}) = weeks.week_number
    group by weeks.grain, weeks.team, weeks.service, weeks.week_number
),

{%- set entity_join -%}
        on {alias}.grain = entities.grain
        and coalesce({alias}.team, '') = coalesce(entities.team, '')
        and coalesce({alias}.service, '') = coalesce(entities.service, '')
{%- endset %}

deployment_stats as (
    select
        grain, team, service,
        count(*) as deployments,
        cast(sum(case when is_failure then 1 else 0 end) as {{ dbt.type_bigint() }}) as failed_deployments,
        cast(sum(case when is_remediation then 1 else 0 end) as {{ dbt.type_bigint() }}) as remediation_deployments
    from deployments
    group by grain, team, service
),

week_stats as (
    select grain, team, service,
        {{ fourkeys.percentile('deploy_days', 0.5) }} as median_deploy_days_per_week
    from week_days
    group by grain, team, service
),

change_stats as (
    select grain, team, service, count(*) as changes,
        {{ fourkeys.percentile('lead_time_seconds', 0.5) }} as median_lead_time_seconds
    from changes
    group by grain, team, service
),

incident_stats as (
    select grain, team, service, count(*) as incidents,
        {{ fourkeys.percentile('restore_seconds', 0.5) }} as median_restore_seconds
    from incidents
    group by grain, team, service
),

values_per_entity as (
    select
        entities.grain,
        entities.team,
        entities.service,
        coalesce(deployment_stats.deployments, 0) as deployments,
        coalesce(deployment_stats.deployments, 0) / 12.0 as deployments_per_week,
        coalesce(week_stats.median_deploy_days_per_week, 0) as median_deploy_days_per_week,
        coalesce(change_stats.changes, 0) as changes,
        change_stats.median_lead_time_seconds,
        coalesce(deployment_stats.failed_deployments, 0) as failed_deployments,
        case when deployment_stats.deployments > 0 then
            cast(deployment_stats.failed_deployments as {{ fourkeys.type_double() }}) / deployment_stats.deployments
        end as change_failure_rate,
        {{ fourkeys.wilson_bound('deployment_stats.failed_deployments', 'deployment_stats.deployments', '-') }} as cfr_ci_low,
        {{ fourkeys.wilson_bound('deployment_stats.failed_deployments', 'deployment_stats.deployments', '+') }} as cfr_ci_high,
        coalesce(incident_stats.incidents, 0) as incidents,
        incident_stats.median_restore_seconds,
        coalesce(deployment_stats.remediation_deployments, 0) as remediation_deployments,
        case when deployment_stats.deployments > 0 then
            cast(deployment_stats.remediation_deployments as {{ fourkeys.type_double() }}) / deployment_stats.deployments
        end as rework_rate
    from entities
    left join deployment_stats {{ entity_join.format(alias='deployment_stats') }}
    left join week_stats {{ entity_join.format(alias='week_stats') }}
    left join change_stats {{ entity_join.format(alias='change_stats') }}
    left join incident_stats {{ entity_join.format(alias='incident_stats') }}
),

{# long form: one row per (entity, band rule), the rule's measure picked by name #}
band_candidates as (
    select
        v.grain, v.team, v.service,
        bands.dora_year, bands.metric, bands.band, bands.band_rank,
        bands.min_value, bands.max_value, bands.max_inclusive,
        case bands.measure
            when 'median_deploy_days_per_week' then v.median_deploy_days_per_week
            when 'deployments_per_week' then v.deployments_per_week
            when 'median_lead_time_seconds' then v.median_lead_time_seconds
            when 'change_failure_rate' then v.change_failure_rate
            when 'median_restore_seconds' then v.median_restore_seconds
        end as measure_value
    from values_per_entity as v
    cross join {{ ref('dora_bands') }} as bands
),

matching_bands as (
    select *
    from band_candidates
    where measure_value is not null
        and (min_value is null or measure_value >= min_value)
        and (max_value is null or measure_value < max_value
             or (max_inclusive and measure_value = max_value))
),

best_bands as (
    select grain, team, service, dora_year, metric, band
    from (
        select
            matching_bands.*,
            row_number() over (
                partition by grain, team, service, dora_year, metric order by band_rank
            ) as best_first
        from matching_bands
    ) as ranked
    where best_first = 1
),

years as (
    select distinct dora_year from {{ ref('dora_bands') }}
),

final as (
    select
        v.grain || '|' || coalesce(v.team, '') || '|' || coalesce(v.service, '') || '|'
            || cast(years.dora_year as {{ dbt.type_string() }}) as summary_key,
        v.grain,
        v.team,
        v.service,
        window_bounds.window_start,
        window_bounds.window_end,
        years.dora_year,
        years.dora_year = {{ var('dora_year') }} as is_configured_year,

        v.deployments,
        v.deployments_per_week,
        v.median_deploy_days_per_week,
        {%- for metric, sample, minimum, noun in [
            ('deployment_frequency', 'deployments', 10, 'deployments'),
            ('lead_time', 'deployments', 10, 'deployments'),
            ('change_failure_rate', 'deployments', 10, 'deployments'),
            ('time_to_restore', 'incidents', 5, 'incidents with a restore time'),
        ] %}
        {% if metric == 'lead_time' %}
        v.changes as lead_time_sample,
        v.median_lead_time_seconds,
        {% elif metric == 'change_failure_rate' %}
        v.change_failure_rate,
        v.cfr_ci_low,
        v.cfr_ci_high,
        v.failed_deployments,
        {% elif metric == 'time_to_restore' %}
        v.incidents as time_to_restore_sample,
        v.median_restore_seconds,
        {% endif %}
        case when v.{{ sample }} >= {{ minimum }} then {{ metric }}_band.band end
            as {{ metric }}_band,
        case
            when v.{{ sample }} < {{ minimum }} then
                'fewer than {{ minimum }} {{ noun }} in the window ('
                || cast(v.{{ sample }} as {{ dbt.type_string() }}) || ')'
            when {{ metric }}_band.band is null then 'no value in the window'
        end as {{ metric }}_band_reason,
        {%- endfor %}
        v.remediation_deployments,
        v.rework_rate
    from values_per_entity as v
    cross join years
    cross join window_bounds
    {% for metric in ['deployment_frequency', 'lead_time', 'change_failure_rate', 'time_to_restore'] %}
    left join best_bands as {{ metric }}_band
        on {{ metric }}_band.grain = v.grain
        and coalesce({{ metric }}_band.team, '') = coalesce(v.team, '')
        and coalesce({{ metric }}_band.service, '') = coalesce(v.service, '')
        and {{ metric }}_band.dora_year = years.dora_year
        and {{ metric }}_band.metric = '{{ metric }}'
    {% endfor %}
)

select * from final
