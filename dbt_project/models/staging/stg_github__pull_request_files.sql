{# The paths each pull request changes (monorepo repositories only), renamed and typed. #}
with source as (
    select * from {{ source('raw', 'raw_github_pull_request_files') }}
),

final as (
    select
        lower(repository) as repository,
        pull_request_number,
        path
    from source
)

select * from final
