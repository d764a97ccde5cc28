{# One row per label of a pull request (the raw `labels` JSON array, exploded). #}
with source as (
    select * from {{ source('raw', 'raw_github_pull_requests') }}
),

final as (
    select distinct
        lower(source.repository) as repository,
        source.number as pull_request_number,
        lower(label) as label
    from source
    {{ fourkeys.cross_join_json_array('source.labels', 'label') }}
)

select * from final
