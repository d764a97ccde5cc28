{# Incidents recorded as GitHub issues: issues of a configured github_issues source's repository
   that carry its label. The service is the one a `service:<name>` label names (when configured),
   else the source's service; severity is the first `sev<N>` / `p<N>` label. GitHub issues know
   no mitigation time: started = created, resolved = closed. #}
with sources as (
    select * from {{ ref('stg_config__incident_sources') }}
    where source_type = 'github_issues'
),

issues as (
    select * from {{ ref('stg_github__issues') }}
),

labels as (
    select * from {{ ref('stg_github__issue_labels') }}
),

services as (
    select * from {{ ref('int_services') }}
),

matching as (
    select distinct
        issues.repository,
        issues.issue_number,
        sources.service as default_service
    from issues
    inner join sources
        on sources.repository = issues.repository
    inner join labels
        on labels.repository = issues.repository
        and labels.issue_number = issues.issue_number
        and lower(labels.label) = lower(sources.label)
),

{# one default service per issue even if two sources of one repository share the label #}
one_source as (
    select repository, issue_number, min(default_service) as default_service
    from matching
    group by repository, issue_number
),

labelled_service as (
    select labels.repository, labels.issue_number, min(services.service) as service
    from labels
    inner join services
        on lower(labels.label) = 'service:' || lower(services.service)
    group by labels.repository, labels.issue_number
),

severity as (
    select repository, issue_number, min(lower(label)) as severity
    from labels
    where {{ fourkeys.regex_match('lower(label)', '^(sev|p)[0-9]$') }}
    group by repository, issue_number
),

final as (
    select
        'github_issues' as source,
        issues.repository || '#' || cast(issues.issue_number as {{ dbt.type_string() }})
            as external_id,
        coalesce(labelled_service.service, one_source.default_service) as service,
        severity.severity,
        issues.title,
        issues.url,
        issues.body as cause_text,
        cast(null as {{ dbt.type_string() }}) as named_deployment_id,
        issues.created_at,
        issues.created_at as started_at,
        cast(null as {{ dbt.type_timestamp() }}) as detected_at,
        cast(null as {{ dbt.type_timestamp() }}) as mitigated_at,
        issues.closed_at as resolved_at
    from one_source
    inner join issues
        on issues.repository = one_source.repository
        and issues.issue_number = one_source.issue_number
    left join labelled_service
        on labelled_service.repository = issues.repository
        and labelled_service.issue_number = issues.issue_number
    left join severity
        on severity.repository = issues.repository
        and severity.issue_number = issues.issue_number
)

select * from final
