with source as (
    select * from {{ source('raw', 'raw_heroku_releases') }}
),

final as (
    select
        app,
        release_id,
        version,
        lower(status) as status,
        description,
        {# the slug's commit; else the sha named by a `Deploy <sha>` description (may be short) #}
        lower(coalesce(
            commit_sha,
            {{ fourkeys.regex_extract('description', '^Deploy ([0-9a-fA-F]{7,40})\\b') }}
        )) as commit_sha_or_prefix,
        user_email,
        {{ fourkeys.utc('created_at') }} as created_at
    from source
)

select * from final
