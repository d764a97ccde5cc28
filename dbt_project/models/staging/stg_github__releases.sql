with source as (
    select * from {{ source('raw', 'raw_github_releases') }}
),

final as (
    select
        lower(repository) as repository,
        release_id,
        tag_name,
        name as release_name,
        is_draft,
        is_prerelease,
        {{ fourkeys.utc('published_at') }} as published_at,
        lower(target_sha) as target_sha,
        author,
        url
    from source
)

select * from final
