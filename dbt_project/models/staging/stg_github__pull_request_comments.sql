with source as (
    select * from {{ source('raw', 'raw_github_pull_request_comments') }}
),

final as (
    select
        lower(repository) as repository,
        comment_id,
        pull_request_number,
        author,
        {{ fourkeys.utc('created_at') }} as created_at
    from source
)

select * from final
