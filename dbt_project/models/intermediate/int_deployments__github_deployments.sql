{# github_deployments: a deployment to the service's environment (exact name, or a `re:` regex
   matched whole) with a `success` status; deployed_at = the first success status's time. #}
with services as (
    select * from {{ ref('int_services') }}
    where deployment_source = 'github_deployments'
),

deployments as (
    select * from {{ ref('stg_github__deployments') }}
),

statuses as (
    select * from {{ ref('stg_github__deployment_statuses') }}
    where state = 'success'
),

first_success as (
    select repository, deployment_id, min(created_at) as deployed_at
    from statuses
    group by repository, deployment_id
),

final as (
    select
        services.service,
        'github_deployments' as source,
        deployments.deployment_id as native_id,
        deployments.environment,
        deployments.commit_sha as commit_ref,
        first_success.deployed_at
    from services
    inner join deployments
        on deployments.repository = services.repository
    inner join first_success
        on first_success.repository = deployments.repository
        and first_success.deployment_id = deployments.deployment_id
    where
        (services.environment not like 're:%' and deployments.environment = services.environment)
        or (services.environment like 're:%' and {{ fourkeys.regex_full_match_expr(
            'deployments.environment', 'substr(services.environment, 4)') }})
)

select * from final
