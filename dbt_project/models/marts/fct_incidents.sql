{# One row per incident from every configured source, with its restore time and the deployment
   it is attributed to (link_method says how: cause_commit, deployment_id or time_window). An
   outage recorded in several sources is one row (also_recorded_as lists the other records). #}
with incidents as (
    select * from {{ ref('int_incidents') }}
),

final as (
    select
        incident_id,
        source,
        external_id,
        service,
        team,
        severity,
        title,
        url,
        started_at,
        detected_at,
        mitigated_at,
        resolved_at,
        restore_seconds,
        cause_deployment_id,
        link_method,
        also_recorded_as
    from incidents
)

select * from final
