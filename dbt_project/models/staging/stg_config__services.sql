{# The configured services (fourkeys.toml [[services]]), passed by `fourkeys transform` as the
   `services` var. #}
with configured as (
    {{ fourkeys.rows_from_var('services', [
        ('name', dbt.type_string()),
        ('team', dbt.type_string()),
        ('repository', dbt.type_string()),
        ('branch', dbt.type_string()),
        ('deployment_source', dbt.type_string()),
        ('environment', dbt.type_string()),
        ('workflow', dbt.type_string()),
        ('heroku_app', dbt.type_string()),
        ('tag_prefix', dbt.type_string()),
    ]) }}
),

final as (
    select
        name as service,
        team,
        lower(repository) as repository,
        branch,
        deployment_source,
        environment,
        workflow,
        heroku_app,
        tag_prefix
    from configured
)

select * from final
