{# One row per parent of a branch commit (the raw `parents` JSON array, exploded). A table,
   unlike the other staging models: exploding every branch commit's JSON is the cost, and its
   tests and int_mainline_commits would each pay it again on a view.
   Incremental by sha, not by load time: a commit's parents are part of what its sha hashes, so
   a commit exploded once never needs it again, and a build explodes only the commits it has
   not seen (an anti-join; no load clock is trusted). Commits gone from the raw table leave it
   too (the post-hook), so it always equals a full rebuild. #}
{{ config(
    materialized='incremental',
    unique_key=['repository', 'commit_sha'],
    incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
    on_schema_change='sync_all_columns',
    post_hook="delete from {{ this }} as exploded where not exists (select 1 from {{ source('raw', 'raw_github_commits') }} as source where lower(source.repository) = exploded.repository and lower(source.sha) = exploded.commit_sha)",
) }}
with source as (
    select * from {{ source('raw', 'raw_github_commits') }}
),

unseen as {{ fourkeys.materialized_cte() }} (
    select source.*
    from source
    {% if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as seen
        where seen.repository = lower(source.repository)
            and seen.commit_sha = lower(source.sha)
    )
    {% endif %}
),

final as (
    select distinct
        lower(unseen.repository) as repository,
        lower(unseen.sha) as commit_sha,
        lower(parent_sha) as parent_sha
    from unseen
    {{ fourkeys.cross_join_json_array('unseen.parents', 'parent_sha') }}
)

select * from final
