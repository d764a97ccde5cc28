with source as (
    select * from {{ source('raw', 'raw_github_issues') }}
),

final as (
    select
        lower(repository) as repository,
        number as issue_number,
        title,
        coalesce(body, '') as body,
        url,
        author,
        lower(state) as state,
        {{ fourkeys.utc('created_at') }} as created_at,
        {{ fourkeys.utc('closed_at') }} as closed_at
    from source
)

select * from final
