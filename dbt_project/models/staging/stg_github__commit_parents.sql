{# One row per parent of a branch commit (the raw `parents` JSON array, exploded). A table,
   unlike the other staging models: exploding every branch commit's JSON is the cost, and its
   tests and int_mainline_commits would each pay it again on a view. #}
{{ config(materialized='table') }}
with source as (
    select * from {{ source('raw', 'raw_github_commits') }}
),

final as (
    select distinct
        lower(source.repository) as repository,
        lower(source.sha) as commit_sha,
        lower(parent_sha) as parent_sha
    from source
    {{ fourkeys.cross_join_json_array('source.parents', 'parent_sha') }}
)

select * from final
