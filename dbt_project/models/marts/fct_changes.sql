{# rows whose key no longer exists upstream (history rewritten, a commit now known to belong
   to a pull request) leave the table too, as a full rebuild would drop them #}
{{ config(
    materialized='incremental',
    unique_key='change_id',
    incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
    on_schema_change='sync_all_columns',
    post_hook="delete from {{ this }} where change_id not in (select change_id from {{ ref('int_change_deployments') }})",
) }}
{# One row per change (a pull request merged into the service's branch, or a direct commit on
   it), with the deployment that first shipped it and its lead time, split into coding (first
   commit → opened), pickup (opened → first review or comment by someone else), review (→ merged)
   and deploy (merged → deployed). A negative span (clock skew, rewritten history) is NULL. #}
with changes as (
    select * from {{ ref('int_change_deployments') }}
),

final as (
    select
        change_id,
        service,
        team,
        repository,
        change_type,
        pull_request_number,
        commit_sha,
        author,
        title,
        first_commit_at,
        opened_at,
        first_review_at,
        merged_at,
        deployed_at,
        deployment_id,
        {{ fourkeys.span_seconds('first_commit_at', 'deployed_at') }} as lead_time_seconds,
        {{ fourkeys.span_seconds('first_commit_at', 'opened_at') }} as coding_seconds,
        {{ fourkeys.span_seconds('opened_at', 'first_review_at') }} as pickup_seconds,
        {{ fourkeys.span_seconds('first_review_at', 'merged_at') }} as review_seconds,
        {{ fourkeys.span_seconds('merged_at', 'deployed_at') }} as deploy_seconds
    from changes
    {% if is_incremental() %}
    {# rewrite what is recent or still waiting for a deployment #}
    where deployed_at is null
        or deployed_at >= (
            select {{ fourkeys.add_days('max(deployed_at)', -var('incremental_lookback_days')) }}
            from {{ this }}
        )
    {% endif %}
)

select * from final
