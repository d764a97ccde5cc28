with source as (
    select * from {{ source('raw', 'raw_github_workflow_runs') }}
),

final as (
    select
        lower(repository) as repository,
        run_id,
        workflow_path,
        {{ fourkeys.regex_extract('workflow_path', '([^/]+)$') }} as workflow_file,
        name as workflow_name,
        lower(head_sha) as commit_sha,
        head_branch,
        event,
        lower(status) as status,
        lower(conclusion) as conclusion,
        run_attempt,
        {{ fourkeys.utc('updated_at') }} as updated_at,
        url
    from source
)

select * from final
