with source as (
    select * from {{ source('raw', 'raw_github_tags') }}
),

final as (
    select
        lower(repository) as repository,
        tag_name,
        lower(target_sha) as target_sha,
        {{ fourkeys.utc('committed_at') }} as committed_at
    from source
)

select * from final
