{# workflow_runs: a run of the service's workflow (file name or workflow name) on its branch
   whose latest attempt concluded `success`; deployed_at = the run's updated_at. #}
with services as (
    select * from {{ ref('int_services') }}
    where deployment_source = 'workflow_runs'
),

runs as (
    select * from {{ ref('stg_github__workflow_runs') }}
    where conclusion = 'success'
),

final as (
    select
        services.service,
        'workflow_runs' as source,
        runs.run_id as native_id,
        cast(null as {{ dbt.type_string() }}) as environment,
        runs.commit_sha as commit_ref,
        runs.updated_at as deployed_at
    from services
    inner join runs
        on runs.repository = services.repository
        and runs.head_branch = services.branch
        and (runs.workflow_file = services.workflow or runs.workflow_name = services.workflow
             or runs.workflow_path = services.workflow)
)

select * from final
