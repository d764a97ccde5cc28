{# Changes per service: each pull request merged into the service's branch, and each direct
   commit on the branch's mainline that belongs to no merged pull request. A pull request's
   mainline commits are the ones GitHub associates with it (merge, squash or rebased commits),
   its merge commit, any of its own commits that landed on the mainline (fast-forward), and
   the rebased copies of its commits (same author, authored time and message);
   it is shipped with the first of them (`mainline_position` = the oldest).
   A path-filtered (monorepo) service keeps only the changes whose files touch its paths
   (int_service_path_matches); a change touching two services' paths is a change of each. #}
with services as (
    select * from {{ ref('int_services') }}
),

mainline as (
    select * from {{ ref('int_mainline_commits') }}
),

path_matches as (
    select * from {{ ref('int_service_path_matches') }}
),

pulls as (
    select pulls.*
    from {{ ref('stg_github__pull_requests') }} as pulls
    where pulls.merged_at is not null
),

pull_commits as (
    select * from {{ ref('stg_github__pull_request_commits') }}
),

pull_first_commit as (
    select repository, pull_request_number, min(authored_at) as first_commit_at
    from pull_commits
    group by repository, pull_request_number
),

{# every (mainline commit, merged PR into that branch) pair, from the three ways they attach #}
mainline_pull_links as (
    select mainline.repository, mainline.branch, mainline.commit_sha, links.pull_request_number
    from mainline
    inner join {{ ref('stg_github__commit_pull_requests') }} as links
        on links.repository = mainline.repository
        and links.commit_sha = mainline.commit_sha

    union all

    select mainline.repository, mainline.branch, mainline.commit_sha, pulls.pull_request_number
    from mainline
    inner join pulls
        on pulls.repository = mainline.repository
        and pulls.merge_commit_sha = mainline.commit_sha

    union all

    select mainline.repository, mainline.branch, mainline.commit_sha,
        pull_commits.pull_request_number
    from mainline
    inner join pull_commits
        on pull_commits.repository = mainline.repository
        and pull_commits.commit_sha = mainline.commit_sha


    union all

    {# the rebased copies of a PR's commits (macros/commits.sql) #}
    select mainline.repository, mainline.branch, mainline.commit_sha,
        pull_commits.pull_request_number
    from mainline
    inner join pull_commits
        on {{ fourkeys.is_rebased_copy('mainline', 'pull_commits') }}
),

{# a commit attached to several merged PRs (stacked PRs) belongs to the first merged #}
commit_owner as (
    select repository, branch, commit_sha, pull_request_number
    from (
        select
            links.repository,
            links.branch,
            links.commit_sha,
            links.pull_request_number,
            row_number() over (
                partition by links.repository, links.branch, links.commit_sha
                order by pulls.merged_at, links.pull_request_number
            ) as owner_rank
        from mainline_pull_links as links
        inner join pulls
            on pulls.repository = links.repository
            and pulls.pull_request_number = links.pull_request_number
            and pulls.base_ref = links.branch
    ) as ranked
    where owner_rank = 1
),

pull_positions as (
    select repository, branch, pull_request_number,
        min(mainline.mainline_position) as mainline_position
    from commit_owner
    inner join mainline using (repository, branch, commit_sha)
    group by repository, branch, pull_request_number
),

pull_changes as (
    select
        services.service,
        services.team,
        services.repository,
        services.branch,
        'pull_request' as change_type,
        pulls.pull_request_number,
        pulls.merge_commit_sha as commit_sha,
        pulls.author,
        pulls.title,
        pulls.head_ref,
        coalesce(pull_first_commit.first_commit_at, pulls.opened_at) as first_commit_at,
        pulls.opened_at,
        case
            when pulls.first_review_at is null then pulls.first_comment_at
            when pulls.first_comment_at is null then pulls.first_review_at
            when pulls.first_comment_at < pulls.first_review_at then pulls.first_comment_at
            else pulls.first_review_at
        end as first_review_at,
        pulls.merged_at,
        pull_positions.mainline_position
    from services
    inner join pulls
        on pulls.repository = services.repository
        and pulls.base_ref = services.branch
    left join pull_first_commit
        on pull_first_commit.repository = pulls.repository
        and pull_first_commit.pull_request_number = pulls.pull_request_number
    left join pull_positions
        on pull_positions.repository = pulls.repository
        and pull_positions.branch = services.branch
        and pull_positions.pull_request_number = pulls.pull_request_number
    left join path_matches
        on path_matches.service = services.service
        and path_matches.change_type = 'pull_request'
        and path_matches.pull_request_number = pulls.pull_request_number
    where not services.is_path_filtered or path_matches.service is not null
),

pull_own_commits as (
    select distinct pull_commits.repository, pull_commits.commit_sha
    from pull_commits
    inner join pulls
        on pulls.repository = pull_commits.repository
        and pulls.pull_request_number = pull_commits.pull_request_number
),

direct_changes as (
    select
        services.service,
        services.team,
        services.repository,
        services.branch,
        'commit' as change_type,
        cast(null as {{ dbt.type_bigint() }}) as pull_request_number,
        mainline.commit_sha,
        mainline.author_login as author,
        mainline.message as title,
        cast(null as {{ dbt.type_string() }}) as head_ref,
        mainline.authored_at as first_commit_at,
        cast(null as {{ dbt.type_timestamp() }}) as opened_at,
        cast(null as {{ dbt.type_timestamp() }}) as first_review_at,
        cast(null as {{ dbt.type_timestamp() }}) as merged_at,
        mainline.mainline_position
    from services
    inner join mainline
        on mainline.repository = services.repository
        and mainline.branch = services.branch
    left join commit_owner
        on commit_owner.repository = mainline.repository
        and commit_owner.branch = mainline.branch
        and commit_owner.commit_sha = mainline.commit_sha
    left join pull_own_commits
        on pull_own_commits.repository = mainline.repository
        and pull_own_commits.commit_sha = mainline.commit_sha
    left join path_matches
        on path_matches.service = services.service
        and path_matches.change_type = 'commit'
        and path_matches.commit_sha = mainline.commit_sha
    where commit_owner.commit_sha is null
        and pull_own_commits.commit_sha is null
        and (not services.is_path_filtered or path_matches.service is not null)
),

unioned as (
    select * from pull_changes
    union all
    select * from direct_changes
),

final as (
    select
        service || '/' || case
            when change_type = 'pull_request'
                then 'pr/' || cast(pull_request_number as {{ dbt.type_string() }})
            else 'commit/' || commit_sha
        end as change_id,
        unioned.*
    from unioned
)

select * from final
