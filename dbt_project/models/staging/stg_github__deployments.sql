with source as (
    select * from {{ source('raw', 'raw_github_deployments') }}
),

final as (
    select
        lower(repository) as repository,
        deployment_id,
        environment,
        lower(sha) as commit_sha,
        ref,
        task,
        description,
        creator,
        {{ fourkeys.utc('created_at') }} as created_at
    from source
)

select * from final
