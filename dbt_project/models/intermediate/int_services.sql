{# Configured services with the branch their deployments and changes come from: the configured
   branch, else the repository's default branch. #}
with services as (
    select * from {{ ref('stg_config__services') }}
),

repositories as (
    select * from {{ ref('stg_github__repositories') }}
),

final as (
    select
        services.service,
        services.team,
        services.repository,
        coalesce(services.branch, repositories.default_branch, 'main') as branch,
        services.deployment_source,
        services.environment,
        services.workflow,
        services.heroku_app
    from services
    left join repositories
        on repositories.repository = services.repository
)

select * from final
