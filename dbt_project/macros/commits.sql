{# The one commit each ref in `relation`.`ref_column` names: a full sha, or a prefix of at least
   7 hex characters that exactly one known commit of the row's repository starts with (an
   ambiguous prefix names nothing). One row per (keys, ref) that resolves, with `commit_sha`. #}
{% macro commits_named_by(relation, ref_column, keys) %}
    select
        {% for key in keys %}{{ relation }}.{{ key }}, {% endfor %}
        {{ relation }}.{{ ref_column }},
        min(known_commits.commit_sha) as commit_sha
    from {{ relation }}
    inner join {{ ref('int_known_commits') }} as known_commits
        on known_commits.repository = {{ relation }}.repository
        and substr(known_commits.commit_sha, 1, 7) = substr({{ relation }}.{{ ref_column }}, 1, 7)
        and {{ fourkeys.starts_with('known_commits.commit_sha', relation ~ '.' ~ ref_column) }}
    where length({{ relation }}.{{ ref_column }}) >= 7
    group by {% for key in keys %}{{ relation }}.{{ key }}, {% endfor %}{{ relation }}.{{ ref_column }}
    having count(distinct known_commits.commit_sha) = 1
{% endmacro %}

{# Join condition: `copy` (a branch commit) is a rebased copy of `original` (a pull request's
   own commit). A rebase merge replays a PR's commits as new shas that keep their author, authored
   time and message; GitHub's REST history (and its GraphQL history outside monorepos, as
   extracted) names no associated pull request, so a copy is recognised by those three. #}
{% macro is_rebased_copy(copy, original) %}
    {{ original }}.repository = {{ copy }}.repository
    and {{ original }}.authored_at = {{ copy }}.authored_at
    and {{ original }}.message = {{ copy }}.message
    and coalesce({{ original }}.author_login, '') = coalesce({{ copy }}.author_login, '')
    and {{ original }}.commit_sha <> {{ copy }}.commit_sha
{% endmacro %}
