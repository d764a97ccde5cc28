with source as (
    select * from {{ source('raw', 'raw_github_pull_request_commits') }}
),

final as (
    select
        lower(repository) as repository,
        pull_request_number,
        lower(sha) as commit_sha,
        position,
        message,
        author_login,
        {{ fourkeys.utc('authored_at') }} as authored_at,
        {{ fourkeys.utc('committed_at') }} as committed_at
    from source
)

select * from final
