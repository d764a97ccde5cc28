{# Incidents from every configured source (GitHub issues; the Slack bot, PagerDuty and CSV/JSONL
   importers through int_incidents__imported), with restore time and the deployment that caused
   them.

   Attribution, in order: (1) cause_commit — the text names a full sha or a unique prefix (7+) of
   a commit of the service's repository → the deployment that first shipped that commit's change;
   (2) deployment_id — the record names a deployment; (3) time_window — no resolvable named cause:
   the service's last deployment before the start, if the start falls before the service's next
   deployment and within attribution_window_days. #}
with unioned as (
    select * from {{ ref('int_incidents__github_issues') }}
    union all
    select * from {{ ref('int_incidents__imported') }}
),

services as (
    select * from {{ ref('int_services') }}
),

deployments as (
    select * from {{ ref('int_deployments') }}
),

changes as (
    select * from {{ ref('int_change_deployments') }}
),

records as (
    select
        unioned.source || '/' || unioned.external_id as incident_id,
        unioned.*,
        services.team,
        services.repository,
        coalesce(unioned.started_at, unioned.detected_at, unioned.created_at) as restore_from_at,
        case unioned.source
            when 'slack_bot' then 1 when 'pagerduty' then 2 when 'csv' then 3 else 4
        end as source_rank
    from unioned
    left join services
        on services.service = unioned.service
),

{# One outage recorded in several systems (a PagerDuty page and the GitHub issue written about
   it) is one incident. A record merges into the record of a better-ranked source (slack_bot,
   pagerduty, csv, github_issues) on the same service whose start is within
   incident_merge_minutes of its own — the best-ranked, then the nearest. Records of one source
   never merge with each other, and a record absorbs at most one record of each other source.
   Each hop improves the rank, so three hops reach the primary. #}
merge_candidates as (
    select
        records.incident_id,
        better.incident_id as into_id,
        row_number() over (
            partition by records.incident_id
            order by better.source_rank,
                abs({{ dbt.datediff('records.restore_from_at', 'better.restore_from_at', 'second') }}),
                better.restore_from_at, better.incident_id
        ) as preference
    from records
    inner join records as better
        on better.service = records.service
        and better.source_rank < records.source_rank
        and abs({{ dbt.datediff('records.restore_from_at', 'better.restore_from_at', 'second') }})
            <= {{ var('incident_merge_minutes') }} * 60
),

{# an incident absorbs at most one record of each source (the nearest): two records of one
   source are two outages of that source, never one #}
chosen as (
    select
        merge_candidates.incident_id,
        merge_candidates.into_id,
        row_number() over (
            partition by merge_candidates.into_id, records.source
            order by abs({{ dbt.datediff('records.restore_from_at', 'target.restore_from_at', 'second') }}),
                records.restore_from_at, records.incident_id
        ) as nearest
    from merge_candidates
    inner join records
        on records.incident_id = merge_candidates.incident_id
    inner join records as target
        on target.incident_id = merge_candidates.into_id
    where merge_candidates.preference = 1
),

merges as (
    select incident_id, into_id from chosen where nearest = 1
),

primaries as (
    select
        records.incident_id as record_id,
        coalesce(third.into_id, second.into_id, first.into_id, records.incident_id) as primary_id
    from records
    left join merges as first on first.incident_id = records.incident_id
    left join merges as second on second.incident_id = first.into_id
    left join merges as third on third.incident_id = second.into_id
),

merged as (
    select
        primaries.primary_id,
        min(records.started_at) as started_at,
        min(records.detected_at) as detected_at,
        min(records.created_at) as created_at,
        min(records.mitigated_at) as mitigated_at,
        min(records.resolved_at) as resolved_at,
        {{ dbt.listagg('records.cause_text', "' '") }} as cause_text,
        max(records.named_deployment_id) as named_deployment_id,
        {{ dbt.listagg("case when records.incident_id <> primaries.primary_id then records.incident_id end", "', '", "order by records.incident_id") }}
            as also_recorded_as
    from primaries
    inner join records
        on records.incident_id = primaries.record_id
    group by primaries.primary_id
),

incidents as (
    select
        records.incident_id,
        records.source,
        records.external_id,
        records.service,
        records.team,
        records.repository,
        records.severity,
        records.title,
        records.url,
        merged.cause_text,
        merged.named_deployment_id,
        merged.also_recorded_as,
        merged.created_at,
        merged.started_at,
        merged.detected_at,
        merged.mitigated_at,
        merged.resolved_at,
        coalesce(merged.started_at, merged.detected_at, merged.created_at) as restore_from_at,
        coalesce(merged.mitigated_at, merged.resolved_at) as restored_at
    from merged
    inner join records
        on records.incident_id = merged.primary_id
),

commit_changes as (
    select * from {{ ref('int_commit_changes') }}
),

tokens as (
    select distinct incidents.incident_id, incidents.service, incidents.repository, lower(token) as token
    from incidents
    {{ fourkeys.cross_join_regex_matches('incidents.cause_text', '\\b[0-9a-fA-F]{7,40}\\b', 'token') }}
),

{# a token names a commit when it is a full sha or a prefix of exactly one known commit #}
named_commits as (
    {{ fourkeys.commits_named_by('tokens', 'token', ['incident_id', 'service']) }}
),

{# several named commits: the most recent deployment among them is the cause #}
by_commit as (
    select incident_id, deployment_id
    from (
        select
            named_commits.incident_id,
            commit_changes.deployment_id,
            row_number() over (
                partition by named_commits.incident_id order by deployments.deployed_at desc
            ) as latest_first
        from named_commits
        inner join commit_changes
            on commit_changes.service = named_commits.service
            and commit_changes.commit_sha = named_commits.commit_sha
        inner join deployments
            on deployments.deployment_id = commit_changes.deployment_id
    ) as ranked
    where latest_first = 1
),

by_deployment as (
    select incidents.incident_id, deployments.deployment_id
    from incidents
    inner join deployments
        on deployments.deployment_id = incidents.named_deployment_id
),

with_next as (
    select
        deployments.*,
        lead(deployed_at) over (partition by service order by deployment_number) as next_deployed_at
    from deployments
),

by_time as (
    select incidents.incident_id, with_next.deployment_id
    from incidents
    inner join with_next
        on with_next.service = incidents.service
        and incidents.restore_from_at >= with_next.deployed_at
        and (with_next.next_deployed_at is null
             or incidents.restore_from_at < with_next.next_deployed_at)
        and incidents.restore_from_at < {{ fourkeys.add_days('with_next.deployed_at', var('attribution_window_days')) }}
),

final as (
    select
        incidents.incident_id,
        incidents.source,
        incidents.external_id,
        incidents.service,
        incidents.team,
        incidents.severity,
        incidents.title,
        incidents.url,
        incidents.also_recorded_as,
        incidents.started_at,
        incidents.detected_at,
        incidents.mitigated_at,
        incidents.resolved_at,
        incidents.restore_from_at,
        incidents.restored_at,
        {{ fourkeys.span_seconds('incidents.restore_from_at', 'incidents.restored_at') }}
            as restore_seconds,
        coalesce(by_commit.deployment_id, by_deployment.deployment_id, by_time.deployment_id)
            as cause_deployment_id,
        case
            when by_commit.deployment_id is not null then 'cause_commit'
            when by_deployment.deployment_id is not null then 'deployment_id'
            when by_time.deployment_id is not null then 'time_window'
        end as link_method
    from incidents
    left join by_commit
        on by_commit.incident_id = incidents.incident_id
    left join by_deployment
        on by_deployment.incident_id = incidents.incident_id
    left join by_time
        on by_time.incident_id = incidents.incident_id
)

select * from final
