{# The pull requests GitHub associates with a branch commit (its merge, squash or rebased
   commit), from the raw `pull_request_numbers` JSON array. #}
with source as (
    select * from {{ source('raw', 'raw_github_commits') }}
),

final as (
    select distinct
        lower(source.repository) as repository,
        lower(source.sha) as commit_sha,
        cast(pull_request_number as {{ dbt.type_bigint() }}) as pull_request_number
    from source
    {{ fourkeys.cross_join_json_array('source.pull_request_numbers', 'pull_request_number') }}
)

select * from final
