{# Reverts: a pull request merged into the branch, or a direct commit on it, that reverts an
   earlier change — by GitHub's `This reverts commit <sha>` (in the PR body, a PR commit's
   message or the direct commit's message) or, for PRs, by the `Revert "<title>"` title (the
   latest PR with exactly that title merged before the revert). One row per (service, reverting
   change, reverted change). #}
with changes as (
    select * from {{ ref('int_change_deployments') }}
),

commit_changes as (
    select * from {{ ref('int_commit_changes') }}
),

revert_texts as (
    select changes.service, changes.repository, changes.change_id, pulls.body as revert_text
    from changes
    inner join {{ ref('stg_github__pull_requests') }} as pulls
        on pulls.repository = changes.repository
        and pulls.pull_request_number = changes.pull_request_number
    union all
    select changes.service, changes.repository, changes.change_id, pull_commits.message
    from changes
    inner join {{ ref('stg_github__pull_request_commits') }} as pull_commits
        on pull_commits.repository = changes.repository
        and pull_commits.pull_request_number = changes.pull_request_number
    union all
    select service, repository, change_id, title
    from changes
    where change_type = 'commit'
),

named_shas as (
    select distinct service, repository, change_id, lower(reverted_ref) as reverted_ref
    from (
        select
            revert_texts.*,
            {{ fourkeys.regex_extract('revert_text', 'This reverts commit ([0-9a-fA-F]{7,40})') }}
                as reverted_ref
        from revert_texts
    ) as extracted
    where reverted_ref is not null
),

{# a named sha counts when it is a full sha or the prefix of exactly one known commit #}
named_commits as (
    {{ fourkeys.commits_named_by('named_shas', 'reverted_ref', ['service', 'change_id']) }}
),

by_sha as (
    select distinct
        named_commits.service, named_commits.change_id,
        commit_changes.change_id as reverted_change_id
    from named_commits
    inner join commit_changes
        on commit_changes.service = named_commits.service
        and commit_changes.commit_sha = named_commits.commit_sha
),

titled as (
    select
        changes.service,
        changes.change_id,
        changes.merged_at,
        {{ fourkeys.regex_extract('changes.title', '^Revert "(.*)"$') }} as reverted_title
    from changes
    where changes.change_type = 'pull_request'
),

by_title as (
    select service, change_id, reverted_change_id
    from (
        select
            titled.service,
            titled.change_id,
            originals.change_id as reverted_change_id,
            row_number() over (
                partition by titled.service, titled.change_id
                order by originals.merged_at desc
            ) as latest_first
        from titled
        inner join changes as originals
            on originals.service = titled.service
            and originals.change_type = 'pull_request'
            and originals.title = titled.reverted_title
            and originals.merged_at < titled.merged_at
        where titled.reverted_title is not null
    ) as ranked
    where latest_first = 1
),

matched as (
    select * from by_sha
    union distinct
    select by_title.*
    from by_title
    left join by_sha
        on by_sha.service = by_title.service
        and by_sha.change_id = by_title.change_id
    where by_sha.change_id is null
),

final as (
    select
        matched.service,
        matched.change_id as revert_change_id,
        reverts.deployment_id as revert_deployment_id,
        reverts.merged_at as revert_merged_at,
        coalesce(reverts.merged_at, reverts.first_commit_at) as reverted_at,
        matched.reverted_change_id,
        originals.deployment_id as reverted_deployment_id,
        originals.deployed_at as reverted_deployed_at
    from matched
    inner join changes as reverts
        on reverts.change_id = matched.change_id
    inner join changes as originals
        on originals.change_id = matched.reverted_change_id
    where matched.reverted_change_id <> matched.change_id
)

select * from final
