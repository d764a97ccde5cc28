{# Each change with the deployment that first shipped it (NULL when not deployed yet): the
   deployment of the service whose shipped range (shipped_after_position, shipped_through_position]
   holds the change's oldest mainline commit. The ranges of one service never overlap. #}
with changes as (
    select * from {{ ref('int_changes') }}
),

advancing_deployments as (
    select * from {{ ref('int_deployments') }}
    where shipped_through_position is not null
),

final as (
    select
        changes.*,
        advancing_deployments.deployment_id,
        advancing_deployments.deployed_at
    from changes
    left join advancing_deployments
        on advancing_deployments.service = changes.service
        and changes.mainline_position > advancing_deployments.shipped_after_position
        and changes.mainline_position <= advancing_deployments.shipped_through_position
)

select * from final
