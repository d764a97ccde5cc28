{# The mainline of each deploy branch: the first-parent chain from the branch head (the newest
   branch commit that no other branch commit names as a parent). mainline_position is 0 at the
   head and decreases by one per first-parent step, so "older" = smaller.
   Not a recursive walk: BigQuery stops a recursive CTE after 500 iterations, and a deploy branch
   has thousands of mainline commits. Binary lifting instead (macros/mainline.sql): each level, a
   few plain CTEs, doubles the jump length and the reach from the head, so a chain of n commits
   is complete after log2(n) levels: as many as the longest deploy branch's extracted commits
   need (macros/mainline.sql, mainline_levels), 24 (16.7 million commits back) where nothing is
   measured (compile, unit tests). #}
{% set levels = fourkeys.mainline_levels(ref('stg_github__commits'), ref('int_services')) %}

with branches as (
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

{# integer keys: the doubling joins them over and over #}
numbered_commits as (
    select
        branch_commits.*,
        row_number() over (order by repository, branch, commit_sha) as commit_number
    from branch_commits
),

{# only a first parent extracted on the same branch: the oldest commit's parent may precede the
   extraction window, and the chain ends where the extracted commits do #}
first_parents as (
    select
        commits.commit_number,
        parents.commit_number as parent_number
    from numbered_commits as commits
    inner join numbered_commits as parents
        on parents.repository = commits.repository
        and parents.branch = commits.branch
        and parents.commit_sha = commits.first_parent_sha
),

heads as (
    select commits.commit_number
    from head_candidates
    inner join numbered_commits as commits
        on commits.repository = head_candidates.repository
        and commits.branch = head_candidates.branch
        and commits.commit_sha = head_candidates.commit_sha
    where head_candidates.newest_first = 1
),

{{ fourkeys.first_parent_distances('first_parents', 'heads', levels, 'chain') }}

final as (
    select
        commits.repository,
        commits.branch,
        commits.commit_sha,
        -chain.distance as mainline_position,
        commits.message,
        commits.author_login,
        commits.authored_at,
        commits.committed_at
    from chain
    inner join numbered_commits as commits
        on commits.commit_number = chain.commit_number
)

select * from final
