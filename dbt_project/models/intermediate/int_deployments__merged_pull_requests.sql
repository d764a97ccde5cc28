{# merged_pull_requests: every pull request merged into the service's branch is a deployment at
   merged_at of its merge commit (for teams that deploy on merge). A path-filtered (monorepo)
   service deploys on the merges of the pull requests that touch its paths only. #}
with services as (
    select * from {{ ref('int_services') }}
    where deployment_source = 'merged_pull_requests'
),

pulls as (
    select * from {{ ref('stg_github__pull_requests') }}
    where merged_at is not null
),

final as (
    select
        services.service,
        'merged_pull_requests' as source,
        pulls.pull_request_number as native_id,
        cast(null as {{ dbt.type_string() }}) as environment,
        pulls.merge_commit_sha as commit_ref,
        pulls.merged_at as deployed_at
    from services
    inner join pulls
        on pulls.repository = services.repository
        and pulls.base_ref = services.branch
    left join {{ ref('int_service_path_matches') }} as path_matches
        on path_matches.service = services.service
        and path_matches.change_type = 'pull_request'
        and path_matches.pull_request_number = pulls.pull_request_number
    where not services.is_path_filtered or path_matches.service is not null
)

select * from final
