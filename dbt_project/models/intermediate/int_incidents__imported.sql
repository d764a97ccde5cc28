{# Incidents the importers wrote — the Slack bot's database, PagerDuty, CSV / JSON-lines files —
   in the common incident shape int_incidents unions (the same columns, in the same order, as
   int_incidents__github_issues). Only sources of a type still configured count (a removed
   source's rows stay raw but leave the marts), and a service no longer configured becomes NULL
   rather than failing the build. started_at falls back to detected_at, then to the record's
   creation: the incident's periods and restore time need a start. #}
with incidents as (
    select * from {{ ref('stg_incidents__imported') }}
),

configured as (
    select distinct source_type
    from {{ ref('stg_config__incident_sources') }}
    where source_type in ('slack_bot', 'pagerduty', 'csv')
),

services as (
    select * from {{ ref('int_services') }}
),

final as (
    select
        incidents.source,
        incidents.external_id,
        services.service,
        incidents.severity,
        incidents.title,
        incidents.url,
        incidents.cause_text,
        incidents.named_deployment_id,
        coalesce(incidents.created_at, incidents.started_at, incidents.detected_at)
            as created_at,
        coalesce(incidents.started_at, incidents.detected_at, incidents.created_at)
            as started_at,
        incidents.detected_at,
        incidents.mitigated_at,
        incidents.resolved_at
    from incidents
    inner join configured
        on configured.source_type = incidents.source
    left join services
        on services.service = incidents.service
)

select * from final
