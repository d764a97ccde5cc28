{# The configured incident sources (fourkeys.toml [[incident_sources]]), from the var. #}
with configured as (
    {{ fourkeys.rows_from_var('incident_sources', [
        ('type', dbt.type_string()),
        ('repository', dbt.type_string()),
        ('label', dbt.type_string()),
        ('service', dbt.type_string()),
    ]) }}
),

final as (
    select
        type as source_type,
        lower(repository) as repository,
        label,
        service
    from configured
)

select * from final
