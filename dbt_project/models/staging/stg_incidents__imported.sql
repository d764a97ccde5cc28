{# Incidents the importers wrote (raw_incidents: the Slack bot's database, PagerDuty, CSV /
   JSON-lines files), renamed and typed; severity and status lower-cased. #}
with source as (
    select * from {{ source('raw', 'raw_incidents') }}
),

final as (
    select
        source,
        external_id,
        origin,
        service,
        lower(severity) as severity,
        title,
        url,
        lower(status) as status,
        cause_text,
        named_deployment_id,
        {{ fourkeys.utc('created_at') }} as created_at,
        {{ fourkeys.utc('started_at') }} as started_at,
        {{ fourkeys.utc('detected_at') }} as detected_at,
        {{ fourkeys.utc('mitigated_at') }} as mitigated_at,
        {{ fourkeys.utc('resolved_at') }} as resolved_at,
        {{ fourkeys.utc('updated_at') }} as updated_at
    from source
)

select * from final
