with source as (
    select * from {{ source('raw', 'raw_github_pull_requests') }}
),

final as (
    select
        lower(repository) as repository,
        number as pull_request_number,
        title,
        coalesce(body, '') as body,
        url,
        lower(state) as state,
        is_draft,
        author,
        base_ref,
        head_ref,
        {{ fourkeys.utc('created_at') }} as opened_at,
        {{ fourkeys.utc('merged_at') }} as merged_at,
        lower(merge_commit_sha) as merge_commit_sha,
        {{ fourkeys.utc('first_review_at') }} as first_review_at,
        {{ fourkeys.utc('first_comment_at') }} as first_comment_at
    from source
)

select * from final
