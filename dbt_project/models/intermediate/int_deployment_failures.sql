{# Why a deployment failed: one row per (deployment, cause), for the causes enabled in
   `failure_signals`. evidence_at is when the failure became known (incident start, revert merge,
   rollback deployment, the end of a request-error rise); incremental marts re-read deployments
   with new evidence. #}
{% set signals = var('failure_signals') %}
with deployments as (
    select * from {{ ref('int_deployments') }}
),

causes as (
    {# parenthesised: GoogleSQL binds a bare LIMIT to the whole union #}
    (select
        cast(null as {{ dbt.type_string() }}) as deployment_id,
        cast(null as {{ dbt.type_string() }}) as cause,
        cast(null as {{ dbt.type_timestamp() }}) as evidence_at
    {{ 'where false' if target.type != 'bigquery' else 'limit 0' }})

    {% if 'incidents' in signals %}
    union all
    select incidents.cause_deployment_id, 'incident', incidents.restore_from_at
    from {{ ref('int_incidents') }} as incidents
    where incidents.cause_deployment_id is not null
    {% endif %}

    {% if 'reverts' in signals %}
    union all
    {# reverted after it went out: a change reverted before it was deployed failed nothing #}
    select reverts.reverted_deployment_id, 'revert', reverts.reverted_at
    from {{ ref('int_reverts') }} as reverts
    where reverts.reverted_deployment_id is not null
        and reverts.reverted_at > reverts.reverted_deployed_at
    {% endif %}

    {% if 'rollbacks' in signals %}
    union all
    {# the deployment that was live when an older sha replaced it #}
    select previous.deployment_id, 'rollback', rollbacks.deployed_at
    from deployments as rollbacks
    inner join deployments as previous
        on previous.service = rollbacks.service
        and previous.deployment_number = rollbacks.deployment_number - 1
    where rollbacks.is_rollback
    {% endif %}

    {% if 'request_errors' in signals %}
    union all
    {# its 5xx ratio rose significantly after it (int_deployment_request_signal's z-test) #}
    select signal.deployment_id, 'request_errors', signal.evidence_at
    from {{ ref('int_deployment_request_signal') }} as signal
    where signal.is_degraded
    {% endif %}
),

final as (
    select deployment_id, cause, min(evidence_at) as evidence_at
    from causes
    group by deployment_id, cause
)

select * from final
