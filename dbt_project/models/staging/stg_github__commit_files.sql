{# The paths each direct commit changes (monorepo repositories only), renamed and typed. #}
with source as (
    select * from {{ source('raw', 'raw_github_commit_files') }}
),

final as (
    select
        lower(repository) as repository,
        lower(sha) as commit_sha,
        path
    from source
)

select * from final
