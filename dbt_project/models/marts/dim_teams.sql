{# Teams, derived from the services that name them. #}
with services as (
    select * from {{ ref('dim_services') }}
),

final as (
    select
        team,
        count(*) as service_count,
        sum(deployment_count) as deployment_count,
        min(first_deployed_at) as first_deployed_at,
        max(last_deployed_at) as last_deployed_at
    from services
    group by team
)

select * from final
