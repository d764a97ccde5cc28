with source as (
    select * from {{ source('raw', 'raw_github_commits') }}
),

final as (
    select
        lower(repository) as repository,
        lower(sha) as commit_sha,
        branch,
        lower({{ fourkeys.json_array_item('parents', 0) }}) as first_parent_sha,
        message,
        author_login,
        {{ fourkeys.utc('authored_at') }} as authored_at,
        {{ fourkeys.utc('committed_at') }} as committed_at
    from source
)

select * from final
