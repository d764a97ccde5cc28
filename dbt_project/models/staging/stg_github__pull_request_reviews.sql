with source as (
    select * from {{ source('raw', 'raw_github_pull_request_reviews') }}
),

final as (
    select
        lower(repository) as repository,
        review_id,
        pull_request_number,
        author,
        lower(state) as state,
        {{ fourkeys.utc('submitted_at') }} as submitted_at
    from source
)

select * from final
