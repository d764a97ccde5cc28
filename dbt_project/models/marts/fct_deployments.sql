{# rows whose key no longer exists upstream (history rewritten, a commit now known to belong
   to a pull request) leave the table too, as a full rebuild would drop them #}
{{ config(
    materialized='incremental',
    unique_key='deployment_id',
    incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
    on_schema_change='sync_all_columns',
    post_hook="delete from {{ this }} where deployment_id not in (select deployment_id from {{ ref('int_deployments') }})",
) }}
{# One row per successful production deployment of a service, with what it shipped, whether it
   failed (and why), whether it remediated an earlier failure, and when the service recovered. #}
with deployments as (
    select * from {{ ref('int_deployments') }}
),

failures as (
    select * from {{ ref('int_deployment_failures') }}
),

remediations as (
    select * from {{ ref('int_remediations') }}
),

shipped as (
    select deployment_id, count(*) as change_count
    from {{ ref('int_change_deployments') }}
    where deployment_id is not null
    group by deployment_id
),

failure_summary as (
    select
        deployment_id,
        {{ fourkeys.sorted_set('cause') }} as failure_causes,
        max(evidence_at) as last_evidence_at
    from failures
    group by deployment_id
),

incident_recovery as (
    select cause_deployment_id as deployment_id, min(restored_at) as restored_at
    from {{ ref('int_incidents') }}
    where cause_deployment_id is not null
    group by cause_deployment_id
),

{# the first remediation deployment of the service after a failed deployment #}
remediation_recovery as (
    select failed.deployment_id, min(remediations.deployed_at) as remediated_at
    from failure_summary
    inner join deployments as failed
        on failed.deployment_id = failure_summary.deployment_id
    inner join remediations
        on remediations.service = failed.service
        and remediations.deployed_at > failed.deployed_at
    group by failed.deployment_id
),

joined as (
    select
        deployments.deployment_id,
        deployments.service,
        deployments.team,
        deployments.repository,
        deployments.environment,
        deployments.source,
        deployments.commit_sha,
        deployments.deployed_at,
        coalesce(shipped.change_count, 0) as change_count,
        failure_summary.deployment_id is not null as is_failure,
        failure_summary.failure_causes,
        remediations.deployment_id is not null as is_remediation,
        deployments.is_rollback,
        deployments.mainline_position is not null as is_on_branch,
        case when failure_summary.deployment_id is not null then
            case
                when incident_recovery.restored_at is null then remediation_recovery.remediated_at
                when remediation_recovery.remediated_at is null then incident_recovery.restored_at
                when incident_recovery.restored_at < remediation_recovery.remediated_at
                    then incident_recovery.restored_at
                else remediation_recovery.remediated_at
            end
        end as recovered_at,
        failure_summary.last_evidence_at
    from deployments
    left join shipped
        on shipped.deployment_id = deployments.deployment_id
    left join failure_summary
        on failure_summary.deployment_id = deployments.deployment_id
    left join remediations
        on remediations.deployment_id = deployments.deployment_id
    left join incident_recovery
        on incident_recovery.deployment_id = deployments.deployment_id
    left join remediation_recovery
        on remediation_recovery.deployment_id = deployments.deployment_id
),

{% if is_incremental() %}
{# deployments whose failure causes differ from what the table holds, however old: evidence that
   arrives late (a request log imported weeks after the deployment, re-imported without the
   spike, an incident filed late) changes the verdict, not only recent deployments. Also any
   deployment not in the table yet (a backfill older than the lookback). #}
changed_verdicts as (
    select joined.deployment_id
    from joined
    left join {{ this }} as built
        on built.deployment_id = joined.deployment_id
    where built.deployment_id is null
        or array_to_string(built.failure_causes, ',')
            != coalesce(array_to_string(joined.failure_causes, ','), '')
),
{% endif %}

final as (
    select
        deployment_id,
        service,
        team,
        repository,
        environment,
        source,
        commit_sha,
        deployed_at,
        change_count,
        is_failure,
        coalesce(failure_causes, []) as failure_causes,
        is_remediation,
        is_rollback,
        is_on_branch,
        recovered_at,
        {{ fourkeys.span_seconds('deployed_at', 'recovered_at') }} as recovery_seconds
    from joined
    {% if is_incremental() %}
    {# rewrite recent deployments, older ones whose failure or recovery became known since, and
       any whose failure causes changed #}
    cross join (
        select {{ fourkeys.add_days('max(deployed_at)', -var('incremental_lookback_days')) }}
            as rewrite_from
        from {{ this }}
    ) as cutoff
    where deployed_at >= cutoff.rewrite_from
        or last_evidence_at >= cutoff.rewrite_from
        or recovered_at >= cutoff.rewrite_from
        or deployment_id in (select deployment_id from changed_verdicts)
    {% endif %}
)

select * from final
