{# The configured services, with their deployment source and activity span. #}
with services as (
    select * from {{ ref('int_services') }}
),

deployments as (
    select * from {{ ref('fct_deployments') }}
),

activity as (
    select
        service,
        count(*) as deployment_count,
        min(deployed_at) as first_deployed_at,
        max(deployed_at) as last_deployed_at
    from deployments
    group by service
),

final as (
    select
        services.service,
        services.team,
        services.repository,
        services.branch,
        services.deployment_source,
        services.environment,
        services.workflow,
        services.heroku_app,
        coalesce(activity.deployment_count, 0) as deployment_count,
        activity.first_deployed_at,
        activity.last_deployed_at
    from services
    left join activity
        on activity.service = services.service
)

select * from final
