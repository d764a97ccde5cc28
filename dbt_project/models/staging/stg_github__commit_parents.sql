{# One row per parent of a branch commit (the raw `parents` JSON array, exploded). Incremental,
   unlike the other staging models: exploding every branch commit's JSON was the largest model
   of a refresh (1.9 s at 450,000 commits), and a commit's parents never change, so a build
   explodes only the commits loaded since the last one (a day's margin for clocks). Raw commits
   are never deleted; `fourkeys transform --full-refresh` rebuilds it whole. #}
{{ config(
    materialized='incremental',
    unique_key=['repository', 'commit_sha', 'parent_sha'],
    incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
    on_schema_change='sync_all_columns',
) }}
{#- a table built before `extracted_at` existed (an upgrade) is read whole once, and gains it -#}
{%- set since_last_build = is_incremental() and 'extracted_at' in (
    adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list) %}
with source as (
    select * from {{ source('raw', 'raw_github_commits') }}
    {% if since_last_build %}
    where _extracted_at >= (select {{ fourkeys.add_days('max(extracted_at)', -1) }} from {{ this }})
    {% endif %}
),

final as (
    select
        lower(source.repository) as repository,
        lower(source.sha) as commit_sha,
        lower(parent_sha) as parent_sha,
        max(source._extracted_at) as extracted_at
    from source
    {{ fourkeys.cross_join_json_array('source.parents', 'parent_sha') }}
    group by 1, 2, 3
)

select * from final
