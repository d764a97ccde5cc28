{# Did a deployment's 5xx ratio rise after it? One row per deployment (failure signal
   "request_errors"; docs/metrics.md, "Request-log signal").

   Windows, in whole UTC minutes (d = the minute of deployed_at, w = request_window_minutes):
     before = [max(d − w, d of the previous deployment), d)
     after  = [d, min(d + w, d of the next deployment))
   so each window holds only the traffic of one version: the one this deployment replaced, and
   its own. The deployment's own minute counts as after (a bad rollout shows there first).

   Test: one-sided two-proportion z-test with pooled variance,
     z = (p_after − p_before) / sqrt(p (1 − p) (1/n_before + 1/n_after)),  p = pooled ratio;
   degraded when z > request_z_critical (p < [requests] p_value) AND the ratio rose by more than
   request_min_margin (absolute). No verdict (has_verdict false, not degraded) when either
   window has fewer than request_min_requests requests; never degraded when no request in
   either window failed (z undefined). A window still open when the log was imported is judged
   on the minutes so far; the next import and transform judge it again.

   Each minute is attributed to the deployment live at its start by a running max of
   deployment_number over the service's timeline (deployments sort before counts of the same
   minute), then joined by equality: linear in rows on every adapter, where a range join of
   deployments × minutes would compare every pair of a service. #}
{%- set window = var('request_window_minutes') | int -%}
{%- set min_requests = var('request_min_requests') | int -%}
{%- set epoch = "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")" -%}
with deployments as (
    select
        deployment_id,
        service,
        deployed_at,
        deployment_number,
        {{ dbt.datediff(epoch, 'deployed_at', 'minute') }} as deployed_minute
    from {{ ref('int_deployments') }}
),

file_counts as (
    select
        service,
        minute_at,
        {{ dbt.datediff(epoch, 'minute_at', 'minute') }} as minute_number,
        request_count,
        error_count
    from {{ ref('stg_requests__minute_counts') }}
),

{# several log files (hosts) may count the same service and minute: add them up #}
minute_counts as (
    select
        service,
        minute_at,
        minute_number,
        cast(sum(request_count) as {{ dbt.type_bigint() }}) as request_count,
        cast(sum(error_count) as {{ dbt.type_bigint() }}) as error_count
    from file_counts
    group by service, minute_at, minute_number
),

timeline as (
    select
        service,
        deployed_minute as minute_number,
        0 as row_kind,
        deployment_number,
        cast(null as {{ dbt.type_timestamp() }}) as minute_at,
        cast(0 as {{ dbt.type_bigint() }}) as request_count,
        cast(0 as {{ dbt.type_bigint() }}) as error_count
    from deployments
    union all
    select
        service,
        minute_number,
        1 as row_kind,
        cast(null as {{ dbt.type_bigint() }}) as deployment_number,
        minute_at,
        request_count,
        error_count
    from minute_counts
),

attributed as (
    select
        timeline.*,
        max(deployment_number) over (
            partition by service order by minute_number, row_kind
            rows between unbounded preceding and current row
        ) as live_deployment_number
    from timeline
),

counted_minutes as (
    select service, minute_number, minute_at, request_count, error_count, live_deployment_number
    from attributed
    where row_kind = 1
),

{# minutes while the deployment was live, up to w after it #}
after_counts as (
    select
        deployments.deployment_id,
        cast(sum(counted_minutes.request_count) as {{ dbt.type_bigint() }}) as requests_after,
        cast(sum(counted_minutes.error_count) as {{ dbt.type_bigint() }}) as errors_after,
        max(counted_minutes.minute_at) as last_after_minute_at
    from counted_minutes
    inner join deployments
        on deployments.service = counted_minutes.service
        and deployments.deployment_number = counted_minutes.live_deployment_number
    where counted_minutes.minute_number < deployments.deployed_minute + {{ window }}
    group by deployments.deployment_id
),

{# minutes while the previous version was live (before a service's first deployment: any), up
   to w before it #}
before_counts as (
    select
        deployments.deployment_id,
        cast(sum(counted_minutes.request_count) as {{ dbt.type_bigint() }}) as requests_before,
        cast(sum(counted_minutes.error_count) as {{ dbt.type_bigint() }}) as errors_before
    from counted_minutes
    inner join deployments
        on deployments.service = counted_minutes.service
        and deployments.deployment_number = coalesce(counted_minutes.live_deployment_number, 0) + 1
    where counted_minutes.minute_number >= deployments.deployed_minute - {{ window }}
    group by deployments.deployment_id
),

windows as (
    select
        deployments.*,
        lag(deployed_minute) over (
            partition by service order by deployment_number
        ) as previous_minute,
        lead(deployed_minute) over (
            partition by service order by deployment_number
        ) as next_minute
    from deployments
),

counts as (
    select
        windows.deployment_id,
        windows.service,
        windows.deployed_at,
        windows.deployed_minute - greatest(
            windows.deployed_minute - {{ window }},
            coalesce(windows.previous_minute, windows.deployed_minute - {{ window }})
        ) as before_minutes,
        least(
            windows.deployed_minute + {{ window }},
            coalesce(windows.next_minute, windows.deployed_minute + {{ window }})
        ) - windows.deployed_minute as after_minutes,
        coalesce(before_counts.requests_before, 0) as requests_before,
        coalesce(before_counts.errors_before, 0) as errors_before,
        coalesce(after_counts.requests_after, 0) as requests_after,
        coalesce(after_counts.errors_after, 0) as errors_after,
        after_counts.last_after_minute_at
    from windows
    left join before_counts
        on before_counts.deployment_id = windows.deployment_id
    left join after_counts
        on after_counts.deployment_id = windows.deployment_id
),

ratios as (
    select
        counts.*,
        case when requests_before > 0
            then cast(errors_before as {{ fourkeys.type_double() }}) / requests_before
        end as error_ratio_before,
        case when requests_after > 0
            then cast(errors_after as {{ fourkeys.type_double() }}) / requests_after
        end as error_ratio_after,
        case when requests_before > 0 and requests_after > 0
            then cast(errors_before + errors_after as {{ fourkeys.type_double() }})
                / (requests_before + requests_after)
        end as pooled_ratio,
        requests_before >= {{ min_requests }} and requests_after >= {{ min_requests }}
            as has_verdict
    from counts
),

scored as (
    select
        ratios.*,
        error_ratio_after - error_ratio_before as error_ratio_rise,
        case when pooled_ratio > 0 and pooled_ratio < 1
            then (error_ratio_after - error_ratio_before) / sqrt(
                pooled_ratio * (1 - pooled_ratio)
                * (1.0 / requests_before + 1.0 / requests_after)
            )
        end as z_score
    from ratios
),

final as (
    select
        deployment_id,
        service,
        deployed_at,
        before_minutes,
        after_minutes,
        requests_before,
        errors_before,
        requests_after,
        errors_after,
        error_ratio_before,
        error_ratio_after,
        error_ratio_rise,
        z_score,
        has_verdict,
        coalesce(
            has_verdict
            and z_score > {{ var('request_z_critical') }}
            and error_ratio_rise > {{ var('request_min_margin') }},
            false
        ) as is_degraded,
        {# when the rise could be seen: the last minute counted after it, never before it #}
        case when last_after_minute_at > deployed_at then last_after_minute_at
            else deployed_at
        end as evidence_at
    from scored
)

select * from final
