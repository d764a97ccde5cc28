{# How many doubling levels int_mainline_commits needs: a deploy branch of n extracted commits has
   a first-parent chain of at most n - 1 steps, complete once 2^levels > n - 1, so
   ceil(log2(n + 1)) levels suffice. Measured when the model runs (one count per deploy
   branch); `default` when nothing runs against the warehouse (compile, parse, unit tests,
   whose inputs are fixtures). Each level past the need still joined and grouped every reached
   commit: at 1,000 repositories (bench/scale.py) 24 fixed levels took 3.0 s, the 12 that the
   longest branch's 2,336 commits need 2.0 s. #}
{% macro mainline_levels(commits, services, default=24) %}
    {%- if not execute or flags.WHICH not in ('run', 'build') or model.resource_type != 'model' -%}
        {{ return(default) }}
    {%- endif -%}
    {%- set query -%}
        select max(commit_count) as longest
        from (
            select count(*) as commit_count
            from {{ commits }} as commits
            inner join (select distinct repository, branch from {{ services }}) as branches
                on branches.repository = commits.repository
                and branches.branch = commits.branch
            group by commits.repository, commits.branch
        ) as branches
    {%- endset -%}
    {%- set longest = run_query(query).columns[0].values()[0] -%}
    {%- set longest = (longest or 0) | int -%}
    {%- set levels = namespace(count=1) -%}
    {%- for _ in range(64) -%}
        {%- if 2 ** levels.count <= longest -%}
            {%- set levels.count = levels.count + 1 -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(levels.count) }}
{% endmacro %}

{# Binary lifting (pointer doubling) along first-parent links, as a fixed number of plain CTEs:
   the stand-in for a recursive walk, which BigQuery stops after 500 iterations.

   `parents`: a relation of (commit_number, parent_number), one row per commit whose first parent
   is known. `starts`: a relation of (commit_number), the commits to walk back from.
   Emits CTEs, each followed by a comma, the last `<name>` of (commit_number, distance): every
   commit fewer than 2^levels first-parent steps from a start, at its shortest distance (0 for a
   start). Should bad data make a first-parent cycle, each of its commits still comes once.

   Level j holds the jumps of 2^j steps and every commit fewer than 2^j steps from a start; level
   j + 1 doubles both: a jump of a jump, and each reached commit's jump reaches as many again.
   So a chain of n commits is complete after log2(n) levels.

   Two shapes of the same levels. A level that joins the previous one to itself reads it twice,
   so unless each level is computed once, level 0 is computed 2^levels times. DuckDB: self-joins
   of CTEs declared `materialized`, three times faster there than the window shape. BigQuery
   evaluates a non-recursive CTE once per reference; there each level reads the previous one
   once, and a window function finds the jump each row looks up. #}
{% macro first_parent_distances(parents, starts, levels, name) %}
{{- return(adapter.dispatch('first_parent_distances', 'fourkeys')(parents, starts, levels, name)) -}}
{% endmacro %}

{% macro default__first_parent_distances(parents, starts, levels, name) -%}
{{ name }}_jumps_0 as materialized (
    select commit_number, parent_number as target_number
    from {{ parents }}
),

{{ name }}_0 as materialized (
    select commit_number, 0 as distance
    from {{ starts }}
),
{%- for level in range(1, levels + 1) %}
{%- set previous = name ~ '_' ~ (level - 1) %}
{%- set jumps = name ~ '_jumps_' ~ (level - 1) %}
{%- if level < levels %}
{#- jumps of 2^level steps: a jump of a jump #}

{{ name }}_jumps_{{ level }} as materialized (
    select jumps.commit_number, further.target_number
    from {{ jumps }} as jumps
    inner join {{ jumps }} as further
        on further.commit_number = jumps.target_number
),
{%- endif %}
{#- the commits reached so far, and each one's jump further #}

{{ name }}_{{ level }}_candidates as (
    select commit_number, distance
    from {{ previous }}

    union all

    select
        jumps.target_number as commit_number,
        reached.distance + {{ 2 ** (level - 1) }} as distance
    from {{ previous }} as reached
    inner join {{ jumps }} as jumps
        on jumps.commit_number = reached.commit_number
),
{#- every commit fewer than 2^level steps from a start; more than once only on a cycle #}

{{ name }}_{{ level }} as materialized (
    select commit_number, min(distance) as distance
    from {{ name }}_{{ level }}_candidates
    group by commit_number
),
{%- endfor %}

{{ name }} as (
    select commit_number, distance
    from {{ name }}_{{ levels }}
),
{%- endmacro %}

{# Rows of two kinds: jumps (commit_number, target_number) and reached commits (commit_number,
   distance). Each level reads every row of the previous one twice: as it stands, and one step
   on (an advancing jump looks up its target's jump, an advancing reached commit its own jump);
   the window over the looked-up commit finds that jump. #}
{% macro bigquery__first_parent_distances(parents, starts, levels, name) -%}
{{ name }}_0 as (
    select
        commit_number,
        true as is_jump,
        parent_number as target_number,
        cast(null as {{ dbt.type_int() }}) as distance
    from {{ parents }}

    union all

    select
        commit_number,
        false as is_jump,
        cast(null as {{ dbt.type_bigint() }}) as target_number,
        0 as distance
    from {{ starts }}
),

{{ name }}_steps as (
    select false as advances
    union all
    select true as advances
),
{%- for level in range(1, levels + 1) %}
{%- set previous = name ~ '_' ~ (level - 1) %}

{{ name }}_{{ level }}_lookups as (
    select
        previous.commit_number,
        previous.is_jump,
        previous.target_number,
        previous.distance,
        steps.advances,
        case
            when previous.is_jump and steps.advances then previous.target_number
            else previous.commit_number
        end as lookup_number
    from {{ previous }} as previous
    cross join {{ name }}_steps as steps
),
{#- the looked-up commit's jump (one at most) and its shortest distance when reached #}

{{ name }}_{{ level }}_found as (
    select
        lookups.*,
        max(case when lookups.is_jump and not lookups.advances then lookups.target_number end)
            over (partition by lookups.lookup_number) as found_number,
        min(case when not lookups.is_jump then lookups.distance end)
            over (partition by lookups.lookup_number) as shortest_distance
    from {{ name }}_{{ level }}_lookups as lookups
),
{#- jumps of 2^level steps; every commit fewer than 2^level steps from a start, once #}

{{ name }}_{{ level }} as (
    select
        case when not is_jump and advances then found_number else commit_number end as commit_number,
        is_jump,
        case when is_jump then found_number end as target_number,
        case
            when not is_jump and advances then distance + {{ 2 ** (level - 1) }}
            else distance
        end as distance
    from {{ name }}_{{ level }}_found
    where
        (is_jump and advances and found_number is not null)
        or (
            not is_jump
            and distance = shortest_distance
            and (not advances or found_number is not null)
        )
),
{%- endfor %}

{{ name }} as (
    select commit_number, min(distance) as distance
    from {{ name }}_{{ levels }}
    where not is_jump
    group by commit_number
),
{%- endmacro %}
