{# Remediation deployments: ship a revert or a hotfix (head branch `hotfix/*` or label `hotfix`),
   or are a rollback. #}
with deployments as (
    select * from {{ ref('int_deployments') }}
),

changes as (
    select * from {{ ref('int_change_deployments') }}
),

hotfix_labels as (
    select distinct repository, pull_request_number
    from {{ ref('stg_github__pull_request_labels') }}
    where label = 'hotfix'
),

remediating_changes as (
    select changes.deployment_id, 'hotfix' as remediation
    from changes
    left join hotfix_labels
        on hotfix_labels.repository = changes.repository
        and hotfix_labels.pull_request_number = changes.pull_request_number
    where changes.deployment_id is not null
        and (changes.head_ref like 'hotfix/%' or hotfix_labels.pull_request_number is not null)

    union all

    {# a revert remediates only what already went out: shipped together with the change it
       reverts, nothing failed in production #}
    select reverts.revert_deployment_id, 'revert'
    from {{ ref('int_reverts') }} as reverts
    where reverts.revert_deployment_id is not null
        and reverts.reverted_deployment_id is not null
        and reverts.reverted_deployment_id <> reverts.revert_deployment_id

    union all

    select deployment_id, 'rollback'
    from deployments
    where is_rollback
),

final as (
    select distinct deployments.deployment_id, deployments.service, deployments.deployed_at
    from remediating_changes
    inner join deployments
        on deployments.deployment_id = remediating_changes.deployment_id
)

select * from final
