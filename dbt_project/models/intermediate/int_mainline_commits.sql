{# The mainline of each deploy branch: the first-parent chain from the branch head (the newest
   branch commit that no other branch commit names as a parent). mainline_position is 0 at the
   head and decreases by one per first-parent step, so "older" = smaller. #}
with recursive

branches as (
    select distinct repository, branch from {{ ref('int_services') }}
),

branch_commits as (
    select commits.*
    from {{ ref('stg_github__commits') }} as commits
    inner join branches
        on branches.repository = commits.repository
        and branches.branch = commits.branch
),

{# parents named by commits of the same branch (a commit of another branch may name the head) #}
parents as (
    select distinct parents.repository, branch_commits.branch, parents.parent_sha
    from {{ ref('stg_github__commit_parents') }} as parents
    inner join branch_commits
        on branch_commits.repository = parents.repository
        and branch_commits.commit_sha = parents.commit_sha
),

head_candidates as (
    select
        branch_commits.repository,
        branch_commits.branch,
        branch_commits.commit_sha,
        row_number() over (
            partition by branch_commits.repository, branch_commits.branch
            order by branch_commits.committed_at desc, branch_commits.commit_sha
        ) as newest_first
    from branch_commits
    left join parents
        on parents.repository = branch_commits.repository
        and parents.branch = branch_commits.branch
        and parents.parent_sha = branch_commits.commit_sha
    where parents.parent_sha is null
),

chain as (
    select repository, branch, commit_sha, 0 as distance
    from head_candidates
    where newest_first = 1

    union all

    select chain.repository, chain.branch, branch_commits.first_parent_sha, chain.distance + 1
    from chain
    inner join branch_commits
        on branch_commits.repository = chain.repository
        and branch_commits.branch = chain.branch
        and branch_commits.commit_sha = chain.commit_sha
    where branch_commits.first_parent_sha is not null
        and chain.distance < 10000000
),

final as (
    select
        chain.repository,
        chain.branch,
        chain.commit_sha,
        -chain.distance as mainline_position,
        branch_commits.message,
        branch_commits.author_login,
        branch_commits.authored_at,
        branch_commits.committed_at
    from chain
    {# the oldest parent may precede the extraction window: only known commits stay #}
    inner join branch_commits
        on branch_commits.repository = chain.repository
        and branch_commits.branch = chain.branch
        and branch_commits.commit_sha = chain.commit_sha
)

select * from final
