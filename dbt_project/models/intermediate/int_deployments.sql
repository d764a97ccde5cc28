{# Every deployment of every service (one model per source, unioned), with its sha resolved to a
   full commit, its place on the branch mainline, and its order among the service's deployments.

   What it shipped: deployments are ordered by deployed_at (ties: native id). A deployment whose
   sha is on the mainline ships the mainline commits after the highest position any earlier
   deployment reached (`shipped_after_position`, exclusive) up to its own position
   (`shipped_through_position`). A service's first deployment ships everything up to its sha. #}
with unioned as (
    {% for source in ['github_deployments', 'workflow_runs', 'releases', 'merged_pull_requests', 'heroku_releases'] %}
    select * from {{ ref('int_deployments__' ~ source) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

services as (
    select * from {{ ref('int_services') }}
),

with_service as (
    select
        unioned.*,
        services.team,
        services.repository,
        services.branch
    from unioned
    inner join services
        on services.service = unioned.service
),

{# a short sha (Heroku's `Deploy 1a2b3c4`) → the one extracted commit it is a prefix of #}
named_commits as (
    {{ fourkeys.commits_named_by('with_service', 'commit_ref', ['service', 'native_id']) }}
),

resolved as (
    select
        with_service.*,
        coalesce(named_commits.commit_sha, with_service.commit_ref) as commit_sha
    from with_service
    left join named_commits
        on named_commits.service = with_service.service
        and named_commits.native_id = with_service.native_id
),

positioned as (
    select
        resolved.*,
        mainline.mainline_position,
        row_number() over (
            partition by resolved.service order by resolved.deployed_at, resolved.native_id
        ) as deployment_number
    from resolved
    left join {{ ref('int_mainline_commits') }} as mainline
        on mainline.repository = resolved.repository
        and mainline.branch = resolved.branch
        and mainline.commit_sha = resolved.commit_sha
),

ordered as (
    select
        positioned.*,
        lag(mainline_position) over (
            partition by service order by deployment_number
        ) as previous_position,
        lag(commit_sha) over (partition by service order by deployment_number) as previous_sha,
        max(mainline_position) over (
            partition by service order by deployment_number
            rows between unbounded preceding and 1 preceding
        ) as high_water_before
    from positioned
),

final as (
    select
        service || '/' || source || '/' || cast(native_id as {{ dbt.type_string() }})
            as deployment_id,
        service,
        team,
        repository,
        branch,
        environment,
        source,
        native_id,
        commit_sha,
        deployed_at,
        deployment_number,
        mainline_position,
        {# rollback: an older mainline sha than the one that was live #}
        coalesce(mainline_position < previous_position, false) as is_rollback,
        case
            when mainline_position > coalesce(high_water_before, mainline_position - 1000000000)
                then coalesce(high_water_before, -1000000000)
        end as shipped_after_position,
        case
            when mainline_position > coalesce(high_water_before, mainline_position - 1000000000)
                then mainline_position
        end as shipped_through_position
    from ordered
)

select * from final
