with source as (
    select * from {{ source('raw', 'raw_github_deployment_statuses') }}
),

final as (
    select
        lower(repository) as repository,
        deployment_id,
        status_id,
        lower(state) as state,
        {{ fourkeys.utc('created_at') }} as created_at
    from source
)

select * from final
