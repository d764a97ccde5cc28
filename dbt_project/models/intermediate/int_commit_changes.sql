{# Which change a commit belongs to, per service: a change's own sha (merge, squash or direct
   commit), a pull request's own commits, and the branch commits GitHub associates with it or
   that are rebased copies of its commits (macros/commits.sql). Used to turn a sha named by an incident or a revert into a change. #}
with changes as (
    select * from {{ ref('int_change_deployments') }}
),

final as (
    select service, change_id, commit_sha, deployment_id
    from changes
    where commit_sha is not null

    union distinct

    select changes.service, changes.change_id, pull_commits.commit_sha, changes.deployment_id
    from changes
    inner join {{ ref('stg_github__pull_request_commits') }} as pull_commits
        on pull_commits.repository = changes.repository
        and pull_commits.pull_request_number = changes.pull_request_number

    union distinct

    select changes.service, changes.change_id, links.commit_sha, changes.deployment_id
    from changes
    inner join {{ ref('stg_github__commit_pull_requests') }} as links
        on links.repository = changes.repository
        and links.pull_request_number = changes.pull_request_number

    union distinct

    select changes.service, changes.change_id, mainline.commit_sha, changes.deployment_id
    from changes
    inner join {{ ref('stg_github__pull_request_commits') }} as pull_commits
        on pull_commits.repository = changes.repository
        and pull_commits.pull_request_number = changes.pull_request_number
    inner join {{ ref('int_mainline_commits') }} as mainline
        on mainline.branch = changes.branch
        and {{ fourkeys.is_rebased_copy('mainline', 'pull_commits') }}
)

select * from final
