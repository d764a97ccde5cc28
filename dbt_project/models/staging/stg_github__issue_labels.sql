{# One row per label of an issue (the raw `labels` JSON array, exploded). #}
with source as (
    select * from {{ source('raw', 'raw_github_issues') }}
),

final as (
    select distinct
        lower(source.repository) as repository,
        source.number as issue_number,
        label
    from source
    {{ fourkeys.cross_join_json_array('source.labels', 'label') }}
)

select * from final
