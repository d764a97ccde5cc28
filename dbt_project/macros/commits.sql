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
