{# Which changes touch each path-filtered service's paths: one row per (service, pull request)
   and per (service, direct commit) with at least one changed file matching one of the
   service's patterns. A change touching two services' paths matches both. #}
with service_paths as (
    select service_paths.service, services.repository, service_paths.path_pattern
    from {{ ref('stg_config__service_paths') }} as service_paths
    inner join {{ ref('int_services') }} as services
        on services.service = service_paths.service
),

pull_matches as (
    select distinct
        service_paths.service,
        files.repository,
        files.pull_request_number
    from service_paths
    inner join {{ ref('stg_github__pull_request_files') }} as files
        on files.repository = service_paths.repository
    where {{ fourkeys.regex_full_match_expr('files.path', 'service_paths.path_pattern') }}
),

commit_matches as (
    select distinct
        service_paths.service,
        files.repository,
        files.commit_sha
    from service_paths
    inner join {{ ref('stg_github__commit_files') }} as files
        on files.repository = service_paths.repository
    where {{ fourkeys.regex_full_match_expr('files.path', 'service_paths.path_pattern') }}
),

final as (
    select
        service,
        repository,
        'pull_request' as change_type,
        pull_request_number,
        cast(null as {{ dbt.type_string() }}) as commit_sha
    from pull_matches

    union all

    select
        service,
        repository,
        'commit' as change_type,
        cast(null as {{ dbt.type_bigint() }}) as pull_request_number,
        commit_sha
    from commit_matches
)

select * from final
