{# Every extracted commit of a repository: branch history and pull requests' own commits (a
   squashed PR's commits are on no branch). What a named sha or prefix is resolved against. #}
with final as (
    select repository, commit_sha from {{ ref('stg_github__commits') }}
    union distinct
    select repository, commit_sha from {{ ref('stg_github__pull_request_commits') }}
)

select * from final
