{# The path globs of monorepo services (fourkeys.toml `[[services]] paths`), one row per
   (service, pattern). `fourkeys transform` passes each glob already translated to a regular
   expression (`path_patterns` of the `services` var; fourkeys/paths.py), matched against a
   whole repository path. No rows when no service has paths. #}
{%- set items = [] -%}
{%- for service in var('services') or [] -%}
{%- for pattern in service.get('path_patterns') or [] -%}
{%- do items.append({'service': service['name'], 'path_pattern': pattern}) -%}
{%- endfor -%}
{%- endfor %}
with configured as (
    {{ fourkeys.rows_from_list(items, [
        ('service', dbt.type_string()),
        ('path_pattern', dbt.type_string()),
    ]) }}
),

final as (
    select distinct service, path_pattern
    from configured
)

select * from final
