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

incidents as (
    select
        unioned.source || '/' || unioned.external_id as incident_id,
        unioned.*,
        services.team,
        services.repository,
        coalesce(unioned.started_at, unioned.detected_at, unioned.created_at) as restore_from_at,
        coalesce(unioned.mitigated_at, unioned.resolved_at) as restored_at
    from unioned
    left join services
        on services.service = unioned.service
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
