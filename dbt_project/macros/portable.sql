{# Cross-database helpers. DuckDB is the default implementation; BigQuery gets its own where the
   syntax differs. Only these macros and the staging models know adapter-specific syntax. #}

{# A TIMESTAMPTZ (DuckDB) / TIMESTAMP (BigQuery) as a UTC timestamp without time zone semantics,
   so that truncation to days and weeks never depends on the session's time zone. #}
{% macro utc(column) %}{{ return(adapter.dispatch('utc', 'fourkeys')(column)) }}{% endmacro %}
{% macro default__utc(column) %}timezone('UTC', {{ column }}){% endmacro %}
{% macro bigquery__utc(column) %}{{ column }}{% endmacro %}

{# Monday of the UTC week of a UTC timestamp, as a date. #}
{% macro week_start(column) %}{{ return(adapter.dispatch('week_start', 'fourkeys')(column)) }}{% endmacro %}
{% macro default__week_start(column) %}cast(date_trunc('week', {{ column }}) as date){% endmacro %}
{% macro bigquery__week_start(column) %}date_trunc(date({{ column }}), week(monday)){% endmacro %}

{% macro day_of(column) %}cast({{ column }} as date){% endmacro %}

{# Whole seconds from `start` to `finish`; NULL when either is NULL or the span is negative. #}
{% macro span_seconds(start, finish) -%}
case when {{ finish }} >= {{ start }} then {{ dbt.datediff(start, finish, 'second') }} end
{%- endmacro %}

{# The string element at `index` (0-based) of a JSON array column. #}
{% macro json_array_item(column, index) %}{{ return(adapter.dispatch('json_array_item', 'fourkeys')(column, index)) }}{% endmacro %}
{% macro default__json_array_item(column, index) %}json_extract_string({{ column }}, '$[{{ index }}]'){% endmacro %}
{% macro bigquery__json_array_item(column, index) %}json_value({{ column }}, '$[{{ index }}]'){% endmacro %}

{# `cross join` one row per element of a JSON array of scalars, as a string column `alias`. #}
{% macro cross_join_json_array(column, alias) %}{{ return(adapter.dispatch('cross_join_json_array', 'fourkeys')(column, alias)) }}{% endmacro %}
{% macro default__cross_join_json_array(column, alias) -%}
cross join unnest(from_json({{ column }}, '["VARCHAR"]')) as _{{ alias }}({{ alias }})
{%- endmacro %}
{% macro bigquery__cross_join_json_array(column, alias) -%}
cross join unnest(json_value_array({{ column }})) as {{ alias }}
{%- endmacro %}

{# `cross join` one row per match of a regular expression in `column`, as column `alias`. #}
{% macro cross_join_regex_matches(column, pattern, alias) %}{{ return(adapter.dispatch('cross_join_regex_matches', 'fourkeys')(column, pattern, alias)) }}{% endmacro %}
{% macro default__cross_join_regex_matches(column, pattern, alias) -%}
cross join unnest(regexp_extract_all({{ column }}, '{{ pattern }}')) as _{{ alias }}({{ alias }})
{%- endmacro %}
{% macro bigquery__cross_join_regex_matches(column, pattern, alias) -%}
cross join unnest(regexp_extract_all({{ column }}, r'{{ pattern }}')) as {{ alias }}
{%- endmacro %}

{% macro regex_match(column, pattern) %}{{ return(adapter.dispatch('regex_match', 'fourkeys')(column, pattern)) }}{% endmacro %}
{% macro default__regex_match(column, pattern) %}regexp_matches({{ column }}, '{{ pattern }}'){% endmacro %}
{% macro bigquery__regex_match(column, pattern) %}regexp_contains({{ column }}, r'{{ pattern }}'){% endmacro %}

{% macro regex_extract(column, pattern, group=1) %}{{ return(adapter.dispatch('regex_extract', 'fourkeys')(column, pattern, group)) }}{% endmacro %}
{% macro default__regex_extract(column, pattern, group) %}nullif(regexp_extract({{ column }}, '{{ pattern }}', {{ group }}), ''){% endmacro %}
{% macro bigquery__regex_extract(column, pattern, group) %}regexp_extract({{ column }}, r'{{ pattern }}'){% endmacro %}

{# Continuous percentile (linear interpolation) as an aggregate. #}
{% macro percentile(column, fraction) %}{{ return(adapter.dispatch('percentile', 'fourkeys')(column, fraction)) }}{% endmacro %}
{% macro default__percentile(column, fraction) %}quantile_cont({{ column }}, {{ fraction }}){% endmacro %}
{% macro bigquery__percentile(column, fraction) -%}
(select percentile_cont(_v, {{ fraction }}) over () from unnest(array_agg({{ column }} ignore nulls)) as _v limit 1)
{%- endmacro %}

{# A sorted array of the distinct non-null values of `column`. #}
{% macro sorted_set(column) %}{{ return(adapter.dispatch('sorted_set', 'fourkeys')(column)) }}{% endmacro %}
{% macro default__sorted_set(column) %}list_sort(list_distinct(list({{ column }}))){% endmacro %}
{% macro bigquery__sorted_set(column) %}array_agg(distinct {{ column }} ignore nulls order by {{ column }}){% endmacro %}

{# One row per date from `start_date` to `end_date` inclusive, every `step_days` days, as column `alias`. #}
{% macro date_series(start_date, end_date, step_days, alias) %}{{ return(adapter.dispatch('date_series', 'fourkeys')(start_date, end_date, step_days, alias)) }}{% endmacro %}
{% macro default__date_series(start_date, end_date, step_days, alias) -%}
cross join unnest(generate_series(cast({{ start_date }} as date), cast({{ end_date }} as date), interval {{ step_days }} day)) as _{{ alias }}({{ alias }})
{%- endmacro %}
{% macro bigquery__date_series(start_date, end_date, step_days, alias) -%}
cross join unnest(generate_date_array({{ start_date }}, {{ end_date }}, interval {{ step_days }} day)) as {{ alias }}
{%- endmacro %}

{# Literal rows from a var (a list of dicts) as a relation with typed columns. #}
{% macro rows_from_var(var_name, columns) %}{{ fourkeys.rows_from_list(var(var_name) or [], columns) }}{% endmacro %}

{# Literal rows from a list of dicts (e.g. built in Jinja from a var) as a relation with typed
   columns; missing keys are NULL. DuckDB gets the list as one JSON literal it unnests: a UNION
   ALL of 1,000 selects (a generated organisation's services) took DuckDB 0.5 s to plan at every
   query of the view, and rendering a literal per value 0.5 s of Jinja; BigQuery keeps the
   UNION ALL. #}
{% macro rows_from_list(items, columns) %}
{%- if items | length == 0 %}
select {% for name, type in columns %}cast(null as {{ type }}) as {{ name }}{% if not loop.last %}, {% endif %}{% endfor %}
{{ 'where false' if target.type != 'bigquery' else 'limit 0' }}
{%- else %}{{ return(adapter.dispatch('rows_from_list', 'fourkeys')(items, columns)) }}
{%- endif %}
{% endmacro %}

{% macro default__rows_from_list(items, columns) -%}
select {% for name, type in columns %}cast(json_extract_string(item, '$.{{ name }}') as {{ type }}) as {{ name }}{% if not loop.last %}, {% endif %}{% endfor %}
from (select unnest(json_extract(cast({{ fourkeys.sql_string(tojson(items)) }} as json), '$[*]')) as item) as rows_from_list
{%- endmacro %}

{% macro bigquery__rows_from_list(items, columns) -%}
{%- for item in items %}
select {% for name, type in columns -%}
{{ fourkeys.literal_value(item.get(name), type) }} as {{ name }}{% if not loop.last %}, {% endif %}{% endfor %}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- endmacro %}

{% macro literal_value(value, type) -%}
{%- if value is none -%}cast(null as {{ type }})
{%- elif value is string -%}cast({{ fourkeys.sql_string(value) }} as {{ type }})
{%- else -%}cast({{ value }} as {{ type }})
{%- endif -%}
{%- endmacro %}

{# A string literal: standard SQL doubles quotes; BigQuery escapes with backslashes. #}
{% macro sql_string(value) %}{{ return(adapter.dispatch('sql_string', 'fourkeys')(value)) }}{% endmacro %}
{% macro default__sql_string(value) %}'{{ value | replace("'", "''") }}'{% endmacro %}
{% macro bigquery__sql_string(value) %}'{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}'{% endmacro %}

{# Whether `value` matches the regular expression held in the expression `pattern_expr`, whole. #}
{% macro regex_full_match_expr(value, pattern_expr) %}{{ return(adapter.dispatch('regex_full_match_expr', 'fourkeys')(value, pattern_expr)) }}{% endmacro %}
{% macro default__regex_full_match_expr(value, pattern_expr) %}regexp_full_match({{ value }}, {{ pattern_expr }}){% endmacro %}
{% macro bigquery__regex_full_match_expr(value, pattern_expr) %}regexp_contains({{ value }}, concat('^(?:', {{ pattern_expr }}, ')$')){% endmacro %}

{# Whether string `value` starts with string `prefix`. #}
{% macro starts_with(value, prefix) %}substr({{ value }}, 1, length({{ prefix }})) = {{ prefix }}{% endmacro %}

{# A 64-bit float (fourkeys.type_double() is 32-bit on DuckDB). #}
{% macro type_double() %}{{ return(adapter.dispatch('type_double', 'fourkeys')()) }}{% endmacro %}
{% macro default__type_double() %}double{% endmacro %}
{% macro bigquery__type_double() %}float64{% endmacro %}

{# A timestamp `days` days after `column` (negative: before), as a timestamp on every adapter
   (dbt.dateadd gives a DATETIME on BigQuery, which does not compare with a TIMESTAMP). #}
{% macro add_days(column, days) %}{{ return(adapter.dispatch('add_days', 'fourkeys')(column, days)) }}{% endmacro %}
{% macro default__add_days(column, days) %}{{ dbt.dateadd('day', days, column) }}{% endmacro %}
{% macro bigquery__add_days(column, days) %}timestamp_add({{ column }}, interval {{ days }} day){% endmacro %}

{# `name as <this> (...)`: a CTE computed once before what reads it. DuckDB otherwise inlines a
   CTE and may run the reader's work first (the parents' JSON explosion before the filter that
   leaves nothing to explode: 1.7 s instead of 0.4). BigQuery has no such keyword. #}
{% macro materialized_cte() %}{{ return(adapter.dispatch('materialized_cte', 'fourkeys')()) }}{% endmacro %}
{% macro default__materialized_cte() %}materialized{% endmacro %}
{% macro bigquery__materialized_cte() %}{% endmacro %}
