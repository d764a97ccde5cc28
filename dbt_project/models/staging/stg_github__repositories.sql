with source as (
    select * from {{ source('raw', 'raw_github_repositories') }}
),

final as (
    select
        lower(repository) as repository,
        repository_id,
        default_branch,
        {{ fourkeys.utc('created_at') }} as created_at,
        is_archived,
        is_fork
    from source
)

select * from final
