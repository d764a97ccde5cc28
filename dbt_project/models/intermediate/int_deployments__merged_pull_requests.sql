{# merged_pull_requests: every pull request merged into the service's branch is a deployment at
   merged_at of its merge commit (for teams that deploy on merge). #}
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
)

select * from final
