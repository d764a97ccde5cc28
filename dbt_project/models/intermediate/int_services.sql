{# Configured services with the branch their deployments and changes come from: the configured
   branch, else the repository's default branch; and whether the service is path-filtered (a
   monorepo service with `paths`: only the changes touching them are its own). #}
with services as (
    select * from {{ ref('stg_config__services') }}
),

repositories as (
    select * from {{ ref('stg_github__repositories') }}
),

path_filtered as (
    select distinct service from {{ ref('stg_config__service_paths') }}
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
        services.heroku_app,
        services.tag_prefix,
        path_filtered.service is not null as is_path_filtered
    from services
    left join repositories
        on repositories.repository = services.repository
    left join path_filtered
        on path_filtered.service = services.service
)

select * from final
